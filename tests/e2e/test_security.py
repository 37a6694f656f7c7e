"""What an attacker or a dead server could do to everyone, tried against the production build.

- A calendar server that trickles its answer must not freeze the app for other businesses.
- Request bodies over their limit are refused before they are read, anonymous uploads included.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.parse
import uuid

import httpx
import psutil
import pytest
from playwright.sync_api import expect

from tests.e2e.steps import identify, log_in, make_business, send

pytestmark = pytest.mark.e2e


@pytest.fixture
def trickling_server():
    """Accepts connections and answers one byte every two seconds, for as long as the client listens."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve(conn):
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 207 Multi-Status\r\nContent-Length: 100000\r\n\r\n")
                while not stop.wait(2):
                    conn.sendall(b"<")
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
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/dav/"
    stop.set()
    listener.close()


def test_a_trickling_calendar_server_does_not_freeze_other_businesses(browser, live_app, app_db, trickling_server):
    base = live_app[0]
    slow_owner_email, _, _ = make_business("Slow Calendar Clinic")
    _, other_slug, _ = make_business("Busy Bakery")

    owner = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    owner.set_default_timeout(15000)
    log_in(owner, base, slow_owner_email, then="/dashboard/calendar?tab=sync")
    owner.get_by_label("CalDAV address").fill(trickling_server)
    owner.get_by_label("Username").fill("mallory")
    owner.get_by_label("Password").fill("secret")
    owner.get_by_role("button", name="Connect", exact=True).click()
    time.sleep(1)  # the handler is now waiting on the trickling server

    # Meanwhile another business's customer chats and the health check answers, at normal speed.
    started = time.monotonic()
    assert httpx.get(f"{base}/api/v1/health", timeout=5).status_code == 200
    customer = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    customer.set_default_timeout(6000)
    identify(customer, base, other_slug, "(212) 555-0199", "Tess")
    send(customer, "Do you sell sourdough?")
    expect(customer.get_by_text("Do you sell sourdough?")).to_be_visible()
    assert time.monotonic() - started < 6  # the slow call is given up on only after 12 s (tests/e2e/conftest.py)

    # The owner who pointed at the slow server is told, once the total deadline has passed.
    expect(owner.get_by_role("alert")).to_contain_text("did not answer within", timeout=30000)
    expect(owner.get_by_test_id("calendar-connection")).to_have_count(0)


def _server_process(base: str) -> psutil.Process:
    port = urllib.parse.urlsplit(base).port
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            return psutil.Process(conn.pid)
    raise AssertionError(f"nothing listens on port {port}")


def _post_declaring(base: str, path: str, headers: dict, length: int) -> tuple[int, bytes]:
    """A raw POST that declares `length` bytes and sends a few: the status and body the server answers with."""
    parts = urllib.parse.urlsplit(base)
    lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {length}",
             *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall("\r\n".join(lines).encode() + b"x" * 1024)
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw) < raw.index(b"\r\n\r\n") + 40:
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _multipart_zeros(total: int, boundary: str, chunk: int = 1024 * 1024):
    """A multipart/form-data body with one file of `total` zero bytes, streamed (sent chunked, no length)."""
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.bin\"\r\n"
           "Content-Type: application/octet-stream\r\n\r\n").encode()
    block = b"\0" * chunk
    for _ in range(total // chunk):
        yield block
    yield f"\r\n--{boundary}--\r\n".encode()


def test_large_bodies_are_refused_before_they_are_read(live_app):
    base = live_app[0]
    server = _server_process(base)
    from assistant.pages.portal import PortalState

    # The portal's real upload handler, for a browser that never identified (a made-up client token).
    upload_headers = {"reflex-client-token": str(uuid.uuid4()),
                      "reflex-event-handler": f"{PortalState.get_full_name()}.upload"}

    # Declared too large: refused at once, whoever asks (no session, a made-up token).
    started = time.monotonic()
    for path, headers in (("/_upload", upload_headers),
                          ("/api/portal/v1/files", {"authorization": "Bearer made-up"}),
                          ("/api/v1/conversations", {"authorization": "Bearer made-up",
                                                     "content-type": "application/json"})):
        status, body = _post_declaring(base, path, headers, 1_500_000_000)
        assert status == 413, (path, status, body[:200])
        assert b"too large" in body
    assert time.monotonic() - started < 5

    # A 60 MB JSON body to the REST API: 413 before authentication or parsing.
    response = httpx.post(f"{base}/api/v1/conversations", content=b"[" + b"0," * 30_000_000 + b"0]",
                          headers={"authorization": "Bearer made-up", "content-type": "application/json"},
                          timeout=30)
    assert response.status_code == 413

    # Streamed without a length (chunked): cut off once past the limit; the server does not hold it in memory.
    rss_before = server.memory_info().rss + sum(c.memory_info().rss for c in server.children(recursive=True))
    outcome = ""
    try:
        boundary = uuid.uuid4().hex
        response = httpx.post(f"{base}/_upload", content=_multipart_zeros(400 * 1024 * 1024, boundary), timeout=60,
                              headers={**upload_headers, "content-type": f"multipart/form-data; boundary={boundary}"})
        outcome = str(response.status_code)
    except httpx.HTTPError as exc:  # the server may close the connection while the client still writes
        outcome = type(exc).__name__
    rss_after = server.memory_info().rss + sum(c.memory_info().rss for c in server.children(recursive=True))
    assert outcome in ("413", "WriteError", "RemoteProtocolError", "ReadError"), outcome
    assert rss_after - rss_before < 100 * 1024 * 1024, (rss_before, rss_after)
    assert httpx.get(f"{base}/api/v1/health", timeout=5).status_code == 200
