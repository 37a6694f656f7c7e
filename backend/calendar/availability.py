"""What the owner sets up: services, weekly opening hours, date overrides and the booking policy.

Every function takes the workspace and touches only its rows; bad input raises ServiceError naming the field
and changes nothing. Views are frozen dataclasses with `as_dict()` for pages and the API.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Mapping, Sequence

from sqlalchemy import delete, func
from sqlmodel import Session, select

from backend.calendar.slots import window_minutes
from backend.db import session_scope, tenant_get, tenant_select
from backend.errors import NotFound, ServiceError
from backend.models import Appointment, AvailabilitySlot, DateOverride, Service, Workspace
from backend.models.types import utcnow

MAX_DURATION_MINUTES = 12 * 60
MAX_BUFFER_MINUTES = 4 * 60
MAX_WINDOWS_PER_DAY = 8
MAX_NOTICE_MINUTES = 60 * 24 * 60
MAX_ADVANCE_DAYS = 730
MAX_REMINDER_LEAD_MINUTES = 7 * 24 * 60  # send_due_reminders looks this far ahead
MAX_BOOKINGS_PER_DAY = 500
_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_CLOSED_DAYS = 92  # a season closed at once; longer is better said by the weekly hours
LATEST_CLOSE_PAST_MIDNIGHT = time(6)  # "18:00-02:00" closes on the next day; "17:00-09:00" is a typo
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# --- views ---------------------------------------------------------------------------------------------------


def _hhmm(value: time | None) -> str | None:
    return None if value is None else f"{value.hour:02d}:{value.minute:02d}"


@dataclass(frozen=True)
class ServiceView:
    id: int
    name: str
    description: str
    duration_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    price_cents: int | None
    currency: str
    active: bool

    @classmethod
    def of(cls, s: Service) -> "ServiceView":
        return cls(s.id, s.name, s.description, s.duration_minutes, s.buffer_before_minutes,
                   s.buffer_after_minutes, s.price_cents, s.currency, s.active)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OverrideView:
    id: int
    day: date
    closed: bool
    start: str | None
    end: str | None
    note: str

    @classmethod
    def of(cls, o: DateOverride) -> "OverrideView":
        return cls(o.id, o.day, o.closed, _hhmm(o.start_time), _hhmm(o.end_time), o.note)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "day": self.day.isoformat()}


@dataclass(frozen=True)
class BookingPolicy:
    min_notice_minutes: int
    max_advance_days: int
    max_bookings_per_day: int | None
    require_confirmation: bool
    reminder_lead_minutes: int
    timezone: str

    @classmethod
    def of(cls, ws: Workspace) -> "BookingPolicy":
        return cls(ws.min_notice_minutes, ws.max_advance_days, ws.max_bookings_per_day, ws.require_confirmation,
                   ws.reminder_lead_minutes, ws.timezone)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- helpers -------------------------------------------------------------------------------------------------


def _workspace(session: Session, workspace_id: int) -> Workspace:
    ws = session.get(Workspace, workspace_id)
    if ws is None:
        raise NotFound("That business does not exist.")
    return ws


def _int(value: Any, field: str, label: str, lo: int, hi: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        number = int(value)
    else:
        raise ServiceError(f"{label} must be a whole number.", field=field)
    if number < lo or number > hi:
        raise ServiceError(f"{label} must be between {lo} and {hi}.", field=field)
    return number


def parse_time(value: time | str, field: str = "start", *, closing: bool = False) -> time:
    """'09:30' (or a time) to a time of day, on whole minutes. A closing time may be '24:00' (midnight)."""
    if isinstance(value, time):
        if value.second or value.microsecond or value.tzinfo is not None:
            raise ServiceError("Use whole minutes, in local time (e.g. 09:30).", field=field)
        return value
    if closing and str(value or "").strip() == "24:00":
        return time(0)
    match = _HHMM.match(str(value or "").strip())
    if not match:
        raise ServiceError(f"{value!r} is not a time like 09:30.", field=field)
    return time(int(match.group(1)), int(match.group(2)))


def _check_windows(windows: Sequence[tuple[Any, Any]], field: str, label: str) -> list[tuple[time, time]]:
    if len(windows) > MAX_WINDOWS_PER_DAY:
        raise ServiceError(f"{label}: at most {MAX_WINDOWS_PER_DAY} opening windows per day.", field=field)
    parsed = []
    for window in windows:
        try:
            start, end = window
        except (TypeError, ValueError):
            raise ServiceError(f"{label}: each window is a (start, end) pair like ('09:00', '12:00').",
                               field=field) from None
        start_t, end_t = parse_time(start, field), parse_time(end, field, closing=True)
        if end_t == start_t and start_t != time(0):
            raise ServiceError(f"{label}: {_hhmm(start_t)}\u2013{_hhmm(end_t)} starts and ends at the same time.",
                               field=field)
        if end_t <= start_t and end_t != time(0) and end_t > LATEST_CLOSE_PAST_MIDNIGHT:
            raise ServiceError(f"{label}: {_hhmm(start_t)}\u2013{_hhmm(end_t)} ends before it starts (hours can run "
                               f"past midnight until {_hhmm(LATEST_CLOSE_PAST_MIDNIGHT)}).", field=field)
        parsed.append((start_t, end_t))
    parsed.sort()
    for (s1, e1), (s2, e2) in zip(parsed, parsed[1:]):
        if window_minutes(s2, e2)[0] < window_minutes(s1, e1)[1]:
            raise ServiceError(f"{label}: {_window(s1, e1)} and {_window(s2, e2)} overlap.", field=field)
    return parsed


def _window(start: time, end: time) -> str:
    return f"{_hhmm(start)}\u2013{'24:00' if end == time(0) else _hhmm(end)}"


def _check_past_midnight(week: dict[int, list[tuple[time, time]]]) -> None:
    """A window that runs past midnight must be over before the next day's first one opens."""
    for day, windows in week.items():
        for start, end in windows:
            m0, m1 = window_minutes(start, end)
            following = (day + 1) % 7
            for next_start, next_end in week.get(following, []):
                if window_minutes(next_start, next_end)[0] < m1 - 1440:
                    raise ServiceError(
                        f"{WEEKDAY_NAMES[day]}'s {_window(start, end)} runs into {WEEKDAY_NAMES[following]}'s "
                        f"{_window(next_start, next_end)}.", field=f"hours.{day}")


# --- services ------------------------------------------------------------------------------------------------


def list_services(workspace_id: int, include_inactive: bool = True) -> list[ServiceView]:
    query = tenant_select(Service, workspace_id)
    if not include_inactive:
        query = query.where(Service.active == True)  # noqa: E712
    with session_scope() as session:
        return [ServiceView.of(s) for s in session.exec(query.order_by(Service.name, Service.id)).all()]


def get_service(workspace_id: int, service_id: int) -> ServiceView:
    with session_scope() as session:
        service = tenant_get(session, Service, workspace_id, service_id)
        if service is None:
            raise NotFound("That service does not exist.", field="service_id")
        return ServiceView.of(service)


def save_service(workspace_id: int, *, name: str, duration_minutes: int, buffer_before_minutes: int = 0,
                 buffer_after_minutes: int = 0, price_cents: int | None = None, currency: str = "USD",
                 description: str = "", active: bool = True, service_id: int | None = None) -> ServiceView:
    """Create a service, or update the one `service_id` names."""
    name = " ".join(str(name or "").split())
    if not name:
        raise ServiceError("Give the service a name.", field="name")
    if len(name) > 120:
        raise ServiceError("The name is longer than 120 characters.", field="name")
    duration = _int(duration_minutes, "duration_minutes", "The duration", 5, MAX_DURATION_MINUTES)
    if duration % 5:
        raise ServiceError("The duration must be a multiple of 5 minutes.", field="duration_minutes")
    before = _int(buffer_before_minutes, "buffer_before_minutes", "The buffer before", 0, MAX_BUFFER_MINUTES)
    after = _int(buffer_after_minutes, "buffer_after_minutes", "The buffer after", 0, MAX_BUFFER_MINUTES)
    if price_cents is not None and price_cents != "":
        price_cents = _int(price_cents, "price_cents", "The price", 0, 100_000_000)
    else:
        price_cents = None
    currency = str(currency or "").strip().upper()
    if not _CURRENCY.match(currency):
        raise ServiceError("The currency is a three-letter code like USD or EUR.", field="currency")
    description = str(description or "").strip()
    if len(description) > 1000:
        raise ServiceError("The description is longer than 1000 characters.", field="description")
    with session_scope() as session:
        _workspace(session, workspace_id)
        if service_id is None:
            service = Service(workspace_id=workspace_id, name=name)
        else:
            service = tenant_get(session, Service, workspace_id, service_id)
            if service is None:
                raise NotFound("That service does not exist.", field="service_id")
        clash = session.exec(
            tenant_select(Service, workspace_id).where(func.lower(Service.name) == name.lower())
        ).first()
        if clash is not None and clash.id != service.id:
            raise ServiceError(f"There is already a service called {clash.name}.", field="name")
        service.name, service.description = name, description
        service.duration_minutes, service.buffer_before_minutes, service.buffer_after_minutes = duration, before, after
        service.price_cents, service.currency, service.active = price_cents, currency, bool(active)
        session.add(service)
        session.flush()
        return ServiceView.of(service)


def delete_service(workspace_id: int, service_id: int) -> bool:
    """Delete a service; one that appointments refer to is kept, made inactive. True if the row was deleted."""
    with session_scope() as session:
        service = tenant_get(session, Service, workspace_id, service_id)
        if service is None:
            raise NotFound("That service does not exist.", field="service_id")
        used = session.exec(
            select(func.count()).select_from(Appointment)
            .where(Appointment.workspace_id == workspace_id, Appointment.service_id == service_id)
        ).one()
        if used:
            service.active = False
            session.add(service)
            return False
        session.delete(service)
        return True


# --- weekly hours --------------------------------------------------------------------------------------------


def get_weekly_hours(workspace_id: int) -> dict[int, list[tuple[str, str]]]:
    """{weekday (0 = Monday): [("09:00", "12:00"), …]} for all seven days (an empty list: closed)."""
    hours: dict[int, list[tuple[str, str]]] = {day: [] for day in range(7)}
    with session_scope() as session:
        rows = session.exec(tenant_select(AvailabilitySlot, workspace_id)
                            .order_by(AvailabilitySlot.weekday, AvailabilitySlot.start_time)).all()
        for row in rows:
            hours[row.weekday].append((_hhmm(row.start_time), _hhmm(row.end_time)))
    return hours


def set_weekly_hours(workspace_id: int, hours: Mapping[int, Sequence[tuple[Any, Any]]]
                     ) -> dict[int, list[tuple[str, str]]]:
    """Replace the whole week. Days not given are closed. All days are checked before anything is written."""
    parsed: dict[int, list[tuple[time, time]]] = {}
    for weekday, windows in (hours or {}).items():
        try:
            day = int(weekday)
        except (TypeError, ValueError):
            raise ServiceError(f"{weekday!r} is not a weekday (0 = Monday … 6 = Sunday).", field="hours") from None
        if not 0 <= day <= 6:
            raise ServiceError(f"{weekday!r} is not a weekday (0 = Monday … 6 = Sunday).", field="hours")
        if day in parsed:
            raise ServiceError(f"{WEEKDAY_NAMES[day]} is given twice.", field="hours")
        parsed[day] = _check_windows(list(windows or []), f"hours.{day}", WEEKDAY_NAMES[day])
    _check_past_midnight(parsed)
    with session_scope() as session:
        _workspace(session, workspace_id)
        session.exec(delete(AvailabilitySlot).where(AvailabilitySlot.workspace_id == workspace_id))
        for day, windows in sorted(parsed.items()):
            for start, end in windows:
                session.add(AvailabilitySlot(workspace_id=workspace_id, weekday=day, start_time=start, end_time=end))
    return get_weekly_hours(workspace_id)


# --- date overrides ------------------------------------------------------------------------------------------


def list_overrides(workspace_id: int, start: date | None = None, end: date | None = None) -> list[OverrideView]:
    query = tenant_select(DateOverride, workspace_id)
    if start is not None:
        query = query.where(DateOverride.day >= start)
    if end is not None:
        query = query.where(DateOverride.day <= end)
    with session_scope() as session:
        return [OverrideView.of(o) for o in session.exec(query.order_by(DateOverride.day, DateOverride.id)).all()]


def _day(value: Any, field: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ServiceError(f"{value!r} is not a date like 2026-12-24.", field=field) from None


def _note(note: Any) -> str:
    note = str(note or "").strip()
    if len(note) > 200:
        raise ServiceError("The note is longer than 200 characters.", field="note")
    return note


def save_override(workspace_id: int, day: date, *, closed: bool = True, start: Any = None, end: Any = None,
                  note: str = "") -> OverrideView:
    """Close a local date, or give it special hours (closed=False, start, end). Replaces that date's override."""
    day, note = _day(day, "day"), _note(note)
    start_t = end_t = None
    if not closed:
        if start in (None, "") or end in (None, ""):
            raise ServiceError("Give the special hours' start and end, or mark the day closed.", field="start")
        ((start_t, end_t),) = _check_windows([(start, end)], "start", "Special hours")
    with session_scope() as session:
        _workspace(session, workspace_id)
        session.exec(delete(DateOverride).where(DateOverride.workspace_id == workspace_id, DateOverride.day == day))
        row = DateOverride(workspace_id=workspace_id, day=day, closed=bool(closed), start_time=start_t,
                           end_time=end_t, note=note)
        session.add(row)
        session.flush()
        return OverrideView.of(row)


def close_days(workspace_id: int, first: Any, last: Any, note: str = "") -> list[OverrideView]:
    """Close every local date from `first` to `last` (a holiday, a week away), replacing their overrides; all
    or nothing."""
    first, last, note = _day(first, "day"), _day(last, "until"), _note(note)
    if last < first:
        raise ServiceError("The last closed day is before the first.", field="until")
    days = (last - first).days + 1
    if days > MAX_CLOSED_DAYS:
        raise ServiceError(f"Close at most {MAX_CLOSED_DAYS} days at once.", field="until")
    with session_scope() as session:
        _workspace(session, workspace_id)
        session.exec(delete(DateOverride).where(DateOverride.workspace_id == workspace_id, DateOverride.day >= first,
                                                DateOverride.day <= last))
        rows = [DateOverride(workspace_id=workspace_id, day=first + timedelta(days=i), closed=True, note=note)
                for i in range(days)]
        session.add_all(rows)
        session.flush()
        return [OverrideView.of(r) for r in rows]


def delete_override(workspace_id: int, override_id: int) -> None:
    delete_overrides(workspace_id, [override_id])


def delete_overrides(workspace_id: int, override_ids: Sequence[int]) -> None:
    """Remove dates' overrides (a closed stretch at once); all or nothing, and only the workspace's own."""
    with session_scope() as session:
        rows = [tenant_get(session, DateOverride, workspace_id, int(i)) for i in override_ids]
        if not rows or any(r is None for r in rows):
            raise NotFound("That date override does not exist.", field="override_id")
        for row in rows:
            session.delete(row)


# --- booking policy ------------------------------------------------------------------------------------------


def get_booking_policy(workspace_id: int) -> BookingPolicy:
    with session_scope() as session:
        return BookingPolicy.of(_workspace(session, workspace_id))


def update_booking_policy(workspace_id: int, *, min_notice_minutes: int, max_advance_days: int,
                          max_bookings_per_day: int | None, require_confirmation: bool,
                          reminder_lead_minutes: int) -> BookingPolicy:
    notice = _int(min_notice_minutes, "min_notice_minutes", "The minimum notice", 0, MAX_NOTICE_MINUTES)
    advance = _int(max_advance_days, "max_advance_days", "How far ahead", 1, MAX_ADVANCE_DAYS)
    if max_bookings_per_day in (None, ""):
        per_day = None
    else:
        per_day = _int(max_bookings_per_day, "max_bookings_per_day", "The daily limit", 1, MAX_BOOKINGS_PER_DAY)
    lead = _int(reminder_lead_minutes, "reminder_lead_minutes", "The reminder lead time", 0,
                MAX_REMINDER_LEAD_MINUTES)
    if notice > advance * 1440:
        raise ServiceError("The minimum notice is longer than how far ahead people may book.",
                           field="min_notice_minutes")
    with session_scope() as session:
        ws = _workspace(session, workspace_id)
        ws.min_notice_minutes, ws.max_advance_days, ws.max_bookings_per_day = notice, advance, per_day
        ws.require_confirmation, ws.reminder_lead_minutes = bool(require_confirmation), lead
        ws.updated_at = utcnow()
        session.add(ws)
        session.flush()
        return BookingPolicy.of(ws)
