"""Telling the team: in-app notifications and e-mail, per member and per kind of event, as each member chose.

`notify()` is called after the change it announces was committed, so a notice always points at something
that exists; e-mails go through the outbox (stored first, delivered in the background).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from backend.core.formatting import iso
from backend.core.live_events import PendingEvents
from backend.core.membership import require_member
from backend.db import session_scope
from backend.errors import ServiceError
from backend.models import AuditEvent, Membership, Notification, NotificationPreference, User, Workspace
from backend.models.types import utcnow
from backend.notifications.outbox import queue_email
from backend.notifications.views import NotificationView
from backend.settings import get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotificationKind:
    key: str
    label: str
    in_app: bool  # defaults for a member who never changed the preference
    email: bool


KINDS: dict[str, NotificationKind] = {
    kind.key: kind
    for kind in (
        NotificationKind("new_conversation", "A customer starts a new conversation", in_app=True, email=True),
        NotificationKind("new_message", "A customer writes in a conversation you had read", in_app=True, email=False),
        NotificationKind("handoff", "A conversation needs a person", in_app=True, email=True),
        NotificationKind("draft", "The assistant drafted a reply for you to review", in_app=True, email=False),
        NotificationKind("ai_failed", "The assistant could not process a message", in_app=True, email=True),
    )
}

MAX_TITLE, MAX_BODY, MAX_LINK = 200, 1000, 300


def _one_line(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _members(session, workspace_id: int) -> list[User]:
    return list(session.exec(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id, User.is_active.is_(True))
        .order_by(User.id)
    ).all())


def _preferences(
    session, workspace_id: int, user_id: int | None = None
) -> dict[tuple[int, str], NotificationPreference]:
    query = select(NotificationPreference).where(NotificationPreference.workspace_id == workspace_id)
    if user_id is not None:
        query = query.where(NotificationPreference.user_id == user_id)
    return {(p.user_id, p.kind): p for p in session.exec(query).all()}


def notify(
    workspace_id: int,
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    conversation_id: int | None = None,
) -> list[int]:
    """Notify every member of the workspace as their preferences say; returns the in-app notification ids."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}; known kinds: {', '.join(KINDS)}")
    title = _one_line(title, MAX_TITLE) or KINDS[kind].label
    body = (body or "").strip()
    body = body if len(body) <= MAX_BODY else body[: MAX_BODY - 1] + "…"
    link = (link or "").strip()[:MAX_LINK]

    created: list[int] = []
    emails: list[str] = []
    events = PendingEvents()
    with session_scope() as session:
        workspace = session.get(Workspace, workspace_id)
        if workspace is None:
            return []
        business = workspace.name
        preferences = _preferences(session, workspace_id)
        for user in _members(session, workspace_id):
            preference = preferences.get((user.id, kind))
            in_app = preference.in_app if preference else KINDS[kind].in_app
            email = preference.email if preference else KINDS[kind].email
            if in_app:
                row = Notification(workspace_id=workspace_id, user_id=user.id, kind=kind, title=title, body=body,
                                   link=link, conversation_id=conversation_id)
                session.add(row)
                session.flush()
                created.append(row.id)
                events.notification_created(workspace_id, user.id)
            if email:
                emails.append(user.email)

    events.publish()
    url = f"{get_settings().public_url.rstrip('/')}{link}" if link.startswith("/") else link
    for address in emails:
        text = "\n\n".join(part for part in (
            body,
            f"Open it: {url}" if url else "",
            "You get this e-mail because of your notification settings in Front Desk (Settings → Notifications).",
        ) if part)
        try:
            queue_email(address, _one_line(f"{business}: {title}", 300), text + "\n", workspace_id=workspace_id)
        except Exception:  # one unusable address must not keep the others (or the in-app notices) from going out
            log.warning("could not queue a %s notification e-mail for workspace %s", kind, workspace_id,
                        exc_info=True)
    return created


def _visible_to(workspace_id: int, user_id: int):
    # Rows without a user are for the whole team (the dashboard overview counts them the same way).
    return (
        Notification.workspace_id == workspace_id,
        or_(Notification.user_id == user_id, Notification.user_id.is_(None)),
    )


def list_notifications(workspace_id: int, user_id: int, limit: int = 30) -> list[NotificationView]:
    limit = max(1, min(int(limit), 200))
    with session_scope() as session:
        rows = session.exec(
            select(Notification)
            .where(*_visible_to(workspace_id, user_id))
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        ).all()
        return [
            NotificationView(
                id=row.id,
                kind=row.kind,
                title=row.title,
                body=row.body,
                link=row.link,
                created_at=iso(row.created_at),
                read=row.read_at is not None,
                conversation_id=row.conversation_id,
            )
            for row in rows
        ]


def unread_notification_count(workspace_id: int, user_id: int) -> int:
    with session_scope() as session:
        return int(session.exec(
            select(func.count(Notification.id)).where(*_visible_to(workspace_id, user_id),
                                                     Notification.read_at.is_(None))
        ).one())


def mark_notifications_read(workspace_id: int, user_id: int, ids: list[int] | None = None) -> int:
    """Mark the given notifications (None: all) of this user as read; returns how many changed."""
    conditions = [*_visible_to(workspace_id, user_id), Notification.read_at.is_(None)]
    if ids is not None:
        wanted = [int(i) for i in ids]
        if not wanted:
            return 0
        conditions.append(Notification.id.in_(wanted))
    with session_scope() as session:
        result = session.execute(
            update(Notification).where(*conditions).values(read_at=utcnow()),
            execution_options={"synchronize_session": False},
        )
        return int(result.rowcount or 0)


def get_notification_preferences(workspace_id: int, user_id: int) -> list[dict]:
    with session_scope() as session:
        require_member(session, workspace_id, user_id)
        stored = _preferences(session, workspace_id, user_id)
    result = []
    for kind in KINDS.values():
        preference = stored.get((user_id, kind.key))
        result.append({
            "kind": kind.key,
            "label": kind.label,
            "in_app": preference.in_app if preference else kind.in_app,
            "email": preference.email if preference else kind.email,
        })
    return result


def set_notification_preference(workspace_id: int, user_id: int, kind: str, in_app: bool, email: bool) -> None:
    if kind not in KINDS:
        raise ServiceError("Choose a kind of notification from the list.", field="kind")
    for attempt in (1, 2):
        try:
            with session_scope() as session:
                require_member(session, workspace_id, user_id)
                preference = session.exec(
                    select(NotificationPreference).where(
                        NotificationPreference.workspace_id == workspace_id,
                        NotificationPreference.user_id == user_id,
                        NotificationPreference.kind == kind,
                    )
                ).first()
                if preference is None:
                    preference = NotificationPreference(workspace_id=workspace_id, user_id=user_id, kind=kind)
                preference.in_app = bool(in_app)
                preference.email = bool(email)
                session.add(preference)
                channels = " and ".join(c for c, on in (("in the app", in_app), ("by e-mail", email)) if on)
                session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="notifications.updated",
                                       detail=f"{KINDS[kind].label}: {channels or 'off'}"))
            return
        except IntegrityError:
            # Two tabs saved the first preference at once: the unique constraint kept one row; update it.
            if attempt == 2:
                raise
