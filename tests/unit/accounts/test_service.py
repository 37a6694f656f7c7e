"""Owner accounts through their service functions, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from backend.accounts import login_limits
from backend.accounts import service as accounts
from backend.db import session_scope
from backend.errors import AuthenticationError, RateLimited, ServiceError, SessionExpired
from backend.models import LoginAttempt, Membership, OutboxMessage, OwnerSession, PasswordResetToken, User, Workspace
from backend.models.types import utcnow
from backend.security import token_hash
from tests.unit.messaging_helpers import settings_override

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


# --- limits keyed on the client address (issue 15, finding 10) -----------------------------------------------

T0 = datetime(2031, 3, 4, 9, 0, tzinfo=timezone.utc)  # any date: every call below is given its clock
OWNER_AT = "198.51.100.20"
STRANGER_AT = "203.0.113.66"


def _fail(email: str, address: str, at: datetime, count: int = 1) -> None:
    for i in range(count):
        with pytest.raises(AuthenticationError):
            accounts.log_in(email, "wrong-password-x", client_address=address, now=at + timedelta(seconds=i))


def test_a_strangers_wrong_passwords_never_lock_the_owner_out_from_their_own_address(db):
    _sign_up()
    for i in range(12):  # wrong passwords, then refusals
        with pytest.raises((AuthenticationError, RateLimited)):
            accounts.log_in("owner@example.com", f"guess-{i}-xxxxx", client_address=STRANGER_AT,
                            now=T0 + timedelta(seconds=i))
    with pytest.raises(RateLimited, match="Too many failed attempts"):
        accounts.log_in("owner@example.com", PASSWORD, client_address=STRANGER_AT, now=T0 + timedelta(seconds=13))
    token = accounts.log_in("owner@example.com", PASSWORD, client_address=OWNER_AT, now=T0 + timedelta(seconds=14))
    assert accounts.validate_session(token).email == "owner@example.com"


def test_the_wait_doubles_with_every_failure_says_how_long_and_stops_at_the_cap(db):
    _sign_up()
    assert [login_limits.backoff_seconds(n) for n in range(4, 12)] == [0, 30, 60, 120, 240, 480, 900, 900]
    _fail("owner@example.com", STRANGER_AT, T0, count=5)  # the first five are free
    last = T0 + timedelta(seconds=4)
    with pytest.raises(RateLimited, match=r"Try again in 30 seconds, or reset your password"):
        accounts.log_in("owner@example.com", PASSWORD, client_address=STRANGER_AT, now=last)
    _fail("owner@example.com", STRANGER_AT, last + timedelta(seconds=30))  # the 6th, once the wait is over
    last += timedelta(seconds=30)
    with pytest.raises(RateLimited, match=r"Try again in 1 minute,"):
        accounts.log_in("owner@example.com", PASSWORD, client_address=STRANGER_AT, now=last)
    with pytest.raises(RateLimited, match=r"Try again in 2 seconds,"):
        accounts.log_in("owner@example.com", PASSWORD, client_address=STRANGER_AT, now=last + timedelta(seconds=58))
    # Refused tries are not failures: the wait did not grow meanwhile.
    token = accounts.log_in("owner@example.com", PASSWORD, client_address=STRANGER_AT, now=last + timedelta(seconds=60))
    assert token
    # A success starts the count again: one more typo costs no wait.
    _fail("owner@example.com", STRANGER_AT, last + timedelta(seconds=61))
    assert accounts.log_in("owner@example.com", PASSWORD, client_address=STRANGER_AT, now=last + timedelta(seconds=62))


def test_many_accounts_from_one_address_hit_the_address_cap_but_not_the_owner_who_logged_in_from_there(db):
    _sign_up()
    accounts.log_in("owner@example.com", PASSWORD, client_address=STRANGER_AT, now=T0 - timedelta(days=3))
    with settings_override(login_failures_per_address_per_hour=4):
        for i in range(4):
            _fail(f"victim{i}@example.com", STRANGER_AT, T0 + timedelta(minutes=i))
        with pytest.raises(RateLimited, match=r"from your network. Try again in 57 minutes"):
            accounts.log_in("victim9@example.com", "guess-guess-1", client_address=STRANGER_AT,
                            now=T0 + timedelta(minutes=3, seconds=30))
        # The owner shares that network and logged in from it before: only their own backoff applies.
        assert accounts.log_in("owner@example.com", PASSWORD, client_address=STRANGER_AT,
                               now=T0 + timedelta(minutes=4))
        # Elsewhere nothing changed; and an hour after the first failure, the address may try again.
        _fail("victim9@example.com", OWNER_AT, T0 + timedelta(minutes=5))
        _fail("victim9@example.com", STRANGER_AT, T0 + timedelta(minutes=60, seconds=1))


def test_one_account_from_many_addresses_hits_the_account_cap_except_where_the_owner_logged_in_before(db):
    _sign_up()
    accounts.log_in("owner@example.com", PASSWORD, client_address=OWNER_AT, now=T0 - timedelta(days=29))
    with settings_override(login_failures_per_account_per_hour=3):
        for i in range(3):
            _fail("owner@example.com", f"203.0.113.{i}", T0 + timedelta(minutes=i))
        with pytest.raises(RateLimited, match="on this account from elsewhere. Try again in 58 minutes") as err:
            accounts.log_in("owner@example.com", PASSWORD, client_address="192.0.2.1", now=T0 + timedelta(minutes=2))
        # An e-mail without an account is refused in exactly the same words: no account discovery.
        for i in range(3):
            _fail("nobody@example.com", f"203.0.113.{i}", T0 + timedelta(minutes=i))
        with pytest.raises(RateLimited) as unknown:
            accounts.log_in("nobody@example.com", PASSWORD, client_address="192.0.2.1",
                            now=T0 + timedelta(minutes=2))
        assert unknown.value.message == err.value.message
        assert accounts.log_in("owner@example.com", PASSWORD, client_address=OWNER_AT,
                               now=T0 + timedelta(minutes=3))
        assert accounts.log_in("owner@example.com", PASSWORD, client_address="192.0.2.1",
                               now=T0 + timedelta(minutes=61))


def _reset_links(email: str = "owner@example.com") -> list[str]:
    with session_scope() as s:
        mails = s.exec(select(OutboxMessage).where(OutboxMessage.to_address == email).order_by(OutboxMessage.id))
        return [m.body.split("/reset/", 1)[1].split()[0] for m in mails]


def test_a_new_reset_link_replaces_the_older_ones_and_an_account_gets_three_an_hour(db):
    _sign_up()
    for minute in range(5):
        accounts.request_password_reset("owner@example.com", client_address=STRANGER_AT,
                                        now=T0 + timedelta(minutes=minute))
    links = _reset_links()
    assert len(links) == 3  # the 4th and 5th asks are ignored, as an unknown e-mail's are
    for old in links[:2]:
        with pytest.raises(ServiceError, match="newer one replaced it"):
            accounts.check_reset_token(old, now=T0 + timedelta(minutes=5))
    assert accounts.check_reset_token(links[-1], now=T0 + timedelta(minutes=5)) == "owner@example.com"

    accounts.request_password_reset("owner@example.com", client_address=OWNER_AT, now=T0 + timedelta(minutes=61))
    assert len(_reset_links()) == 4
    with pytest.raises(ServiceError, match="not valid any more"):
        accounts.reset_password(links[-1], "a-new-sturdy-passphrase", now=T0 + timedelta(minutes=62))
    accounts.reset_password(_reset_links()[-1], "a-new-sturdy-passphrase", client_address=OWNER_AT,
                            now=T0 + timedelta(minutes=62))


def test_reset_requests_from_one_address_are_limited_alike_for_existing_and_unknown_emails(db):
    _sign_up()
    with settings_override(password_reset_requests_per_address_per_hour=3):
        accounts.request_password_reset("nobody@example.com", client_address=STRANGER_AT, now=T0)
        accounts.request_password_reset("someone@example.com", client_address=STRANGER_AT, now=T0)
        accounts.request_password_reset("owner@example.com", client_address=STRANGER_AT, now=T0)
        for email in ("owner@example.com", "nobody@example.com"):
            with pytest.raises(RateLimited, match="from your network. Try again in 1 hour"):
                accounts.request_password_reset(email, client_address=STRANGER_AT, now=T0 + timedelta(seconds=1))
        accounts.request_password_reset("owner@example.com", client_address=OWNER_AT, now=T0 + timedelta(seconds=2))
    assert len(_reset_links()) == 2


def test_a_password_reset_forgives_the_failures_of_the_address_it_was_completed_from(db):
    _sign_up()
    _fail("owner@example.com", OWNER_AT, T0, count=5)
    with pytest.raises(RateLimited):
        accounts.log_in("owner@example.com", PASSWORD, client_address=OWNER_AT, now=T0 + timedelta(seconds=6))
    accounts.request_password_reset("owner@example.com", client_address=OWNER_AT, now=T0 + timedelta(seconds=7))
    accounts.reset_password(_reset_links()[-1], "a-new-sturdy-passphrase", client_address=OWNER_AT,
                            now=T0 + timedelta(seconds=8))
    assert accounts.log_in("owner@example.com", "a-new-sturdy-passphrase", client_address=OWNER_AT,
                           now=T0 + timedelta(seconds=9))
