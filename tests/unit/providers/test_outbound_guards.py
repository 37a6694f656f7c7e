"""Guards around calls to outside servers: a total deadline really ends a call to a server that trickles its
answer (per-read timeouts never fire), and an address an owner typed never reaches a non-public address."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from backend.providers.outbound import (
    PRIVATE_ADDRESS,
    AddressNotAllowed,
    DeadlineExceeded,
    is_public,
    public_addresses_only,
    total_deadline,
)


@pytest.fixture
def trickling_server():
    """An HTTP server that sends one byte of its answer every 0.2 s, forever (until the client goes)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve(conn):
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                while not stop.is_set():
                    conn.sendall(b"x")
                    time.sleep(0.2)
            except OSError:
                pass

    def accept():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    stop.set()
    listener.close()


def test_a_trickling_server_is_cut_off_at_the_total_deadline(trickling_server):
    import niquests

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="did not answer within 1 seconds"):
        with total_deadline(1, "The calendar server"):
            niquests.get(trickling_server, timeout=5)  # each byte arrives well within the read timeout
    assert time.monotonic() - started < 3


def test_a_quick_call_is_left_alone_and_the_hook_forgets_the_scope(trickling_server):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    with total_deadline(2):
        client = socket.create_connection(listener.getsockname())
    conn, _ = listener.accept()
    time.sleep(2.2)  # past the deadline: the socket made inside a finished block is not touched
    client.sendall(b"still open")
    assert conn.recv(10) == b"still open"
    for s in (client, conn, listener):
        s.close()


def test_sockets_of_other_threads_are_not_touched(trickling_server):
    import niquests

    results = {}

    def other():
        started = time.monotonic()
        try:
            niquests.get(trickling_server, timeout=5, stream=True).raw.read(8)
            results["other"] = time.monotonic() - started
        except Exception as exc:  # pragma: no cover - the failure this test looks for
            results["other"] = exc

    with pytest.raises(DeadlineExceeded):
        with total_deadline(0.5):
            worker = threading.Thread(target=other)
            worker.start()
            niquests.get(trickling_server, timeout=5)
    worker.join(10)
    assert isinstance(results["other"], float)


# --- public addresses only (SSRF) ------------------------------------------------------------------------------


@pytest.fixture
def internal_service():
    """Something listening on loopback, as a database or an admin port would."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def redirecting_server(internal_service):
    """A server that redirects every request to the internal service."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(f"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{internal_service}/\r\n"
                             "Content-Length: 0\r\n\r\n".encode())

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


@pytest.mark.parametrize("ip, public", [
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.9", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("::1", False), ("fe80::1", False),
    ("fd00::1", False), ("::ffff:127.0.0.1", False), ("224.0.0.1", False), ("8.8.8.8", True),
    ("2606:4700:4700::1111", True), ("::ffff:8.8.8.8", True), ("not-an-ip", False),
])
def test_which_addresses_count_as_public(ip, public):
    assert is_public(ip) is public


def test_open_and_closed_internal_ports_give_the_same_refusal(internal_service):
    import niquests

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    messages = set()
    for port in (internal_service, closed_port):
        with pytest.raises(AddressNotAllowed) as refused:
            with public_addresses_only(field="url", allow_private=False):
                niquests.get(f"http://127.0.0.1:{port}/", timeout=2)
        messages.add((refused.value.message, refused.value.field))
    assert messages == {(PRIVATE_ADDRESS, "url")}


def test_a_public_looking_name_that_redirects_inside_is_refused(redirecting_server):
    import niquests

    # The first hop is refused too here (loopback); what matters is that no hop reaches the internal service,
    # which the audit hook sees at every connect, redirects included.
    with pytest.raises(AddressNotAllowed):
        with public_addresses_only(allow_private=False):
            niquests.get(f"http://localhost:{redirecting_server}/", timeout=2)


def test_the_setting_lets_local_development_reach_localhost(internal_service):
    with public_addresses_only(allow_private=True):
        socket.create_connection(("127.0.0.1", internal_service), timeout=2).close()


def test_a_caldav_connection_to_an_internal_address_is_refused_with_one_message(db, internal_service):
    from backend.calendar.connections import add_caldav_connection, list_connections
    from tests.unit.messaging_helpers import make_workspace, settings_override

    biz = make_workspace()
    with settings_override(allow_private_urls="false"):
        for url in (f"http://127.0.0.1:{internal_service}/dav/", "http://169.254.169.254/latest/meta-data/",
                    "http://localhost:9/dav/", "http://[::1]:5432/"):
            with pytest.raises(AddressNotAllowed) as refused:
                add_caldav_connection(biz.id, url=url, username="mallory", password="secret")
            assert (refused.value.message, refused.value.field) == (PRIVATE_ADDRESS, "url")
    assert list_connections(biz.id) == []


def test_a_saved_caldav_connection_cannot_sync_or_push_to_an_internal_address(db, internal_service):
    from backend.calendar.sync.runner import sync_connection
    from backend.db import session_scope
    from backend.models import CalendarConnection
    from backend.security import encrypt_secret
    from tests.unit.calendar_helpers import connection
    from tests.unit.messaging_helpers import make_workspace, settings_override

    biz = make_workspace()
    with session_scope() as session:
        row = CalendarConnection(workspace_id=biz.id, kind="caldav", name="Sneaky",
                                 url=f"http://127.0.0.1:{internal_service}/dav/", username="mallory",
                                 secret_encrypted=encrypt_secret("secret"))
        session.add(row)
        session.flush()
        connection_id = row.id
    with settings_override(allow_private_urls="false"):
        report = sync_connection(connection_id)
    assert not report.ok and report.error == PRIVATE_ADDRESS
    assert connection(connection_id).last_error == PRIVATE_ADDRESS
