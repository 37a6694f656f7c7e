"""The owner's address book: the people who wrote to the business, found by phone on the portal."""

from __future__ import annotations

from sqlalchemy import case, delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend.core.live_events import PendingEvents
from backend.core.membership import require_member
from backend.core.names import clean_name, normalize_email
from backend.db import session_scope, tenant_get, tenant_select
from backend.errors import NotFound, ServiceError
from backend.messaging.files import delete_stored_objects
from backend.messaging.inbox import list_conversations
from backend.messaging.phones import display_phone, normalize_phone
from backend.messaging.search import like_pattern, phone_digits_pattern
from backend.messaging.views import ContactView, ConversationSummary, contact_view
from backend.models import (
    Appointment,
    AuditEvent,
    Contact,
    Conversation,
    Draft,
    Message,
    Notification,
    OutboxMessage,
    PortalSession,
    StoredFile,
    VerificationCode,
    Workspace,
)
from backend.models.types import utcnow

CONTACT_GONE = "This contact no longer exists."
MAX_NOTES_CHARS = 5000
SORTS = ("recent", "name", "created")


def _contact(session: Session, workspace_id: int, contact_id: int) -> Contact:
    contact = tenant_get(session, Contact, workspace_id, int(contact_id))
    if contact is None:
        raise NotFound(CONTACT_GONE)
    return contact


def _conversation_count(session: Session, workspace_id: int, contact_id: int) -> int:
    return int(session.exec(
        select(func.count(Conversation.id)).where(
            Conversation.workspace_id == workspace_id, Conversation.contact_id == contact_id
        )
    ).one())


def list_contacts(
    workspace_id: int, search: str = "", sort: str = "recent", limit: int = 100, offset: int = 0
) -> list[ContactView]:
    """`search` matches name, phone digits and e-mail, case-insensitively. Sorts: recent (last seen), name,
    created (newest first)."""
    if sort not in SORTS:
        raise ServiceError("Sort by recent, name or created.", field="sort")
    limit = max(1, min(int(limit), 500))
    offset = max(0, int(offset))
    counts = (
        select(Conversation.contact_id, func.count(Conversation.id).label("n"))
        .where(Conversation.workspace_id == workspace_id)
        .group_by(Conversation.contact_id)
        .subquery()
    )
    query = (
        tenant_select(Contact, workspace_id)
        .add_columns(func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.contact_id == Contact.id)
    )
    pattern = like_pattern(search)
    if pattern:
        full_name = func.lower(Contact.first_name + " " + Contact.last_name)
        matches = [full_name.like(pattern, escape="\\"), func.lower(Contact.email).like(pattern, escape="\\")]
        digits = phone_digits_pattern(search)
        if digits:
            matches.append(Contact.phone.like(digits, escape="\\"))
        query = query.where(or_(*matches))
    if sort == "recent":
        query = query.order_by(func.coalesce(Contact.last_seen_at, Contact.created_at).desc(), Contact.id.desc())
    elif sort == "name":
        unnamed_last = case((func.trim(Contact.first_name + Contact.last_name) == "", 1), else_=0)
        query = query.order_by(unnamed_last, func.lower(Contact.first_name), func.lower(Contact.last_name),
                               Contact.phone)
    else:
        query = query.order_by(Contact.created_at.desc(), Contact.id.desc())
    with session_scope() as session:
        rows = session.execute(query.limit(limit).offset(offset)).all()  # rows of (contact, count)
        return [contact_view(contact, int(count)) for contact, count in rows]


def get_contact(workspace_id: int, contact_id: int) -> ContactView:
    with session_scope() as session:
        contact = _contact(session, workspace_id, contact_id)
        return contact_view(contact, _conversation_count(session, workspace_id, contact.id))


def update_contact(
    workspace_id: int,
    contact_id: int,
    *,
    first_name: str,
    last_name: str,
    email: str,
    notes: str,
    user_id: int | None = None,
    actor: str = "",
) -> ContactView:
    first = clean_name(first_name, "the first name", "first_name", 80, required=False)
    last = clean_name(last_name, "the last name", "last_name", 80, required=False)
    email = (email or "").strip()
    if email:
        email = normalize_email(email)
    notes = (notes or "").replace("\x00", "").strip()
    if len(notes) > MAX_NOTES_CHARS:
        raise ServiceError(f"Notes can be at most {MAX_NOTES_CHARS:,} characters.", field="notes")

    events = PendingEvents()
    with session_scope() as session:
        if user_id is not None:
            require_member(session, workspace_id, user_id)
        contact = _contact(session, workspace_id, contact_id)
        contact.first_name, contact.last_name, contact.email, contact.notes = first, last, email, notes
        contact.updated_at = utcnow()
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, actor=actor[:120],
                               action="contact.updated", detail=f"contact {contact.id}"))
        session.flush()
        view = contact_view(contact, _conversation_count(session, workspace_id, contact.id))
        events.contact_updated(workspace_id, contact.id)
    events.publish()
    return view


def merge_contacts(workspace_id: int, keep_id: int, merge_id: int, user_id: int | None = None) -> ContactView:
    """Two contacts are one person: everything of `merge_id` moves to `keep_id`, whose blank fields are filled
    from the other; then `merge_id` is deleted. Its phone number is kept in the notes."""
    if int(keep_id) == int(merge_id):
        raise ServiceError("Choose two different contacts to merge.", field="merge_id")
    events = PendingEvents()
    with session_scope() as session:
        if user_id is not None:
            require_member(session, workspace_id, user_id)
        keep = _contact(session, workspace_id, keep_id)
        other = _contact(session, workspace_id, merge_id)

        moved_conversations = list(session.exec(
            select(Conversation.id).where(Conversation.workspace_id == workspace_id,
                                          Conversation.contact_id == other.id)
        ).all())
        for model in (Conversation, PortalSession, Appointment, VerificationCode):
            session.execute(
                update(model)
                .where(model.workspace_id == workspace_id, model.contact_id == other.id)
                .values(contact_id=keep.id),
                execution_options={"synchronize_session": False},
            )

        for field in ("first_name", "last_name", "email"):
            if not getattr(keep, field) and getattr(other, field):
                setattr(keep, field, getattr(other, field))
        notes = [keep.notes.strip(), other.notes.strip() if other.notes.strip() != keep.notes.strip() else ""]
        if other.phone != keep.phone:
            notes.append(f"Other phone: {display_phone(other.phone)}")
        keep.notes = "\n\n".join(part for part in notes if part)[:MAX_NOTES_CHARS]
        if other.last_seen_at and (keep.last_seen_at is None or other.last_seen_at > keep.last_seen_at):
            keep.last_seen_at = other.last_seen_at
        keep.created_at = min(keep.created_at, other.created_at)
        keep.updated_at = utcnow()
        session.delete(other)
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="contact.merged",
                               detail=f"contact {other.id} merged into contact {keep.id}"))
        session.flush()
        view = contact_view(keep, _conversation_count(session, workspace_id, keep.id))
        events.contact_updated(workspace_id, keep.id)
        events.contact_updated(workspace_id, other.id)
        for conversation_id in moved_conversations:
            events.conversation_updated(workspace_id, conversation_id)
    events.publish()
    return view


def delete_contact(workspace_id: int, contact_id: int, user_id: int | None = None, actor: str = "") -> None:
    """Erase a person: the contact, their conversations with every message, draft and notice, their portal
    sessions, codes, appointments, the texts sent to them, and their files (from storage too, after commit).
    The audit trail records that it happened, with counts only."""
    events = PendingEvents()
    with session_scope() as session:
        if user_id is not None:
            require_member(session, workspace_id, user_id)
        contact = _contact(session, workspace_id, contact_id)
        conversation_ids = list(session.exec(
            select(Conversation.id).where(Conversation.workspace_id == workspace_id,
                                          Conversation.contact_id == contact.id)
        ).all())
        in_conversations = Message.conversation_id.in_(conversation_ids)
        file_ids = set(session.exec(
            select(Message.file_id).where(Message.workspace_id == workspace_id, in_conversations,
                                          Message.file_id.is_not(None))
        ).all())
        if file_ids:
            shared = set(session.exec(
                select(Message.file_id).where(Message.file_id.in_(file_ids), Message.conversation_id.not_in(
                    conversation_ids))
            ).all())
            file_ids -= shared  # never the case today, but a file another conversation shows must stay
        files = list(session.exec(
            tenant_select(StoredFile, workspace_id).where(StoredFile.id.in_(file_ids))
        ).all()) if file_ids else []
        message_count = int(session.exec(select(func.count(Message.id)).where(in_conversations)).one())

        def erase(model, *conditions) -> None:
            session.execute(delete(model).where(model.workspace_id == workspace_id, *conditions),
                            execution_options={"synchronize_session": False})

        if conversation_ids:
            erase(Notification, Notification.conversation_id.in_(conversation_ids))
            erase(Draft, Draft.conversation_id.in_(conversation_ids))
            erase(Message, in_conversations)
            erase(Appointment, Appointment.conversation_id.in_(conversation_ids))
        erase(Appointment, Appointment.contact_id == contact.id)
        erase(PortalSession, PortalSession.contact_id == contact.id)
        erase(VerificationCode, VerificationCode.contact_id == contact.id)
        if conversation_ids:
            erase(Conversation, Conversation.id.in_(conversation_ids))
        if files:
            erase(StoredFile, StoredFile.id.in_([f.id for f in files]))
        addresses = [a for a in (contact.phone, contact.email) if a]
        erase(OutboxMessage, OutboxMessage.to_address.in_(addresses))
        session.delete(contact)
        session.add(AuditEvent(
            workspace_id=workspace_id, user_id=user_id, actor=actor[:120], action="contact.deleted",
            detail=(f"contact {contact.id} erased with {len(conversation_ids)} conversation(s), "
                    f"{message_count} message(s) and {len(files)} file(s)"),
        ))
        keys = [f.storage_key for f in files]
        events.contact_updated(workspace_id, contact.id)
        for conversation_id in conversation_ids:
            events.conversation_updated(workspace_id, conversation_id)
    delete_stored_objects(keys)
    events.publish()


def list_contact_conversations(workspace_id: int, contact_id: int) -> list[ConversationSummary]:
    with session_scope() as session:
        _contact(session, workspace_id, contact_id)
    return list_conversations(workspace_id, contact_id=int(contact_id), limit=200)


def contact_for_phone(session: Session, workspace: Workspace, phone: str, first_name: str = "", last_name: str = "",
                      events: PendingEvents | None = None) -> Contact:
    """Within the caller's transaction: the workspace's contact with that phone, else a new one (flushed). A name
    fills an unnamed contact's empty name and never overwrites one on file. ServiceError on "phone" /
    "first_name" / "last_name"."""
    first_name = clean_name(first_name, "the first name", "first_name", 80, required=False)
    last_name = clean_name(last_name, "the last name", "last_name", 80, required=False)
    e164 = normalize_phone(phone, workspace.phone_region)
    contact = session.exec(tenant_select(Contact, workspace.id).where(Contact.phone == e164)).first()
    if contact is None:
        contact = Contact(workspace_id=workspace.id, phone=e164, first_name=first_name, last_name=last_name,
                          created_at=utcnow())
    elif not (contact.first_name or contact.last_name) and (first_name or last_name):
        contact.first_name, contact.last_name, contact.updated_at = first_name, last_name, utcnow()
    else:
        return contact
    session.add(contact)
    session.flush()
    if events is not None:
        events.contact_updated(workspace.id, contact.id)
    return contact


def find_or_create_contact(workspace_id: int, phone: str, first_name: str = "", last_name: str = "") -> int:
    """The contact id for a walk-in or a phone call the owner books: the workspace's contact with that phone
    (read in the workspace's phone region), else a new contact. A name fills an unnamed contact's empty name and
    never overwrites one already on file. Bad input is a ServiceError on field "phone" / "first_name" /
    "last_name"."""
    for attempt in (1, 2):
        events = PendingEvents()
        try:
            with session_scope() as session:
                workspace = session.get(Workspace, workspace_id)
                if workspace is None:
                    raise NotFound("This workspace no longer exists.")
                contact_id = contact_for_phone(session, workspace, phone, first_name, last_name, events).id
        except IntegrityError:
            # The same phone was added at the same moment: the unique constraint kept one; look again.
            if attempt == 2:
                raise
            continue
        events.publish()
        return contact_id
    raise AssertionError("unreachable")
