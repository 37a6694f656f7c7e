"""Owner accounts, their sessions, password resets, login attempts and workspace memberships."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.models.base import (
    created_at_field,
    json_dict_field,
    required_timestamp_field,
    timestamp_field,
    workspace_fk,
)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: Optional[int] = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    full_name: str = Field(default="", max_length=120)
    is_active: bool = Field(default=True)
    created_at: datetime = created_at_field()
    last_login_at: Optional[datetime] = timestamp_field()


class Membership(SQLModel, table=True):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id", name="uq_membership_workspace_user"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    role: str = Field(default="owner", max_length=20)
    created_at: datetime = created_at_field()


class OwnerSession(SQLModel, table=True):
    """A logged-in browser. Only the token's SHA-256 is stored; the browser holds the token."""

    __tablename__ = "owner_sessions"

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = required_timestamp_field()
    last_seen_at: Optional[datetime] = timestamp_field()
    revoked_at: Optional[datetime] = timestamp_field()
    user_agent: str = Field(default="", max_length=300)


class PasswordResetToken(SQLModel, table=True):
    __tablename__ = "password_reset_tokens"

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = required_timestamp_field()
    used_at: Optional[datetime] = timestamp_field()


class LoginAttempt(SQLModel, table=True):
    """Kept in the database (not memory) so the limits hold across several app processes."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_created", "email", "created_at"),
        Index("ix_login_attempts_email_address_created", "email", "client_address", "created_at"),
        Index("ix_login_attempts_address_created", "client_address", "created_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    client_address: str = Field(default="", max_length=64)  # backend.security.client_address; "" = unknown
    succeeded: bool = Field(default=False)
    created_at: datetime = created_at_field()


class PasswordResetRequest(SQLModel, table=True):
    """Every request for a reset link, whether or not the account exists: the per-address limit must not tell."""

    __tablename__ = "password_reset_requests"
    __table_args__ = (Index("ix_password_reset_requests_address_created", "client_address", "created_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    client_address: str = Field(default="", max_length=64)
    created_at: datetime = created_at_field()


class ApiToken(SQLModel, table=True):
    """REST API credentials of a workspace; the secret is shown once, only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    name: str = Field(max_length=80)
    prefix: str = Field(max_length=12)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = created_at_field()
    last_used_at: Optional[datetime] = timestamp_field()
    revoked_at: Optional[datetime] = timestamp_field()


class AuditEvent(SQLModel, table=True):
    """Something done in a workspace, for its owner's activity log (backend.privacy.audit words each action)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_workspace_created", "workspace_id", "created_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: Optional[int] = Field(default=None, foreign_key="workspaces.id", ondelete="CASCADE")
    user_id: Optional[int] = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    # Who, when it was not a person signed in: "API token “Zapier”", "Data retention". "" with no user = system.
    actor: str = Field(default="", max_length=120)
    action: str = Field(max_length=80)
    detail: str = Field(default="", max_length=2000)
    client_address: str = Field(default="", max_length=64)  # sign-ins: where from (backend.security.client_address)
    created_at: datetime = created_at_field()


class WorkspaceTombstone(SQLModel, table=True):
    """What is left of a purged workspace: when, and how much went. Counts only, nothing about anyone."""

    __tablename__ = "workspace_tombstones"

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = Field(index=True)  # the id it had; no key, the row it named is gone
    requested_at: Optional[datetime] = timestamp_field()
    deleted_at: datetime = created_at_field()
    counts: dict = json_dict_field()
