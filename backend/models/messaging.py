"""Contacts, their portal sessions, conversations, messages, files and AI drafts."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.models.base import (
    created_at_field,
    json_dict_field,
    json_list_field,
    required_timestamp_field,
    timestamp_field,
    workspace_fk,
)


class Contact(SQLModel, table=True):
    __tablename__ = "contacts"
    # The same phone may be a customer of many businesses: unique per workspace, not globally.
    __table_args__ = (
        UniqueConstraint("workspace_id", "phone", name="uq_contact_workspace_phone"),
        Index("ix_contacts_workspace_last_seen", "workspace_id", "last_seen_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    phone: str = Field(max_length=20)  # E.164
    first_name: str = Field(default="", max_length=80)
    last_name: str = Field(default="", max_length=80)
    email: str = Field(default="", max_length=254)
    notes: str = Field(default="", sa_type=Text)
    timezone: str = Field(default="", max_length=64)  # the customer's own zone, reported by their browser
    created_at: datetime = created_at_field()
    updated_at: Optional[datetime] = timestamp_field()
    last_seen_at: Optional[datetime] = timestamp_field()


class PortalSession(SQLModel, table=True):
    __tablename__ = "portal_sessions"

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    verified: bool = Field(default=False)  # passed the one-time code, may see past conversations
    # The conversation an unverified session talks in: it may see that one and nothing older.
    conversation_id: Optional[int] = Field(default=None, foreign_key="conversations.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    expires_at: datetime = required_timestamp_field()
    last_activity_at: Optional[datetime] = timestamp_field()
    revoked_at: Optional[datetime] = timestamp_field()


class VerificationCode(SQLModel, table=True):
    """A code belongs to the browser session that asked for it: another browser on the same number (perhaps a
    stranger who typed it) can neither use it nor spend its tries."""

    __tablename__ = "verification_codes"
    __table_args__ = (
        Index("ix_verification_codes_contact_address_created", "contact_id", "client_address", "created_at"),
        Index("ix_verification_codes_address_created", "client_address", "created_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE", index=True)
    portal_session_id: Optional[int] = Field(default=None, foreign_key="portal_sessions.id", ondelete="CASCADE",
                                             index=True)
    client_address: str = Field(default="", max_length=64)  # who asked for it (backend.security.client_address)
    code_hash: str = Field(max_length=64)
    attempts: int = Field(default=0)
    created_at: datetime = created_at_field()
    expires_at: datetime = required_timestamp_field()
    consumed_at: Optional[datetime] = timestamp_field()


class StoredFile(SQLModel, table=True):
    """A file kept by the storage provider (local folder or S3); rows never hold the bytes."""

    __tablename__ = "stored_files"

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    storage_key: str = Field(max_length=300, unique=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=120)
    size_bytes: int = Field(default=0)
    sha256: str = Field(max_length=64, index=True)
    created_at: datetime = created_at_field()


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_inbox", "workspace_id", "status", "last_message_at"),
        Index("ix_conversations_contact", "workspace_id", "contact_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE")
    status: str = Field(default="open", max_length=20)
    title: str = Field(default="", max_length=200)
    channel: str = Field(default="portal", max_length=20)
    ai_paused: bool = Field(default=False)  # a person took over: the AI only drafts, never sends
    # Started by a portal browser that had not entered the texted code: anyone may have typed the phone number.
    # Browsers that did prove the phone never write into it (backend.messaging.portal), and the assistant does
    # not tell it about, move or cancel appointments made elsewhere (backend.ai.dialogs.booking).
    opened_unverified: bool = Field(default=False)
    # Where the assistant is in a multi-turn dialog (backend.ai.dialogs.booking): what it asked, what it offered.
    assistant_state: dict = json_dict_field()
    assigned_user_id: Optional[int] = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    unread_for_owner: int = Field(default=0)
    last_message_preview: str = Field(default="", max_length=200)
    last_message_at: Optional[datetime] = timestamp_field()
    created_at: datetime = created_at_field()
    resolved_at: Optional[datetime] = timestamp_field()


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_created", "conversation_id", "created_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    conversation_id: int = Field(foreign_key="conversations.id", ondelete="CASCADE")
    sender: str = Field(max_length=20)  # customer | assistant | owner | system
    sender_user_id: Optional[int] = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    type: str = Field(default="text", max_length=10)  # text | audio | file
    content: str = Field(default="", sa_type=Text)
    file_id: Optional[int] = Field(default=None, foreign_key="stored_files.id", ondelete="SET NULL")
    transcript: Optional[str] = Field(default=None, sa_type=Text)
    transcript_language: Optional[str] = Field(default=None, max_length=10)
    transcript_confidence: Optional[float] = Field(default=None)
    ai_generated: bool = Field(default=False)
    status: str = Field(default="sent", max_length=12)  # sent | delivered | read
    meta: dict = json_dict_field()
    created_at: datetime = created_at_field()
    delivered_at: Optional[datetime] = timestamp_field()
    read_at: Optional[datetime] = timestamp_field()


class Draft(SQLModel, table=True):
    """An AI reply waiting for the owner: approve, edit then send, or reject."""

    __tablename__ = "drafts"
    __table_args__ = (Index("ix_drafts_workspace_status", "workspace_id", "status", "created_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    conversation_id: int = Field(foreign_key="conversations.id", ondelete="CASCADE", index=True)
    trigger_message_id: Optional[int] = Field(default=None, foreign_key="messages.id", ondelete="SET NULL")
    status: str = Field(default="pending", max_length=12)
    content: str = Field(sa_type=Text)
    edited_content: Optional[str] = Field(default=None, sa_type=Text)
    edit_ratio: Optional[float] = Field(default=None)  # 0 = sent as drafted, 1 = fully rewritten
    confidence: float = Field(default=0.0)
    intent: str = Field(default="", max_length=60)
    citations: list = json_list_field()
    reason: str = Field(default="", max_length=300)  # why it was drafted rather than sent
    reviewed_by_user_id: Optional[int] = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    reviewed_at: Optional[datetime] = timestamp_field()
    sent_message_id: Optional[int] = Field(default=None, foreign_key="messages.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class CustomIntent(SQLModel, table=True):
    __tablename__ = "custom_intents"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_custom_intent_name"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    name: str = Field(max_length=60)
    description: str = Field(default="", max_length=300)
    examples: list = json_list_field()
    created_at: datetime = created_at_field()


class AIRun(SQLModel, table=True):
    """One pass of the pipeline over a customer message: what it understood, did, and how long it took."""

    __tablename__ = "ai_runs"
    __table_args__ = (
        Index("ix_ai_runs_workspace_created", "workspace_id", "created_at"),
        Index("ix_ai_runs_workspace_status", "workspace_id", "status"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    conversation_id: int = Field(foreign_key="conversations.id", ondelete="CASCADE")
    message_id: Optional[int] = Field(default=None, foreign_key="messages.id", ondelete="CASCADE", index=True)
    status: str = Field(default="queued", max_length=12)  # queued | done | failed
    intent: str = Field(default="", max_length=60)
    intent_confidence: float = Field(default=0.0)
    entities: list = json_list_field()
    action: str = Field(default="", max_length=12)  # send | draft | handoff
    reply_confidence: float = Field(default=0.0)
    retrieval_top_score: Optional[float] = Field(default=None)
    # What the customer asked (the text, or the transcript of a voice message) and whether the documents answered
    # it: the knowledge-gaps view groups the runs that did not.
    question: str = Field(default="", sa_type=Text)
    answered: Optional[bool] = Field(default=None)
    reply_kind: str = Field(default="", max_length=20)
    reply_text: str = Field(default="", sa_type=Text)
    reason: str = Field(default="", max_length=300)
    citations: list = json_list_field()
    draft_id: Optional[int] = Field(default=None, foreign_key="drafts.id", ondelete="SET NULL")
    reply_message_id: Optional[int] = Field(default=None, foreign_key="messages.id", ondelete="SET NULL")
    started_at: Optional[datetime] = timestamp_field()
    provider: str = Field(default="", max_length=40)
    latency_ms: Optional[float] = Field(default=None)
    attempts: int = Field(default=0)
    error: str = Field(default="", max_length=1000)
    created_at: datetime = created_at_field()
    finished_at: Optional[datetime] = timestamp_field()
