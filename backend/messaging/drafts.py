"""The owner's review of AI-drafted replies: approve as written, edit then send, or reject.

Customers only ever see sent messages: a draft becomes a message in the same transaction that marks it sent.
Each review records who did it, when, and how much an edit changed (`edit_ratio`, 0 = sent as drafted,
1 = rewritten) for analytics. A draft nobody reviewed is superseded when someone answers the conversation another
way, so the queue only holds replies still worth sending.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass

from sqlalchemy import func, update
from sqlmodel import Session, select

from backend.core.formatting import iso
from backend.core.live_events import PendingEvents
from backend.core.membership import require_member
from backend.db import session_scope, tenant_get, tenant_select
from backend.errors import NotFound, ServiceError
from backend.messaging.messages import add_message, clean_message_text, record_in_conversation
from backend.messaging.views import contact_display_name
from backend.models import Contact, Conversation, Draft, Message
from backend.models.enums import DraftStatus, MessageType, Sender
from backend.models.types import utcnow

MAX_REJECT_REASON = 300


@dataclass(frozen=True)
class DraftView:
    id: int
    conversation_id: int
    contact_name: str
    status: str
    content: str  # what the assistant wrote
    sent_content: str  # what went out (the edit, when there was one)
    confidence: float
    intent: str
    reason: str  # why it was drafted rather than sent
    citations: list
    customer_message: str  # the message it answers (text, or a voice message's transcript)
    created_at: str
    reviewed_at: str
    edit_ratio: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def edit_ratio(drafted: str, sent: str) -> float:
    """How much the owner changed: 0.0 sent as drafted … 1.0 nothing of the draft left."""
    if drafted == sent:
        return 0.0
    return round(1.0 - difflib.SequenceMatcher(None, drafted, sent, autojunk=False).ratio(), 4)


def _views(session: Session, drafts: list[Draft]) -> list[DraftView]:
    if not drafts:
        return []
    conversation_ids = {d.conversation_id for d in drafts}
    names = {cid: contact_display_name(contact) for cid, contact in session.exec(
        select(Conversation.id, Contact).join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.id.in_(conversation_ids))).all()}
    trigger_ids = {d.trigger_message_id for d in drafts if d.trigger_message_id}
    triggers = {m.id: m for m in (session.exec(select(Message).where(Message.id.in_(trigger_ids))).all()
                                  if trigger_ids else [])}

    def asked(draft: Draft) -> str:
        m = triggers.get(draft.trigger_message_id or 0)
        if m is None:
            return ""
        return m.content if m.type == MessageType.TEXT else (m.transcript or "(voice message)")

    return [DraftView(
        id=d.id, conversation_id=d.conversation_id, contact_name=names.get(d.conversation_id, ""), status=d.status,
        content=d.content, sent_content=d.edited_content if d.edited_content is not None else
        (d.content if d.status == DraftStatus.SENT else ""), confidence=round(d.confidence, 4), intent=d.intent,
        reason=d.reason, citations=list(d.citations or []), customer_message=asked(d), created_at=iso(d.created_at),
        reviewed_at=iso(d.reviewed_at), edit_ratio=d.edit_ratio,
    ) for d in drafts]


def list_drafts(workspace_id: int, *, status: str = DraftStatus.PENDING, conversation_id: int | None = None,
                limit: int = 100) -> list[DraftView]:
    """Pending drafts oldest first (the queue order); reviewed ones newest first."""
    query = tenant_select(Draft, workspace_id)
    if status:
        query = query.where(Draft.status == status)
    if conversation_id is not None:
        query = query.where(Draft.conversation_id == conversation_id)
    order = Draft.id.asc() if status == DraftStatus.PENDING else Draft.id.desc()
    with session_scope() as session:
        return _views(session, list(session.exec(query.order_by(order).limit(max(1, min(limit, 500)))).all()))


def pending_draft_count(workspace_id: int) -> int:
    with session_scope() as session:
        return int(session.exec(select(func.count(Draft.id)).where(
            Draft.workspace_id == workspace_id, Draft.status == DraftStatus.PENDING)).one())


def _pending(session: Session, workspace_id: int, draft_id: int) -> Draft:
    draft = tenant_get(session, Draft, workspace_id, draft_id)
    if draft is None:
        raise NotFound("This draft does not exist.")
    if draft.status != DraftStatus.PENDING:
        raise ServiceError(f"This draft was already {_done_words(draft.status)}.")
    return draft


def _done_words(status: str) -> str:
    return {DraftStatus.SENT: "sent", DraftStatus.REJECTED: "rejected",
            DraftStatus.SUPERSEDED: "replaced by another answer"}.get(status, status)


def approve_draft(workspace_id: int, draft_id: int, user_id: int | None, edited_text: str | None = None
                  ) -> DraftView:
    """Send the draft (or the owner's edit of it) to the customer as the assistant's reply. `user_id` None is an
    API token, already authenticated for this workspace by the caller."""
    events = PendingEvents()
    with session_scope() as session:
        if user_id is not None:
            require_member(session, workspace_id, user_id)
        draft = _pending(session, workspace_id, draft_id)
        text = draft.content if edited_text is None else clean_message_text(edited_text)
        # Claim the draft first: two clicks (or two owners) send it once.
        claimed = session.execute(
            update(Draft).where(Draft.id == draft.id, Draft.status == DraftStatus.PENDING)
            .values(status=DraftStatus.SENT), execution_options={"synchronize_session": False}).rowcount
        if not claimed:
            raise ServiceError("This draft was already reviewed.")
        conversation = session.get(Conversation, draft.conversation_id)
        edited = edited_text is not None and text != draft.content
        message = add_message(session, conversation, Sender.ASSISTANT, content=text, ai_generated=True,
                              sender_user_id=user_id,
                              meta={"draft_id": draft.id, "confidence": draft.confidence,
                                    "citations": list(draft.citations or []), "edited": edited})
        record_in_conversation(session, conversation, message)
        session.refresh(draft)
        draft.edited_content = text if edited else None
        draft.edit_ratio = edit_ratio(draft.content, text)
        draft.reviewed_by_user_id = user_id
        draft.reviewed_at = utcnow()
        draft.sent_message_id = message.id
        events.message_created(workspace_id, conversation.id, message.id, Sender.ASSISTANT)
        events.draft_updated(workspace_id, conversation.id, draft.id)
        session.flush()
        view = _views(session, [draft])[0]
    events.publish()
    return view


def reject_draft(workspace_id: int, draft_id: int, user_id: int | None, reason: str = "") -> DraftView:
    reason = " ".join((reason or "").split())
    if len(reason) > MAX_REJECT_REASON:
        raise ServiceError(f"Keep the reason under {MAX_REJECT_REASON} characters.", field="reason")
    events = PendingEvents()
    with session_scope() as session:
        if user_id is not None:
            require_member(session, workspace_id, user_id)
        draft = _pending(session, workspace_id, draft_id)
        draft.status = DraftStatus.REJECTED
        draft.reviewed_by_user_id = user_id
        draft.reviewed_at = utcnow()
        if reason:
            draft.reason = f"rejected: {reason}"[:300]
        events.draft_updated(workspace_id, draft.conversation_id, draft.id)
        session.flush()
        view = _views(session, [draft])[0]
    events.publish()
    return view


def supersede_pending_drafts(session: Session, workspace_id: int, conversation_id: int, events: PendingEvents
                             ) -> int:
    """Inside the transaction of a person's reply: the drafts it makes moot leave the queue."""
    ids = session.exec(select(Draft.id).where(Draft.workspace_id == workspace_id,
                                              Draft.conversation_id == conversation_id,
                                              Draft.status == DraftStatus.PENDING)).all()
    if not ids:
        return 0
    session.execute(update(Draft).where(Draft.id.in_(ids)).values(status=DraftStatus.SUPERSEDED,
                                                                   reviewed_at=utcnow()),
                    execution_options={"synchronize_session": False})
    for draft_id in ids:
        events.draft_updated(workspace_id, conversation_id, draft_id)
    return len(ids)


def edit_stats(workspace_id: int) -> dict:
    """How the owner treats drafts: counts by outcome and the mean edit ratio of sent ones (for analytics)."""
    with session_scope() as session:
        rows = session.exec(select(Draft.status, func.count(Draft.id), func.avg(Draft.edit_ratio))
                            .where(Draft.workspace_id == workspace_id).group_by(Draft.status)).all()
    counts = {str(status): int(n) for status, n, _ in rows}
    sent_ratio = next((float(avg) for status, _, avg in rows if status == DraftStatus.SENT and avg is not None),
                      None)
    return {"counts": counts, "mean_edit_ratio": round(sent_ratio, 4) if sent_ratio is not None else None}


__all__ = ["DraftView", "approve_draft", "reject_draft", "list_drafts", "pending_draft_count",
           "supersede_pending_drafts", "edit_ratio", "edit_stats"]
