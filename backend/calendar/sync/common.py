"""What every calendar gets for an appointment: one stable UID, a summary, times, status.

The appointments table is read directly (not through the booking service), so sync works on whatever the
booking core writes. The same UID goes to the ICS feed, CalDAV and (as a derived id) Google, so a calendar that
sees the appointment twice, e.g. in the feed and by mail, shows it once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from backend.models import Appointment, Contact, Service
from backend.models.enums import AppointmentStatus

UID_DOMAIN = "frontdesk.appointments"
# Appointments in these states are not (or no longer) on the calendar.
OFF_CALENDAR = {AppointmentStatus.CANCELLED.value}


def appointment_uid(appointment_id: int) -> str:
    return f"appointment-{appointment_id}@{UID_DOMAIN}"


def is_own_uid(uid: str) -> bool:
    return uid.startswith("appointment-") and uid.endswith("@" + UID_DOMAIN)


def google_event_id(connection_id: int, appointment_id: int) -> str:
    """A client-chosen Google event id (base32hex alphabet: 0-9 a-v), stable per connection and appointment,
    so a retried insert is answered with 409 instead of creating a duplicate."""
    return "fd" + hashlib.sha256(f"{connection_id}:{appointment_id}".encode()).hexdigest()[:30]


@dataclass(frozen=True)
class AppointmentEvent:
    appointment_id: int
    workspace_id: int
    uid: str
    summary: str
    description: str
    starts_at: datetime
    ends_at: datetime
    status: str  # CONFIRMED | TENTATIVE | CANCELLED (iCalendar)
    sequence: int
    on_calendar: bool

    def ics_fields(self) -> dict[str, Any]:
        return {"uid": self.uid, "summary": self.summary, "description": self.description,
                "starts_at": self.starts_at, "ends_at": self.ends_at, "status": self.status,
                "sequence": self.sequence}


def _contact_name(contact: Contact | None) -> str:
    if contact is None:
        return ""
    name = " ".join(part for part in (contact.first_name, contact.last_name) if part).strip()
    return name or contact.phone


def appointment_event(session: Session, appointment: Appointment) -> AppointmentEvent:
    service = session.get(Service, appointment.service_id) if appointment.service_id else None
    contact = session.get(Contact, appointment.contact_id) if appointment.contact_id else None
    who = _contact_name(contact)
    what = appointment.title or (service.name if service else "") or "Appointment"
    summary = f"{what} – {who}" if who and who not in what else what
    lines = []
    if service:
        lines.append(f"Service: {service.name}")
    if contact:
        lines.append(f"Customer: {who}" + (f" ({contact.phone})" if contact.phone and contact.phone != who else ""))
    if appointment.notes:
        lines.append(appointment.notes)
    status = {"pending": "TENTATIVE", "cancelled": "CANCELLED"}.get(appointment.status, "CONFIRMED")
    changed = appointment.updated_at or appointment.created_at
    sequence = max(0, int((changed - appointment.created_at).total_seconds())) if changed else 0
    return AppointmentEvent(
        appointment_id=appointment.id, workspace_id=appointment.workspace_id, uid=appointment_uid(appointment.id),
        summary=summary, description="\n".join(lines), starts_at=appointment.starts_at,
        ends_at=appointment.ends_at, status=status, sequence=sequence,
        on_calendar=appointment.status not in OFF_CALENDAR,
    )


def error_text(exc: BaseException, limit: int = 1000) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:limit]
