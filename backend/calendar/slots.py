"""Bookable times: a pure core over preloaded rows, and thin wrappers that load those rows.

Rules, in the order a time is checked (`check_start` returns the first one broken, as a sentence to show):
1. the past, then the minimum notice counted from `now`;
2. the maximum advance, in whole local days (today + max_advance_days is the last bookable day);
3. opening hours: the weekly windows of the local weekday, unless a date override closes the day or replaces
   them with special hours. The *appointment itself* (start + duration) must lie inside one window. Its
   buffers need not: preparing before opening or tidying up after closing is the owner's own time.
   A window whose closing time is not after its opening time runs past midnight ("18:00-02:00" on Friday
   closes at 02:00 on Saturday; "-00:00" closes at midnight). It belongs to the day it opens: closing that day
   closes it, and its starts after midnight are offered (labelled, capped) as the next day's.
4. the grid: starts are at the window's opening time plus multiples of 5 minutes (`GRANULARITY_MINUTES`);
   `available_slots` offers every `step` minutes on that grid (default: the duration, at most 30 minutes);
5. the day's cap (`max_bookings_per_day`, counted per local day over pending and confirmed appointments,
   time blocks excluded);
6. overlap: the candidate's blocked range (buffer before + duration + buffer after) must not overlap the
   blocked range of a pending/confirmed appointment or time block, nor a busy period of a synced calendar.
   Buffers therefore keep neighbouring appointments apart on both sides.

Time zones and daylight saving (the workspace's IANA zone, via zoneinfo):
- Opening hours are wall-clock times. A slot's start is a wall-clock time on the grid converted to UTC, and its
  end is start + duration in *real* time; so a 09:00-17:00 day is 8 hours of slots on a change day too.
- A wall time that does not exist (the skipped hour in spring) is never offered. A window edge that falls in
  the gap moves to the first moment after it (02:30 in the gap opens at 03:00).
- A wall time that happens twice (the repeated hour in autumn) means its first occurrence, always: each label
  is offered once, a customer never has to tell "01:30 (the first one)" from "01:30 (the second one)", and the
  second pass of the hour offers no new starts (existing appointments in it still block, in UTC).
- Minimum notice, advance and overlap are computed on absolute (UTC) instants, so notice that spans the change
  is exactly as long as asked.

Speed: each day's opening windows become UTC instants once (a fast path by the day's single UTC offset when no
transition falls inside it), and blocked time is merged into sorted disjoint intervals searched with bisect;
90 days against 1,000 bookings is a few milliseconds (bench/slots.py).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, select

from backend.db import session_scope, tenant_get
from backend.errors import NotFound, ServiceError
from backend.models import Appointment, AvailabilitySlot, BusyPeriod, DateOverride, Service, Workspace
from backend.models.enums import AppointmentStatus
from backend.models.types import utcnow

UTC = timezone.utc
GRANULARITY_MINUTES = 5
MAX_DEFAULT_STEP_MINUTES = 30
MAX_RANGE_DAYS = 366
LIVE_STATUSES = (AppointmentStatus.PENDING.value, AppointmentStatus.CONFIRMED.value)
BLOCK_SOURCE = "block"

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


# --- values ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # aware UTC: the appointment's own start (buffers not included)
    ends_at: datetime
    local_start: str  # ISO 8601 in the workspace's zone, with its offset
    label: str  # "Tue 1 Dec, 09:30"

    def as_dict(self) -> dict:
        return {"starts_at": self.starts_at.isoformat(), "ends_at": self.ends_at.isoformat(),
                "local_start": self.local_start, "label": self.label}


@dataclass(frozen=True)
class ServiceSpec:
    duration_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    id: int | None = None
    name: str = ""

    @classmethod
    def of(cls, service: Service) -> "ServiceSpec":
        return cls(service.duration_minutes, service.buffer_before_minutes, service.buffer_after_minutes,
                   service.id, service.name)

    def default_step(self) -> int:
        step = min(self.duration_minutes, MAX_DEFAULT_STEP_MINUTES)
        return max(GRANULARITY_MINUTES, step - step % GRANULARITY_MINUTES)


@dataclass(frozen=True)
class Policy:
    min_notice_minutes: int = 0
    max_advance_days: int = 365
    max_bookings_per_day: int | None = None


Window = tuple[time, time]


@dataclass
class OpeningHours:
    """Weekly windows by weekday (0 = Monday) and per-date overrides ([] = closed that day)."""

    weekly: dict[int, list[Window]] = field(default_factory=dict)
    overrides: dict[date, list[Window]] = field(default_factory=dict)

    def windows(self, day: date) -> list[Window]:
        if day in self.overrides:
            return self.overrides[day]
        return self.weekly.get(day.weekday(), [])


class BusyIndex:
    """Blocked time as sorted, merged, half-open [start, end) intervals of epoch seconds."""

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()):
        merged: list[list[int]] = []
        for start, end in sorted(r for r in ranges if r[1] > r[0]):
            if merged and start <= merged[-1][1]:
                if end > merged[-1][1]:
                    merged[-1][1] = end
            else:
                merged.append([start, end])
        self.starts = [m[0] for m in merged]
        self.ends = [m[1] for m in merged]

    def __len__(self) -> int:
        return len(self.starts)

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect_right(self.starts, start) - 1  # the last interval starting at or before `start`
        if i >= 0 and self.ends[i] > start:
            return True
        j = i + 1
        return j < len(self.starts) and self.starts[j] < end


@dataclass
class Calendar:
    """Everything slot generation needs, preloaded: pure from here on."""

    tz: ZoneInfo
    hours: OpeningHours
    busy: BusyIndex
    day_counts: dict[date, int]
    policy: Policy


# --- time zone helpers ---------------------------------------------------------------------------------------


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _from_ts(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _naive_ts(day: date, minute_of_day: int) -> int:
    """Seconds since the epoch of a wall-clock time read as if it were UTC."""
    return (day.toordinal() - _EPOCH_ORDINAL) * 86400 + minute_of_day * 60


def wall_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """The instant a wall-clock time names; its first occurrence if it happens twice; None if it never does."""
    local = datetime.combine(day, at, tzinfo=tz)  # fold=0: the first occurrence
    utc = local.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None  # in the gap of a spring-forward change
    return utc


def _edge_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A window edge: a wall time in a gap moves to the first moment after the gap."""
    minute = at.hour * 60 + at.minute
    for extra in range(0, 24 * 60):
        m = minute + extra
        if m >= 24 * 60:
            break
        moment = wall_to_utc(day, time(m // 60, m % 60), tz)
        if moment is not None:
            return moment
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)


def _constant_offset(day: date, tz: ZoneInfo) -> int | None:
    """The day's UTC offset in seconds when no transition happens during it, else None."""
    start = datetime.combine(day, time(0), tzinfo=tz).utcoffset()
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).utcoffset()
    if start != end:
        return None
    midday = datetime.combine(day, time(12), tzinfo=tz).utcoffset()
    return int(start.total_seconds()) if midday == start else None


def label_of(local: datetime) -> str:
    return f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}, {local.hour:02d}:{local.minute:02d}"


def day_label(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"


def get_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _minutes_text(minutes: int) -> str:
    if minutes % 1440 == 0 and minutes >= 1440:
        days = minutes // 1440
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes % 60 == 0 and minutes >= 60:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


# --- the pure core -------------------------------------------------------------------------------------------


def window_minutes(opens: time, closes: time) -> tuple[int, int]:
    """A window as minutes from the opening day's midnight; one that runs past midnight closes after 1440."""
    m0, m1 = opens.hour * 60 + opens.minute, closes.hour * 60 + closes.minute
    return m0, (m1 + 1440 if m1 <= m0 else m1)


class _Offsets(dict):
    """The UTC offset (None: it changes) of `day` and the days after it, each computed once."""

    def __init__(self, cal: Calendar, day: date) -> None:
        super().__init__()
        self.tz, self.day = cal.tz, day

    def __missing__(self, later: int) -> int | None:
        value = self[later] = _constant_offset(self.day + timedelta(days=later), self.tz)
        return value


def _edge_ts(cal: Calendar, day: date, minute: int, offsets: _Offsets) -> int:
    """A window edge `minute` minutes after `day`'s midnight (1440 and more: the next day), as epoch seconds."""
    later, minute = divmod(minute, 1440)
    offset = offsets[later]
    wall_day = day + timedelta(days=later) if later else day
    if offset is not None:
        return _naive_ts(wall_day, minute) - offset
    return _ts(_edge_to_utc(wall_day, time(minute // 60, minute % 60), cal.tz))


def _day_windows(cal: Calendar, day: date, offsets: _Offsets | None = None) -> list[tuple[int, int, int, int]]:
    """(open_ts, close_ts, open_minute, close_minute) of each window opening on a local day."""
    out = []
    windows = cal.hours.windows(day)
    if windows and offsets is None:
        offsets = _Offsets(cal, day)
    for opens, closes in windows:
        m0, m1 = window_minutes(opens, closes)
        out.append((_edge_ts(cal, day, m0, offsets), _edge_ts(cal, day, m1, offsets), m0, m1))
    return out


def _day_starts(cal: Calendar, day: date, duration_s: int, step: int) -> Iterable[tuple[int, int, int, int]]:
    """(start_ts, open_ts, close_ts, days_later) of every grid start of the windows opening on a day whose
    appointment fits in its window; days_later is 1 for starts after midnight of a window that runs past it."""
    offsets = _Offsets(cal, day)
    for open_ts, close_ts, m0, m1 in _day_windows(cal, day, offsets):
        last_start = close_ts - duration_s
        for m in range(m0, m1, step):
            later, minute = divmod(m, 1440)
            wall_day = day + timedelta(days=later) if later else day
            offset = offsets[later]
            if offset is not None:
                start = _naive_ts(wall_day, minute) - offset
            else:
                moment = wall_to_utc(wall_day, time(minute // 60, minute % 60), cal.tz)
                if moment is None:
                    continue  # skipped by the clock change
                start = _ts(moment)
            if start > last_start:
                break
            if start >= open_ts:
                yield start, open_ts, close_ts, later


def _windows_for(cal: Calendar, day: date) -> list[tuple[date, tuple[int, int, int, int]]]:
    """The windows a start on local `day` can lie in: the day's own, and the previous day's that run past
    midnight into it."""
    spill = [(day - timedelta(days=1), w) for w in _day_windows(cal, day - timedelta(days=1)) if w[3] > 1440]
    return spill + [(day, w) for w in _day_windows(cal, day)]


def _make_slot(cal: Calendar, start: int, duration_s: int) -> Slot:
    local = datetime.fromtimestamp(start, cal.tz)
    return Slot(_from_ts(start), _from_ts(start + duration_s), local.isoformat(), label_of(local))


def generate_slots(cal: Calendar, service: ServiceSpec, *, start: date, end: date, now: datetime,
                   step_minutes: int | None = None) -> list[Slot]:
    """Every bookable start from local day `start` to `end` (inclusive), in time order."""
    step = step_minutes or service.default_step()
    duration_s = service.duration_minutes * 60
    before_s, after_s = service.buffer_before_minutes * 60, service.buffer_after_minutes * 60
    earliest = _ts(now) + cal.policy.min_notice_minutes * 60
    today = now.astimezone(cal.tz).date()
    first = max(start, today)
    last = min(end, today + timedelta(days=cal.policy.max_advance_days))
    cap = cal.policy.max_bookings_per_day
    busy = cal.busy
    found: dict[int, Slot] = {}  # by start: windows of two days may overlap past midnight
    day = first - timedelta(days=1)  # the day before may run past midnight into the first day
    while day <= last:
        for s, _open, _close, later in _day_starts(cal, day, duration_s, step):
            slot_day = day + timedelta(days=later) if later else day
            if slot_day < first or slot_day > last or s in found:
                continue
            if cap is not None and cal.day_counts.get(slot_day, 0) >= cap:
                continue
            if s < earliest or busy.overlaps(s - before_s, s + duration_s + after_s):
                continue
            found[s] = _make_slot(cal, s, duration_s)
        day += timedelta(days=1)
    return [found[s] for s in sorted(found)]


def check_start(cal: Calendar, service: ServiceSpec, starts_at: datetime, now: datetime, *,
                enforce_policy: bool = True) -> str | None:
    """Why `starts_at` cannot be booked, as a sentence for the customer; None when it can.

    `enforce_policy` False (the owner booking by hand) skips notice, advance, opening hours, grid and the day's
    cap; the past and overlaps are refused all the same.
    """
    s = _ts(starts_at)
    duration_s = service.duration_minutes * 60
    if starts_at <= now:
        return "That time has already passed. Please pick a time in the future."
    local = starts_at.astimezone(cal.tz)
    day = local.date()
    if enforce_policy:
        notice = cal.policy.min_notice_minutes
        if s < _ts(now) + notice * 60:
            return f"Appointments need at least {_minutes_text(notice)}' notice. Please pick a later time."
        today = now.astimezone(cal.tz).date()
        if day > today + timedelta(days=cal.policy.max_advance_days):
            days = cal.policy.max_advance_days
            return f"Appointments can be booked at most {days} day{'s' if days != 1 else ''} ahead."
        windows = _windows_for(cal, day)
        if not any(o <= s and s + duration_s <= c for _d, (o, c, _m0, _m1) in windows):
            own = [_window_text(m0, m1) for opened, (_o, _c, m0, m1) in windows if opened == day]
            if not own:
                return f"We're closed on {day_label(day)}. Please pick another day."
            return (f"That time is outside our opening hours ({', '.join(own)} on {day_label(day)}). "
                    "Please pick one of the offered times.")
        if not any(start == s for opened, _w in windows
                   for start, _o, _c, _later in _day_starts(cal, opened, duration_s, GRANULARITY_MINUTES)):
            return "That is not one of the offered times. Please pick one of the offered times."
        cap = cal.policy.max_bookings_per_day
        if cap is not None and cal.day_counts.get(day, 0) >= cap:
            return f"{day_label(day)} is fully booked. Please pick another day."
    if cal.busy.overlaps(s - service.buffer_before_minutes * 60, s + duration_s + service.buffer_after_minutes * 60):
        return "That time is no longer available. Please pick another time."
    return None


def _window_text(m0: int, m1: int) -> str:
    return f"{m0 // 60:02d}:{m0 % 60:02d}\u2013{m1 // 60 % 24:02d}:{m1 % 60:02d}"


def rank_nearest(slots: Sequence[Slot], tz: ZoneInfo, around: datetime | date | None, count: int) -> list[Slot]:
    """The `count` slots closest to `around` (earliest first when None; that day's first when a date), in order."""
    if around is None:
        return list(slots[:count])
    if isinstance(around, datetime):
        target = _ts(around if around.tzinfo else around.replace(tzinfo=tz))
        chosen = sorted(slots, key=lambda sl: (abs(_ts(sl.starts_at) - target), sl.starts_at))[:count]
    else:
        day_start = _ts(datetime.combine(around, time(0), tzinfo=tz))
        day_end = _ts(datetime.combine(around + timedelta(days=1), time(0), tzinfo=tz))

        def distance(sl: Slot) -> tuple[int, datetime]:
            s = _ts(sl.starts_at)
            return (0 if day_start <= s < day_end else min(abs(s - day_start), abs(s - day_end)), sl.starts_at)

        chosen = sorted(slots, key=distance)[:count]
    return sorted(chosen, key=lambda sl: sl.starts_at)


# --- loading -------------------------------------------------------------------------------------------------


def policy_of(workspace: Workspace) -> Policy:
    return Policy(workspace.min_notice_minutes, workspace.max_advance_days, workspace.max_bookings_per_day)


def load_calendar(session: Session, workspace: Workspace, first_day: date, last_day: date, *,
                  exclude_appointment_id: int | None = None) -> Calendar:
    """Read the rows that matter for local days first_day..last_day (with a margin for buffers and offsets)."""
    tz = get_zone(workspace.timezone)
    ws_id = workspace.id
    lo = datetime.combine(first_day - timedelta(days=2), time(0), tzinfo=UTC)
    hi = datetime.combine(last_day + timedelta(days=3), time(0), tzinfo=UTC)

    weekly: dict[int, list[Window]] = {}
    for weekday, opens, closes in session.exec(
        select(AvailabilitySlot.weekday, AvailabilitySlot.start_time, AvailabilitySlot.end_time)
        .where(AvailabilitySlot.workspace_id == ws_id)
    ).all():
        weekly.setdefault(weekday, []).append((opens, closes))
    for windows in weekly.values():
        windows.sort()

    overrides: dict[date, list[Window]] = {}
    closed_days: set[date] = set()
    for day, closed, opens, closes in session.exec(
        select(DateOverride.day, DateOverride.closed, DateOverride.start_time, DateOverride.end_time)
        .where(DateOverride.workspace_id == ws_id, DateOverride.day >= first_day - timedelta(days=1),
               DateOverride.day <= last_day + timedelta(days=1))
    ).all():
        windows = overrides.setdefault(day, [])
        if closed or opens is None or closes is None:
            closed_days.add(day)
        else:
            windows.append((opens, closes))
    for day in closed_days:
        overrides[day] = []
    for windows in overrides.values():
        windows.sort()

    query = select(Appointment.id, Appointment.block_starts_at, Appointment.block_ends_at, Appointment.starts_at,
                   Appointment.source).where(
        Appointment.workspace_id == ws_id, Appointment.status.in_(LIVE_STATUSES),
        Appointment.block_ends_at > lo, Appointment.block_starts_at < hi,
    )
    ranges: list[tuple[int, int]] = []
    day_counts: dict[date, int] = {}
    for appt_id, block_start, block_end, starts_at, source in session.exec(query).all():
        if appt_id == exclude_appointment_id:
            continue
        ranges.append((_ts(block_start), _ts(block_end)))
        if source != BLOCK_SOURCE:
            local_day = starts_at.astimezone(tz).date()
            day_counts[local_day] = day_counts.get(local_day, 0) + 1
    for start, end in session.exec(
        select(BusyPeriod.starts_at, BusyPeriod.ends_at)
        .where(BusyPeriod.workspace_id == ws_id, BusyPeriod.ends_at > lo, BusyPeriod.starts_at < hi)
    ).all():
        ranges.append((_ts(start), _ts(end)))
    return Calendar(tz, OpeningHours(weekly, overrides), BusyIndex(ranges), day_counts, policy_of(workspace))


def load_workspace(session: Session, workspace_id: int) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("That business does not exist.")
    return workspace


def load_bookable_service(session: Session, workspace_id: int, service_id: int) -> Service:
    service = tenant_get(session, Service, workspace_id, service_id) if service_id is not None else None
    if service is None:
        raise NotFound("That service does not exist.", field="service_id")
    if not service.active:
        raise ServiceError(f"{service.name} can no longer be booked.", field="service_id")
    return service


def _check_step(step_minutes: int | None) -> None:
    if step_minutes is None:
        return
    if not isinstance(step_minutes, int) or step_minutes < GRANULARITY_MINUTES or step_minutes > 240 \
            or step_minutes % GRANULARITY_MINUTES:
        raise ServiceError(f"The step must be a multiple of {GRANULARITY_MINUTES} minutes, at most 4 hours.",
                           field="step_minutes")


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ServiceError("Times must carry a time zone.", field="now")
    return now.astimezone(UTC)


def available_slots(workspace_id: int, service_id: int, *, start: date, end: date, now: datetime | None = None,
                    step_minutes: int | None = None) -> list[Slot]:
    """Bookable slots for a service on local days start..end (inclusive) of the workspace."""
    now = _aware(now)
    _check_step(step_minutes)
    if end < start:
        raise ServiceError("The end date is before the start date.", field="end")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ServiceError(f"Ask for at most {MAX_RANGE_DAYS} days at a time.", field="end")
    with session_scope() as session:
        workspace = load_workspace(session, workspace_id)
        service = ServiceSpec.of(load_bookable_service(session, workspace_id, service_id))
        # Only days from today to the last bookable one can hold a free time: read nothing beyond them (nor try to
        # compute the margins of year 1 or 9999).
        today = now.astimezone(get_zone(workspace.timezone)).date()
        start, end = max(start, today), min(end, today + timedelta(days=workspace.max_advance_days))
        if start > end:
            return []
        cal = load_calendar(session, workspace, start, end)
    return generate_slots(cal, service, start=start, end=end, now=now, step_minutes=step_minutes)


def nearest_slots(workspace_id: int, service_id: int, *, around: datetime | date | None = None, count: int = 3,
                  now: datetime | None = None) -> list[Slot]:
    """A few bookable slots to offer in a chat: the earliest ones, or those closest to a day or a time."""
    now = _aware(now)
    count = max(1, min(int(count), 20))
    with session_scope() as session:
        workspace = load_workspace(session, workspace_id)
        service = ServiceSpec.of(load_bookable_service(session, workspace_id, service_id))
        tz = get_zone(workspace.timezone)
        today = now.astimezone(tz).date()
        last = today + timedelta(days=workspace.max_advance_days)
        if around is None:
            centre = today
        elif isinstance(around, datetime):
            centre = (around if around.tzinfo else around.replace(tzinfo=tz)).astimezone(tz).date()
        else:
            centre = around
        first_day, last_day = max(today, centre - timedelta(days=7)), min(last, centre + timedelta(days=14))
        cal = load_calendar(session, workspace, min(first_day, last_day), last)
    slots = generate_slots(cal, service, start=first_day, end=last_day, now=now) if first_day <= last_day else []
    if len(slots) < count and last_day < last:
        # Nothing (or too little) near the wish: offer the next free times after it.
        later = generate_slots(cal, service, start=last_day + timedelta(days=1), end=last, now=now)
        if not slots:
            return later[:count]
        slots = slots + later[: count - len(slots)]
    return rank_nearest(slots, tz, around, count)
