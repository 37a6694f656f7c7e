"""Who a portal browser is, and which conversations it may see.

A portal session that passed the one-time code (`PortalSession.verified`) sees every conversation of its
contact. Any other session sees only the conversation it started itself (`PortalSession.conversation_id`):
typing someone's phone number must never reveal what they discussed before.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from backend.errors import AuthenticationError, SessionExpired
from backend.models import Contact, Conversation, PortalSession, Workspace
from backend.models.types import utcnow
from backend.security import token_hash
from backend.workspaces.portal import check_portal_open

PLEASE_IDENTIFY = "Enter your phone number to start chatting."
SESSION_EXPIRED = "Your chat session has expired. Enter your phone number to continue."


@dataclass
class PortalAccess:
    session: PortalSession
    contact: Contact
    workspace: Workspace


def find_portal_workspace(session: Session, slug: str) -> Workspace:
    slug = (slug or "").strip().lower()
    workspace = session.exec(select(Workspace).where(Workspace.slug == slug)).first() if slug else None
    return check_portal_open(workspace)


def load_portal_session(session: Session, token: str, workspace_id: int | None = None) -> PortalAccess:
    """The live portal session behind a browser's token, or AuthenticationError / SessionExpired."""
    if not token or not isinstance(token, str):
        raise AuthenticationError(PLEASE_IDENTIFY)
    row = session.exec(select(PortalSession).where(PortalSession.token_hash == token_hash(token))).first()
    # Another business's token is as unknown here as a forged one: it says nothing about that business.
    if row is None or row.revoked_at is not None or (workspace_id is not None and row.workspace_id != workspace_id):
        raise AuthenticationError(PLEASE_IDENTIFY)
    if row.expires_at <= utcnow():
        raise SessionExpired(SESSION_EXPIRED)
    workspace = check_portal_open(session.get(Workspace, row.workspace_id))
    contact = session.get(Contact, row.contact_id)
    if contact is None:
        raise AuthenticationError(PLEASE_IDENTIFY)
    return PortalAccess(session=row, contact=contact, workspace=workspace)


def visible_conversation_ids(session: Session, portal: PortalSession) -> list[int]:
    if portal.verified:
        return list(session.exec(
            select(Conversation.id)
            .where(Conversation.workspace_id == portal.workspace_id, Conversation.contact_id == portal.contact_id)
            .order_by(Conversation.id)
        ).all())
    if portal.conversation_id is None:
        return []
    owned = session.exec(
        select(Conversation.id).where(
            Conversation.id == portal.conversation_id,
            Conversation.workspace_id == portal.workspace_id,
            Conversation.contact_id == portal.contact_id,
        )
    ).first()
    return [owned] if owned is not None else []


def has_hidden_history(session: Session, portal: PortalSession) -> bool:
    """True when the contact has conversations this session may not see yet (so it should verify)."""
    if portal.verified:
        return False
    query = select(Conversation.id).where(
        Conversation.workspace_id == portal.workspace_id, Conversation.contact_id == portal.contact_id
    )
    if portal.conversation_id is not None:
        query = query.where(Conversation.id != portal.conversation_id)
    return session.exec(query.limit(1)).first() is not None
