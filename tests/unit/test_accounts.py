"""Owner accounts through their service functions, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from backend.accounts import service as accounts
from backend.db import session_scope
from backend.errors import AuthenticationError, RateLimited, ServiceError, SessionExpired
from backend.models import LoginAttempt, Membership, OutboxMessage, OwnerSession, PasswordResetToken, User, Workspace
from backend.models.types import utcnow
from backend.security import token_hash

PASSWORD = "sturdy-passphrase-42"


def _sign_up(email="owner@example.com", business="Oak Dental"):
    return accounts.sign_up(email, PASSWORD, "Ana Ruiz", business)


def test_sign_up_creates_owner_workspace_membership_and_session(db):
    result = _sign_up("Owner@Example.com")
    ctx = accounts.validate_session(result.session_token)
    assert ctx.email == "owner@example.com"
    assert ctx.workspace_name == "Oak Dental" and ctx.workspace_slug == "oak-dental"
    assert ctx.onboarded is False
    with session_scope() as s:
        user = s.exec(select(User)).one()
        assert user.password_hash.startswith("$argon2")
        assert PASSWORD not in user.password_hash
        assert s.exec(select(Membership)).one().role == "owner"
        stored = s.exec(select(OwnerSession)).one()
        assert stored.token_hash == token_hash(result.session_token) != result.session_token


@pytest.mark.parametrize(
    "email,password,name,business,field,fragment",
    [
        ("not-an-email", PASSWORD, "Ana", "Oak", "email", "not valid"),
        ("", PASSWORD, "Ana", "Oak", "email", "Enter your email"),
        ("a@example.com", "short", "Ana", "Oak", "password", "at least 10"),
        ("a@example.com", "aaaaaaaaaaaa", "Ana", "Oak", "password", "too easy"),
        ("a@example.com", "password123", "Ana", "Oak", "password", "too common"),
        ("a@example.com", PASSWORD, "  ", "Oak", "full_name", "Enter your name"),
        ("a@example.com", PASSWORD, "Ana", "", "business_name", "Enter your business name"),
        ("a@example.com", PASSWORD, "Ana", "x" * 121, "business_name", "at most 120"),
    ],
)
def test_sign_up_refuses_bad_input_and_writes_nothing(db, email, password, name, business, field, fragment):
    with pytest.raises(ServiceError) as err:
        accounts.sign_up(email, password, name, business)
    assert err.value.field == field and fragment in err.value.message
    with session_scope() as s:
        assert s.exec(select(User)).all() == [] and s.exec(select(Workspace)).all() == []


def test_duplicate_email_is_refused_case_insensitively(db):
    _sign_up("dup@example.com")
    with pytest.raises(ServiceError, match="already exists"):
        accounts.sign_up("DUP@example.com", PASSWORD, "Other", "Other Biz")
    with session_scope() as s:
        assert len(s.exec(select(Workspace)).all()) == 1


def test_same_business_name_gets_a_distinct_slug(db):
    a = _sign_up("a@example.com", "Corner Cafe")
    b = _sign_up("b@example.com", "Corner Cafe")
    slug_a = accounts.validate_session(a.session_token).workspace_slug
    slug_b = accounts.validate_session(b.session_token).workspace_slug
    assert slug_a == "corner-cafe" and slug_b.startswith("corner-cafe-") and slug_a != slug_b


def test_log_in_wrong_password_and_unknown_email_say_the_same(db):
    _sign_up()
    with pytest.raises(AuthenticationError) as wrong:
        accounts.log_in("owner@example.com", "nope-nope-nope")
    with pytest.raises(AuthenticationError) as unknown:
        accounts.log_in("nobody@example.com", PASSWORD)
    assert wrong.value.message == unknown.value.message == accounts.WRONG_CREDENTIALS
    token = accounts.log_in("OWNER@example.com", PASSWORD)
    assert accounts.validate_session(token).email == "owner@example.com"


def test_login_is_rate_limited_after_repeated_failures(db):
    _sign_up()
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            accounts.log_in("owner@example.com", "wrong-password-x")
    with pytest.raises(RateLimited, match="Too many failed attempts"):
        accounts.log_in("owner@example.com", PASSWORD)
    # Failures older than the window no longer count.
    with session_scope() as s:
        for attempt in s.exec(select(LoginAttempt)):
            attempt.created_at = utcnow() - timedelta(minutes=16)
    assert accounts.log_in("owner@example.com", PASSWORD)


def test_log_out_revokes_and_expired_sessions_are_refused(db):
    result = _sign_up()
    accounts.log_out(result.session_token)
    with pytest.raises(AuthenticationError):
        accounts.validate_session(result.session_token)

    token = accounts.log_in("owner@example.com", PASSWORD)
    with session_scope() as s:
        row = s.exec(select(OwnerSession).where(OwnerSession.token_hash == token_hash(token))).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(SessionExpired, match="expired"):
        accounts.validate_session(token)
    with pytest.raises(AuthenticationError):
        accounts.validate_session("forged-token")
    with pytest.raises(AuthenticationError):
        accounts.validate_session("")


def test_password_reset_flow(db):
    first = _sign_up()
    accounts.request_password_reset("nobody@example.com")  # silent: no account discovery
    accounts.request_password_reset("owner@example.com")
    with session_scope() as s:
        mails = s.exec(select(OutboxMessage)).all()
    assert [m.to_address for m in mails] == ["owner@example.com"]
    token = mails[0].body.split("/reset/", 1)[1].split()[0]
    assert accounts.check_reset_token(token) == "owner@example.com"

    with pytest.raises(ServiceError, match="at least"):
        accounts.reset_password(token, "short")
    accounts.reset_password(token, "a-new-sturdy-passphrase")
    with pytest.raises(AuthenticationError):
        accounts.validate_session(first.session_token)  # every browser logged out
    with pytest.raises(ServiceError, match="not valid any more"):
        accounts.reset_password(token, "yet-another-passphrase")
    with pytest.raises(AuthenticationError):
        accounts.log_in("owner@example.com", PASSWORD)
    assert accounts.log_in("owner@example.com", "a-new-sturdy-passphrase")


def test_expired_reset_token_is_refused(db):
    _sign_up()
    accounts.request_password_reset("owner@example.com")
    with session_scope() as s:
        s.exec(select(PasswordResetToken)).one().expires_at = utcnow() - timedelta(minutes=1)
        token = s.exec(select(OutboxMessage)).one().body.split("/reset/", 1)[1].split()[0]
    with pytest.raises(ServiceError, match="expired"):
        accounts.reset_password(token, "a-new-sturdy-passphrase")
