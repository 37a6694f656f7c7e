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


def test_a_dashboard_tab_left_open_after_a_password_reset_stops_at_once(browser, live_app, app_db):
    import re

    from sqlmodel import select

    from backend.accounts.service import request_password_reset, reset_password
    from backend.db import session_scope
    from backend.models import OutboxMessage

    base = live_app[0]
    email, slug, _ = make_business("Forgetful Dental")
    tabs = []
    for _ in range(2):
        tab = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
        tab.set_default_timeout(15000)
        log_in(tab, base, email, then="/dashboard/inbox")
        expect(tab.get_by_text("No conversations here yet")).to_be_visible()
        tabs.append(tab)
    searching, watching = tabs
    first = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    identify(first, base, slug, "(212) 555-0111", "Ava")
    send(first, "Hello before the reset")
    for tab in tabs:  # live, while signed in
        expect(tab.get_by_role("button", name="Conversation with Ava")).to_be_visible()

    # The password is reset from somewhere else: every session of the owner ends.
    request_password_reset(email)
    with session_scope() as s:
        bodies = s.exec(select(OutboxMessage.body).where(OutboxMessage.to_address == email)).all()
    link = next(m for m in map(re.compile(r"/reset/(\S+)").search, bodies) if m)
    reset_password(link.group(1), "a-brand-new-passphrase-42")

    # The next action of an open tab (a search) leads to the login page instead of results …
    searching.get_by_label("Search conversations").fill("Ava")
    expect(searching).to_have_url(re.compile(r"/login"))
    # … and a new conversation does not reach the other open tab: it says it was signed out, and shows nothing.
    second = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    identify(second, base, slug, "(212) 555-0122", "Ben")
    send(second, "Hello after the reset")
    expect(second.get_by_text("Hello after the reset")).to_be_visible()
    expect(watching.get_by_role("heading", name="You were signed out")).to_be_visible()
    expect(watching.get_by_text("Ava")).to_have_count(0)
    expect(watching.get_by_text("Ben")).to_have_count(0)
    watching.get_by_role("button", name="Log in again").click()
    expect(watching).to_have_url(re.compile(r"/login"))


def test_a_message_the_server_could_not_store_stays_in_the_box_and_the_customer_is_told(browser, live_app, app_db):
    import sqlite3

    from sqlmodel import select

    from backend.db import session_scope
    from backend.models import Message

    base, database_url = live_app
    _, slug, workspace_id = make_business("Locked Cafe")
    customer = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    customer.set_default_timeout(15000)
    identify(customer, base, slug, "(212) 555-0177", "Lou")
    box = customer.get_by_label("Message", exact=True)
    expect(box).to_be_visible()

    # Something else holds the database's write lock longer than the app waits for it.
    blocker = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None, timeout=1)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        send(customer, "Table for two at 8?")
        expect(customer.get_by_role("alert")).to_contain_text("was not sent", timeout=30000)
        expect(box).to_have_value("Table for two at 8?")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    # Pressed again once the database answers: sent once, and the box is cleared.
    box.press("Enter")
    expect(customer.locator(".chat-bubble").filter(has_text="Table for two at 8?")).to_have_count(1)
    expect(box).to_have_value("")
    with session_scope() as s:
        stored = s.exec(select(Message.content).where(Message.workspace_id == workspace_id)).all()
    assert stored.count("Table for two at 8?") == 1


_RECORD_CSP = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
                          e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"""


def test_every_page_works_under_the_security_headers(browser, live_app, app_db, tmp_path):
    base = live_app[0]
    email, slug, _ = make_business("Header Salon")

    headers = httpx.get(f"{base}/login", timeout=10).headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "object-src 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    portal_headers = httpx.get(f"{base}/portal/{slug}", timeout=10).headers
    assert "frame-ancestors 'self'" in portal_headers["content-security-policy"]
    assert "x-frame-options" not in portal_headers
    assert "strict-transport-security" not in headers  # plain http here; https public addresses get HSTS

    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.add_init_script(_RECORD_CSP)
    owner = context.new_page()
    owner.set_default_timeout(15000)
    log_in(owner, base, email)
    for path in ("/dashboard", "/dashboard/inbox", "/dashboard/knowledge", "/dashboard/calendar",
                 "/dashboard/assistant", "/dashboard/contacts", "/dashboard/drafts", "/dashboard/settings"):
        owner.goto(f"{base}{path}")
        expect(owner.get_by_role("link", name="Inbox").first).to_be_visible()  # the page is live and drawn
        expect(owner.get_by_text("Loading…")).to_have_count(0)
        owner.wait_for_load_state("networkidle")
        assert owner.evaluate("window.__csp") == [], path

    customer_context = browser.new_context(viewport={"width": 390, "height": 844})
    customer_context.add_init_script(_RECORD_CSP)
    customer = customer_context.new_page()
    customer.set_default_timeout(15000)
    identify(customer, base, slug, "(212) 555-0188", "Cleo")
    send(customer, "Hi there")
    expect(customer.get_by_text("Hi there")).to_be_visible()
    picture = tmp_path / "photo.png"
    picture.write_bytes(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5d2b1a00000000049454e44ae426082"))
    customer.locator("#portal-upload input[type=file]").set_input_files(str(picture))
    expect(customer.get_by_role("img", name="photo.png")).to_be_visible()
    customer.wait_for_function("document.querySelector('img[alt=\"photo.png\"]').complete")
    assert customer.evaluate("window.__csp") == []
