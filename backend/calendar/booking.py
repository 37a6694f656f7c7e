"""Appointments: book, move, cancel, confirm, block time, and list them. Each action owns its transaction.

Race safety lives in the database:
- PostgreSQL: the exclusion constraint `ex_appointments_no_overlap` (migration 0005) refuses a second live
  appointment whose blocked range (buffers included) overlaps another in the workspace; two bookings racing for
  one time both pass the check here, the second insert waits for the first to commit, then fails, and is
  answered "That time was just taken". When the workspace caps bookings per day, the booking also takes a
  `FOR NO KEY UPDATE` lock on the workspace row, so two bookings of one workspace cannot both take the last place
  of a day (that lock does not block writes that only reference the workspace).
- SQLite: the transaction starts with `BEGIN IMMEDIATE`, the database's write lock, before the checks, so every
  check-and-insert runs one at a time (other writers wait on the busy timeout).

Who may do what: customers (source "chat" / "api", by="customer") get every rule of backend.calendar.slots; the
owner (source "owner", by="owner") may book outside the offered times (opening hours, notice, advance, daily
cap), never in the past and never over another appointment. Owner bookings are confirmed at once; others are
pending when the workspace requires confirmation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from backend.calendar import reminders
from backend.calendar.slots import (
    BLOCK_SOURCE,
    LIVE_STATUSES,
    ServiceSpec,
    check_start,
    get_zone,
    label_of,
    load_bookable_service,
    load_calendar,
    load_workspace,
)
from backend.core.live_events import PendingEvents
from backend.db import session_scope, tenant_get, tenant_select
from backend.errors import NotFound, ServiceError
from backend.messaging.contacts import contact_for_phone
from backend.messaging.views import contact_display_name
from backend.models import Appointment, BusyPeriod, CalendarConnection, Contact, Conversation, Service, Workspace
from backend.models.enums import AppointmentStatus
from backend.models.types import utcnow

log = logging.getLogger(__name__)

UTC = timezone.utc
SOURCES = ("chat", "owner", "api")
ACTORS = ("customer", "owner")
TAKEN_MESSAGE = "That time was just taken. Please pick another time."
EXCLUSION_CONSTRAINT = "ex_appointments_no_overlap"
MAX_BLOCK_DAYS = 62

S = AppointmentStatus
TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.PENDING: (S.CONFIRMED, S.CANCELLED),
    S.CONFIRMED: (S.COMPLETED, S.NO_SHOW, S.CANCELLED),
    S.CANCELLED: (),
    S.COMPLETED: (S.NO_SHOW,),  # a slip of the finger can be corrected
    S.NO_SHOW: (S.COMPLETED,),
}


@dataclass(frozen=True)
class AppointmentView:
    id: int
    service_id: int | None
    service_name: str
    contact_id: int | None
    contact_name: str
    conversation_id: int | None
    starts_at: datetime
    ends_at: datetime
    block_starts_at: datetime
    block_ends_at: datetime
    local_start: str
    label: str
    status: str
    source: str
    title: str
    notes: str
    cancelled_by: str
    cancel_reason: str
    reminder_sent_at: datetime | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = value.isoformat()
        return out


def _view(session: Session, appt: Appointment, workspace: Workspace | None = None, *,
          services: dict[int, Service] | None = None, contacts: dict[int, Contact] | None = None) -> AppointmentView:
    workspace = workspace or session.get(Workspace, appt.workspace_id)
    tz = get_zone(workspace.timezone)
    service = (services.get(appt.service_id) if services is not None
               else session.get(Service, appt.service_id) if appt.service_id else None)
    contact = (contacts.get(appt.contact_id) if contacts is not None
               else session.get(Contact, appt.contact_id) if appt.contact_id else None)
    local = appt.starts_at.astimezone(tz)
    return AppointmentView(
        id=appt.id, service_id=appt.service_id, service_name=service.name if service else "",
        contact_id=appt.contact_id, contact_name=contact_display_name(contact) if contact is not None else "",
        conversation_id=appt.conversation_id,
        starts_at=appt.starts_at, ends_at=appt.ends_at, block_starts_at=appt.block_starts_at,
        block_ends_at=appt.block_ends_at, local_start=local.isoformat(), label=label_of(local),
        status=str(appt.status), source=appt.source, title=appt.title, notes=appt.notes,
        cancelled_by=appt.cancelled_by, cancel_reason=appt.cancel_reason, reminder_sent_at=appt.reminder_sent_at,
        created_at=appt.created_at,
    )


# --- helpers -------------------------------------------------------------------------------------------------


# Times this close to the ends of Python's calendar (years 1 and 9999) are refused: a day of margin on either side
# and an appointment's length would leave the calendar, and no one books there.
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)
_MARGIN = timedelta(days=30)


def _moment(value: Any, field: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ServiceError(f"{value!r} is not a date and time.", field=field) from None
    if not isinstance(value, datetime):
        raise ServiceError("Give a date and time.", field=field)
    if value.tzinfo is None:
        raise ServiceError("The time must carry a time zone.", field=field)
    try:
        moment = value.astimezone(UTC)
    except OverflowError:  # "0001-01-01T00:00+14:00" is in year 0 in UTC
        moment = None
    if moment is None or not _EARLIEST + _MARGIN <= moment <= _LATEST - _MARGIN:
        raise ServiceError("That date is out of range.", field=field)
    return moment


def _now(now: datetime | None) -> datetime:
    return utcnow() if now is None else _moment(now, "now")


def _lock_for_booking(session: Session, workspace_id: int) -> Workspace:
    """Serialise check-and-write: the whole database on SQLite; the workspace row on PostgreSQL when a daily
    cap needs it (the exclusion constraint guards overlaps without any lock)."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        return load_workspace(session, workspace_id)
    workspace = load_workspace(session, workspace_id)
    if workspace.max_bookings_per_day is not None:
        workspace = session.exec(
            select(Workspace).where(Workspace.id == workspace_id)
            .with_for_update(key_share=True).execution_options(populate_existing=True)
        ).one()
    return workspace


def _is_overlap(exc: IntegrityError) -> bool:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == "23P01" or EXCLUSION_CONSTRAINT in str(orig)


# PostgreSQL may find two bookings' exclusion checks waiting on each other and abort one (deadlock_detected,
# 40P01): the other holds an overlapping time, so for the loser it is the same answer as a violated constraint.
CONTENDED_SQLSTATES = {"40P01", "40001"}


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        if _is_overlap(exc):
            raise ServiceError(TAKEN_MESSAGE, field="starts_at") from None
        raise
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) in CONTENDED_SQLSTATES:
            raise ServiceError(TAKEN_MESSAGE, field="starts_at") from None
        raise


def _load(session: Session, workspace_id: int, appointment_id: int) -> Appointment:
    appt = tenant_get(session, Appointment, workspace_id, appointment_id)
    if appt is None:
        raise NotFound("That appointment does not exist.", field="appointment_id")
    return appt


def _text(value: str, field: str, limit: int) -> str:
    value = str(value or "").strip()
    if len(value) > limit:
        raise ServiceError(f"That is longer than {limit} characters.", field=field)
    return value


def _covered_by_notice(workspace: Workspace, starts_at: datetime, now: datetime) -> datetime | None:
    """A booking made inside the reminder lead time gets no separate reminder: its confirmation is one."""
    return now if starts_at - timedelta(minutes=workspace.reminder_lead_minutes) <= now else None


def _after_commit(events: PendingEvents, notice: reminders.Notice | None, appointment_id: int) -> None:
    """Hints to open pages, the customer's e-mail/text, and the connected calendars: only once committed."""
    events.publish()
    reminders.dispatch_notice(notice)
    try:
        from backend.calendar.sync.runner import schedule_push
    except ImportError:  # pragma: no cover - calendar sync not installed
        return
    schedule_push(appointment_id)  # never raises; the next sync repairs a missed push


# --- actions -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewContact:
    """A walk-in or a caller the owner books: found by phone, or added, in the booking's own transaction."""

    phone: str
    first_name: str = ""
    last_name: str = ""


def book_appointment(workspace_id: int, *, service_id: int, starts_at: datetime, contact_id: int | None = None,
                     conversation_id: int | None = None, source: str = "chat", notes: str = "", title: str = "",
                     new_contact: NewContact | None = None, now: datetime | None = None) -> AppointmentView:
    """Book a service at `starts_at` (aware). Refusals are ServiceErrors that say why, on field "starts_at".
    With `new_contact`, the contact is found or added in the same transaction: a refused booking adds no one."""
    if source not in SOURCES:
        raise ServiceError(f"Unknown booking source {source!r}.", field="source")
    starts_at, now = _moment(starts_at, "starts_at"), _now(now)
    notes, title = _text(notes, "notes", 5000), _text(title, "title", 200)
    events = PendingEvents()
    with session_scope() as session:
        workspace = _lock_for_booking(session, workspace_id)
        service = load_bookable_service(session, workspace_id, service_id)
        contact = conversation = None
        if conversation_id is not None:
            conversation = tenant_get(session, Conversation, workspace_id, conversation_id)
            if conversation is None:
                raise NotFound("That conversation does not exist.", field="conversation_id")
            if contact_id is None:
                contact_id = conversation.contact_id
        if new_contact is not None:
            contact = contact_for_phone(session, workspace, new_contact.phone, new_contact.first_name,
                                        new_contact.last_name, events)
            contact_id = contact.id
        elif contact_id is not None:
            contact = tenant_get(session, Contact, workspace_id, contact_id)
            if contact is None:
                raise NotFound("That contact does not exist.", field="contact_id")
        spec = ServiceSpec.of(service)
        day = starts_at.astimezone(get_zone(workspace.timezone)).date()
        cal = load_calendar(session, workspace, day, day)
        reason = check_start(cal, spec, starts_at, now, enforce_policy=source != "owner")
        if reason:
            raise ServiceError(reason, field="starts_at")
        ends_at = starts_at + timedelta(minutes=spec.duration_minutes)
        pending = workspace.require_confirmation and source != "owner"
        appt = Appointment(
            workspace_id=workspace_id, service_id=service.id, contact_id=contact_id, conversation_id=conversation_id,
            starts_at=starts_at, ends_at=ends_at,
            block_starts_at=starts_at - timedelta(minutes=spec.buffer_before_minutes),
            block_ends_at=ends_at + timedelta(minutes=spec.buffer_after_minutes),
            status=S.PENDING if pending else S.CONFIRMED, source=source, title=title or service.name, notes=notes,
            reminder_sent_at=_covered_by_notice(workspace, starts_at, now), updated_at=now,
        )
        session.add(appt)
        _flush(session)
        events.appointment_updated(workspace_id, appt.id)
        notice = reminders.stage_notice(session, appt, "requested" if pending else "booked", events,
                                        workspace=workspace, service=service, contact=contact)
        view = _view(session, appt, workspace)
    _after_commit(events, notice, view.id)
    return view


def reschedule_appointment(workspace_id: int, appointment_id: int, new_starts_at: datetime, by: str = "customer",
                           now: datetime | None = None) -> AppointmentView:
    """Move a pending or confirmed appointment; the same rules as booking, its own old time not counting."""
    if by not in ACTORS:
        raise ServiceError(f"Unknown actor {by!r}.", field="by")
    new_starts_at, now = _moment(new_starts_at, "starts_at"), _now(now)
    events = PendingEvents()
    with session_scope() as session:
        workspace = _lock_for_booking(session, workspace_id)
        appt = _load(session, workspace_id, appointment_id)
        if appt.source == BLOCK_SOURCE:
            raise ServiceError("A time block cannot be moved: remove it and block the new time.", field="starts_at")
        if appt.status not in LIVE_STATUSES:
            raise ServiceError(f"This appointment is {appt.status}; only upcoming ones can be moved.",
                               field="status")
        if by == "customer" and appt.starts_at <= now:
            raise ServiceError("This appointment has already started.", field="starts_at")
        service = session.get(Service, appt.service_id) if appt.service_id else None
        if service is None:
            raise ServiceError("This appointment's service no longer exists; book a new one.", field="service_id")
        spec = ServiceSpec.of(service)
        day = new_starts_at.astimezone(get_zone(workspace.timezone)).date()
        cal = load_calendar(session, workspace, day, day, exclude_appointment_id=appt.id)
        reason = check_start(cal, spec, new_starts_at, now, enforce_policy=by != "owner")
        if reason:
            raise ServiceError(reason, field="starts_at")
        appt.starts_at = new_starts_at
        appt.ends_at = new_starts_at + timedelta(minutes=spec.duration_minutes)
        appt.block_starts_at = new_starts_at - timedelta(minutes=spec.buffer_before_minutes)
        appt.block_ends_at = appt.ends_at + timedelta(minutes=spec.buffer_after_minutes)
        appt.reminder_sent_at = _covered_by_notice(workspace, new_starts_at, now)
        if by == "customer" and workspace.require_confirmation:
            appt.status = S.PENDING
        appt.updated_at = now
        session.add(appt)
        _flush(session)
        events.appointment_updated(workspace_id, appt.id)
        contact = session.get(Contact, appt.contact_id) if appt.contact_id else None
        notice = reminders.stage_notice(session, appt, "rescheduled", events, workspace=workspace, service=service,
                                        contact=contact)
        view = _view(session, appt, workspace)
    _after_commit(events, notice, view.id)
    return view


def cancel_appointment(workspace_id: int, appointment_id: int, by: str, reason: str = "",
                       now: datetime | None = None) -> AppointmentView:
    """Cancel (or, for a time block, remove) it; its time can be booked again at once. Cancelling twice is a no-op."""
    if by not in ACTORS:
        raise ServiceError(f"Unknown actor {by!r}.", field="by")
    reason, now = _text(reason, "reason", 300), _now(now)
    events = PendingEvents()
    notice = None
    with session_scope() as session:
        workspace = load_workspace(session, workspace_id)
        appt = _load(session, workspace_id, appointment_id)
        if appt.status == S.CANCELLED:
            return _view(session, appt, workspace)
        if appt.status not in LIVE_STATUSES:
            raise ServiceError(f"This appointment is already {appt.status.replace('_', '-')}.", field="status")
        appt.status, appt.cancelled_by, appt.cancel_reason, appt.updated_at = S.CANCELLED, by, reason, now
        session.add(appt)
        session.flush()
        events.appointment_updated(workspace_id, appt.id)
        if appt.source != BLOCK_SOURCE:
            service = session.get(Service, appt.service_id) if appt.service_id else None
            contact = session.get(Contact, appt.contact_id) if appt.contact_id else None
            notice = reminders.stage_notice(session, appt, "cancelled", events, workspace=workspace,
                                            service=service, contact=contact)
        view = _view(session, appt, workspace)
    _after_commit(events, notice, view.id)
    return view


def set_appointment_status(workspace_id: int, appointment_id: int, status: str, now: datetime | None = None
                           ) -> AppointmentView:
    """pending → confirmed | cancelled; confirmed → completed | no_show | cancelled (completed ⇄ no_show)."""
    try:
        status = S(status)
    except ValueError:
        raise ServiceError(f"Unknown status {status!r}.", field="status") from None
    if status == S.CANCELLED:
        return cancel_appointment(workspace_id, appointment_id, by="owner", now=now)
    now = _now(now)
    events = PendingEvents()
    notice = None
    with session_scope() as session:
        workspace = load_workspace(session, workspace_id)
        appt = _load(session, workspace_id, appointment_id)
        if appt.source == BLOCK_SOURCE:
            raise ServiceError("A time block has no status to change; remove it instead.", field="status")
        current = S(appt.status)
        if status == current:
            return _view(session, appt, workspace)
        if status not in TRANSITIONS[current]:
            raise ServiceError(f"A {current.replace('_', '-')} appointment cannot become "
                               f"{status.replace('_', '-')}.", field="status")
        if status in (S.COMPLETED, S.NO_SHOW) and appt.starts_at > now:
            raise ServiceError("This appointment has not started yet.", field="status")
        appt.status, appt.updated_at = status, now
        session.add(appt)
        session.flush()
        events.appointment_updated(workspace_id, appt.id)
        if status == S.CONFIRMED:
            service = session.get(Service, appt.service_id) if appt.service_id else None
            contact = session.get(Contact, appt.contact_id) if appt.contact_id else None
            if appt.reminder_sent_at is None:
                appt.reminder_sent_at = _covered_by_notice(workspace, appt.starts_at, now)
            notice = reminders.stage_notice(session, appt, "confirmed", events, workspace=workspace,
                                            service=service, contact=contact)
        view = _view(session, appt, workspace)
    _after_commit(events, notice, view.id)
    return view


def block_time(workspace_id: int, starts_at: datetime, ends_at: datetime, title: str = "Blocked",
               now: datetime | None = None) -> AppointmentView:
    """Keep a stretch of time free of bookings (source "block"); refused over an existing appointment."""
    starts_at, ends_at, now = _moment(starts_at, "starts_at"), _moment(ends_at, "ends_at"), _now(now)
    title = _text(title, "title", 200) or "Blocked"
    if ends_at <= starts_at:
        raise ServiceError("The end is before the start.", field="ends_at")
    if ends_at <= now:
        raise ServiceError("That time has already passed.", field="ends_at")
    if ends_at - starts_at > timedelta(days=MAX_BLOCK_DAYS):
        raise ServiceError(f"Block at most {MAX_BLOCK_DAYS} days at once (close the days instead).",
                           field="ends_at")
    events = PendingEvents()
    with session_scope() as session:
        workspace = _lock_for_booking(session, workspace_id)
        clash = session.exec(
            tenant_select(Appointment, workspace_id)
            .where(Appointment.status.in_(LIVE_STATUSES), Appointment.block_starts_at < ends_at,
                   Appointment.block_ends_at > starts_at)
            .order_by(Appointment.starts_at)
        ).first()
        if clash is not None:
            what = "a time block" if clash.source == BLOCK_SOURCE else "an appointment"
            local = clash.starts_at.astimezone(get_zone(workspace.timezone))
            raise ServiceError(f"That time overlaps {what} at {label_of(local)}; move or cancel it first.",
                               field="starts_at")
        appt = Appointment(workspace_id=workspace_id, starts_at=starts_at, ends_at=ends_at, block_starts_at=starts_at,
                           block_ends_at=ends_at, status=S.CONFIRMED, source=BLOCK_SOURCE, title=title,
                           reminder_sent_at=now, updated_at=now)
        session.add(appt)
        _flush(session)
        events.appointment_updated(workspace_id, appt.id)
        view = _view(session, appt, workspace)
    _after_commit(events, None, view.id)
    return view


# --- reads ---------------------------------------------------------------------------------------------------


def _bounds(workspace: Workspace, start: date | datetime, end: date | datetime) -> tuple[datetime, datetime]:
    tz = get_zone(workspace.timezone)

    def edge(value: date | datetime, field: str, is_end: bool) -> datetime:
        if isinstance(value, datetime):
            return _moment(value, field)
        if isinstance(value, date):
            try:
                day = value + timedelta(days=1) if is_end else value
                return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
            except OverflowError:
                # A day at the very end of the calendar: every stored time lies inside, so its end will do.
                return _LATEST if is_end else _EARLIEST
        raise ServiceError("Give a date or a date and time.", field=field)

    lo, hi = edge(start, "start", False), edge(end, "end", True)
    if hi <= lo:
        raise ServiceError("The end is before the start.", field="end")
    return lo, hi


def _views(session: Session, workspace: Workspace, rows: list[Appointment]) -> list[AppointmentView]:
    service_ids = {r.service_id for r in rows if r.service_id}
    contact_ids = {r.contact_id for r in rows if r.contact_id}
    services = {s.id: s for s in session.exec(select(Service).where(Service.id.in_(service_ids))).all()} \
        if service_ids else {}
    contacts = {c.id: c for c in session.exec(select(Contact).where(Contact.id.in_(contact_ids))).all()} \
        if contact_ids else {}
    return [_view(session, r, workspace, services=services, contacts=contacts) for r in rows]


def list_appointments(workspace_id: int, start: date | datetime, end: date | datetime, status: str | None = None,
                      contact_id: int | None = None) -> list[AppointmentView]:
    """Appointments and blocks overlapping start..end (dates: local days, inclusive), in time order."""
    with session_scope() as session:
        workspace = load_workspace(session, workspace_id)
        lo, hi = _bounds(workspace, start, end)
        query = tenant_select(Appointment, workspace_id).where(Appointment.starts_at < hi, Appointment.ends_at > lo)
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            query = query.where(Appointment.status.in_(statuses))
        if contact_id is not None:
            query = query.where(Appointment.contact_id == contact_id)
        rows = list(session.exec(query.order_by(Appointment.starts_at, Appointment.id)).all())
        return _views(session, workspace, rows)


@dataclass(frozen=True)
class BusyView:
    """Busy time read from a synced calendar: it blocks slots as an appointment does."""

    starts_at: datetime
    ends_at: datetime
    calendar: str  # the connected calendar's name, or its kind ("Google Calendar", "CalDAV")


def list_busy(workspace_id: int, start: date | datetime, end: date | datetime) -> list[BusyView]:
    """Busy periods from the workspace's synced calendars overlapping start..end (dates: local days, inclusive)."""
    with session_scope() as session:
        workspace = load_workspace(session, workspace_id)
        lo, hi = _bounds(workspace, start, end)
        rows = session.exec(
            select(BusyPeriod.starts_at, BusyPeriod.ends_at, CalendarConnection.name, CalendarConnection.kind)
            .join(CalendarConnection, CalendarConnection.id == BusyPeriod.connection_id)
            .where(BusyPeriod.workspace_id == workspace_id, CalendarConnection.workspace_id == workspace_id,
                   BusyPeriod.starts_at < hi, BusyPeriod.ends_at > lo)
            .order_by(BusyPeriod.starts_at)
        ).all()
    kinds = {"google": "Google Calendar", "caldav": "CalDAV"}
    return [BusyView(s, e, name or kinds.get(kind, "calendar")) for s, e, name, kind in rows]


def get_appointment(workspace_id: int, appointment_id: int) -> AppointmentView:
    with session_scope() as session:
        workspace = load_workspace(session, workspace_id)
        return _view(session, _load(session, workspace_id, appointment_id), workspace)


def upcoming_for_contact(workspace_id: int, contact_id: int, now: datetime | None = None, limit: int = 20
                         ) -> list[AppointmentView]:
    """A contact's pending and confirmed appointments that have not ended yet, soonest first."""
    now = _now(now)
    with session_scope() as session:
        workspace = load_workspace(session, workspace_id)
        if tenant_get(session, Contact, workspace_id, contact_id) is None:
            raise NotFound("That contact does not exist.", field="contact_id")
        rows = list(session.exec(
            tenant_select(Appointment, workspace_id)
            .where(Appointment.contact_id == contact_id, Appointment.status.in_(LIVE_STATUSES),
                   Appointment.ends_at > now)
            .order_by(Appointment.starts_at).limit(max(1, min(int(limit), 200)))
        ).all())
        return _views(session, workspace, rows)


# --- customers of owner bookings -----------------------------------------------------------------------------
