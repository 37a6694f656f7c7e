"""Builders for the calendar-sync tests: appointments written straight to the table (the booking service is
not needed to test sync), and small readers of what sync stored."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta, timezone

from sqlmodel import select

from backend.db import session_scope
from backend.models import Appointment, BusyPeriod, CalendarConnection, CalendarEventLink, Contact, Service
from backend.models.types import utcnow


def at(days: int, hour: int, minute: int = 0) -> datetime:
    """A UTC time `days` from today at hour:minute, whole minutes (what calendars store)."""
    base = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    return base + timedelta(days=days, hours=hour, minutes=minute)


def add_appointment(workspace_id: int, starts_at: datetime, minutes: int = 60, *, status: str = "confirmed",
                    title: str = "", customer: str = "Jordan Lee", service: str = "Haircut", notes: str = "") -> int:
    with session_scope() as s:
        svc = s.exec(select(Service).where(Service.workspace_id == workspace_id)
                     .where(Service.name == service)).first()
        if svc is None:
            svc = Service(workspace_id=workspace_id, name=service, duration_minutes=minutes)
            s.add(svc)
            s.flush()
        first, _, last = customer.partition(" ")
        phone = "+1212555" + str(1000 + zlib.crc32(customer.encode()) % 9000)
        contact = s.exec(select(Contact).where(Contact.workspace_id == workspace_id)
                         .where(Contact.phone == phone)).first()
        if contact is None:
            contact = Contact(workspace_id=workspace_id, phone=phone, first_name=first, last_name=last)
            s.add(contact)
            s.flush()
        row = Appointment(workspace_id=workspace_id, service_id=svc.id, contact_id=contact.id, starts_at=starts_at,
                          ends_at=starts_at + timedelta(minutes=minutes), status=status, title=title, notes=notes)
        s.add(row)
        s.flush()
        return row.id


def update_appointment(appointment_id: int, **values) -> None:
    with session_scope() as s:
        row = s.get(Appointment, appointment_id)
        for key, value in values.items():
            setattr(row, key, value)
        if "starts_at" in values:
            row.block_starts_at = row.starts_at
        if "ends_at" in values:
            row.block_ends_at = row.ends_at
        row.updated_at = utcnow()
        s.add(row)


def busy_periods(connection_id: int) -> list[tuple[datetime, datetime]]:
    with session_scope() as s:
        rows = s.exec(select(BusyPeriod).where(BusyPeriod.connection_id == connection_id)
                      .order_by(BusyPeriod.starts_at)).all()
        return [(r.starts_at, r.ends_at) for r in rows]


def connection(connection_id: int) -> CalendarConnection | None:
    with session_scope() as s:
        return s.get(CalendarConnection, connection_id)


def links(connection_id: int) -> list[CalendarEventLink]:
    with session_scope() as s:
        return list(s.exec(select(CalendarEventLink).where(CalendarEventLink.connection_id == connection_id)
                           .order_by(CalendarEventLink.id)).all())


UTC = timezone.utc
