"""The owner's side of messaging: the inbox of a workspace, its conversations, replies and receipts.

Every function takes the workspace from the owner's validated session and scopes every query to it, so an id
from another workspace is simply not found.
"""

from __future__ import annotations

from sqlalchemy import func, or_, update
from sqlmodel import Session, select

from backend.core.live_events import PendingEvents, publish_typing
from backend.core.membership import require_member
from backend.db import session_scope, tenant_get, tenant_select
from backend.errors import NotFound, ServiceError
from backend.messaging.drafts import supersede_pending_drafts
from backend.messaging.files import inspect_upload, staged_file
from backend.messaging.messages import add_message, clean_message_text, record_in_conversation
from backend.messaging.search import like_pattern, phone_digits_pattern
from backend.messaging.views import (
    API_TOKEN_ID,
    API_TOKEN_NAME,
    ConversationSummary,
    MessageView,
    conversation_summary,
    message_views,
)
from backend.models import AuditEvent, Contact, Conversation, Message, StoredFile
from backend.models.enums import ConversationStatus, MessageStatus, MessageType, Sender
from backend.models.types import utcnow

CONVERSATION_GONE = "This conversation no longer exists."
MAX_TITLE_CHARS = 200
MAX_MESSAGES_PER_LOAD = 500


def _conversation(session: Session, workspace_id: int, conversation_id: int) -> Conversation:
    conversation = tenant_get(session, Conversation, workspace_id, int(conversation_id))
    if conversation is None:
        raise NotFound(CONVERSATION_GONE)
    return conversation


def _summary(session: Session, conversation: Conversation) -> ConversationSummary:
    return conversation_summary(conversation, session.get(Contact, conversation.contact_id))


def _activity():
    return func.coalesce(Conversation.last_message_at, Conversation.created_at)


# --- reading -------------------------------------------------------------------------------------------------


def list_conversations(
    workspace_id: int, status: str | None = None, search: str = "", limit: int = 50, contact_id: int | None = None
) -> list[ConversationSummary]:
    """Newest activity first. `search` matches the contact's name, phone and e-mail, the title, and any message."""
    if status is not None and status not in {s.value for s in ConversationStatus}:
        raise ServiceError("Choose open, pending or resolved.", field="status")
    limit = max(1, min(int(limit), 200))
    query = (
        tenant_select(Conversation, workspace_id)
        .add_columns(Contact)
        .join(Contact, Contact.id == Conversation.contact_id)
    )
    if status is not None:
        query = query.where(Conversation.status == status)
    if contact_id is not None:
        query = query.where(Conversation.contact_id == int(contact_id))
    pattern = like_pattern(search)
    if pattern:
        full_name = func.lower(Contact.first_name + " " + Contact.last_name)
        in_messages = (
            select(Message.id)
            .where(
                Message.workspace_id == workspace_id,
                Message.conversation_id == Conversation.id,
                func.lower(Message.content).like(pattern, escape="\\"),
            )
            .exists()
        )
        matches = [
            full_name.like(pattern, escape="\\"),
            func.lower(Contact.email).like(pattern, escape="\\"),
            func.lower(Conversation.title).like(pattern, escape="\\"),
            in_messages,
        ]
        digits = phone_digits_pattern(search)
        if digits:
            matches.append(Contact.phone.like(digits, escape="\\"))
        query = query.where(or_(*matches))
    query = query.order_by(_activity().desc(), Conversation.id.desc()).limit(limit)
    with session_scope() as session:
        # execute(), not exec(): the query has two entities, and exec() would return only the first.
        rows = session.execute(query).all()
        return [conversation_summary(conversation, contact) for conversation, contact in rows]


def get_conversation(workspace_id: int, conversation_id: int) -> ConversationSummary:
    with session_scope() as session:
        return _summary(session, _conversation(session, workspace_id, conversation_id))


def list_messages(
    workspace_id: int, conversation_id: int, after_id: int = 0, limit: int = MAX_MESSAGES_PER_LOAD
) -> list[MessageView]:
    """Oldest first, newer than `after_id`."""
    limit = max(1, min(int(limit), MAX_MESSAGES_PER_LOAD))
    with session_scope() as session:
        conversation = _conversation(session, workspace_id, conversation_id)
        messages = session.exec(
            tenant_select(Message, workspace_id)
            .where(Message.conversation_id == conversation.id, Message.id > int(after_id or 0))
            .order_by(Message.id)
            .limit(limit)
        ).all()
        return message_views(session, workspace_id, messages)


def unread_conversation_count(workspace_id: int) -> int:
    with session_scope() as session:
        return int(session.exec(
            select(func.count(Conversation.id)).where(
                Conversation.workspace_id == workspace_id, Conversation.unread_for_owner > 0
            )
        ).one())


# --- replying ------------------------------------------------------------------------------------------------


def _write_owner_message(
    workspace_id: int,
    conversation_id: int,
    user_id: int | None,
    content: str,
    message_type: str,
    stored_file: StoredFile | None = None,
    meta: dict | None = None,
) -> tuple[MessageView, PendingEvents]:
    """`user_id` None is a write by an API token, already authenticated for this workspace by the caller."""
    events = PendingEvents()
    with session_scope() as session:
        if user_id is not None:
            require_member(session, workspace_id, user_id)
        conversation = _conversation(session, workspace_id, conversation_id)
        message = add_message(
            session, conversation, Sender.OWNER, content=content, message_type=message_type,
            stored_file=stored_file, sender_user_id=user_id, meta=meta,
        )
        record_in_conversation(session, conversation, message, stored_file.filename if stored_file else "")
        events.message_created(workspace_id, conversation.id, message.id, Sender.OWNER)

        supersede_pending_drafts(session, workspace_id, conversation.id, events)
        view = message_views(session, workspace_id, [message])[0]
    return view, events


def send_owner_reply(workspace_id: int, conversation_id: int, user_id: int, text: str) -> MessageView:
    text = clean_message_text(text)
    view, events = _write_owner_message(workspace_id, conversation_id, user_id, text, MessageType.TEXT)
    events.publish()
    return view


def send_api_reply(workspace_id: int, conversation_id: int, text: str, *, api_token_id: int, api_token_name: str
                   ) -> MessageView:
    """A reply written by an integration: sent as the business, labelled with the token that wrote it (its name
    is kept in the message, so the label survives the token being revoked)."""
    text = clean_message_text(text)
    meta = {API_TOKEN_ID: int(api_token_id), API_TOKEN_NAME: api_token_name}
    view, events = _write_owner_message(workspace_id, conversation_id, None, text, MessageType.TEXT, meta=meta)
    events.publish()
    return view


def send_owner_file(workspace_id: int, conversation_id: int, user_id: int, filename: str, data: bytes
                    ) -> MessageView:
    info = inspect_upload(filename, data)
    with session_scope() as session:
        # Refuse before storing any bytes when the write would be refused anyway.
        require_member(session, workspace_id, user_id)
        _conversation(session, workspace_id, conversation_id)
    message_type = MessageType.AUDIO if info.kind == "audio" else MessageType.FILE
    with staged_file(workspace_id, bytes(data), info) as stored:
        view, events = _write_owner_message(workspace_id, conversation_id, user_id, info.safe_filename,
                                            message_type, stored)
    events.publish()
    return view


# --- receipts ------------------------------------------------------------------------------------------------


def _set_customer_message_status(session: Session, workspace_id: int, query, status: str,
                                 events: PendingEvents) -> list[int]:
    now = utcnow()
    changed: dict[int, list[int]] = {}
    for message in session.exec(query.order_by(Message.id)).all():
        message.status = status
        message.delivered_at = message.delivered_at or now
        if status == MessageStatus.READ:
            message.read_at = now
        changed.setdefault(message.conversation_id, []).append(message.id)
    for conversation_id, ids in changed.items():
        events.message_status(workspace_id, conversation_id, ids, status)
    return sorted(i for ids in changed.values() for i in ids)


def mark_conversation_read(workspace_id: int, conversation_id: int, user_id: int) -> list[int]:
    """The owner opened the conversation: nothing in it is unread any more. Returns the messages that changed."""
    events = PendingEvents()
    with session_scope() as session:
        require_member(session, workspace_id, user_id)
        conversation = _conversation(session, workspace_id, conversation_id)
        changed = _set_customer_message_status(
            session, workspace_id,
            tenant_select(Message, workspace_id).where(
                Message.conversation_id == conversation.id,
                Message.sender == Sender.CUSTOMER,
                Message.status != MessageStatus.READ,
            ),
            MessageStatus.READ, events,
        )
        if conversation.unread_for_owner:
            session.execute(
                update(Conversation).where(Conversation.id == conversation.id).values(unread_for_owner=0),
                execution_options={"synchronize_session": False},
            )
            events.conversation_updated(workspace_id, conversation.id, thread=False)
    events.publish()
    return changed


def mark_delivered_to_owner(workspace_id: int, message_ids: list[int]) -> list[int]:
    """Customer messages reached an owner's screen (sent → delivered only); other workspaces' ids are ignored."""
    ids = [int(i) for i in message_ids or []]
    if not ids:
        return []
    events = PendingEvents()
    with session_scope() as session:
        changed = _set_customer_message_status(
            session, workspace_id,
            tenant_select(Message, workspace_id).where(
                Message.id.in_(ids), Message.sender == Sender.CUSTOMER, Message.status == MessageStatus.SENT
            ),
            MessageStatus.DELIVERED, events,
        )
    events.publish()
    return changed


# --- status and title ------------------------------------------------------------------------------------------


def _checked_status(status: str) -> str:
    if status not in {s.value for s in ConversationStatus}:
        raise ServiceError("Choose open, pending or resolved.", field="status")
    return status


def _cleaned_title(title: str) -> str:
    title = " ".join((title or "").split())
    if len(title) > MAX_TITLE_CHARS:
        raise ServiceError(f"Titles can be at most {MAX_TITLE_CHARS} characters.", field="title")
    return title


def update_conversation(workspace_id: int, conversation_id: int, *, status: str | None = None,
                        title: str | None = None, ai_paused: bool | None = None, user_id: int | None = None
                        ) -> ConversationSummary:
    """Status, title and whether the assistant has stepped back (`ai_paused`: it then only drafts) in one
    transaction, all checked before any is written: a bad value changes nothing. None leaves a field as it is."""
    status = None if status is None else _checked_status(status)
    title = None if title is None else _cleaned_title(title)
    events = PendingEvents()
    with session_scope() as session:
        if user_id is not None:
            require_member(session, workspace_id, user_id)
        conversation = _conversation(session, workspace_id, conversation_id)
        if status is not None and conversation.status != status:
            conversation.status = status
            conversation.resolved_at = utcnow() if status == ConversationStatus.RESOLVED else None
            session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="conversation.status",
                                   detail=f"conversation {conversation.id}: {status}"))
            events.conversation_updated(workspace_id, conversation.id)
        if title is not None and conversation.title != title:
            conversation.title = title
            events.conversation_updated(workspace_id, conversation.id)
        if ai_paused is not None and conversation.ai_paused != bool(ai_paused):
            conversation.ai_paused = bool(ai_paused)
            session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="conversation.ai_paused",
                                   detail=f"conversation {conversation.id}: {'paused' if ai_paused else 'resumed'}"))
            events.conversation_updated(workspace_id, conversation.id)
        session.flush()
        summary = _summary(session, conversation)
    events.publish()
    return summary


def set_conversation_status(workspace_id: int, conversation_id: int, status: str, user_id: int | None = None
                            ) -> ConversationSummary:
    return update_conversation(workspace_id, conversation_id, status=_checked_status(status), user_id=user_id)


def set_conversation_title(workspace_id: int, conversation_id: int, title: str, user_id: int | None = None
                           ) -> ConversationSummary:
    return update_conversation(workspace_id, conversation_id, title=_cleaned_title(title), user_id=user_id)


def set_ai_paused(workspace_id: int, conversation_id: int, paused: bool, user_id: int | None = None
                  ) -> ConversationSummary:
    return update_conversation(workspace_id, conversation_id, ai_paused=bool(paused), user_id=user_id)


def owner_typing(workspace_id: int, conversation_id: int, user_id: int) -> None:
    with session_scope() as session:
        require_member(session, workspace_id, user_id)
        conversation_id = _conversation(session, workspace_id, conversation_id).id
    publish_typing(conversation_id, "owner")
