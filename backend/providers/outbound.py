"""Guards around a blocking call to an outside server: a total deadline, and public addresses only.

**Total deadline.** The client libraries we use (niquests for CalDAV, httplib2 for Google, smtplib, httpx) only
bound each connect and each read. A server that trickles one byte every few seconds therefore keeps a call
alive for as long as it likes, and with it the thread that made it. `total_deadline(seconds)` bounds the whole
call: every socket the calling thread connects inside the block is shut down when the time is up, which wakes
the blocked read with an error, and the block raises `DeadlineExceeded` instead of whatever the library made of
it. A connection a pool opened before the block is not tracked: use it around clients that connect afresh (ours
do, for CalDAV, Google, SMTP and Twilio).

**Public addresses only.** An address an owner types (a CalDAV URL, a webhook) must not reach the machine's own
services or its private network (SSRF). `public_addresses_only()` refuses, at the moment of connecting, every
address that is not globally routable: after DNS resolution and on every redirect, because it looks at the
address actually connected to. Every refusal is the same error, so the answer says nothing about which internal
ports are open. `settings.allow_private_urls` lifts it for local development (a Radicale on localhost).

Both see sockets through Python's audit event "socket.connect" (PEP 578): no library is patched. The hook is
installed once and, outside a guarded block, costs one thread-local lookup per connect.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

from backend.errors import ServiceError
from backend.settings import get_settings

_local = threading.local()
_hook_lock = threading.Lock()
_hook_installed = False

PRIVATE_ADDRESS = "This address can't be reached from Front Desk. Use the public address of the server."


class DeadlineExceeded(ServiceError):
    """The outside server did not finish answering in time; the message can be shown as is."""


class AddressNotAllowed(ServiceError):
    """The address is not a public one (loopback, private, link-local, …)."""


class _Refused(ConnectionRefusedError):
    """Raised inside socket.connect: libraries treat it as a failed connection and give up cleanly."""


class _DeadlineScope:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def on_connect(self, sock: socket.socket, _address) -> None:
        with self._lock:
            if self.expired:
                _shut(sock)
            else:
                self._sockets.append(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)


class _PublicOnlyScope:
    def __init__(self) -> None:
        self.refused = False

    def on_connect(self, sock: socket.socket, address) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            self.refused = True
            raise _Refused("not an internet socket")
        if not all(is_public(ip) for ip in _resolve(address)):
            self.refused = True
            raise _Refused("not a public address")


def is_public(ip: str) -> bool:
    """Globally routable: not loopback, private, link-local, shared, reserved, multicast or unspecified."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_global and not addr.is_multicast


def _resolve(address) -> list[str]:
    host = address[0] if isinstance(address, tuple) else str(address)
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return [host]
    except ValueError:  # a name handed straight to connect(): check everything it resolves to
        try:
            return [info[4][0] for info in socket.getaddrinfo(host, None)]
        except OSError:
            return [host]


def _shut(sock: socket.socket) -> None:
    # shutdown, not close: close() does not wake a recv() blocked in another thread; shutdown() does.
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed or never connected


def _audit(event: str, args: tuple) -> None:
    if event != "socket.connect":
        return
    for scope in getattr(_local, "scopes", None) or ():
        scope.on_connect(*args)


@contextmanager
def _scoped(scope) -> Iterator[None]:
    global _hook_installed
    if not _hook_installed:
        with _hook_lock:
            if not _hook_installed:
                sys.addaudithook(_audit)
                _hook_installed = True
    stack = getattr(_local, "scopes", None)
    if stack is None:
        stack = _local.scopes = []
    stack.append(scope)
    try:
        yield
    finally:
        stack.remove(scope)


@contextmanager
def total_deadline(seconds: float, what: str = "The server", field: str | None = None) -> Iterator[None]:
    """Bound everything the block does on sockets it connects to `seconds` in all.

        with total_deadline(20, "The calendar server"):
            discover(url, user, password)
    """
    scope = _DeadlineScope(max(0.001, float(seconds)))
    timer = threading.Timer(scope.seconds, scope.expire)
    timer.daemon = True
    message = f"{what} did not answer within {scope.seconds:g} seconds. Try again later."
    with _scoped(scope):
        timer.start()
        try:
            yield
        except DeadlineExceeded:
            raise
        except Exception as exc:
            if scope.expired:
                raise DeadlineExceeded(message, field=field) from exc
            raise
        finally:
            timer.cancel()
    if scope.expired:
        # The library swallowed the broken connection and returned something partial: do not trust it.
        raise DeadlineExceeded(message, field=field)


@contextmanager
def public_addresses_only(field: str | None = None, *, allow_private: bool | None = None) -> Iterator[None]:
    """Refuse every connection the block makes to a non-public address with one `AddressNotAllowed`."""
    if allow_private is None:

        allow_private = get_settings().allow_private_urls
    if allow_private:
        yield
        return
    scope = _PublicOnlyScope()
    with _scoped(scope):
        try:
            yield
        except AddressNotAllowed:
            raise
        except Exception as exc:
            if scope.refused:
                raise AddressNotAllowed(PRIVATE_ADDRESS, field=field) from exc
            raise
    if scope.refused:
        raise AddressNotAllowed(PRIVATE_ADDRESS, field=field)
