"""Google Calendar through google-api-python-client: events.insert / patch / delete and freebusy.query.

The service is built from the discovery document shipped inside googleapiclient (`static_discovery=True`), so
building it needs no network. Requests go through `google_auth_httplib2.AuthorizedHttp`, which refreshes an
expired access token with the stored refresh token; refreshed tokens are handed back to the caller to store.
`base_http()` is the one seam: production returns `httplib2.Http`, tests put googleapiclient's own HttpMock
there, so the token refresh and every API call take exactly the production path.

Event ids are chosen by us (see `google_event_id`), so a retried insert after a lost response is answered 409
and becomes a patch instead of a duplicate event.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from backend.calendar.sync.common import AppointmentEvent
from backend.settings import get_settings

log = logging.getLogger(__name__)

SCOPES = [
    "openid",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
]
TIMEOUT_SECONDS = 20


class GoogleAuthError(RuntimeError):
    """The stored grant no longer works (revoked, expired refresh token): the owner must reconnect."""


def base_http() -> httplib2.Http:
    return httplib2.Http(timeout=TIMEOUT_SECONDS)


@dataclass
class GoogleTokens:
    token: str
    refresh_token: str
    expiry: str = ""  # ISO 8601 UTC, "" if unknown
    scopes: tuple[str, ...] = ()

    def dumps(self) -> str:
        return json.dumps({"token": self.token, "refresh_token": self.refresh_token, "expiry": self.expiry,
                           "scopes": list(self.scopes)})

    @classmethod
    def loads(cls, text: str) -> "GoogleTokens":
        data = json.loads(text)
        return cls(token=data.get("token", ""), refresh_token=data.get("refresh_token", ""),
                   expiry=data.get("expiry", ""), scopes=tuple(data.get("scopes", ())))


def credentials_for(tokens: GoogleTokens) -> Credentials:
    settings = get_settings()
    expiry = None
    if tokens.expiry:
        # google-auth compares expiry with a naive UTC "now".
        expiry = datetime.fromisoformat(tokens.expiry).astimezone(timezone.utc).replace(tzinfo=None)
    return Credentials(token=tokens.token or None, refresh_token=tokens.refresh_token or None,
                       token_uri=settings.google_token_uri, client_id=settings.google_client_id,
                       client_secret=settings.google_client_secret, scopes=list(tokens.scopes) or None,
                       expiry=expiry)


def tokens_from(credentials: Credentials, previous: GoogleTokens | None = None) -> GoogleTokens:
    expiry = credentials.expiry.replace(tzinfo=timezone.utc).isoformat() if credentials.expiry else ""
    return GoogleTokens(token=credentials.token or "",
                        refresh_token=credentials.refresh_token or (previous.refresh_token if previous else ""),
                        expiry=expiry, scopes=tuple(credentials.scopes or (previous.scopes if previous else ())))


class GoogleCalendar:
    """One connected Google calendar. After use, `tokens` holds the (possibly refreshed) tokens to store."""

    def __init__(self, tokens: GoogleTokens, calendar_id: str = "primary"):
        self.calendar_id = calendar_id or "primary"
        self._previous = tokens
        self.credentials = credentials_for(tokens)
        http = google_auth_httplib2.AuthorizedHttp(self.credentials, http=base_http())
        self.service = build("calendar", "v3", http=http, static_discovery=True, cache_discovery=False)

    @property
    def tokens(self) -> GoogleTokens:
        return tokens_from(self.credentials, self._previous)

    @property
    def tokens_changed(self) -> bool:
        return self.tokens.token != self._previous.token

    def _execute(self, request) -> Any:
        try:
            return request.execute(num_retries=0)
        except google.auth.exceptions.RefreshError as exc:
            raise GoogleAuthError("Google refused the stored access (it may have been revoked): reconnect "
                                  "Google Calendar in Settings.") from exc
        except HttpError as exc:
            if exc.resp.status == 401:
                raise GoogleAuthError("Google refused the stored access (401): reconnect Google Calendar in "
                                      "Settings.") from exc
            raise

    @staticmethod
    def body(event: AppointmentEvent) -> dict[str, Any]:
        return {
            "summary": event.summary,
            "description": event.description,
            "start": {"dateTime": event.starts_at.astimezone(timezone.utc).isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": event.ends_at.astimezone(timezone.utc).isoformat(), "timeZone": "UTC"},
            "status": "tentative" if event.status == "TENTATIVE" else "confirmed",
            "transparency": "opaque",
            "extendedProperties": {"private": {"frontdeskAppointment": str(event.appointment_id),
                                               "frontdeskUid": event.uid}},
        }

    def upsert(self, event: AppointmentEvent, event_id: str, exists: bool) -> str:
        """Patch the event if we created it before, else insert it with our id; returns the event id."""
        events = self.service.events()
        body = self.body(event)
        if exists:
            try:
                self._execute(events.patch(calendarId=self.calendar_id, eventId=event_id, body=body))
                return event_id
            except HttpError as exc:
                if exc.resp.status not in (404, 410):
                    raise
        try:
            created = self._execute(events.insert(calendarId=self.calendar_id, body={**body, "id": event_id}))
            return created.get("id", event_id)
        except HttpError as exc:
            if exc.resp.status != 409:  # 409: the id exists already (an earlier try got through, or cancelled)
                raise
        self._execute(events.patch(calendarId=self.calendar_id, eventId=event_id, body=body))
        return event_id

    def delete(self, event_id: str) -> None:
        try:
            self._execute(self.service.events().delete(calendarId=self.calendar_id, eventId=event_id))
        except HttpError as exc:
            if exc.resp.status not in (404, 410):  # already gone
                raise

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        body = {"timeMin": start.astimezone(timezone.utc).isoformat(),
                "timeMax": end.astimezone(timezone.utc).isoformat(),
                "items": [{"id": self.calendar_id}]}
        answer = self._execute(self.service.freebusy().query(body=body))
        entry = (answer.get("calendars") or {}).get(self.calendar_id) or {}
        if entry.get("errors"):
            reasons = ", ".join(e.get("reason", "?") for e in entry["errors"])
            raise RuntimeError(f"Google could not read the calendar's free/busy time ({reasons})")
        spans = []
        for item in entry.get("busy", []):
            try:
                s = datetime.fromisoformat(item["start"].replace("Z", "+00:00")).astimezone(timezone.utc)
                e = datetime.fromisoformat(item["end"].replace("Z", "+00:00")).astimezone(timezone.utc)
            except (KeyError, ValueError, AttributeError):
                log.warning("skipped an unreadable busy period from Google: %r", item)
                continue
            if e > s:
                spans.append((s, e))
        return sorted(spans)
