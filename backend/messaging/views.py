"""What the messaging services hand to pages and the API: frozen dataclasses of JSON-friendly values
(datetimes as ISO-8601 UTC strings), so a page can put them straight into its state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Iterable

from sqlmodel import Session, select

from backend.core.formatting import iso
from backend.models import Contact, Conversation, Message, StoredFile, User, Workspace
from backend.models.enums import Sender
from backend.providers.storage import get_storage

FILE_URL_SECONDS = 3600  # links in a loaded conversation stay usable for an hour of reading
# Message.meta keys of a reply an integration wrote through the REST API.
API_TOKEN_ID = "api_token_id"
API_TOKEN_NAME = "api_token_name"


def contact_display_name(contact: Contact) -> str:
    return " ".join(part for part in (contact.first_name, contact.last_name) if part).strip() or contact.phone


class _AsDict:
    def as_dict(self) -> dict:
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class MessageView(_AsDict):
    id: int
    conversation_id: int
    sender: str  # customer | assistant | owner | system
    sender_label: str
    type: str  # text | audio | file
    content: str
    status: str  # sent | delivered | read
    created_at: str
    ai_generated: bool = False
    file: dict | None = None  # {"id", "name", "content_type", "size_bytes", "url", "kind"}
    transcript: str | None = None
    # An assistant reply's sources, as a person reads them: [{"label": "Price list, page 3", "quote"}]
    citations: list = field(default_factory=list)
    confidence: float | None = None  # an assistant reply's confidence, 0..1
    choices: list = field(default_factory=list)  # quick replies the assistant offered (free times, yes / no)


@dataclass(frozen=True)
class ConversationSummary(_AsDict):
    id: int
    contact_id: int
    contact_name: str
    contact_phone: str
    status: str
    title: str
    last_message_preview: str
    last_message_at: str
    unread: int
    created_at: str
    ai_paused: bool = False
    resolved_at: str = ""
    # Started in a portal browser that had not entered the texted code: whoever wrote may not hold the phone.
    opened_unverified: bool = False


@dataclass(frozen=True)
class ContactView(_AsDict):
    id: int
    phone: str
    first_name: str
    last_name: str
    email: str
    notes: str
    display_name: str
    created_at: str
    last_seen_at: str
    conversation_count: int


@dataclass(frozen=True)
class PortalIdentity(_AsDict):
    session_token: str
    workspace_id: int
    contact_id: int
    verified: bool  # sees everything there is to see: passed the code, or nothing older exists
    needs_verification: bool
    phone_confirmed: bool  # passed the code: the assistant may show and change appointments made elsewhere
    masked_phone: str
    first_name: str
    conversation_id: int | None
    visible_conversation_ids: list[int] = field(default_factory=list)
    code_sent: bool = False  # this session was texted a code it can still enter


# --- builders ------------------------------------------------------------------------------------------------


def file_kind(content_type: str) -> str:
    if content_type.startswith("image/"):
        return "image"
    if content_type.startswith("audio/"):
        return "audio"
    return "file"


def file_dict(stored: StoredFile) -> dict:

    return {
        "id": stored.id,
        "name": stored.filename,
        "content_type": stored.content_type,
        "size_bytes": stored.size_bytes,
        "url": get_storage().url(stored.storage_key, FILE_URL_SECONDS, filename=stored.filename),
        "kind": file_kind(stored.content_type),
    }


def conversation_summary(conversation: Conversation, contact: Contact) -> ConversationSummary:
    return ConversationSummary(
        id=conversation.id,
        contact_id=contact.id,
        contact_name=contact_display_name(contact),
        contact_phone=contact.phone,
        status=str(conversation.status),
        title=conversation.title,
        last_message_preview=conversation.last_message_preview,
        last_message_at=iso(conversation.last_message_at),
        unread=conversation.unread_for_owner,
        created_at=iso(conversation.created_at),
        ai_paused=conversation.ai_paused,
        resolved_at=iso(conversation.resolved_at),
        opened_unverified=conversation.opened_unverified,
    )


def contact_view(contact: Contact, conversation_count: int) -> ContactView:
    return ContactView(
        id=contact.id,
        phone=contact.phone,
        first_name=contact.first_name,
        last_name=contact.last_name,
        email=contact.email,
        notes=contact.notes,
        display_name=contact_display_name(contact),
        created_at=iso(contact.created_at),
        last_seen_at=iso(contact.last_seen_at),
        conversation_count=conversation_count,
    )


def message_views(session: Session, workspace_id: int, messages: Iterable[Message], *,
                  customer_label: str | None = None) -> list[MessageView]:
    """Views for messages of one workspace, with sender labels and signed file links, in the given order.

    `customer_label` replaces the contact's name on customer messages: the portal passes one, so the name on
    file never reaches a browser that may only have typed the phone number."""
    messages = list(messages)
    if not messages:
        return []
    workspace = session.get(Workspace, workspace_id)
    assistant_label = f"{workspace.assistant_name} (AI assistant)" if workspace else "AI assistant"
    team_label = workspace.name if workspace else "Team"

    conversation_ids = {m.conversation_id for m in messages}
    customer_names = {} if customer_label is not None else {
        conversation_id: contact_display_name(contact)
        for conversation_id, contact in session.exec(
            select(Conversation.id, Contact)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(Conversation.id.in_(conversation_ids), Conversation.workspace_id == workspace_id)
        ).all()
    }
    user_ids = {m.sender_user_id for m in messages if m.sender_user_id is not None}
    user_names = {
        user.id: user.full_name or user.email
        for user in (session.exec(select(User).where(User.id.in_(user_ids))).all() if user_ids else [])
    }
    file_ids = {m.file_id for m in messages if m.file_id is not None}
    files = {
        stored.id: stored
        for stored in (
            session.exec(
                select(StoredFile).where(StoredFile.id.in_(file_ids), StoredFile.workspace_id == workspace_id)
            ).all()
            if file_ids
            else []
        )
    }

    def label(message: Message) -> str:
        if message.sender == Sender.CUSTOMER:
            return customer_label or customer_names.get(message.conversation_id, "Customer")
        if message.sender == Sender.ASSISTANT:
            return assistant_label
        if message.sender == Sender.OWNER:
            if message.sender_user_id is None and (message.meta or {}).get(API_TOKEN_NAME):
                return f"{message.meta[API_TOKEN_NAME]} (API)"
            return user_names.get(message.sender_user_id, team_label)
        return team_label

    return [
        MessageView(
            id=m.id,
            conversation_id=m.conversation_id,
            sender=str(m.sender),  # plain str: a freshly written row still holds the enum it was given
            sender_label=label(m),
            type=str(m.type),
            content=m.content,
            status=str(m.status),
            created_at=iso(m.created_at),
            ai_generated=m.ai_generated,
            file=file_dict(files[m.file_id]) if m.file_id in files else None,
            transcript=m.transcript,
            citations=citation_labels((m.meta or {}).get("citations")),
            confidence=(m.meta or {}).get("confidence") if m.sender == Sender.ASSISTANT else None,
            choices=[str(c) for c in (m.meta or {}).get("choices") or []][:8],
        )
        for m in messages
    ]


def citation_labels(citations) -> list[dict]:
    """"Price list, page 3" for each distinct source of a reply (a reply citing one page twice lists it once)."""
    out: list[dict] = []
    seen: set[str] = set()
    for c in citations or []:
        if not isinstance(c, dict):
            continue
        parts = [str(c.get("document_title") or "").strip()]
        if c.get("page"):
            parts.append(f"page {c['page']}")
        elif c.get("heading"):
            parts.append(str(c["heading"]))
        label = ", ".join(p for p in parts if p)
        if label and label not in seen:
            seen.add(label)
            out.append({"label": label, "quote": str(c.get("quote") or "")[:300]})
    return out
