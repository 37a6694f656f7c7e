"""iCalendar (RFC 5545) in and out: one event for a mail attachment or a CalDAV server, a subscription feed, and
busy times read from whatever a calendar server hands back.

Writing goes through the `icalendar` package, so escaping (`,` `;` `\\` newlines) and line folding at 75 octets
are done by the library. Reading is tolerant: servers serve broken components (a bad date, an unknown RRULE
frequency); each one is skipped and counted, never fatal for the rest of the calendar.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

log = logging.getLogger(__name__)

PRODID = "-//Front Desk//Appointments//EN"
_STATUSES = {"CONFIRMED", "TENTATIVE", "CANCELLED"}
# Properties whose breakage makes an event's time unknowable: such an event is skipped, not guessed.
_TIME_PROPERTIES = {"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"}


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: give times as aware datetimes (UTC or with a zone)")
    return value.astimezone(timezone.utc)


def _vevent(*, uid: str, summary: str, starts_at: datetime, ends_at: datetime, description: str = "",
            location: str = "", status: str = "CONFIRMED", sequence: int = 0,
            stamp: datetime | None = None, url: str = "") -> icalendar.Event:
    if not uid:
        raise ValueError("an event needs a UID")
    start, end = _utc(starts_at), _utc(ends_at)
    if end <= start:
        raise ValueError("an event must end after it starts")
    status = (status or "CONFIRMED").upper()
    if status not in _STATUSES:
        raise ValueError(f"unknown event status {status!r}")
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", _utc(stamp) if stamp else datetime.now(timezone.utc).replace(microsecond=0))
    event.add("DTSTART", start)
    event.add("DTEND", end)
    event.add("SUMMARY", summary or "Appointment")
    if description:
        event.add("DESCRIPTION", description)
    if location:
        event.add("LOCATION", location)
    if url:
        event.add("URL", url)
    event.add("STATUS", status)
    event.add("SEQUENCE", int(sequence))
    event.add("TRANSP", "TRANSPARENT" if status == "CANCELLED" else "OPAQUE")
    return event


def _calendar(method: str | None = None, name: str = "") -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    if method:
        cal.add("METHOD", method.upper())
    if name:
        cal.add("X-WR-CALNAME", name)
        cal.add("NAME", name)
    return cal


def event_ics(*, uid: str, summary: str, starts_at: datetime, ends_at: datetime, description: str = "",
              location: str = "", status: str = "CONFIRMED", sequence: int = 0, method: str | None = None) -> str:
    """A complete VCALENDAR holding one VEVENT, times in UTC.

    `method` ("REQUEST", "CANCEL", "PUBLISH") is for mail attachments (iTIP); leave it None for a CalDAV PUT,
    where RFC 4791 forbids METHOD. Raise `sequence` on every change so clients replace their copy.
    """
    cal = _calendar(method)
    cal.add_component(_vevent(uid=uid, summary=summary, starts_at=starts_at, ends_at=ends_at,
                              description=description, location=location, status=status, sequence=sequence))
    return cal.to_ical().decode("utf-8")


def feed_ics(calendar_name: str, events: Iterable[dict[str, Any]]) -> str:
    """A subscription feed: one VCALENDAR with a VEVENT per dict (keys as `event_ics` takes them)."""
    cal = _calendar(name=calendar_name)
    cal.add("REFRESH-INTERVAL", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    cal.add("X-PUBLISHED-TTL", "PT15M")
    for item in events:
        cal.add_component(_vevent(
            uid=item["uid"], summary=item.get("summary", ""), starts_at=item["starts_at"], ends_at=item["ends_at"],
            description=item.get("description", ""), location=item.get("location", ""),
            status=item.get("status", "CONFIRMED"), sequence=item.get("sequence", 0), stamp=item.get("stamp"),
            url=item.get("url", ""),
        ))
    return cal.to_ical().decode("utf-8")


# --- reading busy time --------------------------------------------------------------------------------------


class BusyList(list):
    """A list of (start, end) UTC pairs that also says how many components were skipped as unreadable."""

    skipped: int = 0


def _as_utc(value: date | datetime, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # floating time: the business's local time
            value = value.replace(tzinfo=tz)
        return value.astimezone(timezone.utc)
    return datetime.combine(value, time(0), tzinfo=tz).astimezone(timezone.utc)  # all-day: local midnight


def _occurrence_span(event: icalendar.Event, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    start_value = event.get("DTSTART")
    if start_value is None:
        raise ValueError("VEVENT without DTSTART")
    start_dt = start_value.dt
    end_prop = event.get("DTEND")
    if end_prop is not None:
        end_dt = end_prop.dt
    elif event.get("DURATION") is not None:
        end_dt = start_dt + event.get("DURATION").dt
    elif isinstance(start_dt, datetime):
        return None  # RFC 5545: a date-time event without end or duration takes no time
    else:
        end_dt = start_dt + timedelta(days=1)  # a date event without end lasts that day
    start, end = _as_utc(start_dt, tz), _as_utc(end_dt, tz)
    if end <= start:
        return None
    return start, end


def _is_free(event: icalendar.Event) -> bool:
    transp = str(event.get("TRANSP", "OPAQUE")).upper()
    status = str(event.get("STATUS", "")).upper()
    return transp == "TRANSPARENT" or status == "CANCELLED"


def _parse_calendars(ics_text: str | bytes) -> list[icalendar.Calendar]:
    text = ics_text.decode("utf-8", "replace") if isinstance(ics_text, bytes) else ics_text
    return list(icalendar.Calendar.from_ical(text, multiple=True))


def parse_busy(ics_text: str | bytes, *, start: datetime, end: datetime, tz: str | ZoneInfo = "UTC",
               exclude_uid: Any = None) -> BusyList:
    """Busy (start, end) pairs in UTC of every event occurrence overlapping [start, end), sorted.

    Recurring events are expanded (RRULE, RDATE, EXDATE, moved occurrences); all-day and floating events are
    read in `tz` (the business's zone). Transparent ("show as free") and cancelled events do not count.
    `exclude_uid(uid) -> bool` leaves out events we wrote ourselves. A component whose times cannot be read
    is skipped and counted in the result's `.skipped`; text that is not iCalendar at all counts as one.
    """
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    window_start, window_end = _as_utc(start, zone), _as_utc(end, zone)
    result = BusyList()
    try:
        calendars = _parse_calendars(ics_text)
    except Exception as exc:  # not iCalendar at all
        log.warning("calendar data could not be parsed, skipped: %s", exc)
        result.skipped = 1
        return result

    for cal in calendars:
        timezones = [c for c in cal.subcomponents if c.name == "VTIMEZONE"]
        groups: dict[str, list[icalendar.Event]] = defaultdict(list)
        for index, component in enumerate(cal.walk("VEVENT")):
            groups[str(component.get("UID", "")) or f"(no uid #{index})"].append(component)
        for uid, events in groups.items():
            if exclude_uid is not None and exclude_uid(uid):
                continue
            broken = [name for e in events for name, _ in getattr(e, "errors", []) if name in _TIME_PROPERTIES]
            if broken:
                log.warning("calendar event %s skipped: unreadable %s", uid, ", ".join(sorted(set(broken))))
                result.skipped += 1
                continue
            try:
                single = icalendar.Calendar()
                for component in timezones:
                    single.add_component(component)
                for event in events:
                    single.add_component(event)
                # Query a day wider on each side: floating and all-day times are shifted into `zone` below.
                occurrences = recurring_ical_events.of(single).between(
                    window_start - timedelta(days=1), window_end + timedelta(days=1))
                spans = []
                for occurrence in occurrences:
                    if _is_free(occurrence):
                        continue
                    span = _occurrence_span(occurrence, zone)
                    if span and span[0] < window_end and span[1] > window_start:
                        spans.append(span)
            except Exception as exc:
                log.warning("calendar event %s skipped: %s", uid, exc)
                result.skipped += 1
                continue
            result.extend(spans)
    result.sort()
    if result.skipped:
        log.warning("%d unreadable calendar component(s) skipped", result.skipped)
    return result


def merge_spans(spans: Iterable[tuple[datetime, datetime]], *, start: datetime | None = None,
                end: datetime | None = None) -> list[tuple[datetime, datetime]]:
    """Overlapping or touching spans joined, optionally clipped to [start, end)."""
    merged: list[list[datetime]] = []
    for s, e in sorted(spans):
        if start is not None:
            s = max(s, start)
        if end is not None:
            e = min(e, end)
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def subtract_spans(spans: Iterable[tuple[datetime, datetime]],
                   holes: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """`spans` with the time covered by `holes` cut out."""
    holes = merge_spans(holes)
    out: list[tuple[datetime, datetime]] = []
    for s, e in merge_spans(spans):
        cursor = s
        for hs, he in holes:
            if he <= cursor or hs >= e:
                continue
            if hs > cursor:
                out.append((cursor, hs))
            cursor = max(cursor, he)
            if cursor >= e:
                break
        if cursor < e:
            out.append((cursor, e))
    return out
