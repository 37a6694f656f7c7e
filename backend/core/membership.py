"""Is this person a member of this workspace? Asked by every service that acts for an owner."""

from __future__ import annotations

from sqlmodel import Session, select

from backend.errors import PermissionDenied
from backend.models import Membership


def require_member(session: Session, workspace_id: int, user_id: int | None) -> None:
    """PermissionDenied unless `user_id` belongs to the workspace (None, an integration's token, is refused)."""
    member = None if user_id is None else session.exec(
        select(Membership.id).where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
    ).first()
    if member is None:
        raise PermissionDenied("You are not a member of this workspace.")
