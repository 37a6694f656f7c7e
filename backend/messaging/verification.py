"""One-time codes that prove a portal visitor holds the phone they typed, before they see its history.

Codes are six digits, texted through the outbox, stored only as a keyed hash, expire after
settings.verification_code_minutes, allow settings.verification_max_attempts tries, and at most
settings.verification_codes_per_hour are sent to one contact in an hour. A new code replaces older ones.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import Session, select

from backend.errors import RateLimited, ServiceError
from backend.models import Contact, VerificationCode, Workspace
from backend.models.types import utcnow
from backend.notifications.sms import stage_sms
from backend.settings import get_settings

CODE_DIGITS = 6
_CODE_INPUT = re.compile(r"^\d{6}$")


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


def issue_code(session: Session, workspace: Workspace, contact: Contact) -> int:
    """Create a code and its text in the caller's transaction; returns the outbox row id to dispatch after
    commit. RateLimited when the contact already got settings.verification_codes_per_hour codes this hour."""
    settings = get_settings()
    now = utcnow()
    window_start = now - timedelta(hours=1)
    recent = session.exec(
        select(func.count(VerificationCode.id), func.min(VerificationCode.created_at)).where(
            VerificationCode.workspace_id == workspace.id,
            VerificationCode.contact_id == contact.id,
            VerificationCode.created_at > window_start,
        )
    ).one()
    sent, oldest = int(recent[0]), recent[1]
    if sent >= settings.verification_codes_per_hour:
        wait = max(1, int(((oldest + timedelta(hours=1)) - now).total_seconds() // 60) + 1) if oldest else 60
        raise RateLimited(
            f"We've already sent you {_plural(sent, 'code', 'codes')} in the last hour. "
            f"Use the latest one, or ask for a new code in {_plural(wait, 'minute', 'minutes')}."
        )

    # Only the newest code works, so an older text lying around is worthless.
    session.execute(
        update(VerificationCode)
        .where(VerificationCode.contact_id == contact.id, VerificationCode.consumed_at.is_(None))
        .values(consumed_at=now),
        execution_options={"synchronize_session": False},
    )
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    minutes = settings.verification_code_minutes
    session.add(VerificationCode(
        workspace_id=workspace.id,
        contact_id=contact.id,
        code_hash=code_hash(contact.id, code),
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    ))
    text = (f"{code} is your {workspace.name} verification code. It expires in "
            f"{_plural(minutes, 'minute', 'minutes')}. Don't share it with anyone.")
    return stage_sms(session, contact.phone, text, workspace.id, subject="Verification code").id


def check_code(session: Session, contact: Contact, code: str) -> None:
    """Spend a try of the contact's current code; returns if it matched, else raises a ServiceError to show.

    The caller must commit even when this raises (a wrong try has to count): it raises only after its writes.
    """
    settings = get_settings()
    now = utcnow()
    row = session.exec(
        select(VerificationCode)
        .where(VerificationCode.contact_id == contact.id, VerificationCode.workspace_id == contact.workspace_id)
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
