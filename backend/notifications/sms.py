"""Text messages through the outbox: written to `outbox_messages` (channel "sms") first, delivered in the background
by the configured SMS provider. With no provider configured the row is the delivery and the owner reads it in
the dashboard, exactly as for e-mail.
"""

from __future__ import annotations

import logging

from sqlmodel import Session

from backend.db import session_scope
from backend.models.enums import OutboxChannel, OutboxStatus
from backend.models.notifications import OutboxMessage
from backend.notifications.outbox import MAX_SUBJECT_LENGTH, deliver_outbox_row
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
    """Send one queued text of the outbox through the SMS provider."""

    def send(provider, row: OutboxMessage) -> None:
        provider.send(row.to_address, row.body)

    return deliver_outbox_row(outbox_id, OutboxChannel.SMS, get_sms_provider, send)
