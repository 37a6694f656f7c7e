"""What the Calendar page draws, worked out from the backend's views: the range in sight, each appointment's
summary, the time grid (which hours, where each item sits, side by side where times overlap, the "now" line)
and the list grouped by day.

Pure: no Reflex, no database and no clock of its own (the caller passes now and today), so the layout is tested
on its own (tests/unit/test_calendar_layout.py). Items are dicts of strings because that is what the page's
state holds and the components read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from backend.calendar.booking import AppointmentView, BusyView
from backend.calendar.slots import BLOCK_SOURCE

HOUR_PX = 52
MIN_BLOCK_PX = 24
# An item is laid out as at least this long: a zero-length entry still has to be seen and clicked.
MIN_ITEM_MINUTES = 15
LIST_DAYS = 28
# Shown when the business has no opening hours at all.
DEFAULT_HOURS = (8, 18)
STATUS_LABELS = {"pending": "Pending", "confirmed": "Confirmed", "completed": "Completed", "no_show": "No-show",
                 "cancelled": "Cancelled"}
STATUS_COLORS = {"pending": "amber", "confirmed": "indigo", "completed": "green", "no_show": "red",
                 "cancelled": "gray"}
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


# --- words for days and times ----------------------------------------------------------------------------------


def short_day(d: date) -> str:
    return f"{WEEKDAYS[d.weekday()][:3]} {d.day} {MONTHS[d.month - 1][:3]}"


def long_day(d: date) -> str:
    return f"{WEEKDAYS[d.weekday()]} {d.day} {MONTHS[d.month - 1]} {d.year}"


def hhmm(moment: datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def visible_range(view: str, anchor: date) -> tuple[date, date]:
    """The first and last day a view shows: the anchor's day, its week (from Monday), or the list's four weeks."""
    if view == "day":
        return anchor, anchor
    if view == "week":
        first = anchor - timedelta(days=anchor.weekday())
        return first, first + timedelta(days=6)
    return anchor, anchor + timedelta(days=LIST_DAYS - 1)


def range_title(view: str, first: date, last: date) -> str:
    if view == "day":
        return long_day(first)
    if first.year != last.year:
        return f"{first.day} {MONTHS[first.month - 1][:3]} {first.year} – {last.day} {MONTHS[last.month - 1][:3]} " \
               f"{last.year}"
    if first.month != last.month:
        return f"{first.day} {MONTHS[first.month - 1][:3]} – {last.day} {MONTHS[last.month - 1][:3]} {last.year}"
    return f"{first.day} – {last.day} {MONTHS[first.month - 1]} {first.year}"


# --- one item --------------------------------------------------------------------------------------------------


def item_title(a: AppointmentView) -> str:
    if a.source == BLOCK_SOURCE:
        return a.title or "Blocked"
    return a.service_name or a.title or "Appointment"


def summary(a: AppointmentView, tz: tzinfo) -> dict[str, str]:
    """An appointment or a block as the grid, the list and the detail dialog show it."""
    start, end = a.starts_at.astimezone(tz), a.ends_at.astimezone(tz)
    block = a.source == BLOCK_SOURCE
    status = "blocked" if block else a.status
    who = "" if block else (a.contact_name or "No customer")
    title = item_title(a)
    return {
        "id": str(a.id),
        "title": title,
        "who": who,
        "time": f"{hhmm(start)}–{hhmm(end)}",
        "status": status,
        "status_label": "Blocked" if block else STATUS_LABELS.get(a.status, a.status),
        "color": "gray" if block else STATUS_COLORS.get(a.status, "gray"),
        "kind": "block" if block else "appointment",
        "line": f"{hhmm(start)} {title}" + (f" · {who}" if who else ""),
        "label": f"{title}{' with ' + who if who else ''}, {short_day(start.date())} {hhmm(start)}, "
                 f"{'blocked' if block else STATUS_LABELS.get(a.status, a.status).lower()}",
    }


def busy_summary(b: BusyView, tz: tzinfo) -> dict[str, str]:
    """Busy time from a synced calendar, shaped like an appointment's summary so the grid lays both out."""
    start, end = b.starts_at.astimezone(tz), b.ends_at.astimezone(tz)
    return {
        "id": "", "title": "Busy", "who": b.calendar, "time": f"{hhmm(start)}–{hhmm(end)}", "status": "busy",
        "status_label": "Busy", "color": "gray", "kind": "busy", "line": f"{hhmm(start)} Busy · {b.calendar}",
        "label": f"Busy on {b.calendar}, {short_day(start.date())} {hhmm(start)}–{hhmm(end)}",
    }


# --- the time grid ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeGrid:
    hours: list[str]  # the hour labels down the side: "08:00" …
    height: str  # of each day's column
    days: list[dict[str, str]]  # one header per day: key, weekday, day, label, today, now (the line's top), count
    columns: list[list[dict[str, str]]]  # per day, its items in time order, each placed: top, height, left, width


def lanes(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Side by side where times overlap. For each (start, end) in minutes, given in time order: its lane and how
    many lanes its cluster (a run of items that overlap one another in a chain) is split into."""
    placed: list[tuple[int, int]] = []
    cluster: list[int] = []  # each item's lane, for the cluster being built
    lane_ends: list[int] = []
    cluster_end = -1

    def close() -> None:
        placed.extend((lane, len(lane_ends)) for lane in cluster)

    for start, end in spans:
        if cluster and start >= cluster_end:
            close()
            cluster, lane_ends, cluster_end = [], [], -1
        for lane, lane_end in enumerate(lane_ends):
            if lane_end <= start:  # the first lane free by then
                lane_ends[lane] = end
                cluster.append(lane)
                break
        else:
            lane_ends.append(end)
            cluster.append(len(lane_ends) - 1)
        cluster_end = max(cluster_end, end)
    if cluster:
        close()
    return placed


def opening_span(weekly_hours: dict[int, list[tuple[str, str]]]) -> tuple[int, int]:
    """The hours the grid shows before anything is booked: from the week's earliest opening to its latest close
    (a window running past midnight keeps the grid open to midnight; its hours after midnight show when booked)."""
    opens = [int(s[:2]) for windows in weekly_hours.values() for s, _ in windows]
    closes = [24 if e <= s else int(e[:2]) + (1 if e[3:5] != "00" else 0)
              for windows in weekly_hours.values() for s, e in windows]
    return (min(opens), max(closes)) if opens else DEFAULT_HOURS


def _lines(minutes: int) -> str:
    """As many lines as the block's height holds: one under 45 minutes, two under 75, else three."""
    return "1" if minutes < 45 else ("2" if minutes < 75 else "3")


def time_grid(first: date, last: date, *, appointments: Sequence[AppointmentView], busy: Sequence[BusyView],
              weekly_hours: dict[int, list[tuple[str, str]]], tz: tzinfo, now: datetime) -> TimeGrid:
    """The day and week views: one column per day from `first` to `last`, positioned in wall-clock time (a day
    the clocks change still shows 24 hour rows; an item is placed by the time on the clock). An item running past
    midnight shows in each day it touches. The hours are the opening hours, stretched to whatever is booked
    outside them."""
    # Busy time from synced calendars shows too: it is why those hours offer no slot.
    spans = [(a.starts_at, a.ends_at, summary(a, tz)) for a in appointments] + \
        [(b.starts_at, b.ends_at, busy_summary(b, tz)) for b in busy]
    lo, hi = opening_span(weekly_hours)
    n_days = (last - first).days + 1
    per_day: list[list[tuple[int, int, dict[str, str]]]] = [[] for _ in range(n_days)]
    for starts_at, ends_at, item in spans:
        start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
        for i in range(n_days):
            day = first + timedelta(days=i)
            day_start = datetime.combine(day, time(0), tzinfo=tz)
            day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
            if end <= day_start or start >= day_end:
                continue
            s_min = int((max(start, day_start) - day_start).total_seconds() // 60)
            e_min = int((min(end, day_end) - day_start).total_seconds() // 60)
            lo, hi = min(lo, s_min // 60), max(hi, -(-e_min // 60))
            per_day[i].append((s_min, max(e_min, s_min + MIN_ITEM_MINUTES), item))
    lo, hi = max(0, lo), min(24, max(hi, lo + 1))
    now_local = now.astimezone(tz)
    now_min = now_local.hour * 60 + now_local.minute
    today = now_local.date()
    days, columns = [], []
    for i, items in enumerate(per_day):
        day = first + timedelta(days=i)
        items.sort(key=lambda it: (it[0], it[1]))
        column = []
        for (s_min, e_min, item), (lane, n_lanes) in zip(items, lanes([(s, e) for s, e, _ in items])):
            column.append({
                **item,
                "top": f"{(s_min - lo * 60) * HOUR_PX / 60:.1f}px",
                "height": f"{max(MIN_BLOCK_PX, (e_min - s_min) * HOUR_PX / 60 - 2):.1f}px",
                "left": f"{lane * 100 / n_lanes:.3f}%",
                "width": f"{100 / n_lanes:.3f}%",
                "lines": _lines(e_min - s_min),
                "meta": item["time"] + (f" · {item['who']}" if item["who"] else ""),
            })
        columns.append(column)
        days.append({
            "key": day.isoformat(), "weekday": WEEKDAYS[day.weekday()][:3], "day": str(day.day),
            "label": short_day(day), "today": "1" if day == today else "",
            "now": f"{(now_min - lo * 60) * HOUR_PX / 60:.1f}px"
            if day == today and lo * 60 <= now_min < hi * 60 else "",
            "count": str(len(column)),
        })
    return TimeGrid([f"{h:02d}:00" for h in range(lo, hi)], f"{(hi - lo) * HOUR_PX}px", days, columns)


# --- the list --------------------------------------------------------------------------------------------------


def list_groups(appointments: Sequence[AppointmentView], tz: tzinfo, today: date
                ) -> tuple[list[dict[str, str]], list[list[dict[str, str]]]]:
    """The list view: appointments (in time order, as given) under a heading per day, today's and tomorrow's
    named so; a cancelled one shows the reason it was given."""
    groups: list[dict[str, str]] = []
    items: list[list[dict[str, str]]] = []
    for a in appointments:
        day = a.starts_at.astimezone(tz).date()
        key = day.isoformat()
        if not groups or groups[-1]["key"] != key:
            label = short_day(day)
            if day == today:
                label = "Today · " + label
            elif day == today + timedelta(days=1):
                label = "Tomorrow · " + label
            groups.append({"key": key, "label": label})
            items.append([])
        item = summary(a, tz)
        if a.status == "cancelled" and a.cancel_reason:
            item["who"] = (item["who"] + " · " if item["who"] else "") + "“" + a.cancel_reason + "”"
        items[-1].append(item)
    return groups, items
