"""How long a login attempt must wait, from the attempts kept in `login_attempts`.

A lock per account would be a weapon: five wrong passwords from anywhere would lock the real owner out. So the
limits are keyed on what an attacker cannot borrow from the owner, the client address:

- one account from one address: the first settings.login_max_failures wrong passwords are free; after that each
  next try waits, from settings.login_first_wait_seconds doubling up to settings.login_max_wait_minutes
  (backoff: about 100 guesses a day from one address, against an owner who mistypes a few times and waits half a
  minute). Failures count since that address's last success for the account, and for a day at most.
- one address, any accounts: settings.login_failures_per_address_per_hour (credential stuffing: a list of
  e-mail/password pairs tried once each from one machine);
- one account, any addresses: settings.login_failures_per_account_per_hour (guessing spread over many addresses
  to dodge the backoff).

The two hourly caps never hold back an address that logged in to the account before (within KNOWN_FOR): the
owner's own office or phone keeps only its own backoff, whatever strangers do elsewhere or on the same network.
All of it counts every e-mail alike, existing or not, so a refusal tells nothing about which accounts exist.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from backend.models import LoginAttempt
from backend.ratelimit import describe_wait, window_wait
from backend.settings import get_settings

HOUR = timedelta(hours=1)
BACKOFF_MEMORY = timedelta(days=1)
KNOWN_FOR = timedelta(days=30)


def backoff_seconds(failures: int) -> float:
    """How long the next try waits after `failures` consecutive wrong passwords from one address."""
    settings = get_settings()
    extra = failures - settings.login_max_failures
    if extra < 0:
        return 0.0
    cap = settings.login_max_wait_minutes * 60
    # The exponent is capped too: after a long attack 2**extra would be a huge number computed for nothing.
    return float(min(cap, settings.login_first_wait_seconds * 2 ** min(extra, 32)))


def _is_known(session: Session, email: str, address: str, now: datetime) -> bool:
    return session.exec(
        select(LoginAttempt.id).where(
            LoginAttempt.email == email, LoginAttempt.client_address == address,
            LoginAttempt.succeeded.is_(True), LoginAttempt.created_at > now - KNOWN_FOR,
        ).limit(1)
    ).first() is not None


def _backoff_wait(session: Session, email: str, address: str, now: datetime) -> float:
    pair = [LoginAttempt.email == email, LoginAttempt.client_address == address]
    since = now - BACKOFF_MEMORY
    last_success = session.exec(
        select(func.max(LoginAttempt.created_at)).where(*pair, LoginAttempt.succeeded.is_(True),
                                                        LoginAttempt.created_at > since)
    ).one()
    failed = [*pair, LoginAttempt.succeeded.is_(False), LoginAttempt.created_at > (last_success or since)]
    count, latest = session.exec(select(func.count(), func.max(LoginAttempt.created_at)).where(*failed)).one()
    wait = backoff_seconds(int(count))
    if not wait or latest is None:
        return 0.0
    return max(0.0, (latest + timedelta(seconds=wait) - now).total_seconds())


def login_refusal(session: Session, email: str, address: str, now: datetime) -> str:
    """The message refusing this attempt before the password is even checked, or "" when it may go ahead."""
    settings = get_settings()
    wait = _backoff_wait(session, email, address, now)
    if wait:
        return f"Too many failed attempts. Try again in {describe_wait(wait)}, or reset your password."
    if _is_known(session, email, address, now):
        return ""
    failed = LoginAttempt.succeeded.is_(False)
    wait = window_wait(session, LoginAttempt.created_at, [LoginAttempt.client_address == address, failed],
                       settings.login_failures_per_address_per_hour, HOUR, now)
    if wait:
        return f"Too many failed logins from your network. Try again in {describe_wait(wait)}."
    wait = window_wait(session, LoginAttempt.created_at, [LoginAttempt.email == email, failed],
                       settings.login_failures_per_account_per_hour, HOUR, now)
    if wait:
        return (f"Too many failed attempts on this account from elsewhere. Try again in {describe_wait(wait)}, "
                "or reset your password: the link is sent by e-mail.")
    return ""
