"""Data retention: a workspace may keep resolved conversations for a number of months only. Every night the
`apply_retention` background task deletes, per workspace and in batches, the resolved conversations whose last
activity (last message, and resolution) is older than that, with their messages, files, drafts, notices and the
assistant's runs and notes. Contacts, appointments and the knowledge base stay. Each workspace's run that
deleted something is written to its activity log, with counts only.
"""

from __future__ import annotations

import logging
from calendar import monthrange
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import Session, select

from backend.core.live_events import PendingEvents
from backend.core.membership import require_member
from backend.db import session_scope, tenant_select
from backend.errors import NotFound, ServiceError
from backend.messaging.files import delete_stored_objects
from backend.models import (
    AIRun,
    AuditEvent,
    ContextHistory,
    Conversation,
    ConversationContext,
    Draft,
    KnowledgeDocument,
    Message,
    Notification,
    RuleExecution,
    StoredFile,
    Workspace,
)
from backend.models.enums import ConversationStatus
from backend.models.types import utcnow
from backend.providers.background import background_task

log = logging.getLogger(__name__)

CHOICES: dict[int, str] = {0: "Forever", 3: "3 months", 6: "6 months", 12: "12 months", 24: "24 months"}
BATCH_SIZE = 200
ACTOR = "Data retention"


@dataclass(frozen=True)
class RetentionView:
    months: int
    label: str
    explanation: str  # what happens, in a sentence the owner reads under the setting


def _explain(months: int) -> str:
    if not months:
        return "Conversations are kept until you delete them, or the contact."
    return (f"Conversations resolved more than {CHOICES[months].lower()} ago are deleted every night, with their "
            "messages, files and drafts. Contacts, appointments and your knowledge base are kept.")


def _view(months: int) -> RetentionView:
    return RetentionView(months=months, label=CHOICES[months], explanation=_explain(months))


def get_retention(workspace_id: int) -> RetentionView:
    with session_scope() as session:
        workspace = session.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFound("This workspace no longer exists.")
        return _view(workspace.retention_months if workspace.retention_months in CHOICES else 0)


def set_retention(workspace_id: int, months: int | str, user_id: int | None = None) -> RetentionView:
    try:
        months = int(months)
    except (TypeError, ValueError):
        months = -1
    if months not in CHOICES:
        raise ServiceError("Choose how long to keep conversations from the list.", field="retention_months")
    with session_scope() as session:
        if user_id is not None:
            require_member(session, workspace_id, user_id)
        workspace = session.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFound("This workspace no longer exists.")
        before = workspace.retention_months if workspace.retention_months in CHOICES else 0
        if before != months:
            workspace.retention_months, workspace.updated_at = months, utcnow()
            session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="retention.updated",
                                   detail=f"{CHOICES[before]} → {CHOICES[months]}"))
    return _view(months)


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the 31st becomes the month's last day)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


@dataclass
class Erased:
    conversations: int = 0
    messages: int = 0
    files: int = 0

    def add(self, other: "Erased") -> None:
        self.conversations += other.conversations
        self.messages += other.messages
        self.files += other.files


def erase_conversations(session: Session, workspace_id: int, conversation_ids: list[int]) -> tuple[Erased, list[str]]:
    """Delete conversations of one workspace with everything hanging off them, in the caller's transaction.
    Returns the counts and the storage keys to delete once it has committed. Appointments and portal sessions
    that pointed at them stay (the database unlinks them)."""
    if not conversation_ids:
        return Erased(), []
    in_conversations = Message.conversation_id.in_(conversation_ids)
    file_ids = set(session.exec(
        select(Message.file_id).where(Message.workspace_id == workspace_id, in_conversations,
                                      Message.file_id.is_not(None))
    ).all())
    if file_ids:
        # A file something else still shows (another conversation's message, a document) stays.
        file_ids -= set(session.exec(select(Message.file_id).where(
            Message.file_id.in_(file_ids), Message.conversation_id.not_in(conversation_ids))).all())
        file_ids -= set(session.exec(select(KnowledgeDocument.file_id).where(
            KnowledgeDocument.file_id.in_(file_ids))).all())
    files = list(session.exec(
        tenant_select(StoredFile, workspace_id).where(StoredFile.id.in_(file_ids))).all()) if file_ids else []
    messages = int(session.exec(select(func.count(Message.id)).where(Message.workspace_id == workspace_id,
                                                                     in_conversations)).one())

    def erase(model, *conditions) -> None:
        session.execute(delete(model).where(model.workspace_id == workspace_id, *conditions),
                        execution_options={"synchronize_session": False})

    for model in (Notification, Draft, AIRun, ContextHistory, ConversationContext, RuleExecution):
        erase(model, model.conversation_id.in_(conversation_ids))
    erase(Message, in_conversations)
    erase(Conversation, Conversation.id.in_(conversation_ids))
    if files:
        erase(StoredFile, StoredFile.id.in_([f.id for f in files]))
    return Erased(len(conversation_ids), messages, len(files)), [f.storage_key for f in files]


def apply_workspace_retention(workspace_id: int, now: datetime, batch_size: int = BATCH_SIZE) -> Erased:
    """Delete one workspace's resolved conversations older than its retention, a batch per transaction."""
    total = Erased()
    with session_scope() as session:
        workspace = session.get(Workspace, workspace_id)
        months = workspace.retention_months if workspace is not None else 0
    if months not in CHOICES or not months:
        return total
    cutoff = months_before(now, months)
    while True:
        events = PendingEvents()
        with session_scope() as session:
            ids = list(session.exec(
                tenant_select(Conversation, workspace_id).with_only_columns(Conversation.id)
                .where(Conversation.status == ConversationStatus.RESOLVED,
                       func.coalesce(Conversation.last_message_at, Conversation.created_at) < cutoff,
                       func.coalesce(Conversation.resolved_at, Conversation.created_at) < cutoff)
                .order_by(Conversation.id).limit(batch_size)
            ).all())
            erased, keys = erase_conversations(session, workspace_id, ids)
            for conversation_id in ids:
                events.conversation_updated(workspace_id, conversation_id)
        delete_stored_objects(keys)
        events.publish()
        total.add(erased)
        if len(ids) < batch_size:
            break
    if total.conversations:
        with session_scope() as session:
            session.add(AuditEvent(
                workspace_id=workspace_id, actor=ACTOR, action="retention.applied", created_at=utcnow(),
                detail=(f"{total.conversations} conversation(s) resolved before {cutoff:%Y-%m-%d} deleted, with "
                        f"{total.messages} message(s) and {total.files} file(s)")))
    return total


@background_task("apply_retention")
def apply_retention(now: str | datetime | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Every workspace's retention (the nightly task). `now` (ISO 8601 or a datetime) is for tests and catch-up
    runs. Returns the conversations deleted per workspace id."""
    moment = datetime.fromisoformat(now) if isinstance(now, str) else (now or utcnow())
    with session_scope() as session:
        workspace_ids = list(session.exec(
            select(Workspace.id).where(Workspace.retention_months > 0).order_by(Workspace.id)).all())
    done: dict[str, int] = {}
    for workspace_id in workspace_ids:
        try:
            erased = apply_workspace_retention(workspace_id, moment, batch_size)
        except Exception:  # one workspace's failure must not keep the others' data beyond their retention
            log.exception("data retention failed for workspace %s", workspace_id)
            continue
        if erased.conversations:
            done[str(workspace_id)] = erased.conversations
    return done


__all__ = ["CHOICES", "RetentionView", "apply_retention", "apply_workspace_retention", "erase_conversations",
           "get_retention", "months_before", "set_retention"]
