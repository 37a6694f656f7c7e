"""The figures on the dashboard's overview page, all scoped to one workspace."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import select

from backend.db import session_scope
from backend.models import (
    Appointment,
    AvailabilitySlot,
    Conversation,
    CustomIntent,
    Draft,
    KnowledgeDocument,
    Notification,
)
from backend.models.types import utcnow


@dataclass(frozen=True)
class Overview:
    open_conversations: int
    unread_messages: int
    pending_drafts: int
    upcoming_appointments: int
    knowledge_documents: int
    opening_windows: int
    unread_notifications: int
    custom_intents: int = 0


def _count(session, model, workspace_id: int, *conditions) -> int:
    query = select(func.count()).select_from(model).where(model.workspace_id == workspace_id, *conditions)
    return int(session.exec(query).one())


def workspace_overview(workspace_id: int, user_id: int | None = None) -> Overview:
    with session_scope() as s:
        unread = s.exec(
            select(func.coalesce(func.sum(Conversation.unread_for_owner), 0)).where(
                Conversation.workspace_id == workspace_id
            )
        ).one()
        notifications = [Notification.read_at.is_(None)]
        if user_id is not None:
            notifications.append((Notification.user_id == user_id) | Notification.user_id.is_(None))
        return Overview(
            open_conversations=_count(s, Conversation, workspace_id, Conversation.status != "resolved"),
            unread_messages=int(unread),
            pending_drafts=_count(s, Draft, workspace_id, Draft.status == "pending"),
            upcoming_appointments=_count(
                s, Appointment, workspace_id, Appointment.starts_at >= utcnow(),
                Appointment.status.in_(["pending", "confirmed"]),
            ),
            knowledge_documents=_count(s, KnowledgeDocument, workspace_id),
            opening_windows=_count(s, AvailabilitySlot, workspace_id),
            unread_notifications=_count(s, Notification, workspace_id, *notifications),
            custom_intents=_count(s, CustomIntent, workspace_id),
        )
