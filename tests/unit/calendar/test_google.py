"""Google Calendar sync with google-api-python-client's own test doubles standing in for Google's servers.

`googleapiclient.http.HttpMockSequence` replaces the one transport (`google_sync.base_http`); everything above it
is production code: the statically shipped discovery document, `AuthorizedHttp` with its token refresh, the API
requests and their error handling. The OAuth code exchange talks to a real HTTP server on 127.0.0.1 that plays
Google's token endpoint, through google-auth-oauthlib's Flow exactly as in production.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
from datetime import timedelta
from pathlib import Path
from string import Template
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from googleapiclient.http import HttpMockSequence

from backend.api.app import create_api
from backend.calendar import connections
from backend.calendar.sync import google_sync, runner
from backend.calendar.sync.common import google_event_id
from backend.calendar.sync.google_sync import GoogleTokens
from backend.db import session_scope
from backend.errors import ServiceError
from backend.models import CalendarConnection
from backend.models.types import utcnow
from backend.security import decrypt_secret, encrypt_secret
from tests.integration.helpers import free_ports
from tests.unit.calendar_helpers import add_appointment, at, busy_periods, connection, links, update_appointment
from tests.unit.messaging_helpers import make_workspace, settings_override

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "google"
CLIENT = {"google_client_id": "1234-frontdesk.apps.googleusercontent.com", "google_client_secret": "GOCSPX-test"}
API = "https://www.googleapis.com/calendar/v3"


def fixture(name: str, **values) -> str:
    return Template((FIXTURES / name).read_text()).substitute({k: str(v) for k, v in values.items()})


def ok(body: str = "", status: int = 200) -> tuple[dict, str]:
    return {"status": str(status), "content-type": "application/json; charset=UTF-8"}, body


def fail(status: int) -> tuple[dict, str]:
    return {"status": str(status), "content-type": "application/json; charset=UTF-8"}, fixture(f"error_{status}.json")


def iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


@pytest.fixture
def google(monkeypatch):
    """Queue Google's answers: `google.answer(resp, …)`; `google.requests` lists (method, uri, body) sent."""
    mock = HttpMockSequence([])
    monkeypatch.setattr(google_sync, "base_http", lambda: mock)

    class Google:
        def answer(self, *responses) -> None:
            mock._iterable.extend(responses)

        @property
        def requests(self) -> list[tuple[str, str, dict | str | None]]:
            out = []
            for uri, method, body, _headers in mock.request_sequence:
                if isinstance(body, bytes):
                    body = body.decode()
                try:
                    body = json.loads(body) if body else None
                except ValueError:
                    pass
                out.append((method, uri.split("?")[0], body))
            return out

        @property
        def left(self) -> int:
            return len(mock._iterable)

    with settings_override(**CLIENT):
        yield Google()


def _connect(workspace_id: int, *, expires_in: timedelta = timedelta(hours=1)) -> int:
    tokens = GoogleTokens(token="ya29.current-access-token", refresh_token="1//0gstored-refresh-token",
                          expiry=(utcnow() + expires_in).isoformat(), scopes=tuple(google_sync.SCOPES))
    with session_scope() as s:
        row = CalendarConnection(workspace_id=workspace_id, kind="google", name="Google Calendar", url="primary",
                                 username="owner@oak-dental.example", secret_encrypted=encrypt_secret(tokens.dumps()))
        s.add(row)
        s.flush()
        return row.id


def _event(event_id: str, appt: int, start, end, status: str = "confirmed") -> str:
    return fixture("event.json", EVENT_ID=event_id, STATUS=status, SUMMARY="Haircut – Jordan Lee", START=iso(start),
                   END=iso(end), APPOINTMENT_ID=appt)


def test_insert_patch_freebusy_and_delete(sqlite_db, google):
    biz = make_workspace()
    cid = _connect(biz.id)
    appt = add_appointment(biz.id, at(3, 15), 45)
    event_id = google_event_id(cid, appt)

    google.answer(ok(_event(event_id, appt, at(3, 15), at(3, 15, 45))))
    assert runner.push_appointment(appt, "upsert") == {str(cid): "written"}
    method, uri, body = google.requests[-1]
    assert (method, uri) == ("POST", f"{API}/calendars/primary/events")
    assert body["id"] == event_id and body["summary"] == "Haircut – Jordan Lee" and body["status"] == "confirmed"
    assert body["start"]["dateTime"] == at(3, 15).isoformat() and body["end"]["dateTime"] == at(3, 15, 45).isoformat()
    assert body["extendedProperties"]["private"]["frontdeskAppointment"] == str(appt)
    [link] = links(cid)
    assert link.external_id == event_id and link.content_hash and link.pending == ""

    update_appointment(appt, starts_at=at(4, 10), ends_at=at(4, 11))
    google.answer(ok(_event(event_id, appt, at(4, 10), at(4, 11))))
    assert runner.push_appointment(appt, "upsert") == {str(cid): "written"}
    method, uri, body = google.requests[-1]
    assert (method, uri) == ("PATCH", f"{API}/calendars/primary/events/{event_id}")
    assert body["start"]["dateTime"] == at(4, 10).isoformat()

    # Free/busy: our own appointment (4 Dec 10-11 UTC, merged by Google with a neighbour) is not busy time.
    start, end = runner.sync_window()
    google.answer(ok(fixture("freebusy.json", TIME_MIN=iso(start), TIME_MAX=iso(end),
                             BUSY1_START=iso(at(2, 9)), BUSY1_END=iso(at(2, 10)),
                             BUSY2_START=iso(at(4, 9)), BUSY2_END=iso(at(4, 11)))))
    report = runner.sync_connection(cid)
    assert report.ok and report.pushed == 0  # nothing changed since the last push: no event request
    method, uri, body = google.requests[-1]
    assert (method, uri) == ("POST", f"{API}/freeBusy") and body["items"] == [{"id": "primary"}]
    assert busy_periods(cid) == [(at(2, 9), at(2, 10)), (at(4, 9), at(4, 10))]
    assert connection(cid).last_sync_at is not None and connection(cid).last_error == ""

    update_appointment(appt, status="cancelled")
    google.answer(ok("", 204))
    assert runner.push_appointment(appt, "upsert") == {str(cid): "deleted"}
    assert google.requests[-1][:2] == ("DELETE", f"{API}/calendars/primary/events/{event_id}")
    assert links(cid) == [] and google.left == 0


def test_an_expired_token_is_refreshed_and_stored_encrypted(sqlite_db, google):
    biz = make_workspace()
    cid = _connect(biz.id, expires_in=timedelta(minutes=-5))
    start, end = runner.sync_window()
    google.answer(
        ok(fixture("token_refreshed.json", N=1)),
        ok(fixture("freebusy.json", TIME_MIN=iso(start), TIME_MAX=iso(end), BUSY1_START=iso(at(1, 9)),
                   BUSY1_END=iso(at(1, 10)), BUSY2_START=iso(at(1, 13)), BUSY2_END=iso(at(1, 14)))),
    )
    assert runner.sync_connection(cid).ok
    (m1, token_uri, _), (m2, api_uri, _) = google.requests
    assert (m1, token_uri) == ("POST", "https://oauth2.googleapis.com/token") and api_uri == f"{API}/freeBusy"
    stored = connection(cid).secret_encrypted
    assert "refreshed-access-token" not in stored
    tokens = GoogleTokens.loads(decrypt_secret(stored))
    assert tokens.token == "ya29.a0AfB_refreshed-access-token-1" and tokens.refresh_token == "1//0gstored-refresh-token"
    assert busy_periods(cid) == [(at(1, 9), at(1, 10)), (at(1, 13), at(1, 14))]


def test_a_revoked_grant_is_recorded_and_never_blocks_a_booking(sqlite_db, google):
    biz = make_workspace()
    cid = _connect(biz.id)
    appt = add_appointment(biz.id, at(2, 10))
    # 401 from the API; AuthorizedHttp refreshes; Google's token endpoint says the grant was revoked.
    google.answer(fail(401), ({"status": "400", "content-type": "application/json"},
                              fixture("token_invalid_grant.json")))
    assert runner.push_appointment(appt, "upsert") == {str(cid): "failed"}
    assert "reconnect Google Calendar" in connection(cid).last_error
    [link] = links(cid)
    assert link.pending == "upsert" and link.external_id == google_event_id(cid, appt)

    google.answer(fail(401), ({"status": "400", "content-type": "application/json"},
                              fixture("token_invalid_grant.json")))
    report = runner.sync_connection(cid)
    assert not report.ok and "reconnect" in report.error and google.left == 0
    [health] = connections.connection_health(biz.id)
    assert not health.healthy and health.pending_changes == 1


def test_a_server_error_is_recorded_and_retried_by_the_next_sync(sqlite_db, google):
    biz = make_workspace()
    cid = _connect(biz.id)
    appt = add_appointment(biz.id, at(2, 10))
    event_id = google_event_id(cid, appt)

    google.answer(fail(500))
    assert runner.push_appointment(appt, "upsert") == {str(cid): "failed"}
    assert "HTTP 500" in connection(cid).last_error and links(cid)[0].pending == "upsert"

    # Next sync: the insert is retried with the same id. Google already has it (the 500 came after the write):
    # 409, so the event is patched instead of duplicated. Then free/busy.
    start, end = runner.sync_window()
    google.answer(fail(409), ok(_event(event_id, appt, at(2, 10), at(2, 11))),
                  ok(fixture("freebusy.json", TIME_MIN=iso(start), TIME_MAX=iso(end), BUSY1_START=iso(at(1, 9)),
                             BUSY1_END=iso(at(1, 10)), BUSY2_START=iso(at(2, 10)), BUSY2_END=iso(at(2, 11)))))
    report = runner.sync_connection(cid)
    assert report.ok and report.outcomes[appt] == "written"
    assert [(m, u) for m, u, _ in google.requests[1:3]] == [
        ("POST", f"{API}/calendars/primary/events"), ("PATCH", f"{API}/calendars/primary/events/{event_id}")]
    assert connection(cid).last_error == "" and links(cid)[0].pending == ""
    assert busy_periods(cid) == [(at(1, 9), at(1, 10))]  # 10-11 on day 2 is our appointment

    # A calendar Google cannot read: recorded, earlier busy time kept.
    google.answer(ok(fixture("freebusy_not_found.json", TIME_MIN=iso(start), TIME_MAX=iso(end))))
    report = runner.sync_connection(cid)
    assert not report.ok and "notFound" in connection(cid).last_error
    assert busy_periods(cid) == [(at(1, 9), at(1, 10))]


# --- OAuth -------------------------------------------------------------------------------------------------


class _TokenEndpoint(http.server.BaseHTTPRequestHandler):
    """Google's token endpoint, as far as the authorization-code exchange goes."""

    received: list[dict] = []
    answer: str = ""

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            form["basic_auth"] = base64.b64decode(auth[6:]).decode()
        self.received.append(form)
        body = self.answer.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _unsigned_jwt(claims: dict) -> str:
    part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_oauth_code_exchange_stores_encrypted_tokens(sqlite_db, monkeypatch):
    (port,) = free_ports(1)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _TokenEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _TokenEndpoint.received = []
    _TokenEndpoint.answer = fixture("token_exchange.json", ID_TOKEN=_unsigned_jwt(
        {"iss": "https://accounts.google.com", "email": "owner@oak-dental.example", "sub": "1"}))
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the stand-in token endpoint is plain http
    monkeypatch.setattr(connections, "_queue_first_sync", lambda connection_id: None)
    try:
        with settings_override(**CLIENT, google_token_uri=f"http://127.0.0.1:{port}/token",
                               public_url="https://desk.example"):
            biz = make_workspace()
            other = make_workspace(slug="elm-salon", name="Elm Salon")
            redirect_uri = connections.google_redirect_uri()
            assert redirect_uri == "https://desk.example/api/calendar/google/callback"
            auth = connections.google_authorization_url(biz.id, redirect_uri, user_id=biz.owner_id)
            url, state = auth.url, auth.state
            query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
            assert url.startswith("https://accounts.google.com/o/oauth2/auth?")
            assert query["client_id"] == CLIENT["google_client_id"] and query["redirect_uri"] == redirect_uri
            assert query["state"] == state and query["access_type"] == "offline"
            assert query["code_challenge_method"] == "S256" and "calendar.events" in query["scope"]
            assert '"ws"' not in state and "code_verifier" not in state  # the state is opaque (encrypted)
            assert connections.workspace_for_google_state(state) == biz.id

            with pytest.raises(ServiceError):  # a state made for one workspace cannot connect another
                connections.complete_google_authorization(other.id, "code", state, redirect_uri, auth.browser_key)

            client = TestClient(create_api())
            # A browser that did not start this sign-in (someone sent the owner the link) cannot finish it.
            for cookie in ({}, {connections.GOOGLE_BROWSER_COOKIE: "someone-elses-key"}):
                client.cookies.clear()
                client.cookies.update(cookie)
                foreign = client.get("/api/calendar/google/callback", params={"code": "4/0Ab", "state": state},
                                     follow_redirects=False)
                assert foreign.status_code == 303 and "another+browser" in foreign.headers["location"]
            client.cookies.clear()
            client.cookies.set(connections.GOOGLE_BROWSER_COOKIE, auth.browser_key)
            tampered = client.get("/api/calendar/google/callback",
                                  params={"code": "4/0Ab", "state": state[:-4] + "AAAA"}, follow_redirects=False)
            assert tampered.status_code == 303 and "calendar_error=" in tampered.headers["location"]
            denied = client.get("/api/calendar/google/callback", params={"error": "access_denied", "state": state},
                                follow_redirects=False)
            assert "calendar_error=Google+sign-in+was+cancelled" in denied.headers["location"]
            assert connections.list_connections(biz.id) == [] and _TokenEndpoint.received == []

            done = client.get("/api/calendar/google/callback", params={"code": "4/0AbCdEf", "state": state},
                              follow_redirects=False)
            assert done.status_code == 303
            assert done.headers["location"] == "/dashboard/calendar?tab=sync&calendar=connected"
            assert connections.GOOGLE_BROWSER_COOKIE in done.headers["set-cookie"]  # the key is spent: removed
            [sent] = _TokenEndpoint.received
            assert sent["grant_type"] == "authorization_code" and sent["code"] == "4/0AbCdEf"
            assert sent["redirect_uri"] == redirect_uri and len(sent["code_verifier"]) >= 43
            assert CLIENT["google_client_secret"] in (sent.get("client_secret", "") + sent.get("basic_auth", ""))

            [view] = connections.list_connections(biz.id)
            assert (view.kind, view.name, view.username) == ("google", "Google Calendar (owner@oak-dental.example)",
                                                            "owner@oak-dental.example")
            assert view.secret_masked == "••••3f9a" and "refresh-token" not in repr(view)
            stored = connection(view.id).secret_encrypted
            assert "first-refresh-token" not in stored
            tokens = GoogleTokens.loads(decrypt_secret(stored))
            assert (tokens.token, tokens.refresh_token) == ("ya29.a0AfB_first-access-token",
                                                            "1//0gfirst-refresh-token-3f9a")
            assert connections.list_connections(other.id) == []
    finally:
        server.shutdown()
        server.server_close()


def test_google_needs_client_settings(sqlite_db):
    biz = make_workspace()
    with settings_override(google_client_id="", google_client_secret=""):
        with pytest.raises(ServiceError, match="not set up"):
            connections.google_authorization_url(biz.id, "https://desk.example/api/calendar/google/callback")
