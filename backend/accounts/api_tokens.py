"""REST API tokens of a workspace: created with a name, shown once, listed without the secret, revoked.

A secret reads `fd_<prefix>_<random>`. The prefix is kept in clear so an owner can tell tokens apart in a list
and in their integration's settings; only the SHA-256 of the whole secret is stored, so a database leak does not
hand out live tokens.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import asdict, dataclass
from datetime import timedelta

from sqlmodel import select

from backend.core.formatting import iso
from backend.core.membership import require_member
from backend.core.names import clean_name
from backend.db import session_scope, tenant_get, tenant_select
from backend.errors import AuthenticationError, NotFound
from backend.models import ApiToken, AuditEvent
from backend.models.types import utcnow
from backend.security import new_token, token_hash

SECRET_PREFIX = "fd"
PREFIX_CHARS = 8
MAX_NAME_CHARS = 80
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_SHAPE = re.compile(rf"^{SECRET_PREFIX}_([a-z0-9]{{{PREFIX_CHARS}}})_[A-Za-z0-9_-]{{32,128}}$")
# A busy integration calls many times a second; one write a minute is enough to show "last used".
_TOUCH_EVERY = timedelta(minutes=1)

NOT_A_TOKEN = "This is not a Front Desk API token. Tokens look like fd_xxxxxxxx_… and are sent as 'Bearer <token>'."
UNKNOWN_TOKEN = "This API token is not valid. Check that it was copied whole, or create a new one."
REVOKED_TOKEN = "This API token has been revoked. Create a new one in your workspace settings."
TOKEN_GONE = "This API token no longer exists."


@dataclass(frozen=True)
class ApiTokenView:
    id: int
    name: str
    prefix: str
    created_at: str
    last_used_at: str
    revoked: bool

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ApiCaller:
    """Who is behind a valid token: the workspace it acts for, and the token itself, to attribute its writes."""

    workspace_id: int
    token_id: int
    token_name: str


def _view(token: ApiToken) -> ApiTokenView:
    return ApiTokenView(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        created_at=iso(token.created_at),
        last_used_at=iso(token.last_used_at),
        revoked=token.revoked_at is not None,
    )


def _new_secret() -> tuple[str, str]:
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_CHARS))
    return prefix, f"{SECRET_PREFIX}_{prefix}_{new_token(32)}"


def create_api_token(workspace_id: int, name: str, user_id: int | None = None) -> tuple[ApiTokenView, str]:
    """Returns the token and its secret; the secret cannot be shown again."""
    name = clean_name(name, "a name for the token", "name", MAX_NAME_CHARS)
    prefix, secret = _new_secret()
    with session_scope() as session:
        if user_id is not None:  # None: the system itself (the CLI, a migration)
            require_member(session, workspace_id, user_id)
        token = ApiToken(workspace_id=workspace_id, name=name, prefix=prefix, token_hash=token_hash(secret))
        session.add(token)
        session.flush()
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="api_token.created",
                               detail=f"API token {token.id} ({prefix}): {name}"))
        return _view(token), secret


def list_api_tokens(workspace_id: int) -> list[ApiTokenView]:
    """Newest first, revoked ones included (marked), so an owner can see what used to have access."""
    with session_scope() as session:
        tokens = session.exec(
            tenant_select(ApiToken, workspace_id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        ).all()
        return [_view(token) for token in tokens]


def revoke_api_token(workspace_id: int, token_id: int, user_id: int | None = None) -> None:
    """Takes effect on the token's next request. Revoking twice is harmless."""
    with session_scope() as session:
        if user_id is not None:  # None: the system itself (the CLI, a migration)
            require_member(session, workspace_id, user_id)
        token = tenant_get(session, ApiToken, workspace_id, int(token_id))
        if token is None:
            raise NotFound(TOKEN_GONE)
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="api_token.revoked",
                                   detail=f"API token {token.id} ({token.prefix}): {token.name}"))


def authenticate_api_caller(secret: str) -> ApiCaller:
    """The caller behind a secret, or AuthenticationError with a reason a developer can act on."""
    shape = _SECRET_SHAPE.match(secret) if isinstance(secret, str) else None
    if shape is None:
        raise AuthenticationError(NOT_A_TOKEN)
    now = utcnow()
    with session_scope() as session:
        token = session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash(secret))).first()
        if token is None or token.prefix != shape.group(1):
            raise AuthenticationError(UNKNOWN_TOKEN)
        if token.revoked_at is not None:
            raise AuthenticationError(REVOKED_TOKEN)
        if token.last_used_at is None or now - token.last_used_at >= _TOUCH_EVERY:
            token.last_used_at = now
        return ApiCaller(workspace_id=token.workspace_id, token_id=token.id, token_name=token.name)


def authenticate_api_token(secret: str) -> int:
    """The workspace a secret acts for."""
    return authenticate_api_caller(secret).workspace_id
