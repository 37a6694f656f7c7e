"""The business: its profile, how its assistant behaves, and its integration endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlmodel import Field, SQLModel

from backend.models.base import created_at_field, json_list_field, timestamp_field, workspace_fk


class Workspace(SQLModel, table=True):
    __tablename__ = "workspaces"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    slug: str = Field(max_length=64, unique=True, index=True)
    industry: str = Field(default="", max_length=80)
    occupation: str = Field(default="", max_length=80)
    timezone: str = Field(default="UTC", max_length=64)
    phone_region: str = Field(default="US", max_length=2)
    portal_enabled: bool = Field(default=True)
    welcome_message: str = Field(default="", max_length=500)

    # How the assistant speaks and acts. Off: customer messages wait for a person, nothing is drafted.
    ai_enabled: bool = Field(default=True)
    ai_role: str = Field(default="general", max_length=32)
    ai_personality: str = Field(default="professional", max_length=32)
    assistant_name: str = Field(default="Ava", max_length=60)
    custom_instructions: str = Field(default="", max_length=4000)
    reply_policy: str = Field(default="auto_above_threshold", max_length=32)
    auto_send_threshold: float = Field(default=0.75)

    # Booking policy (the booking issue reads these).
    min_notice_minutes: int = Field(default=120)
    max_advance_days: int = Field(default=60)
    max_bookings_per_day: Optional[int] = Field(default=None)
    require_confirmation: bool = Field(default=False)
    reminder_lead_minutes: int = Field(default=1440)
    ics_feed_token_hash: str = Field(default="", max_length=64)

    # Data retention: resolved conversations older than this many months are deleted nightly (0 = kept forever).
    retention_months: int = Field(default=0)

    # Deletion with a grace period (backend.privacy.deletion): while deletion_due_at is set the portal is closed,
    # the owner may still log in and cancel; when it passes, background work purges everything.
    deletion_requested_at: Optional[datetime] = timestamp_field()
    deletion_due_at: Optional[datetime] = timestamp_field(index=True)
    deletion_requested_by: Optional[int] = Field(default=None)  # a user id; no key: the purge outlives the user

    created_at: datetime = created_at_field()
    updated_at: Optional[datetime] = timestamp_field()
    onboarded_at: Optional[datetime] = timestamp_field()


class Webhook(SQLModel, table=True):
    """An integration endpoint; deliveries are signed with an HMAC of the stored (encrypted) secret."""

    __tablename__ = "webhooks"

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    url: str = Field(max_length=500)
    secret_encrypted: str = Field(max_length=500)
    events: list = json_list_field()
    active: bool = Field(default=True)
    created_at: datetime = created_at_field()
    last_delivery_at: Optional[datetime] = timestamp_field()
    last_error: str = Field(default="", max_length=500)


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    webhook_id: int = Field(foreign_key="webhooks.id", ondelete="CASCADE", index=True)
    event: str = Field(max_length=60)
    payload: str = Field(default="")
    status_code: Optional[int] = Field(default=None)
    attempts: int = Field(default=0)
    succeeded: bool = Field(default=False)
    error: str = Field(default="", max_length=500)
    created_at: datetime = created_at_field()
    next_attempt_at: Optional[datetime] = timestamp_field(index=True)
