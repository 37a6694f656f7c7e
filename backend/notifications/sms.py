"""Text messages through the outbox: written to `outbox_messages` (channel "sms") first, delivered in the background
by the configured SMS provider. With no provider configured the row is the delivery and the owner reads it in
the dashboard, exactly as for e-mail.
"""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from backend.db import session_scope
from backend.models.enums import OutboxChannel, OutboxStatus
from backend.models.notifications import OutboxMessage
from backend.models.types import utcnow
from backend.notifications.outbox import MAX_ERROR_LENGTH, MAX_SUBJECT_LENGTH
from backend.notifications.outbox import _announce as announce_outbox_status
from backend.providers.background import EnqueueError, background_task, enqueue
from backend.providers.sms import SmsError, check_sms, get_sms_provider

log = logging.getLogger(__name__)

DEFAULT_SUBJECT = "Text message"  # the outbox list shows a subject for every row; texts have none of their own


def _clean(to: str, body: str, subject: str) -> tuple[str, str, str]:
    to = (to or "").strip()
    try:
        check_sms(to, body or "")
    except SmsError as exc:
        raise ValueError(str(exc)) from None
    subject = (subject or DEFAULT_SUBJECT).strip()
    if "\r" in subject or "\n" in subject or len(subject) > MAX_SUBJECT_LENGTH:
        raise ValueError(f"the outbox label must be one line of at most {MAX_SUBJECT_LENGTH} characters")
    return to, body, subject


def stage_sms(
    session: Session, to: str, body: str, workspace_id: int | None = None, subject: str = DEFAULT_SUBJECT
) -> OutboxMessage:
    """Add a queued text to the caller's transaction, so it is stored together with whatever it belongs to
    (e.g. a verification code). Call `dispatch_sms(row.id, workspace_id)` after the commit."""
    to, body, subject = _clean(to, body, subject)
    row = OutboxMessage(
        workspace_id=workspace_id,
        channel=OutboxChannel.SMS,
        to_address=to,
        subject=subject,
        body=body,
        status=OutboxStatus.QUEUED,
    )
    session.add(row)
    session.flush()
    return row


def dispatch_sms(outbox_id: int, workspace_id: int | None = None) -> None:
    """Schedule delivery of a committed row. A broker outage leaves it queued for requeue_stale_outbox."""
    announce_outbox_status(workspace_id, outbox_id, OutboxStatus.QUEUED)
    try:
        enqueue("deliver_outbox_sms", outbox_id=outbox_id)
    except EnqueueError:
        log.exception("outbox text %s stays queued until requeue_stale_outbox runs", outbox_id)


def queue_sms(to: str, body: str, workspace_id: int | None = None, subject: str = DEFAULT_SUBJECT) -> int:
    """Store a text in the outbox and schedule its delivery. Returns the outbox row id.

    `to` must already be E.164 (see backend.messaging.phones.normalize_phone). Bad input raises ValueError and
    stores nothing.
    """
    with session_scope() as session:
        outbox_id = stage_sms(session, to, body, workspace_id, subject).id
    dispatch_sms(outbox_id, workspace_id)
    return outbox_id


@background_task("deliver_outbox_sms")
def deliver_outbox_sms(outbox_id: int) -> str:
    """Send one queued text through the SMS provider; returns the row's status afterwards.

    Idempotent like deliver_outbox_message: a sent row is never sent again. A failure is recorded on the row
    and raised, so the runner retries it.
    """
    failure: Exception | None = None
    provider_name = ""
    with session_scope() as session:
        row = session.exec(
            select(OutboxMessage).where(OutboxMessage.id == outbox_id).with_for_update(skip_locked=True)
        ).first()
        if row is None:
            if session.get(OutboxMessage, outbox_id) is None:
                log.warning("outbox text %s no longer exists; nothing to deliver", outbox_id)
                return "missing"
            return "busy"
        if row.status == OutboxStatus.SENT:
            return str(OutboxStatus.SENT)

        try:
            if row.channel != OutboxChannel.SMS:
                raise ValueError(f"outbox row {outbox_id} is {row.channel!r}, not a text message")
            provider = get_sms_provider()
            provider_name = provider.name
            provider.send(row.to_address, row.body)
        except Exception as exc:
            failure = exc

        row.attempts += 1
        row.provider = provider_name[:20]
        if failure is None:
            row.status, row.error, row.sent_at = OutboxStatus.SENT, "", utcnow()
        else:
            row.status = OutboxStatus.FAILED
            row.error = (str(failure) or type(failure).__name__)[:MAX_ERROR_LENGTH]
            log.warning("outbox text %s not delivered (attempt %d): %s", outbox_id, row.attempts, row.error)
        session.add(row)
        status, workspace_id = str(row.status), row.workspace_id

    announce_outbox_status(workspace_id, outbox_id, status)
    if failure is not None:
        raise failure
    return status
