"""A total deadline really ends a call to a server that trickles its answer (per-read timeouts never fire)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from backend.providers.deadline import DeadlineExceeded, total_deadline


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
