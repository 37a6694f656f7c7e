"""Which address a request came from: the key of every rate limit, so a client must not be able to choose it."""

from __future__ import annotations

import pytest

from backend.security import client_address


@pytest.mark.parametrize(
    "peer,forwarded_for,trusted,expected",
    [
        ("203.0.113.7", "", "", "203.0.113.7"),
        # No trusted proxy: the header is the client's own words.
        ("203.0.113.7", "198.51.100.1", "", "203.0.113.7"),
        # Behind our proxy, the hop it appended is the client, whatever the client wrote before it.
        ("10.0.0.2", "198.51.100.1", "10.0.0.0/8", "198.51.100.1"),
        ("10.0.0.2", "1.2.3.4, 198.51.100.1", "10.0.0.0/8", "198.51.100.1"),
        # Two proxies of ours in a row (a load balancer, then nginx): both are skipped.
        ("10.0.0.2", "1.2.3.4, 198.51.100.1, 10.0.0.9", "10.0.0.0/8", "198.51.100.1"),
        # A request that reached the app without passing the proxy cannot claim an address.
        ("203.0.113.7", "10.0.0.2, 198.51.100.1", "10.0.0.0/8", "203.0.113.7"),
        ("127.0.0.1", "not-an-address", "127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", "", "127.0.0.1", "127.0.0.1"),
        # One IPv6 subscriber holds a /64: it is one client for the limits.
        ("2001:db8:1:2::5", "", "", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", "", "", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "", "", "203.0.113.7"),
        ("10.0.0.2", "[2001:db8::1]:443", "10.0.0.0/8", "2001:db8::/64"),
        ("10.0.0.2", "198.51.100.1:51234", "10.0.0.0/8", "198.51.100.1"),
        ("", "198.51.100.1", "", ""),
        ("testclient", "", "", ""),
    ],
)
def test_the_client_address_believes_forwarded_for_only_from_trusted_proxies(peer, forwarded_for, trusted,
                                                                             expected):
    assert client_address(peer, forwarded_for, trusted) == expected


def test_a_misspelt_trusted_proxy_fails_loudly():
    with pytest.raises(ValueError):
        client_address("10.0.0.2", "198.51.100.1", "10.0.0.0/33")
