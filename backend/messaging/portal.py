"""The customer's side of messaging: a browser on a business's portal, known by a session token.

The token lives in the browser; only its SHA-256 is stored. Typing a phone number opens a session for that
phone's contact in that business only. If the contact already has conversations, the session must prove it
holds the phone with a texted code before it sees them; meanwhile it may chat, in a new conversation of its own.

Anyone can type a phone number, so a conversation started by a session that has not entered the code is marked
`Conversation.opened_unverified` (the inbox shows it), and the rule is:
  a session that proved the phone never writes into a marked conversation; a session that did not only writes
  into the one it started itself.
So what the real customer writes never lands where a stranger who typed their number can read it. The mark is
cleared when the session that started the conversation enters the code: it was the only one reading it.

Which conversation a customer's message goes to:
  1. the conversation this session already writes in (PortalSession.conversation_id), reopened if the
     business had resolved it;
  2. else, for a session that passed the code, the contact's most recently active conversation that is neither
     resolved nor marked;
  3. else a new conversation (marked when this session has not passed the code).
  Whatever is chosen is remembered on the session, so one browser keeps one thread. A resolved conversation
  is therefore only reopened by the browser that was writing in it; a customer coming back in a new session
  after the matter was resolved starts a new conversation.

What the portal receives never carries the name on file: the customer's own messages are labelled "You", and
a session that has not passed the code is told only the first name it typed itself.

Typing a number never texts it: a code goes out only when the browser asks for one (send_verification_code), within
the limits of backend.messaging.verification. Otherwise anyone typing a number again and again would text its
owner again and again, and each text would replace the code the real customer was about to enter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend.core.live_events import PendingEvents, publish_typing
from backend.core.names import clean_name
from backend.db import session_scope
from backend.errors import ServiceError
from backend.messaging.access import (
    PortalAccess,
    find_portal_workspace,
    has_hidden_history,
    load_portal_session,
    visible_conversation_ids,
)
from backend.messaging.files import inspect_upload, staged_file
from backend.messaging.hooks import AfterCommit, customer_message_stored
from backend.messaging.messages import add_message, check_customer_rate, clean_message_text, record_in_conversation
from backend.messaging.phones import mask_phone, normalize_phone
from backend.messaging.verification import check_code, clean_code_input, has_live_code, issue_code
from backend.messaging.views import MessageView, PortalIdentity, contact_display_name, message_views
from backend.models import Contact, Conversation, Message, PortalSession, StoredFile
from backend.models.enums import ConversationStatus, MessageStatus, MessageType, Sender
from backend.models.types import utcnow
from backend.notifications.service import notify
from backend.notifications.sms import dispatch_sms
from backend.security import new_token, token_hash
from backend.settings import get_settings

log = logging.getLogger(__name__)

_TOUCH_EVERY = timedelta(minutes=1)
MAX_MESSAGES_PER_LOAD = 500
YOU = "You"  # how the portal labels the customer's own messages


# --- identity ------------------------------------------------------------------------------------------------


def _may_write_in(portal: PortalSession, conversation: Conversation | None) -> bool:
    """The rule of the module docstring, for one conversation."""
    if conversation is None or (conversation.workspace_id, conversation.contact_id) != (
        portal.workspace_id, portal.contact_id
    ):
        return False
    if portal.verified:
        return not conversation.opened_unverified
    return conversation.id == portal.conversation_id


def _current_conversation_id(session: Session, portal: PortalSession) -> int | None:
    """Where this session's next message goes, without creating anything (see the module docstring)."""
    if portal.conversation_id is not None:
        if _may_write_in(portal, session.get(Conversation, portal.conversation_id)):
            return portal.conversation_id
    if portal.verified:
        return session.exec(
            select(Conversation.id)
            .where(
                Conversation.workspace_id == portal.workspace_id,
                Conversation.contact_id == portal.contact_id,
                Conversation.status != ConversationStatus.RESOLVED,
                Conversation.opened_unverified.is_(False),
            )
            .order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc())
            .limit(1)
        ).first()
    return None


def _identity(session: Session, access: PortalAccess, token: str, typed_first_name: str = "") -> PortalIdentity:
    portal, contact = access.session, access.contact
    now = utcnow()
    verified = portal.verified or not has_hidden_history(session, portal)
    return PortalIdentity(
        session_token=token,
        workspace_id=access.workspace.id,
        contact_id=contact.id,
        verified=verified,
        needs_verification=not verified,
        phone_confirmed=portal.verified,
        masked_phone=mask_phone(contact.phone),
        # Someone who has only typed a phone number is not told the name on file for it, even when no
        # conversation exists yet (the owner may have typed the contact in).
        first_name=contact.first_name if portal.verified else typed_first_name,
        conversation_id=_current_conversation_id(session, portal),
        visible_conversation_ids=visible_conversation_ids(session, portal),
        code_sent=not portal.verified and has_live_code(session, portal, now),
    )


def identify_customer(slug: str, phone: str, first_name: str = "") -> PortalIdentity:
    """Open a portal session for the phone's contact in this business (creating the contact if new).

    With earlier conversations on file, the session starts unverified; no code is texted until it asks for one."""
    first_name = clean_name(first_name, "your first name", "first_name", 80, required=False)
    for attempt in (1, 2):
        try:
            return _identify(slug, phone, first_name)
        except IntegrityError:
            # Two browsers created the same contact at once: the unique constraint kept one, so look again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _identify(slug: str, phone: str, first_name: str) -> PortalIdentity:
    events = PendingEvents()
    with session_scope() as session:
        workspace = find_portal_workspace(session, slug)
        e164 = normalize_phone(phone, workspace.phone_region)
        now = utcnow()
        contact = session.exec(
            select(Contact).where(Contact.workspace_id == workspace.id, Contact.phone == e164)
        ).first()
        if contact is None:
            contact = Contact(workspace_id=workspace.id, phone=e164, first_name=first_name, created_at=now)
            session.add(contact)
            session.flush()
        token = new_token()
        portal = PortalSession(
            workspace_id=workspace.id,
            contact_id=contact.id,
            token_hash=token_hash(token),
            created_at=now,
            last_activity_at=now,
            expires_at=now + timedelta(days=get_settings().portal_session_days),
        )
        session.add(portal)
        session.flush()
        access = PortalAccess(session=portal, contact=contact, workspace=workspace)
        if first_name and not contact.first_name and not has_hidden_history(session, portal):
            # Nothing on file to protect yet, so the name they give may become the contact's name.
            contact.first_name = first_name
        contact.last_seen_at = now
        contact.updated_at = now
        events.contact_updated(workspace.id, contact.id)
        identity = _identity(session, access, token, first_name)
    events.publish()
    return identity


def resume_portal_session(slug: str, token: str) -> PortalIdentity:
    """The identity behind a browser's stored token on this business's portal; AuthenticationError for a
    token that is unknown, ended or another business's, SessionExpired for an expired one."""
    with session_scope() as session:
        workspace = find_portal_workspace(session, slug)
        access = load_portal_session(session, token, workspace_id=workspace.id)
        now = utcnow()
        portal = access.session
        if portal.last_activity_at is None or now - portal.last_activity_at >= _TOUCH_EVERY:
            portal.last_activity_at = now
            access.contact.last_seen_at = now
        return _identity(session, access, token)


def end_portal_session(token: str) -> None:
    if not token:
        return
    with session_scope() as session:
        row = session.exec(select(PortalSession).where(PortalSession.token_hash == token_hash(token))).first()
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()


def send_verification_code(token: str, client_address: str = "", now: datetime | None = None) -> None:
    """Text a new code for this session to its phone. RateLimited past the limits of
    backend.messaging.verification, counted per number and per `client_address` (the browser's)."""
    with session_scope() as session:
        access = load_portal_session(session, token)
        if access.session.verified:
            return
        outbox_id = issue_code(session, access.workspace, access.contact, access.session, client_address,
                               now or utcnow())
        workspace_id = access.workspace.id
    dispatch_sms(outbox_id, workspace_id)


def verify_code(token: str, code: str, now: datetime | None = None) -> PortalIdentity:
    """Check the code texted to this session; on success the session sees all the contact's conversations (its own
    included). A wrong code says how many tries remain; the last wrong try uses the code up."""
    code = clean_code_input(code)
    error: ServiceError | None = None
    events = PendingEvents()
    with session_scope() as session:
        access = load_portal_session(session, token)
        portal = access.session
        if not portal.verified:
            try:
                check_code(session, access.contact, portal, code, now or utcnow())
            except ServiceError as exc:
                error = exc  # raised after the commit, so the spent try is kept
            else:
                portal.verified = True
                portal.last_activity_at = utcnow()
                own = session.get(Conversation, portal.conversation_id) if portal.conversation_id else None
                if own is not None and own.opened_unverified and own.contact_id == portal.contact_id:
                    own.opened_unverified = False
                    events.conversation_updated(own.workspace_id, own.id)
        identity = None if error else _identity(session, access, token)
    if error is not None:
        raise error
    events.publish()
    return identity


def check_portal_session(token: str) -> None:
    """AuthenticationError / SessionExpired unless the token is a live session: checked before an upload is read."""
    with session_scope() as session:
        load_portal_session(session, token)


def portal_conversation_id(token: str) -> int | None:
    """The conversation this session's next message goes to, if it exists yet."""
    with session_scope() as session:
        access = load_portal_session(session, token)
        return _current_conversation_id(session, access.session)


# --- reading -------------------------------------------------------------------------------------------------


def list_portal_messages(token: str, after_id: int = 0, limit: int = MAX_MESSAGES_PER_LOAD) -> list[MessageView]:
    """Sent messages of the conversations this session may see, oldest first, newer than `after_id`."""
    limit = max(1, min(int(limit), MAX_MESSAGES_PER_LOAD))
    with session_scope() as session:
        access = load_portal_session(session, token)
        visible = visible_conversation_ids(session, access.session)
        if not visible:
            return []
        messages = session.exec(
            select(Message)
            .where(
                Message.workspace_id == access.workspace.id,
                Message.conversation_id.in_(visible),
                Message.id > int(after_id or 0),
            )
            .order_by(Message.id)
            .limit(limit)
        ).all()
        return message_views(session, access.workspace.id, messages, customer_label=YOU)


# --- sending -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Notice:
    workspace_id: int
    conversation_id: int
    kind: str
    title: str
    body: str


def _conversation_to_write_in(session: Session, access: PortalAccess) -> tuple[Conversation, bool]:
    portal = access.session
    current = _current_conversation_id(session, portal)
    conversation = session.get(Conversation, current) if current is not None else None
    if _may_write_in(portal, conversation):
        portal.conversation_id = conversation.id
        return conversation, False
    conversation = Conversation(
        workspace_id=portal.workspace_id,
        contact_id=portal.contact_id,
        status=ConversationStatus.OPEN,
        channel="portal",
        opened_unverified=not portal.verified,
        created_at=utcnow(),
    )
    session.add(conversation)
    session.flush()
    portal.conversation_id = conversation.id
    return conversation, True


def _write_customer_message(
    token: str, content: str, message_type: str, stored_file: StoredFile | None = None
) -> tuple[MessageView, PendingEvents, _Notice | None, list[AfterCommit]]:
    events = PendingEvents()
    with session_scope() as session:
        access = load_portal_session(session, token)
        portal = access.session
        now = utcnow()
        # Writing to the session row first serialises two sends from one browser (a row lock on PostgreSQL,
        # the write lock on SQLite): the second sees the conversation the first created and its rate count.
        session.execute(
            update(PortalSession).where(PortalSession.id == portal.id).values(last_activity_at=now),
            execution_options={"synchronize_session": False},
        )
        session.refresh(portal)
        check_customer_rate(session, access.workspace.id, access.contact.id)
        conversation, created = _conversation_to_write_in(session, access)
        message = add_message(
            session, conversation, Sender.CUSTOMER, content=content, message_type=message_type,
            stored_file=stored_file,
        )
        bump = record_in_conversation(session, conversation, message, stored_file.filename if stored_file else "")
        after_commit = customer_message_stored.send(session, message)  # the AI queues its run (see startup)
        access.contact.last_seen_at = now
        events.message_created(access.workspace.id, conversation.id, message.id, Sender.CUSTOMER)
        if bump.reopened:
            events.conversation_updated(access.workspace.id, conversation.id)

        name = contact_display_name(access.contact)
        notice = None
        if created:
            notice = _Notice(access.workspace.id, conversation.id, "new_conversation",
                             f"New conversation with {name}", conversation.last_message_preview)
        elif bump.unread_before == 0:
            notice = _Notice(access.workspace.id, conversation.id, "new_message",
                             f"New message from {name}", conversation.last_message_preview)
        view = message_views(session, access.workspace.id, [message], customer_label=YOU)[0]
    return view, events, notice, after_commit


def _after_customer_message(events: PendingEvents, notice: _Notice | None, after_commit: list[AfterCommit]) -> None:
    events.publish()
    if notice is not None:
        try:
            notify(notice.workspace_id, notice.kind, notice.title, notice.body,
                   link=f"/dashboard/inbox?c={notice.conversation_id}", conversation_id=notice.conversation_id)
        except Exception:  # the message is stored and visible in the inbox; a lost notice must not fail the send
            log.exception("could not notify workspace %s of conversation %s", notice.workspace_id,
                          notice.conversation_id)
    # After the notice, so the owner hears of the conversation before of anything the assistant does in it.
    for action in after_commit:
        action()


def send_customer_message(token: str, text: str) -> MessageView:
    """Store a customer's text (as typed, HTML included: it is data) in the conversation chosen by the rule in
    the module docstring, and tell the business."""
    text = clean_message_text(text)
    view, events, notice, after_commit = _write_customer_message(token, text, MessageType.TEXT)
    _after_customer_message(events, notice, after_commit)
    return view


def send_customer_file(token: str, filename: str, data: bytes) -> MessageView:
    """A photo, document or voice message; checked by content, stored, then sent like a text."""
    info = inspect_upload(filename, data)
    with session_scope() as session:
        # Refuse before storing any bytes when the session or the rate limit would refuse anyway.
        access = load_portal_session(session, token)
        check_customer_rate(session, access.workspace.id, access.contact.id)
        workspace_id = access.workspace.id
    message_type = MessageType.AUDIO if info.kind == "audio" else MessageType.FILE
    with staged_file(workspace_id, bytes(data), info) as stored:
        view, events, notice, after_commit = _write_customer_message(token, info.safe_filename, message_type, stored)
    _after_customer_message(events, notice, after_commit)
    return view


# --- receipts and typing ---------------------------------------------------------------------------------------


def _set_business_message_status(token: str, message_ids: list[int] | None, up_to: int | None, status: str,
                                 from_statuses: tuple[str, ...]) -> list[int]:
    events = PendingEvents()
    with session_scope() as session:
        access = load_portal_session(session, token)
        visible = visible_conversation_ids(session, access.session)
        if not visible:
            return []
        query = select(Message).where(
            Message.workspace_id == access.workspace.id,
            Message.conversation_id.in_(visible),
            Message.sender.in_([Sender.OWNER, Sender.ASSISTANT]),
            Message.status.in_(from_statuses),
        )
        if message_ids is not None:
            query = query.where(Message.id.in_(message_ids))
        if up_to is not None:
            query = query.where(Message.id <= up_to)
        now = utcnow()
        changed: dict[int, list[int]] = {}
        for message in session.exec(query.order_by(Message.id)).all():
            message.status = status
            message.delivered_at = message.delivered_at or now
            if status == MessageStatus.READ:
                message.read_at = now
            changed.setdefault(message.conversation_id, []).append(message.id)
        for conversation_id, ids in changed.items():
            events.message_status(access.workspace.id, conversation_id, ids, status)
    events.publish()
    return sorted(i for ids in changed.values() for i in ids)


def mark_read_by_customer(token: str, up_to_message_id: int) -> list[int]:
    """The business's messages up to this one were seen; returns the ids that changed."""
    return _set_business_message_status(token, None, int(up_to_message_id), MessageStatus.READ,
                                        (MessageStatus.SENT, MessageStatus.DELIVERED))


def mark_delivered_to_customer(token: str, message_ids: list[int]) -> list[int]:
    """The business's messages reached the customer's screen (sent → delivered only)."""
    ids = [int(i) for i in message_ids or []]
    if not ids:
        return []
    return _set_business_message_status(token, ids, None, MessageStatus.DELIVERED, (MessageStatus.SENT,))


def customer_typing(token: str) -> None:
    with session_scope() as session:
        access = load_portal_session(session, token)
        conversation_id = _current_conversation_id(session, access.session)
    if conversation_id is not None:
        publish_typing(conversation_id, "customer")


def set_customer_timezone(token: str, timezone: str) -> str:
    """The customer's browser reports its time zone; offered times then show their own clock too. An unknown or
    malformed name is ignored (returns "") rather than refused: it only ever adds a hint."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = str(timezone or "").strip()[:64]
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ""
    with session_scope() as session:
        access = load_portal_session(session, token)
        if access.contact.timezone != name:
            access.contact.timezone = name
    return name
