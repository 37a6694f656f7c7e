"""Owner accounts: sign up, log in and out, sessions with expiry, login rate limiting, password reset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from backend.accounts.login_limits import login_refusal
from backend.accounts.validation import check_password_strength
from backend.core.formatting import describe_user_agent, local_day
from backend.core.names import clean_name, normalize_email
from backend.db import session_scope
from backend.errors import AuthenticationError, RateLimited, ServiceError, SessionExpired
from backend.models import (
    AuditEvent,
    LoginAttempt,
    Membership,
    OwnerSession,
    PasswordResetRequest,
    PasswordResetToken,
    User,
    Workspace,
)
from backend.models.enums import MemberRole
from backend.models.types import utcnow
from backend.notifications.outbox import queue_email
from backend.ratelimit import describe_wait, window_wait
from backend.security import (
    DUMMY_PASSWORD_HASH,
    hash_password,
    new_token,
    password_needs_rehash,
    token_hash,
    verify_password,
)
from backend.settings import get_settings
from backend.workspaces.slugs import unique_slug

WRONG_CREDENTIALS = "Wrong email or password."
LINK_SPENT = ("This reset link is not valid any more: it was used, or a newer one replaced it. "
              "Use the latest e-mail, or ask for a new link.")
_HOUR = timedelta(hours=1)
# Refresh last_seen at most this often, so page loads do not write on every event.
_TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class OwnerContext:
    """Who is behind a valid session, and which workspace they work in."""

    user_id: int
    email: str
    full_name: str
    workspace_id: int
    workspace_name: str
    workspace_slug: str
    onboarded: bool
    deletion_due: str = ""  # the day the workspace is deleted, while that is scheduled ("" otherwise)


@dataclass(frozen=True)
class SignUpResult:
    user_id: int
    workspace_id: int
    session_token: str


def _new_session(session, user_id: int, user_agent: str = "") -> str:
    token = new_token()
    now = utcnow()
    session.add(
        OwnerSession(
            user_id=user_id,
            token_hash=token_hash(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(days=get_settings().owner_session_days),
            user_agent=(user_agent or "")[:300],
        )
    )
    return token


def sign_up(email: str, password: str, full_name: str, business_name: str, user_agent: str = "") -> SignUpResult:
    """Creates the owner, their workspace and a logged-in session in one transaction."""
    email = normalize_email(email)
    full_name = clean_name(full_name, "your name", "full_name", 120)
    business_name = clean_name(business_name, "your business name", "business_name", 120)
    check_password_strength(password, email)
    password_digest = hash_password(password)

    duplicate = ServiceError("An account with this email already exists. Log in instead.", field="email")
    try:
        with session_scope() as session:
            if session.exec(select(User.id).where(User.email == email)).first() is not None:
                raise duplicate
            user = User(email=email, password_hash=password_digest, full_name=full_name)
            session.add(user)
            ws = Workspace(name=business_name, slug=unique_slug(session, business_name))
            session.add(ws)
            session.flush()
            session.add(Membership(workspace_id=ws.id, user_id=user.id, role=MemberRole.OWNER))
            token = _new_session(session, user.id, user_agent)
            session.add(AuditEvent(workspace_id=ws.id, user_id=user.id, action="account.signed_up"))
            session.flush()
            return SignUpResult(user_id=user.id, workspace_id=ws.id, session_token=token)
    except IntegrityError:
        # Two sign-ups raced for the same email: the unique index decided.
        raise duplicate from None


def _home_workspace_id(session, user_id: int) -> int | None:
    """The workspace a user signs in to (validate_session's choice): where their sign-ins are logged."""
    return session.exec(
        select(Membership.workspace_id).where(Membership.user_id == user_id).order_by(Membership.id)
    ).first()


def _audit_account(session, user_id: int, action: str, *, detail: str = "", client_address: str = "",
                   now: datetime | None = None) -> None:
    workspace_id = _home_workspace_id(session, user_id)
    if workspace_id is not None:
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action=action, detail=detail[:2000],
                               client_address=client_address or "", created_at=now or utcnow()))


def log_in(email: str, password: str, user_agent: str = "", client_address: str = "",
           now: datetime | None = None) -> str:
    """Returns a new session token, or raises with a message fit for the login form. `client_address` keys the
    limits (backend.accounts.login_limits): a stranger's wrong passwords elsewhere never hold the owner back.

    Sign-ins and wrong passwords for an existing account go into its workspace's activity log, with the browser
    and address (asks refused by the limits are not written: they would let anyone flood the log)."""
    try:
        email = normalize_email(email)
    except ServiceError:
        raise AuthenticationError(WRONG_CREDENTIALS, field="email") from None
    now = now or utcnow()
    with session_scope() as session:
        refusal = login_refusal(session, email, client_address, now)
    if refusal:
        raise RateLimited(refusal)
    with session_scope() as session:
        user = session.exec(select(User).where(User.email == email)).first()
        ok = verify_password(user.password_hash if user else DUMMY_PASSWORD_HASH, password or "")
        ok = ok and user is not None and user.is_active
        session.add(LoginAttempt(email=email, client_address=client_address, succeeded=ok, created_at=now))
        browser = describe_user_agent(user_agent)
        if not ok:
            if user is not None:
                _audit_account(session, user.id, "account.sign_in_failed", detail=browser,
                               client_address=client_address, now=now)
            session.commit()
            raise AuthenticationError(WRONG_CREDENTIALS)
        if password_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.last_login_at = now
        _audit_account(session, user.id, "account.signed_in", detail=browser, client_address=client_address,
                       now=now)
        return _new_session(session, user.id, user_agent)


def log_out(token: str, client_address: str = "") -> None:
    if not token:
        return
    with session_scope() as session:
        row = session.exec(select(OwnerSession).where(OwnerSession.token_hash == token_hash(token))).first()
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()
            _audit_account(session, row.user_id, "account.signed_out", detail=describe_user_agent(row.user_agent),
                           client_address=client_address)


def sign_out_other_sessions(token: str, client_address: str = "", now: datetime | None = None) -> int:
    """Ends every session of this session's owner except this one (a lost phone, a shared computer). Returns how
    many ended; AuthenticationError when `token` itself is no longer a live session."""
    ctx = validate_session(token)
    now = now or utcnow()
    with session_scope() as session:
        ended = _revoke_other_sessions(session, ctx.user_id, token, now)
        _audit_account(session, ctx.user_id, "account.sessions_revoked", detail=f"{ended} other session(s)",
                       client_address=client_address, now=now)
    return ended


def _revoke_other_sessions(session, user_id: int, keep_token: str, now: datetime) -> int:
    result = session.execute(
        update(OwnerSession)
        .where(OwnerSession.user_id == user_id, OwnerSession.revoked_at.is_(None),
               OwnerSession.token_hash != token_hash(keep_token or ""), OwnerSession.expires_at > now)
        .values(revoked_at=now),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)


def validate_session(token: str) -> OwnerContext:
    """The server decides whether a browser is logged in; raises SessionExpired with a reason to show."""
    if not token:
        raise AuthenticationError("Please log in.")
    now = utcnow()
    with session_scope() as session:
        row = session.exec(select(OwnerSession).where(OwnerSession.token_hash == token_hash(token))).first()
        if row is None or row.revoked_at is not None:
            raise AuthenticationError("Please log in.")
        if row.expires_at <= now:
            raise SessionExpired("Your session expired. Please log in again.")
        user = session.get(User, row.user_id)
        if user is None or not user.is_active:
            raise AuthenticationError("Please log in.")
        membership = session.exec(
            select(Membership).where(Membership.user_id == user.id).order_by(Membership.id)
        ).first()
        if membership is None:
            raise AuthenticationError("This account has no workspace.")
        ws = session.get(Workspace, membership.workspace_id)
        if row.last_seen_at is None or now - row.last_seen_at > _TOUCH_EVERY:
            row.last_seen_at = now
        return OwnerContext(
            user_id=user.id,
            email=user.email,
            full_name=user.full_name,
            workspace_id=ws.id,
            workspace_name=ws.name,
            workspace_slug=ws.slug,
            onboarded=ws.onboarded_at is not None,
            deletion_due=local_day(ws.deletion_due_at, ws.timezone) if ws.deletion_due_at else "",
        )


def request_password_reset(email: str, client_address: str = "", now: datetime | None = None) -> None:
    """Mails a reset link if the account exists; says nothing either way (no account discovery).

    At most settings.password_reset_links_per_hour links an hour go to one account (more asks are ignored, just
    as for an unknown e-mail: the newest link still works), and a new link replaces the older ones. Asks from
    one client address are limited too, counted alike for existing and unknown e-mails: RateLimited."""

    email = normalize_email(email)
    settings = get_settings()
    now = now or utcnow()
    token = new_token()
    with session_scope() as session:
        wait = window_wait(session, PasswordResetRequest.created_at,
                           [PasswordResetRequest.client_address == client_address],
                           settings.password_reset_requests_per_address_per_hour, _HOUR, now)
        if wait:
            raise RateLimited(f"Too many reset links were asked for from your network. "
                              f"Try again in {describe_wait(wait)}.")
        session.add(PasswordResetRequest(email=email, client_address=client_address, created_at=now))
        user = session.exec(select(User).where(User.email == email)).first()
        if user is None or not user.is_active:
            return
        recent = session.exec(
            select(func.count()).where(PasswordResetToken.user_id == user.id,
                                       PasswordResetToken.created_at > now - _HOUR)
        ).one()
        if recent >= settings.password_reset_links_per_hour:
            return
        # Only the newest link works: a mailbox full of older ones is no longer a set of keys.
        session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now),
            execution_options={"synchronize_session": False},
        )
        session.add(
            PasswordResetToken(
                user_id=user.id,
                token_hash=token_hash(token),
                created_at=now,
                expires_at=now + timedelta(minutes=settings.password_reset_minutes),
            )
        )
        name = user.full_name
    link = f"{settings.public_url.rstrip('/')}/reset/{token}"
    queue_email(
        to=email,
        subject="Reset your Front Desk password",
        body=(
            f"Hi {name},\n\nSomeone (hopefully you) asked to reset the password of your Front Desk account.\n"
            f"Open this link within {settings.password_reset_minutes} minutes to choose a new one:\n\n{link}\n\n"
            "If it wasn't you, ignore this message: your password stays the same.\n"
        ),
    )


def check_reset_token(token: str, now: datetime | None = None) -> str:
    """Returns the account's email for a usable token, else raises with the reason."""
    with session_scope() as session:
        row = session.exec(
            select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash(token or ""))
        ).first()
        if row is None or row.used_at is not None:
            raise ServiceError(LINK_SPENT)
        if row.expires_at <= (now or utcnow()):
            raise ServiceError("This reset link has expired. Ask for a new one.")
        return session.get(User, row.user_id).email


def reset_password(token: str, new_password: str, client_address: str = "", now: datetime | None = None) -> None:
    """Sets the new password, spends the token, and logs out every other browser."""
    now = now or utcnow()
    email = check_reset_token(token, now)
    check_password_strength(new_password, email)
    digest = hash_password(new_password)
    with session_scope() as session:
        # Spend the token with one conditional UPDATE so two concurrent resets cannot both use it.
        spent = session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.token_hash == token_hash(token), PasswordResetToken.used_at.is_(None))
            .values(used_at=now)
        )
        if spent.rowcount != 1:
            raise ServiceError(LINK_SPENT)
        row = session.exec(
            select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash(token))
        ).one()
        user = session.get(User, row.user_id)
        user.password_hash = digest
        ended = 0
        for other in session.exec(
            select(OwnerSession).where(OwnerSession.user_id == user.id, OwnerSession.revoked_at.is_(None))
        ):
            other.revoked_at = now
            ended += 1 if other.expires_at > now else 0
        # Holding the mailbox proves as much as the password: this address's failures are forgiven, and it counts
        # as one the owner logs in from (backend.accounts.login_limits).
        session.add(LoginAttempt(email=user.email, client_address=client_address, succeeded=True, created_at=now))
        _audit_account(session, user.id, "account.password_reset",
                       detail=f"{ended} session(s) signed out" if ended else "", client_address=client_address,
                       now=now)
