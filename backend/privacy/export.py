"""Everything the business holds about one person, as a zip an owner can hand over (a subject access request):

    contact.json   the contact, each conversation with every message (transcripts of voice messages included),
                   drafts and what the assistant tracked, appointments, portal sign-ins, and the texts and e-mails
                   the system sent them
    files/         every file they sent or were sent, as stored
    README.txt     what the rest is

The archive is written to a temporary file (memory up to a few MB, then disk) and streamed from there, so a long
history with many files never sits in memory. Files are read from storage one at a time, outside the database
transaction. Each export is written to the workspace's activity log.

The dashboard downloads it through a short-lived signed link (`contact_export_link`, served by the HTTP route in
backend.api.app), the REST API at GET /api/v1/contacts/{id}/export.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import tempfile
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Iterator
from urllib.parse import urlencode

from sqlalchemy import or_
from sqlmodel import Session

from backend.core.membership import require_member
from backend.db import session_scope, tenant_get, tenant_select
from backend.errors import NotFound
from backend.models import (
    Appointment,
    AuditEvent,
    Contact,
    Conversation,
    ConversationContext,
    Draft,
    Message,
    OutboxMessage,
    PortalSession,
    Service,
    StoredFile,
    Workspace,
)
from backend.models.types import utcnow
from backend.providers.storage import get_storage
from backend.settings import get_settings

log = logging.getLogger(__name__)

CONTACT_GONE = "This contact no longer exists."
LINK_SECONDS = 300
LINK_EXPIRED = "This download link has expired. Press Download data again."
SPOOL_BYTES = 8 * 1024 * 1024
CHUNK_BYTES = 256 * 1024
# Kinds that are compressed already: stored as they are, deflating them again only costs time.
_STORED_TYPES = ("image/", "audio/", "video/", "application/pdf", "application/zip",
                 "application/vnd.openxmlformats")

README = """\
Data held by {business} about {name}, exported on {day}.

contact.json  The contact's details and notes; every conversation with each message (the text, or the
              transcript of a voice message, and the file it carried), drafts of replies, what the assistant
              noted, appointments, portal sign-ins (no secrets), and texts and e-mails sent to them.
files/        The files themselves. Each message in contact.json names its file by this path.

Times are in UTC (ISO 8601).
"""


@dataclass
class ContactExport:
    """A finished archive: `stream()` yields its bytes once and then removes the temporary file."""

    filename: str
    size: int
    file: IO[bytes]

    def stream(self) -> Iterator[bytes]:
        try:
            self.file.seek(0)
            while True:
                chunk = self.file.read(CHUNK_BYTES)
                if not chunk:
                    break
                yield chunk
        finally:
            self.file.close()

    def read(self) -> bytes:
        return b"".join(self.stream())


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")[:40]


def _file_path(stored: StoredFile) -> str:
    name = re.sub(r"[^\w.\- ]+", "_", stored.filename or "file").strip(" .") or "file"
    return f"files/{stored.id}-{name[:120]}"


def _gather(session: Session, workspace_id: int, contact: Contact) -> tuple[dict[str, Any], list[StoredFile]]:
    """The contact's data as JSON-ready values, and the stored files it names."""
    conversations = session.exec(
        tenant_select(Conversation, workspace_id).where(Conversation.contact_id == contact.id)
        .order_by(Conversation.created_at, Conversation.id)
    ).all()
    ids = [c.id for c in conversations]
    messages = session.exec(
        tenant_select(Message, workspace_id).where(Message.conversation_id.in_(ids))
        .order_by(Message.created_at, Message.id)
    ).all() if ids else []
    file_ids = {m.file_id for m in messages if m.file_id is not None}
    files = {f.id: f for f in session.exec(
        tenant_select(StoredFile, workspace_id).where(StoredFile.id.in_(file_ids))).all()} if file_ids else {}
    drafts = session.exec(
        tenant_select(Draft, workspace_id).where(Draft.conversation_id.in_(ids)).order_by(Draft.id)
    ).all() if ids else []
    contexts = {c.conversation_id: c for c in session.exec(
        tenant_select(ConversationContext, workspace_id).where(ConversationContext.conversation_id.in_(ids))
    ).all()} if ids else {}

    def message(m: Message) -> dict[str, Any]:
        stored = files.get(m.file_id) if m.file_id is not None else None
        return {
            "id": m.id, "at": _iso(m.created_at), "from": m.sender, "type": m.type, "text": m.content,
            "transcript": m.transcript, "transcript_language": m.transcript_language,
            "written_by_assistant": m.ai_generated, "status": m.status, "delivered_at": _iso(m.delivered_at),
            "read_at": _iso(m.read_at),
            "file": None if stored is None else {"name": stored.filename, "type": stored.content_type,
                                                 "size_bytes": stored.size_bytes, "path": _file_path(stored)},
        }

    def conversation(c: Conversation) -> dict[str, Any]:
        tracked = contexts.get(c.id)
        return {
            "id": c.id, "title": c.title, "status": c.status, "channel": c.channel, "started_at": _iso(c.created_at),
            "last_message_at": _iso(c.last_message_at), "resolved_at": _iso(c.resolved_at),
            "started_without_phone_check": c.opened_unverified,
            "messages": [message(m) for m in messages if m.conversation_id == c.id],
            "drafts": [{"at": _iso(d.created_at), "status": d.status, "text": d.content,
                        "edited_text": d.edited_content, "reviewed_at": _iso(d.reviewed_at)}
                       for d in drafts if d.conversation_id == c.id],
            "tracked_details": {key: (value.get("value") if isinstance(value, dict) else value)
                                for key, value in (tracked.values if tracked else {}).items()},
            "tracked_status": tracked.status if tracked else "",
        }

    services = {s.id: s.name for s in session.exec(tenant_select(Service, workspace_id)).all()}
    appointments = session.exec(
        tenant_select(Appointment, workspace_id).where(Appointment.contact_id == contact.id)
        .order_by(Appointment.starts_at)
    ).all()
    sessions = session.exec(
        tenant_select(PortalSession, workspace_id).where(PortalSession.contact_id == contact.id)
        .order_by(PortalSession.created_at)
    ).all()
    addresses = [a for a in (contact.phone, contact.email) if a]
    sent = session.exec(
        tenant_select(OutboxMessage, workspace_id).where(or_(*[OutboxMessage.to_address == a for a in addresses]))
        .order_by(OutboxMessage.created_at)
    ).all() if addresses else []

    data = {
        "exported_at": _iso(utcnow()),
        "contact": {
            "id": contact.id, "phone": contact.phone, "first_name": contact.first_name,
            "last_name": contact.last_name, "email": contact.email, "notes": contact.notes,
            "timezone": contact.timezone, "created_at": _iso(contact.created_at),
            "updated_at": _iso(contact.updated_at), "last_seen_at": _iso(contact.last_seen_at),
        },
        "conversations": [conversation(c) for c in conversations],
        "appointments": [
            {"id": a.id, "service": services.get(a.service_id, ""), "starts_at": _iso(a.starts_at),
             "ends_at": _iso(a.ends_at), "status": a.status, "booked_through": a.source, "title": a.title,
             "notes": a.notes, "cancelled_by": a.cancelled_by, "cancel_reason": a.cancel_reason,
             "created_at": _iso(a.created_at)}
            for a in appointments
        ],
        "portal_sessions": [
            {"started_at": _iso(s.created_at), "phone_confirmed": s.verified,
             "last_activity_at": _iso(s.last_activity_at), "expires_at": _iso(s.expires_at),
             "ended_at": _iso(s.revoked_at)}
            for s in sessions
        ],
        "messages_sent_to_them": [
            {"at": _iso(o.created_at), "channel": o.channel, "to": o.to_address, "subject": o.subject,
             "text": o.body, "status": o.status}
            for o in sent
        ],
    }
    return data, [files[i] for i in sorted(files)]


def export_contact(workspace_id: int, contact_id: int, *, user_id: int | None = None, actor: str = "",
                   client_address: str = "") -> ContactExport:
    """The zip of one contact's data (see the module docstring). NotFound for a contact of another workspace."""
    with session_scope() as session:
        if user_id is not None:
            require_member(session, workspace_id, user_id)
        contact = tenant_get(session, Contact, workspace_id, int(contact_id))
        if contact is None:
            raise NotFound(CONTACT_GONE)
        business = session.get(Workspace, workspace_id).name
        data, files = _gather(session, workspace_id, contact)
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p) or contact.phone

    storage = get_storage()
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    missing = 0
    try:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for stored in files:
                try:
                    content = storage.get(stored.storage_key)
                except (FileNotFoundError, ValueError):
                    missing += 1
                    log.warning("file %s of an exported contact is missing from storage", stored.id)
                    continue
                kind = zipfile.ZIP_STORED if stored.content_type.startswith(_STORED_TYPES) else zipfile.ZIP_DEFLATED
                archive.writestr(_file_path(stored), content, compress_type=kind)
                del content
            data["files_missing_from_storage"] = missing
            archive.writestr("contact.json", json.dumps(data, ensure_ascii=False, indent=2))
            archive.writestr("README.txt", README.format(business=business, name=name,
                                                         day=data["exported_at"][:10]))
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise

    with session_scope() as session:
        session.add(AuditEvent(
            workspace_id=workspace_id, user_id=user_id, actor=actor[:120], action="contact.exported",
            client_address=client_address,
            detail=(f"contact {contact_id}: {len(data['conversations'])} conversation(s), "
                    f"{sum(len(c['messages']) for c in data['conversations'])} message(s), "
                    f"{len(files) - missing} file(s)"),
        ))
    filename = f"contact-{contact_id}-{_slug(name) or 'data'}-{data['exported_at'][:10]}.zip"
    return ContactExport(filename=filename, size=size, file=spool)


# --- the dashboard's download link -------------------------------------------------------------------------------

EXPORT_ROUTE = "/privacy/contact-export"


def _signature(workspace_id: int, contact_id: int, user_id: int, expires: int) -> str:
    payload = f"contact-export\n{workspace_id}\n{contact_id}\n{user_id}\n{expires}".encode()
    return hmac.new(get_settings().effective_secret_key.encode(), payload, hashlib.sha256).hexdigest()


def contact_export_link(workspace_id: int, contact_id: int, user_id: int, now: float | None = None) -> str:
    """A path (same origin as the dashboard) that downloads the export for LINK_SECONDS. Checks the contact exists
    now, so a bad id is told at once rather than as a failed download."""
    with session_scope() as session:
        require_member(session, workspace_id, user_id)
        if tenant_get(session, Contact, workspace_id, int(contact_id)) is None:
            raise NotFound(CONTACT_GONE)
    expires = int(now if now is not None else time.time()) + LINK_SECONDS
    query = {"ws": workspace_id, "contact": int(contact_id), "user": user_id, "exp": expires,
             "sig": _signature(workspace_id, int(contact_id), user_id, expires)}
    return f"{EXPORT_ROUTE}?{urlencode(query)}"


def export_from_link(ws: str, contact: str, user: str, exp: str, sig: str, client_address: str = "",
                     now: float | None = None) -> ContactExport:
    """The export a signed link stands for; NotFound (saying why) for a forged, altered or expired one."""
    try:
        workspace_id, contact_id, user_id, expires = int(ws), int(contact), int(user), int(exp)
    except (TypeError, ValueError):
        raise NotFound(LINK_EXPIRED) from None
    expected = _signature(workspace_id, contact_id, user_id, expires)
    if not hmac.compare_digest(expected, str(sig or "").lower()):
        raise NotFound(LINK_EXPIRED)
    if expires < int(now if now is not None else time.time()):
        raise NotFound(LINK_EXPIRED)
    # The member is checked again: someone removed from the workspace since cannot use a link made before.
    return export_contact(workspace_id, contact_id, user_id=user_id, client_address=client_address)


__all__ = ["EXPORT_ROUTE", "LINK_SECONDS", "ContactExport", "contact_export_link", "export_contact",
           "export_from_link"]
