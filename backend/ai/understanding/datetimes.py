"""Dates and times in customer messages, resolved in the workspace's time zone relative to the message time.

Rules of our own (compiled once, no I/O) cover what booking conversations say: "tomorrow", "tonight", "the day
after tomorrow", "this Friday", "next Thursday", "in 2 weeks", "15 days from today", "the 3rd", "Dec 5th",
"Friday the 28th of December, 2018", "2018/04/24", "5/12" (month/day order from the phone region), "7:30 pm",
"0730pm", "noon", "half past seven", "quarter to 8", "30 minutes before 12pm", "7ish", "at 7", "in an hour".
dateparser is only a fallback for month names our rules did not place.

`find_datetimes` returns `Candidate`s of kind "date" (value "YYYY-MM-DD") and "time" (value "HH:MM", 24 h); the
resolver in `ai.entities` decides between overlapping spans and maps them to fields.

The rules live in times.py and dates.py, what they share in clock.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.ai.understanding.candidates import Candidate
from backend.ai.understanding.clock import MONTH_FIRST_REGIONS, Clock, _hm, _iso, _next_day_of_month, make_clock
from backend.ai.understanding.dates import RE_MONTH_WORD, _dateparser_fallback, _find_dates, _merge_dates
from backend.ai.understanding.times import _context, _find_relative_times, _find_times, _meridiem


def find_datetimes(text: str, clock: Clock, *, expect_time: bool = False, expect_date: bool = False
                   ) -> list[Candidate]:
    """Date and time candidates in `text` (possibly overlapping; the resolver picks)."""
    if not text:
        return []
    ctx = _context(text)
    out = _find_times(text, clock, ctx, expect_time)
    out += _find_relative_times(text, clock)
    out += _find_dates(text, clock, expect_date)
    out = _merge_dates(text, out)
    if RE_MONTH_WORD.search(text):
        out += _dateparser_fallback(text, clock, out)
    return out


def combine(d: str | None, t: str, clock: Clock) -> str:
    """ISO datetime with the zone's offset for a local date ("YYYY-MM-DD", or None for the next such time) and
    time ("HH:MM"). A time inside a spring-forward gap moves forward by the gap."""
    hh, mm = (int(x) for x in t.split(":"))
    if d:
        day = date.fromisoformat(d)
    else:
        day = clock.today
        if (hh, mm) <= (clock.now.hour, clock.now.minute):
            day = day + timedelta(days=1)
    naive = datetime(day.year, day.month, day.day, hh, mm)
    local = naive.replace(tzinfo=clock.tz)
    local = local.astimezone(ZoneInfo("UTC")).astimezone(clock.tz)  # normalises nonexistent local times
    return local.isoformat()


def time_from_hour(h: int, mi: int, text: str) -> tuple[str, float, tuple[str, ...]]:
    """A bare hour ("7" answering "what time?") read with the message's context (evening, lunch …)."""
    hh, conf, alts = _meridiem(h, mi, None, None, _context(text), False, 0.85)
    return _hm(hh, mi), conf, alts


def day_of_month(clock: Clock, d: int) -> str | None:
    """The next date with day-of-month `d` ("18" answering "which day?")."""
    c = _next_day_of_month(clock.today, d)
    return _iso(c) if c else None


__all__ = ["MONTH_FIRST_REGIONS", "Clock", "combine", "day_of_month", "find_datetimes", "make_clock", "time_from_hour"]
