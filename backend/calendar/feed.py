"""A workspace's appointments as an ICS subscription feed behind a secret URL.

Works with no outside service: the owner pastes the URL into Google Calendar, Apple Calendar or Outlook
("subscribe from URL"). Only the SHA-256 of the token is stored, so the URL is shown when it is issued and
cannot be read back later; issuing a new one (`rotate_feed_token`) makes the previous URL answer 404.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from backend.calendar.ics import feed_ics
from backend.calendar.sync.common import OFF_CALENDAR, appointment_event
from backend.db import session_scope, tenant_select
from backend.errors import NotFound
from backend.models import Appointment, AuditEvent, Workspace
from backend.models.types import utcnow
from backend.security import new_token, token_hash
from backend.settings import get_settings

FEED_PAST_DAYS = 30  # "recent": appointments this far back stay in the feed
FEED_FUTURE_DAYS = 366
FEED_PATH = "/calendar/feed/{token}.ics"


class FeedNotFound(NotFound):
    pass


def _url(token: str) -> str:
    return get_settings().public_url.rstrip("/") + FEED_PATH.format(token=token)


def rotate_feed_token(workspace_id: int, user_id: int | None = None) -> str:
    """Issue a new secret feed URL for the workspace and return it; any previous URL stops working."""
    token = new_token(24)
    with session_scope() as session:
        ws = session.get(Workspace, workspace_id)
        if ws is None:
            raise NotFound("This workspace does not exist.")
        had_feed = bool(ws.ics_feed_token_hash)
        ws.ics_feed_token_hash = token_hash(token)
        ws.updated_at = utcnow()
        session.add(ws)
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id,
                               action="calendar.feed_rotated" if had_feed else "calendar.feed_created"))
    return _url(token)


def feed_url(workspace_id: int, user_id: int | None = None) -> str:
    """The secret feed URL, freshly issued (the token is not stored, so it cannot be shown twice)."""
    return rotate_feed_token(workspace_id, user_id)


def feed_enabled(workspace_id: int) -> bool:
    with session_scope() as session:
        ws = session.get(Workspace, workspace_id)
        return bool(ws and ws.ics_feed_token_hash)


def disable_feed(workspace_id: int, user_id: int | None = None) -> None:
    with session_scope() as session:
        ws = session.get(Workspace, workspace_id)
        if ws is None:
            raise NotFound("This workspace does not exist.")
        ws.ics_feed_token_hash = ""
        session.add(ws)
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="calendar.feed_disabled"))


def feed_for_token(token: str) -> str:
    """The feed of the workspace this token belongs to; FeedNotFound for any other string."""
    if not token or len(token) > 200:
        raise FeedNotFound("This calendar link is not valid.")
    digest = token_hash(token)
    now = utcnow()
    with session_scope() as session:
        ws = session.exec(select(Workspace).where(Workspace.ics_feed_token_hash == digest)).first()
        if ws is None or not ws.ics_feed_token_hash:
            raise FeedNotFound("This calendar link is not valid.")
        rows = session.exec(
            tenant_select(Appointment, ws.id)
            .where(Appointment.ends_at >= now - timedelta(days=FEED_PAST_DAYS))
            .where(Appointment.starts_at <= now + timedelta(days=FEED_FUTURE_DAYS))
            .where(Appointment.status.not_in(OFF_CALENDAR))
            .order_by(Appointment.starts_at)
        ).all()
        events = [appointment_event(session, row).ics_fields() for row in rows if row.ends_at > row.starts_at]
        return feed_ics(f"{ws.name} – appointments", events)
