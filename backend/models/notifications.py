"""In-app notifications, per-kind preferences, and the outbox every e-mail and SMS passes through."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.models.base import created_at_field, json_list_field, timestamp_field


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_inbox", "workspace_id", "user_id", "read_at", "created_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspaces.id", ondelete="CASCADE")
    user_id: Optional[int] = Field(default=None, foreign_key="users.id", ondelete="CASCADE")
    kind: str = Field(max_length=40)
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=1000)
    link: str = Field(default="", max_length=300)
    conversation_id: Optional[int] = Field(default=None, foreign_key="conversations.id", ondelete="CASCADE")
    created_at: datetime = created_at_field()
    read_at: Optional[datetime] = timestamp_field()


class NotificationPreference(SQLModel, table=True):
    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id", "kind", name="uq_notification_pref"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspaces.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    kind: str = Field(max_length=40)
    in_app: bool = Field(default=True)
    email: bool = Field(default=False)


class OutboxMessage(SQLModel, table=True):
    """Every outgoing e-mail/SMS is written here first, then delivered by background work.

    With no SMTP/SMS configured this table *is* the delivery: the owner reads it in the dashboard.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_workspace_created", "workspace_id", "created_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: Optional[int] = Field(default=None, foreign_key="workspaces.id", ondelete="CASCADE")
    channel: str = Field(default="email", max_length=8)
    to_address: str = Field(max_length=254)
    subject: str = Field(default="", max_length=300)
    body: str = Field(default="", sa_type=Text)
    attachments: list = json_list_field()  # [{"filename", "content_type", "storage_key"}]
    status: str = Field(default="queued", max_length=10, index=True)
    provider: str = Field(default="", max_length=20)
    attempts: int = Field(default=0)
    error: str = Field(default="", max_length=1000)
    created_at: datetime = created_at_field()
    sent_at: Optional[datetime] = timestamp_field()
