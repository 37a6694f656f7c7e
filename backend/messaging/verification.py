"""One-time codes that prove a portal visitor holds the phone they typed, before they see its history.

Codes are six digits, texted through the outbox, stored only as a keyed hash, expire after
settings.verification_code_minutes and allow settings.verification_max_attempts tries. A code belongs to the
browser session that asked for it, and a new one replaces that session's older ones: someone else who typed the
same number can neither enter it nor spend its tries.

Anyone can type a number and ask, so sends are limited three ways over an hour, each by the client address that
asked (backend.security.client_address), not only by the number (else a stranger could use up a customer's codes):
settings.verification_codes_per_hour to one number from one address, settings.verification_codes_per_number_per_hour
to one number from anywhere (its owner is not flooded), settings.verification_codes_per_address_per_hour from one
address to any numbers (texting many numbers costs the business money). Tries are bounded by the same limits: each
code allows a few, and codes come only this often.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from backend.errors import RateLimited, ServiceError
from backend.models import Contact, PortalSession, VerificationCode, Workspace
from backend.notifications.sms import stage_sms
from backend.ratelimit import describe_wait, window_wait
from backend.settings import get_settings

CODE_DIGITS = 6
_CODE_INPUT = re.compile(r"^\d{6}$")
_HOUR = timedelta(hours=1)


def code_hash(contact_id: int, code: str) -> str:
    # Keyed with the app secret: a million possible codes are no secret to anyone holding a plain SHA-256.
    key = get_settings().effective_secret_key.encode("utf-8")
    return hmac.new(key, f"{contact_id}:{code}".encode("utf-8"), hashlib.sha256).hexdigest()


def clean_code_input(code: str) -> str:
    cleaned = re.sub(r"[\s-]", "", code or "")
    if not _CODE_INPUT.match(cleaned):
        raise ServiceError("Enter the 6-digit code we texted you.", field="code")
    return cleaned


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _send_refusal(session: Session, contact: Contact, address: str, now: datetime) -> str:
    settings = get_settings()
    sent = VerificationCode.created_at
    wait = window_wait(session, sent, [VerificationCode.contact_id == contact.id,
                                       VerificationCode.client_address == address],
                       settings.verification_codes_per_hour, _HOUR, now)
    if wait:
        count = settings.verification_codes_per_hour
        return (f"We've already sent {_plural(count, 'code', 'codes')} to this number in the last hour. "
                f"Use the latest one, or ask for a new code in {describe_wait(wait)}.")
    wait = window_wait(session, sent, [VerificationCode.contact_id == contact.id],
                       settings.verification_codes_per_number_per_hour, _HOUR, now)
    if wait:
        return f"This number was sent too many codes in the last hour. Ask for a new code in {describe_wait(wait)}."
    wait = window_wait(session, sent, [VerificationCode.client_address == address],
                       settings.verification_codes_per_address_per_hour, _HOUR, now)
    if wait:
        return f"Too many codes were asked for from your network. Ask for a new code in {describe_wait(wait)}."
    return ""


def issue_code(session: Session, workspace: Workspace, contact: Contact, portal: PortalSession, client_address: str,
               now: datetime) -> int:
    """Create a code for this browser session and its text, in the caller's transaction; returns the outbox row id
    to dispatch after commit. RateLimited past a limit of the module docstring."""
    refusal = _send_refusal(session, contact, client_address, now)
    if refusal:
        raise RateLimited(refusal)

    # Only the session's newest code works, so an older text lying around is worthless.
    session.execute(
        update(VerificationCode)
        .where(VerificationCode.portal_session_id == portal.id, VerificationCode.consumed_at.is_(None))
        .values(consumed_at=now),
        execution_options={"synchronize_session": False},
    )
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    minutes = get_settings().verification_code_minutes
    session.add(VerificationCode(
        workspace_id=workspace.id,
        contact_id=contact.id,
        portal_session_id=portal.id,
        client_address=client_address,
        code_hash=code_hash(contact.id, code),
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    ))
    text = (f"{code} is your {workspace.name} verification code. It expires in "
            f"{_plural(minutes, 'minute', 'minutes')}. Don't share it with anyone.")
    return stage_sms(session, contact.phone, text, workspace.id, subject="Verification code").id


def has_live_code(session: Session, portal: PortalSession, now: datetime) -> bool:
    """Whether this session was texted a code it can still enter."""
    return session.exec(
        select(VerificationCode.id).where(VerificationCode.portal_session_id == portal.id,
                                          VerificationCode.consumed_at.is_(None), VerificationCode.expires_at > now)
        .limit(1)
    ).first() is not None


def check_code(session: Session, contact: Contact, portal: PortalSession, code: str, now: datetime) -> None:
    """Spend a try of this session's current code; returns if it matched, else raises a ServiceError to show.

    The caller must commit even when this raises (a wrong try has to count): it raises only after its writes.
    """
    settings = get_settings()
    row = session.exec(
        select(VerificationCode)
        .where(VerificationCode.portal_session_id == portal.id, VerificationCode.contact_id == contact.id,
               VerificationCode.workspace_id == contact.workspace_id)
        .order_by(VerificationCode.created_at.desc(), VerificationCode.id.desc())
        .limit(1)
    ).first()
    if row is None:
        raise ServiceError("Ask for a code first: we'll text it to you.", field="code")
    if row.consumed_at is not None:
        raise ServiceError("This code can't be used any more. Ask for a new one.", field="code")
    if row.expires_at <= now:
        raise ServiceError("This code has expired. Ask for a new one.", field="code")

    # Count the try in SQL, so two guesses at the same moment cannot share one try.
    counted = session.execute(
        update(VerificationCode)
        .where(VerificationCode.id == row.id, VerificationCode.consumed_at.is_(None),
               VerificationCode.attempts < settings.verification_max_attempts)
        .values(attempts=VerificationCode.attempts + 1),
        execution_options={"synchronize_session": False},
    ).rowcount
    if counted != 1:
        raise ServiceError("Too many wrong tries. Ask for a new code.", field="code")

    if hmac.compare_digest(row.code_hash, code_hash(contact.id, code)):
        session.execute(
            update(VerificationCode).where(VerificationCode.id == row.id).values(consumed_at=now),
            execution_options={"synchronize_session": False},
        )
        return

    attempts = session.exec(select(VerificationCode.attempts).where(VerificationCode.id == row.id)).one()
    remaining = settings.verification_max_attempts - attempts
    if remaining <= 0:
        session.execute(
            update(VerificationCode).where(VerificationCode.id == row.id).values(consumed_at=now),
            execution_options={"synchronize_session": False},
        )
        raise ServiceError("That code is wrong, and it can't be used any more. Ask for a new one.", field="code")
    raise ServiceError(f"That code is wrong. You have {_plural(remaining, 'try', 'tries')} left.", field="code")
