"""The activity log an owner reads: who did what in the workspace, and when, in words rather than codes.

Services write `AuditEvent` rows as they act (sign-ins, exports, erasures, settings, API tokens, …); this module
words each action, filters and pages them for the Activity page, and writes the CSV an owner downloads. Only the
workspace's own rows are ever read (tenant_select).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, select

from backend.core.formatting import describe_user_agent
from backend.db import session_scope, tenant_select
from backend.errors import NotFound, ServiceError
from backend.models import AuditEvent, Membership, User, Workspace
from backend.models.types import utcnow

PAGE_SIZE = 50
MAX_CSV_ROWS = 10_000
SYSTEM = "system"  # the person filter for rows no signed-in person made (integrations, background work)

CATEGORIES: dict[str, str] = {
    "sign_in": "Sign-ins and security",
    "privacy": "Privacy and data",
    "settings": "Settings",
    "api_tokens": "API tokens",
    "contacts": "Contacts",
    "conversations": "Conversations",
    "knowledge": "Knowledge",
    "assistant": "Assistant",
    "calendar": "Calendar",
    "other": "Other",
}

# action code -> (category, what happened, in the words the log shows)
ACTIONS: dict[str, tuple[str, str]] = {
    "account.signed_up": ("sign_in", "Created the account"),
    "account.signed_in": ("sign_in", "Signed in"),
    "account.sign_in_failed": ("sign_in", "Failed sign-in: wrong password"),
    "account.signed_out": ("sign_in", "Signed out"),
    "account.password_reset": ("sign_in", "Reset the password with an e-mailed link"),
    "account.sessions_revoked": ("sign_in", "Signed out other sessions"),
    "contact.exported": ("privacy", "Downloaded a contact's data"),
    "contact.deleted": ("privacy", "Erased a contact and all their data"),
    "workspace.deletion_scheduled": ("privacy", "Scheduled the workspace for deletion"),
    "workspace.deletion_cancelled": ("privacy", "Cancelled the workspace deletion"),
    "retention.updated": ("privacy", "Changed how long conversations are kept"),
    "retention.applied": ("privacy", "Deleted old conversations (data retention)"),
    "activity.exported": ("privacy", "Downloaded the activity log"),
    "profile.updated": ("settings", "Updated the business profile"),
    "portal.slug_regenerated": ("settings", "Replaced the portal link"),
    "reply_policy.updated": ("settings", "Changed the reply policy"),
    "notifications.updated": ("settings", "Changed notification preferences"),
    "api_token.created": ("api_tokens", "Created an API token"),
    "api_token.revoked": ("api_tokens", "Revoked an API token"),
    "contact.updated": ("contacts", "Edited a contact"),
    "contact.merged": ("contacts", "Merged two contacts"),
    "conversation.status": ("conversations", "Changed a conversation's status"),
    "conversation.ai_paused": ("conversations", "Paused or resumed the assistant in a conversation"),
    "kb.document.added": ("knowledge", "Added a document"),
    "kb.faq.added": ("knowledge", "Added an FAQ entry"),
    "kb.document.retried": ("knowledge", "Retried a document"),
    "kb.document.deleted": ("knowledge", "Deleted a document"),
    "kb.reindexed": ("knowledge", "Re-indexed the knowledge base"),
    "intent.created": ("assistant", "Added a custom intent"),
    "intent.updated": ("assistant", "Edited a custom intent"),
    "intent.deleted": ("assistant", "Deleted a custom intent"),
    "calendar.connected": ("calendar", "Connected a calendar"),
    "calendar.disconnected": ("calendar", "Disconnected a calendar"),
    "calendar.feed_created": ("calendar", "Created the calendar subscription link"),
    "calendar.feed_rotated": ("calendar", "Replaced the calendar subscription link"),
    "calendar.feed_disabled": ("calendar", "Turned off the calendar subscription link"),
}


def describe_action(action: str) -> tuple[str, str]:
    """(category, wording) of an action code; an unknown code still reads as words."""
    known = ACTIONS.get(action)
    if known is not None:
        return known
    return "other", action.replace("_", " ").replace(".", ": ").capitalize()


# --- reading -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityRow:
    id: int
    at: str  # in the workspace's time zone, e.g. "14 Mar 2026, 10:30"
    at_iso: str  # the same moment, ISO 8601 with the zone's offset
    who: str
    who_email: str
    action: str
    category: str
    category_label: str
    summary: str
    detail: str
    address: str


@dataclass(frozen=True)
class ActivityPage:
    rows: list[ActivityRow]
    total: int
    page: int
    pages: int
    timezone: str


@dataclass(frozen=True)
class Filters:
    category: str = ""
    person: str = ""  # "" everyone, SYSTEM, or a user id
    date_from: str = ""  # YYYY-MM-DD, in the workspace's time zone, inclusive
    date_to: str = ""


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except Exception:  # a zone the system no longer knows: UTC still orders the log
        return ZoneInfo("UTC")


def _day(value: str, field: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ServiceError("Pick a date like 2026-03-14.", field=field) from None


def _filtered(workspace_id: int, filters: Filters, zone: ZoneInfo):
    query = tenant_select(AuditEvent, workspace_id)
    if filters.category:
        if filters.category not in CATEGORIES:
            raise ServiceError("Choose a kind of activity from the list.", field="category")
        if filters.category == "other":
            query = query.where(AuditEvent.action.not_in(list(ACTIONS)))
        else:
            codes = [code for code, (category, _) in ACTIONS.items() if category == filters.category]
            query = query.where(AuditEvent.action.in_(codes))
    if filters.person == SYSTEM:
        query = query.where(AuditEvent.user_id.is_(None))
    elif filters.person:
        if not str(filters.person).isdigit():
            raise ServiceError("Choose a person from the list.", field="person")
        query = query.where(AuditEvent.user_id == int(filters.person))
    start, end = _day(filters.date_from, "date_from"), _day(filters.date_to, "date_to")
    if start and end and start > end:
        raise ServiceError("The first day must come before the last.", field="date_to")
    if start:
        query = query.where(AuditEvent.created_at >= datetime.combine(start, time(), zone))
    if end:
        query = query.where(AuditEvent.created_at < datetime.combine(end + timedelta(days=1), time(), zone))
    return query


def _row(event: AuditEvent, user: User | None, zone: ZoneInfo) -> ActivityRow:
    category, summary = describe_action(event.action)
    moment = event.created_at.astimezone(zone)
    if user is not None:
        who, email = user.full_name or user.email, user.email
    else:
        who, email = event.actor or "System", ""
    return ActivityRow(id=event.id, at=f"{moment.day} {moment:%b %Y, %H:%M}", at_iso=moment.isoformat(), who=who,
                       who_email=email, action=event.action, category=category,
                       category_label=CATEGORIES[category], summary=summary, detail=event.detail,
                       address=event.client_address)


def _workspace_zone(session: Session, workspace_id: int) -> tuple[Workspace, ZoneInfo]:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("This workspace no longer exists.")
    return workspace, _zone(workspace.timezone)


def list_activity(workspace_id: int, filters: Filters = Filters(), page: int = 1,
                  page_size: int = PAGE_SIZE) -> ActivityPage:
    """One page of the workspace's activity, newest first. Bad filters raise ServiceError on their field."""
    page_size = max(1, min(int(page_size), 200))
    with session_scope() as session:
        workspace, zone = _workspace_zone(session, workspace_id)
        query = _filtered(workspace_id, filters, zone)
        total = int(session.exec(select(func.count()).select_from(query.subquery())).one())
        pages = max(1, math.ceil(total / page_size))
        page = max(1, min(int(page), pages))
        rows = session.execute(
            query.add_columns(User).outerjoin(User, User.id == AuditEvent.user_id)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(page_size).offset((page - 1) * page_size)
        ).all()
        return ActivityPage(rows=[_row(event, user, zone) for event, user in rows], total=total, page=page,
                            pages=pages, timezone=workspace.timezone)


def activity_people(workspace_id: int) -> list[tuple[str, str]]:
    """(value, label) for the person filter: the workspace's members, then everyone no longer a member who
    appears in its log, then the system."""
    with session_scope() as session:
        members = session.exec(
            select(User).join(Membership, Membership.user_id == User.id)
            .where(Membership.workspace_id == workspace_id).order_by(User.full_name, User.id)
        ).all()
        logged = session.exec(
            select(User).where(User.id.in_(
                tenant_select(AuditEvent, workspace_id).with_only_columns(AuditEvent.user_id).distinct()))
            .order_by(User.full_name, User.id)
        ).all()
        people: dict[int, str] = {}
        for user in [*members, *logged]:
            people.setdefault(user.id, user.full_name or user.email)
        return [(str(user_id), name) for user_id, name in people.items()] + [(SYSTEM, "System and integrations")]


def activity_csv(workspace_id: int, filters: Filters = Filters(), user_id: int | None = None) -> str:
    """The filtered log as CSV (newest first, at most MAX_CSV_ROWS rows); the download itself is logged."""
    with session_scope() as session:
        workspace, zone = _workspace_zone(session, workspace_id)
        query = _filtered(workspace_id, filters, zone)
        rows = session.execute(
            query.add_columns(User).outerjoin(User, User.id == AuditEvent.user_id)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(MAX_CSV_ROWS)
        ).all()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["time", "person", "email", "kind", "what", "detail", "address", "code"])
        for event, user in rows:
            row = _row(event, user, zone)
            writer.writerow([_cell(value) for value in (row.at_iso, row.who, row.who_email, row.category_label,
                                                         row.summary, row.detail, row.address, row.action)])
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="activity.exported",
                               detail=f"{len(rows)} row(s)", created_at=utcnow()))
        return out.getvalue()


def _cell(value: str) -> str:
    # A cell starting like a formula would run in a spreadsheet: say it as text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


__all__ = ["ACTIONS", "CATEGORIES", "SYSTEM", "ActivityPage", "ActivityRow", "Filters", "activity_csv",
           "activity_people", "describe_action", "describe_user_agent", "list_activity"]
