"""Deleting a whole workspace, with a grace period.

The owner asks (typing the business name and their password): the deletion is scheduled
settings.workspace_deletion_grace_days ahead, the portal stops taking messages at once, the owner's other sessions
end, and an e-mail says when it will happen and how to stop it. Until then the owner may log in and cancel: the
dashboard shows a banner with the date and a Cancel button.

When the day comes, the `purge_deleted_workspaces` background task removes every row of the workspace (each table
with a workspace key, found from the models, so a table added later is not forgotten), its files in storage, its
vectors (with the knowledge chunks; the process's search caches too), and each member who belongs to no other
workspace, with their sessions, sign-in records and system mail. What remains is a tombstone row with counts and
dates, nothing about anyone, and a log line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, inspect, text
from sqlmodel import Session, SQLModel, select

from backend.accounts.login_limits import login_refusal
from backend.core.formatting import local_day
from backend.db import session_scope
from backend.errors import NotFound, PermissionDenied, RateLimited, ServiceError
from backend.kb.search import forget_workspace
from backend.messaging.files import delete_stored_objects
from backend.models import (
    AuditEvent,
    Contact,
    Conversation,
    KnowledgeDocument,
    LoginAttempt,
    Membership,
    Message,
    OutboxMessage,
    OwnerSession,
    PasswordResetRequest,
    StoredFile,
    User,
    Workspace,
    WorkspaceTombstone,
)
from backend.models.enums import MemberRole
from backend.models.types import utcnow
from backend.notifications.outbox import queue_email
from backend.providers.background import background_task
from backend.security import token_hash, verify_password
from backend.settings import get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeletionStatus:
    scheduled: bool
    due_at: datetime | None = None
    requested_at: datetime | None = None
    due_label: str = ""  # "Tuesday 14 April 2026", in the workspace's time zone


def deletion_label(workspace: Workspace) -> str:
    """The day a workspace is to be deleted, in its time zone; "" when no deletion is scheduled."""
    return local_day(workspace.deletion_due_at, workspace.timezone) if workspace.deletion_due_at else ""


def _status(workspace: Workspace) -> DeletionStatus:
    if workspace.deletion_due_at is None:
        return DeletionStatus(scheduled=False)
    return DeletionStatus(scheduled=True, due_at=workspace.deletion_due_at,
                          requested_at=workspace.deletion_requested_at,
                          due_label=local_day(workspace.deletion_due_at, workspace.timezone))


def _workspace(session: Session, workspace_id: int) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("This workspace no longer exists.")
    return workspace


def _require_owner(session: Session, workspace_id: int, user_id: int) -> User:
    role = session.exec(select(Membership.role).where(Membership.workspace_id == workspace_id,
                                                      Membership.user_id == user_id)).first()
    if role != MemberRole.OWNER:
        raise PermissionDenied("Only the workspace's owner can delete it or cancel its deletion.")
    return session.get(User, user_id)


def deletion_status(workspace_id: int) -> DeletionStatus:
    with session_scope() as session:
        return _status(_workspace(session, workspace_id))


def schedule_workspace_deletion(workspace_id: int, user_id: int, *, confirm_name: str, password: str,
                                session_token: str = "", client_address: str = "",
                                now: datetime | None = None) -> DeletionStatus:
    """Schedule the deletion (see the module docstring). Refusals are ServiceErrors on `confirm_name` or
    `password` and change nothing; a wrong password counts against the login limits like one at the login form."""

    now = now or utcnow()
    settings = get_settings()
    with session_scope() as session:
        workspace = _workspace(session, workspace_id)
        user = _require_owner(session, workspace_id, user_id)
        if workspace.deletion_due_at is not None:
            due = local_day(workspace.deletion_due_at, workspace.timezone)
            raise ServiceError(f"Deletion is already scheduled for {due}.")
        if " ".join((confirm_name or "").split()) != workspace.name:
            raise ServiceError(f"Type the business name exactly as shown: {workspace.name}", field="confirm_name")
        refusal = login_refusal(session, user.email, client_address, now)
        if refusal:
            raise RateLimited(refusal)
        if not verify_password(user.password_hash, password or ""):
            session.add(LoginAttempt(email=user.email, client_address=client_address, succeeded=False,
                                     created_at=now))
            session.commit()
            raise ServiceError("That password is not right.", field="password")

        days = max(1, settings.workspace_deletion_grace_days)
        workspace.deletion_requested_at = now
        workspace.deletion_due_at = now + timedelta(days=days)
        workspace.deletion_requested_by = user_id
        workspace.updated_at = now
        status = _status(workspace)
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="workspace.deletion_scheduled",
                               client_address=client_address, created_at=now,
                               detail=f"to be deleted on {status.due_label} ({days} days)"))
        ended = session.execute(
            OwnerSession.__table__.update()
            .where(OwnerSession.user_id == user_id, OwnerSession.revoked_at.is_(None),
                   OwnerSession.token_hash != token_hash(session_token or ""), OwnerSession.expires_at > now)
            .values(revoked_at=now)
        ).rowcount or 0
        if ended:
            session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="account.sessions_revoked",
                                   client_address=client_address, created_at=now,
                                   detail=f"{ended} other session(s), when deletion was scheduled"))
        owner_email, owner_name, business = user.email, user.full_name, workspace.name
    link = f"{settings.public_url.rstrip('/')}/login"
    queue_email(
        to=owner_email, workspace_id=workspace_id,
        subject=f"{business} will be deleted on {status.due_label}",
        body=(f"Hi {owner_name},\n\nYou asked to delete {business} from Front Desk. Its customer portal is closed "
              f"now, and on {status.due_label} the workspace is deleted for good: conversations, contacts, files, "
              f"documents and settings, and your account unless you belong to another workspace.\n\n"
              f"Changed your mind? Log in before then and press \"Cancel deletion\" at the top of the dashboard:\n"
              f"{link}\n\nIf you did not ask for this, log in now, cancel it and change your password.\n"),
    )
    return status


def cancel_workspace_deletion(workspace_id: int, user_id: int, client_address: str = "",
                              now: datetime | None = None) -> DeletionStatus:

    now = now or utcnow()
    with session_scope() as session:
        workspace = _workspace(session, workspace_id)
        user = _require_owner(session, workspace_id, user_id)
        if workspace.deletion_due_at is None:
            return _status(workspace)
        workspace.deletion_requested_at = workspace.deletion_due_at = workspace.deletion_requested_by = None
        workspace.updated_at = now
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="workspace.deletion_cancelled",
                               client_address=client_address, created_at=now))
        owner_email, owner_name, business = user.email, user.full_name, workspace.name
    queue_email(to=owner_email, workspace_id=workspace_id, subject=f"{business} will not be deleted",
                body=(f"Hi {owner_name},\n\nThe deletion of {business} is cancelled: everything stays as it was, "
                      "and the customer portal takes messages again.\n"))
    return DeletionStatus(scheduled=False)


# --- the purge -----------------------------------------------------------------------------------------------------


def _workspace_tables() -> list:
    """Every table with a workspace key, children before parents (so no foreign key stands in the way)."""
    return [t for t in reversed(SQLModel.metadata.sorted_tables)
            if "workspace_id" in t.c and t.name not in (Workspace.__tablename__, WorkspaceTombstone.__tablename__)]


def _count(session: Session, model, workspace_id: int) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(model.workspace_id == workspace_id)).one())


def _outbox_keys(rows: list[list]) -> list[str]:
    return [item["storage_key"] for attachments in rows for item in attachments or []
            if isinstance(item, dict) and item.get("storage_key")]


def purge_workspace(workspace_id: int, now: datetime | None = None) -> dict[str, int] | None:
    """Delete a workspace whose grace period is over, everything in it, and its members who belong nowhere else.
    None when it is not due (cancelled meanwhile, or never scheduled): nothing is touched then."""
    now = now or utcnow()
    with session_scope() as session:
        workspace = session.exec(
            select(Workspace).where(Workspace.id == workspace_id).with_for_update()).first()
        if workspace is None or workspace.deletion_due_at is None or workspace.deletion_due_at > now:
            return None
        counts = {
            "contacts": _count(session, Contact, workspace_id),
            "conversations": _count(session, Conversation, workspace_id),
            "messages": _count(session, Message, workspace_id),
            "documents": _count(session, KnowledgeDocument, workspace_id),
            "files": _count(session, StoredFile, workspace_id),
        }
        keys = list(session.exec(select(StoredFile.storage_key).where(StoredFile.workspace_id == workspace_id)))
        keys += _outbox_keys(list(session.exec(
            select(OutboxMessage.attachments).where(OutboxMessage.workspace_id == workspace_id))))
        member_ids = list(session.exec(select(Membership.user_id).where(Membership.workspace_id == workspace_id)))
        requested_at = workspace.deletion_requested_at

        for table in _workspace_tables():
            session.execute(table.delete().where(table.c.workspace_id == workspace_id))
        if "knowledge_search_versions" in inspect(session.connection()).get_table_names():  # SQLite's search
            session.execute(text("DELETE FROM knowledge_search_versions WHERE workspace_id = :ws"),
                            {"ws": workspace_id})
        session.execute(delete(Workspace).where(Workspace.id == workspace_id))

        users = 0
        for user_id in member_ids:
            if session.exec(select(Membership.id).where(Membership.user_id == user_id)).first() is not None:
                continue  # still a member elsewhere: the account stays
            user = session.get(User, user_id)
            if user is None:
                continue
            # What is kept about the person outside any workspace: sign-in attempts, reset requests and the system
            # mail sent to them (reset links), and log rows without a workspace.
            for model, condition in ((LoginAttempt, LoginAttempt.email == user.email),
                                     (PasswordResetRequest, PasswordResetRequest.email == user.email),
                                     (OutboxMessage, (OutboxMessage.workspace_id.is_(None))
                                      & (OutboxMessage.to_address == user.email)),
                                     (AuditEvent, (AuditEvent.workspace_id.is_(None))
                                      & (AuditEvent.user_id == user.id))):
                if model is OutboxMessage:
                    keys += _outbox_keys(list(session.exec(select(OutboxMessage.attachments).where(condition))))
                session.execute(delete(model).where(condition), execution_options={"synchronize_session": False})
            session.delete(user)  # sessions and reset links go with it (ON DELETE CASCADE)
            users += 1
        counts["users"] = users
        session.add(WorkspaceTombstone(workspace_id=workspace_id, requested_at=requested_at, deleted_at=now,
                                       counts=counts))


    delete_stored_objects(keys)
    forget_workspace(workspace_id)
    log.info("workspace %s purged (asked %s): %s", workspace_id, requested_at.isoformat() if requested_at else "-",
             ", ".join(f"{n} {name}" for name, n in counts.items()))
    return counts


@background_task("purge_deleted_workspaces")
def purge_deleted_workspaces(now: str | datetime | None = None) -> list[int]:
    """Purge every workspace whose grace period is over (the periodic task). `now` (ISO 8601 or a datetime) is for
    tests. Returns the ids purged."""
    moment = datetime.fromisoformat(now) if isinstance(now, str) else (now or utcnow())
    with session_scope() as session:
        due = list(session.exec(select(Workspace.id).where(Workspace.deletion_due_at.is_not(None),
                                                           Workspace.deletion_due_at <= moment)
                                .order_by(Workspace.deletion_due_at)))
    purged = []
    for workspace_id in due:
        try:
            if purge_workspace(workspace_id, moment) is not None:
                purged.append(workspace_id)
        except Exception:  # the next run tries again; the others go ahead
            log.exception("could not purge workspace %s", workspace_id)
    return purged


__all__ = ["DeletionStatus", "cancel_workspace_deletion", "deletion_label", "deletion_status",
           "purge_deleted_workspaces", "purge_workspace", "schedule_workspace_deletion"]
