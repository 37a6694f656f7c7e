"""The owner's outside calendars: connect (CalDAV by password, Google by OAuth), list, check, disconnect.

Secrets (the CalDAV password, Google's OAuth tokens) are stored Fernet-encrypted and never leave this module
in clear: views carry a masked form only. Connecting validates against the real server first, so a wrong
password or an address that is not a calendar server is a form error and stores nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

from sqlalchemy import delete as sa_delete
from sqlalchemy import func
from sqlmodel import select

from backend.calendar.sync import caldav_sync
from backend.db import session_scope, tenant_get, tenant_select
from backend.errors import NotFound, ServiceError
from backend.models import AuditEvent, BusyPeriod, CalendarConnection, CalendarEventLink
from backend.providers.background import enqueue
from backend.providers.outbound import public_addresses_only, total_deadline
from backend.security import SecretDecryptionError, decrypt_secret, encrypt_secret, mask_secret
from backend.settings import get_settings

log = logging.getLogger(__name__)

GOOGLE_STATE_SECONDS = 600
GOOGLE_CALLBACK_PATH = "/api/calendar/google/callback"
GOOGLE_BROWSER_COOKIE = "fd_google_signin"  # the browser key, sent only to the callback path


@dataclass(frozen=True)
class ConnectionView:
    id: int
    kind: str
    name: str
    url: str
    username: str
    secret_masked: str
    active: bool
    last_sync_at: datetime | None
    last_error: str
    created_at: datetime


@dataclass(frozen=True)
class ConnectionHealth:
    id: int
    kind: str
    name: str
    healthy: bool
    last_sync_at: datetime | None
    last_error: str
    pending_changes: int
    busy_periods: int


def _masked(row: CalendarConnection) -> str:
    if not row.secret_encrypted:
        return ""
    try:
        secret = decrypt_secret(row.secret_encrypted)
    except SecretDecryptionError:
        return "(unreadable: reconnect)"
    if row.kind == "google":
        try:
            secret = json.loads(secret).get("refresh_token") or ""
        except ValueError:
            secret = ""
        return mask_secret(secret) or "••••"
    return "••••••••"  # a password: not even its tail is shown


def _view(row: CalendarConnection) -> ConnectionView:
    return ConnectionView(id=row.id, kind=row.kind, name=row.name, url=row.url, username=row.username,
                          secret_masked=_masked(row), active=row.active, last_sync_at=row.last_sync_at,
                          last_error=row.last_error, created_at=row.created_at)


def list_connections(workspace_id: int) -> list[ConnectionView]:
    with session_scope() as session:
        rows = session.exec(tenant_select(CalendarConnection, workspace_id).order_by(CalendarConnection.id)).all()
        return [_view(row) for row in rows]


def _queue_first_sync(connection_id: int) -> None:

    try:
        enqueue("sync_calendar", connection_id=connection_id)
    except Exception:
        log.warning("first sync of calendar %s not queued; the next scheduled sync does it", connection_id,
                    exc_info=True)


# --- CalDAV --------------------------------------------------------------------------------------------------


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ServiceError("Enter the calendar server's address, starting with https://", field="url")
    if len(url) > 500:
        raise ServiceError("This address is too long.", field="url")
    return url


def add_caldav_connection(workspace_id: int, *, url: str, username: str, password: str, calendar_name: str = "",
                          user_id: int | None = None, sync_now: bool = True) -> ConnectionView:
    """Connect a CalDAV calendar after checking the credentials against the server."""

    url = _clean_url(url)
    username = (username or "").strip()
    if not username:
        raise ServiceError("Enter the username of your calendar account.", field="username")
    if not password:
        raise ServiceError("Enter the password (an app password, if your provider has them).", field="password")
    # The owner waits for this answer: a server that trickles it must not hold the request (or a thread) for long.
    with public_addresses_only(field="url"), \
            total_deadline(get_settings().outside_call_seconds, "The calendar server", field="url"):
        found = caldav_sync.discover(url, username, password, calendar_name.strip())  # ServiceError if not usable
    with session_scope() as session:
        duplicate = session.exec(tenant_select(CalendarConnection, workspace_id)
                                 .where(CalendarConnection.kind == "caldav")
                                 .where(CalendarConnection.url == found.url)
                                 .where(CalendarConnection.username == username)).first()
        if duplicate is not None:
            raise ServiceError(f"The calendar \u201c{found.name}\u201d is already connected.", field="url")
        row = CalendarConnection(workspace_id=workspace_id, kind="caldav", name=found.name[:120], url=found.url,
                                 username=username[:200], secret_encrypted=encrypt_secret(password))
        session.add(row)
        session.flush()
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="calendar.connected",
                               detail=f"caldav {found.url}"))
        view = _view(row)
    if sync_now:
        _queue_first_sync(view.id)
    return view


# --- everything ----------------------------------------------------------------------------------------------


def remove_connection(workspace_id: int, connection_id: int, user_id: int | None = None) -> None:
    """Disconnect: the row, its encrypted secret, its busy periods and event links go, in one transaction.
    Events already written to the outside calendar stay there (they are the owner's calendar now)."""
    with session_scope() as session:
        row = tenant_get(session, CalendarConnection, workspace_id, connection_id)
        if row is None:
            raise NotFound("This calendar connection does not exist.")
        session.exec(sa_delete(BusyPeriod).where(BusyPeriod.connection_id == row.id))
        session.exec(sa_delete(CalendarEventLink).where(CalendarEventLink.connection_id == row.id))
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="calendar.disconnected",
                               detail=f"{row.kind} {row.url}"[:2000]))
        session.delete(row)


def connection_health(workspace_id: int) -> list[ConnectionHealth]:
    with session_scope() as session:
        rows = session.exec(tenant_select(CalendarConnection, workspace_id).order_by(CalendarConnection.id)).all()
        out = []
        for row in rows:
            pending = session.exec(select(func.count()).select_from(CalendarEventLink)
                                   .where(CalendarEventLink.connection_id == row.id)
                                   .where(CalendarEventLink.pending != "")).one()
            busy = session.exec(select(func.count()).select_from(BusyPeriod)
                                .where(BusyPeriod.connection_id == row.id)).one()
            healthy = row.active and row.last_sync_at is not None and not pending and not row.last_error
            out.append(ConnectionHealth(id=row.id, kind=row.kind, name=row.name, healthy=healthy,
                                        last_sync_at=row.last_sync_at, last_error=row.last_error,
                                        pending_changes=int(pending), busy_periods=int(busy)))
        return out


# --- Google (OAuth 2.0, authorization code + PKCE) -----------------------------------------------------------


def google_redirect_uri() -> str:
    """The redirect URI to register with Google and to pass to `google_authorization_url`."""
    return get_settings().public_url.rstrip("/") + GOOGLE_CALLBACK_PATH


def _google_client_config(redirect_uri: str) -> dict:
    settings = get_settings()
    if not settings.google_client_id or not settings.google_client_secret:
        raise ServiceError("Google Calendar is not set up on this server (ASSISTANT_GOOGLE_CLIENT_ID and "
                           "ASSISTANT_GOOGLE_CLIENT_SECRET).")
    return {"web": {"client_id": settings.google_client_id, "client_secret": settings.google_client_secret,
                    "auth_uri": settings.google_auth_uri, "token_uri": settings.google_token_uri,
                    "redirect_uris": [redirect_uri]}}


def _flow(redirect_uri: str, code_verifier: str):
    from google_auth_oauthlib.flow import Flow

    from backend.calendar.sync.google_sync import SCOPES

    return Flow.from_client_config(_google_client_config(redirect_uri), scopes=SCOPES, redirect_uri=redirect_uri,
                                   code_verifier=code_verifier, autogenerate_code_verifier=False)


@dataclass(frozen=True)
class GoogleAuthorization:
    url: str  # Google's consent screen
    state: str  # comes back with the code
    browser_key: str  # kept by the owner's browser (a cookie on the callback path) until it comes back


def google_authorization_url(workspace_id: int, redirect_uri: str, user_id: int | None = None
                             ) -> GoogleAuthorization:
    """Where to send the owner to grant access, the `state` that comes back with the code, and a key for the
    owner's browser to keep.

    The state is the workspace, the PKCE verifier, an expiry and the hash of the browser key, encrypted and
    authenticated with the server's key: nothing to store, and a state that was altered or is older than ten
    minutes is refused. The browser key ties the sign-in to the browser that started it: a link to Google made
    by someone else's workspace cannot attach your Google calendar to it when you follow it.
    """
    verifier = secrets.token_urlsafe(64)[:96]
    browser_key = secrets.token_urlsafe(24)
    flow = _flow(redirect_uri, verifier)
    payload = {"ws": workspace_id, "u": user_id, "exp": int(time.time()) + GOOGLE_STATE_SECONDS, "v": verifier,
               "b": _key_hash(browser_key)}
    state = encrypt_secret(json.dumps(payload))
    url, _ = flow.authorization_url(state=state, access_type="offline", prompt="consent",
                                    include_granted_scopes="true")
    return GoogleAuthorization(url, state, browser_key)


def _key_hash(browser_key: str) -> str:
    return hashlib.sha256(browser_key.encode("utf-8")).hexdigest()


def _read_state(state: str) -> dict:
    try:
        payload = json.loads(decrypt_secret(state or ""))
    except (SecretDecryptionError, ValueError):
        raise ServiceError("This Google sign-in link is not valid. Start connecting again.") from None
    if int(payload.get("exp", 0)) < time.time():
        raise ServiceError("This Google sign-in took too long. Start connecting again.")
    return payload


def workspace_for_google_state(state: str) -> int:
    """The workspace a returning OAuth `state` belongs to (the callback route has nothing else to go on)."""
    return int(_read_state(state)["ws"])


def complete_google_authorization(workspace_id: int, code: str, state: str, redirect_uri: str, browser_key: str
                                  ) -> ConnectionView:
    """Exchange the code for tokens and store them encrypted as a Google connection (or refresh an existing one
    for the same Google account). `browser_key` is what the returning browser kept (see google_authorization_url)."""
    import google.auth.jwt

    payload = _read_state(state)
    if int(payload["ws"]) != workspace_id:
        raise ServiceError("This Google sign-in was started for another workspace.")
    if not browser_key or not hmac.compare_digest(_key_hash(browser_key), str(payload.get("b", ""))):
        raise ServiceError("This Google sign-in was started in another browser. Connect Google Calendar again "
                           "from this browser.")
    if not code:
        raise ServiceError("Google did not send an authorization code. Start connecting again.")
    flow = _flow(redirect_uri, payload["v"])
    os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")  # Google may add previously granted scopes
    try:
        with total_deadline(get_settings().outside_call_seconds, "Google"):
            flow.fetch_token(code=code)
    except Exception as exc:
        log.warning("Google token exchange failed: %s", exc)
        raise ServiceError("Google did not accept the sign-in (the code may have expired). Try again.") from exc
    credentials = flow.credentials
    if not credentials.refresh_token:
        raise ServiceError("Google did not grant offline access. Remove Front Desk's access in your Google "
                           "account settings and connect again.")
    from backend.calendar.sync.google_sync import tokens_from

    tokens = tokens_from(credentials)
    account = ""
    id_token = getattr(credentials, "id_token", None) or flow.oauth2session.token.get("id_token")
    if id_token:
        try:  # straight from Google's token endpoint over TLS: OIDC allows reading it without a signature check
            account = google.auth.jwt.decode(id_token, verify=False).get("email", "")
        except Exception:
            account = ""
    name = f"Google Calendar ({account})" if account else "Google Calendar"
    with session_scope() as session:
        row = None
        if account:
            row = session.exec(tenant_select(CalendarConnection, workspace_id)
                               .where(CalendarConnection.kind == "google")
                               .where(CalendarConnection.username == account)).first()
        if row is None:
            row = CalendarConnection(workspace_id=workspace_id, kind="google", url="primary")
        row.name, row.username = name[:120], account[:200]
        row.secret_encrypted = encrypt_secret(tokens.dumps())
        row.active, row.last_error = True, ""
        session.add(row)
        session.flush()
        session.add(AuditEvent(workspace_id=workspace_id, user_id=payload.get("u"), action="calendar.connected",
                               detail=f"google {account}"))
        view = _view(row)
    _queue_first_sync(view.id)
    return view
