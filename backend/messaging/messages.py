"""What every way of sending a message shares: the text rules, the rate limit, writing the message and
keeping its conversation's inbox fields (preview, last activity, unread count, status) in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import Session, select

from backend.errors import RateLimited, ServiceError
from backend.models import Conversation, Message, StoredFile
from backend.models.enums import ConversationStatus, MessageStatus, MessageType, Sender
from backend.models.types import utcnow
from backend.settings import get_settings

PREVIEW_CHARS = 200  # Conversation.last_message_preview's column size


def clean_message_text(text: str) -> str:
    """The text as typed, minus surrounding blank space. HTML stays as written: pages render it as text."""
    if not isinstance(text, str):
        raise ServiceError("Write a message first.", field="text")
    # PostgreSQL cannot store NUL characters, and no keyboard types one.
    cleaned = text.replace("\x00", "").strip()
    if not cleaned:
        raise ServiceError("Write a message first.", field="text")
    limit = get_settings().message_max_chars
    if len(cleaned) > limit:
        raise ServiceError(
            f"Messages can be at most {limit:,} characters; this one has {len(cleaned):,}. "
            "Shorten it or send it in parts.",
            field="text",
        )
    return cleaned


def preview_of(message_type: str, content: str, filename: str = "") -> str:
    if message_type == MessageType.AUDIO:
        text = "Voice message"
    elif message_type == MessageType.FILE:
        text = f"File: {filename or content}"
    else:
        text = " ".join(content.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def check_customer_rate(session: Session, workspace_id: int, contact_id: int) -> None:
    """At most settings.customer_messages_per_minute messages a minute from one contact, in all conversations."""
    limit = get_settings().customer_messages_per_minute
    since = utcnow() - timedelta(minutes=1)
    sent = session.exec(
        select(func.count(Message.id))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Message.workspace_id == workspace_id,
            Conversation.contact_id == contact_id,
            Message.sender == Sender.CUSTOMER,
            Message.created_at >= since,
        )
    ).one()
    if sent >= limit:
        raise RateLimited("You're sending messages too fast. Wait a minute, then try again.")


def add_message(
    session: Session,
    conversation: Conversation,
    sender: str,
    *,
    content: str = "",
    message_type: str = MessageType.TEXT,
    stored_file: StoredFile | None = None,
    sender_user_id: int | None = None,
    ai_generated: bool = False,
    meta: dict | None = None,
) -> Message:
    if stored_file is not None:
        session.add(stored_file)
        session.flush()
    message = Message(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        sender=sender,
        sender_user_id=sender_user_id,
        type=message_type,
        content=content,
        file_id=stored_file.id if stored_file is not None else None,
        ai_generated=ai_generated,
        meta=dict(meta or {}),
        status=MessageStatus.SENT,
        created_at=utcnow(),
    )
    session.add(message)
    session.flush()
    return message


@dataclass(frozen=True)
class ConversationBump:
    unread_before: int
    reopened: bool


def record_in_conversation(
    session: Session, conversation: Conversation, message: Message, filename: str = ""
) -> ConversationBump:
    """Update the conversation's inbox fields for a new message.

    The unread count is incremented in SQL, and read back after: the UPDATE holds the row (the database on
    SQLite), so two customer messages arriving together count as two and only one of them sees "was 0".
    """
    from_customer = message.sender == Sender.CUSTOMER
    values: dict = {
        "last_message_at": message.created_at,
        "last_message_preview": preview_of(message.type, message.content, filename),
    }
    if from_customer:
        values["unread_for_owner"] = Conversation.unread_for_owner + 1
    session.execute(
        update(Conversation).where(Conversation.id == conversation.id).values(**values),
        execution_options={"synchronize_session": False},
    )
    unread, status = session.exec(
        select(Conversation.unread_for_owner, Conversation.status).where(Conversation.id == conversation.id)
    ).one()
    reopened = from_customer and status == ConversationStatus.RESOLVED
    if reopened:
        # A customer writing again means the matter is not settled after all.
        session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(status=ConversationStatus.OPEN, resolved_at=None),
            execution_options={"synchronize_session": False},
        )
    session.refresh(conversation)
    return ConversationBump(unread_before=unread - 1 if from_customer else unread, reopened=reopened)
