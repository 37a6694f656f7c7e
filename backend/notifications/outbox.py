"""The outbox. Every outgoing e-mail is written to `outbox_messages` first, then delivered in the background
by the configured mail provider, so a mail server outage delays a message but never loses it; the owner
sees each message's status, attempts and last error in the dashboard.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta
from typing import Any, Callable, Sequence

from sqlmodel import select

from backend.db import session_scope
from backend.models.enums import OutboxChannel, OutboxStatus
from backend.models.notifications import OutboxMessage
from backend.models.types import utcnow
from backend.providers.background import EnqueueError, background_task, enqueue
from backend.providers.events import get_event_bus, workspace_channel
from backend.providers.mail import get_mail_provider
from backend.providers.storage import get_storage
from backend.settings import get_settings

log = logging.getLogger(__name__)

MAX_ADDRESS_LENGTH = 254
MAX_SUBJECT_LENGTH = 300
MAX_ERROR_LENGTH = 1000
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+$")
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$")


def _clean_address(to: str) -> str:
    to = (to or "").strip()
    if not to:
        raise ValueError("recipient address is required")
    if len(to) > MAX_ADDRESS_LENGTH or not _ADDRESS.match(to):
        raise ValueError(f"{to!r} is not a valid e-mail address")
    return to


def _clean_subject(subject: str) -> str:
    subject = subject or ""
    if "\r" in subject or "\n" in subject:
        raise ValueError("subject must be a single line")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise ValueError(f"subject is longer than {MAX_SUBJECT_LENGTH} characters")
    return subject


def _clean_attachments(attachments: Sequence[tuple[str, str, bytes]] | None) -> list[tuple[str, str, bytes]]:
    cleaned = []
    for item in attachments or []:
        try:
            filename, content_type, data = item
        except (TypeError, ValueError):
            raise ValueError("each attachment must be (filename, content_type, bytes)") from None
        if not isinstance(filename, str) or not filename.strip() or any(ord(c) < 32 for c in filename):
            raise ValueError(f"attachment filename {filename!r} is not usable")
        if not isinstance(content_type, str) or not _CONTENT_TYPE.match(content_type):
            raise ValueError(f"attachment content type {content_type!r} is not a MIME type like 'text/plain'")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ValueError(f"attachment {filename!r} must be bytes")
        cleaned.append((filename.strip(), content_type, bytes(data)))
    limit_mb = get_settings().max_upload_mb
    if sum(len(data) for _, _, data in cleaned) > limit_mb * 1024 * 1024:
        raise ValueError(f"attachments are larger than {limit_mb} MB in total")
    return cleaned


def _key_safe(filename: str) -> str:
    # The original name is kept in the row; the key only needs to be safe and recognisable.
    return re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("._")[:100] or "attachment"


def _announce(workspace_id: int | None, outbox_id: int, status: str) -> None:
    if workspace_id is not None:
        get_event_bus().publish(
            workspace_channel(workspace_id), {"type": "outbox.updated", "outbox_id": outbox_id, "status": status}
        )


def queue_email(
    to: str,
    subject: str,
    body: str,
    workspace_id: int | None = None,
    attachments: Sequence[tuple[str, str, bytes]] | None = None,
) -> int:
    """Store an e-mail in the outbox and schedule its delivery. Returns the outbox row id.

    Bad input raises ValueError and stores nothing. Attachment bytes go to file storage; the row keeps keys.
    """
    to = _clean_address(to)
    subject = _clean_subject(subject)
    body = body or ""
    files = _clean_attachments(attachments)

    storage = get_storage()
    folder = f"outbox/{workspace_id if workspace_id is not None else 'system'}/{uuid.uuid4().hex}"
    stored: list[dict] = []
    try:
        for index, (filename, content_type, data) in enumerate(files):
            key = f"{folder}/{index}-{_key_safe(filename)}"
            storage.put(key, data, content_type)
            stored.append(
                {"filename": filename, "content_type": content_type, "storage_key": key, "size_bytes": len(data)}
            )
        with session_scope() as session:
            row = OutboxMessage(
                workspace_id=workspace_id,
                channel=OutboxChannel.EMAIL,
                to_address=to,
                subject=subject,
                body=body,
                attachments=stored,
                status=OutboxStatus.QUEUED,
            )
            session.add(row)
            session.flush()
            outbox_id = row.id
    except BaseException:
        for item in stored:
            try:
                storage.delete(item["storage_key"])
            except Exception:
                log.warning("could not remove orphaned attachment %s", item["storage_key"], exc_info=True)
        raise

    # After commit: a worker must be able to read the row it is told about.
    _announce(workspace_id, outbox_id, OutboxStatus.QUEUED)
    try:
        enqueue("deliver_outbox_message", outbox_id=outbox_id)
    except EnqueueError:
        log.exception("outbox message %s stays queued until requeue_stale_outbox runs", outbox_id)
    return outbox_id


def deliver_outbox_row(outbox_id: int, channel: str, get_provider: Callable[[], Any],
                       send: Callable[[Any, OutboxMessage], None]) -> str:
    """Deliver one outbox row of `channel` with `send(provider, row)`; returns the row's status afterwards.

    Shared by e-mail and texts. Idempotent: a sent row is never sent again, so at-least-once task delivery cannot
    double-send. A failed send is recorded on the row (status, attempts, error) and then raised, so the runner
    retries it.
    """
    failure: Exception | None = None
    provider_name = ""
    with session_scope() as session:
        # The row lock (PostgreSQL) keeps two workers that got the same task from sending twice at once;
        # SQLite has no row locks, but it runs a single in-process runner where duplicates do not arise.
        row = session.exec(
            select(OutboxMessage).where(OutboxMessage.id == outbox_id).with_for_update(skip_locked=True)
        ).first()
        if row is None:
            if session.get(OutboxMessage, outbox_id) is None:
                log.warning("outbox row %s no longer exists; nothing to deliver", outbox_id)
                return "missing"
            return "busy"
        if row.status == OutboxStatus.SENT:
            return str(OutboxStatus.SENT)

        try:
            if row.channel != channel:
                raise ValueError(f"outbox row {outbox_id} is {row.channel!r}, not {channel!r}")
            provider = get_provider()
            provider_name = provider.name
            send(provider, row)
        except Exception as exc:
            failure = exc

        row.attempts += 1
        row.provider = provider_name[:20]
        if failure is None:
            row.status, row.error, row.sent_at = OutboxStatus.SENT, "", utcnow()
        else:
            row.status = OutboxStatus.FAILED
            row.error = (str(failure) or type(failure).__name__)[:MAX_ERROR_LENGTH]
            log.warning("outbox %s %s not delivered (attempt %d): %s", channel, outbox_id, row.attempts, row.error)
        session.add(row)
        status, workspace_id = str(row.status), row.workspace_id

    _announce(workspace_id, outbox_id, status)
    if failure is not None:
        raise failure
    return status


@background_task("deliver_outbox_message")
def deliver_outbox_message(outbox_id: int) -> str:
    """Send one e-mail of the outbox through the mail provider."""

    def send(provider, row: OutboxMessage) -> None:
        storage = get_storage()
        files = [(a["filename"], a["content_type"], storage.get(a["storage_key"])) for a in row.attachments]
        provider.send(row.to_address, row.subject, row.body, files)

    return deliver_outbox_row(outbox_id, OutboxChannel.EMAIL, get_mail_provider, send)


def list_outbox(workspace_id: int | None = None, limit: int = 50) -> list[OutboxMessage]:
    """Newest first. With a workspace, only its messages; without one, every message (operators, CLI)."""
    limit = max(1, min(int(limit), 500))
    query = select(OutboxMessage)
    if workspace_id is not None:
        query = query.where(OutboxMessage.workspace_id == workspace_id)
    query = query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(limit)
    with session_scope() as session:
        return list(session.exec(query).all())


def list_owner_outbox(workspace_id: int, owner_email: str, limit: int = 20) -> list[OutboxMessage]:
    """What the system sent for this workspace, plus account mail (password resets) to its owner."""
    limit = max(1, min(int(limit), 200))
    query = (
        select(OutboxMessage)
        .where(
            (OutboxMessage.workspace_id == workspace_id)
            | ((OutboxMessage.workspace_id.is_(None)) & (OutboxMessage.to_address == owner_email))
        )
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    )
    with session_scope() as session:
        return list(session.exec(query).all())


# Each channel has its own delivery task (texts: backend.notifications.sms), named here so a sweep needs no import.
DELIVERY_TASKS: dict[str, str] = {
    OutboxChannel.EMAIL: "deliver_outbox_message",
    OutboxChannel.SMS: "deliver_outbox_sms",
}


@background_task("requeue_stale_outbox")
def requeue_stale_outbox(older_than_seconds: int = 300, limit: int = 100) -> int:
    """Schedule delivery again for rows still queued after a while (e.g. the broker was down). Returns a count."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    with session_scope() as session:
        rows = session.exec(
            select(OutboxMessage.id, OutboxMessage.channel)
            .where(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.created_at < cutoff)
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
    for outbox_id, channel in rows:
        enqueue(DELIVERY_TASKS.get(channel, "deliver_outbox_message"), outbox_id=outbox_id)
    return len(rows)
