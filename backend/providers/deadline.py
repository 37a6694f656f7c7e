"""A total deadline for a blocking call to an outside server.

The client libraries we use (niquests/requests for CalDAV, httplib2 for Google, smtplib, httpx) only bound each
connect and each read. A server that trickles one byte every few seconds therefore keeps a call alive for as
long as it likes, and with it the thread that made it. `total_deadline(seconds)` bounds the whole call: every
socket the calling thread connects inside the block is shut down when the time is up, which wakes the blocked
read with an error, and the block raises `DeadlineExceeded` instead of whatever the library made of it.

Sockets are noticed through Python's audit event "socket.connect" (PEP 578), so this works for every library
without patching any of them. The hook is installed once and, outside a deadline, costs one thread-local lookup
per connect. A connection a pool opened before the block is not tracked: use it only around clients that
connect afresh (ours do, for CalDAV, Google and SMTP).
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from backend.errors import ServiceError

_local = threading.local()
_hook_lock = threading.Lock()
_hook_installed = False


class DeadlineExceeded(ServiceError):
    """The outside server did not finish answering in time; the message can be shown as is."""


class _Scope:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expires = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def track(self, sock: socket.socket) -> None:
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


def _shut(sock: socket.socket) -> None:
    # shutdown, not close: close() does not wake a recv() blocked in another thread; shutdown() does.
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed or never connected


def _audit(event: str, args: tuple) -> None:
    if event != "socket.connect":
        return
    scopes = getattr(_local, "scopes", None)
    for scope in scopes or ():
        scope.track(args[0])


def _install_hook() -> None:
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_audit)
            _hook_installed = True


@contextmanager
def total_deadline(seconds: float, what: str = "The server", field: str | None = None) -> Iterator[None]:
    """Bound everything the block does on sockets it connects to `seconds` in all.

        with total_deadline(20, "The calendar server"):
            discover(url, user, password)
    """
    _install_hook()
    scope = _Scope(max(0.001, float(seconds)))
    stack = getattr(_local, "scopes", None)
    if stack is None:
        stack = _local.scopes = []
    stack.append(scope)
    timer = threading.Timer(scope.seconds, scope.expire)
    timer.daemon = True
    timer.start()
    message = f"{what} did not answer within {scope.seconds:g} seconds. Try again later."
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
        stack.remove(scope)
    if scope.expired:
        # The library swallowed the broken connection and returned something partial: do not trust it.
        raise DeadlineExceeded(message, field=field)
