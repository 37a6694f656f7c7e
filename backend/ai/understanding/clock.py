"""What dates and times are read against: the clock of the message (its moment in the business's time zone, and
whether the region writes the month first), the shared vocabulary (month and weekday names, regex pieces) and
small calendar helpers."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from backend.ai.understanding.candidates import Candidate
from backend.ai.understanding.numwords import ORD_WORD

# Regions whose people write the month first ("5/12" is May 12th).
MONTH_FIRST_REGIONS = frozenset({"US", "PH", "FM", "MH", "PW", "GU", "AS", "MP", "PR", "VI", "UM", "CA"})

_I = re.I

MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
          "nov": 11, "dec": 12}
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}

WD_FULL = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
WD_ABBR = r"(?:mon|tues|tue|weds|wed|thurs|thur|thu|fri|sat|sun)\.?"
WD_ANY = rf"(?:{WD_FULL}|{WD_ABBR})"
MONTH = (r"(?:(?:january|february|march|april|may|june|july|august|september|october|november|december)\b|"
         r"(?:jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)(?:\.|\b))")
THIS_YEAR = r"(?P<ty>\s+(?:this|next)\s+year\b)?"
NOT_DATE_AFTER = (r"\s*(?:people|persons?|guests?|adults?|kids?|children|of\s+us|of\s+them|pax|heads?|seats?|"
                  r"diners?|covers?|tables?|dollars?|bucks|euros?|pounds?|%|percent|stars?)\b")
DAY = rf"(?P<d>(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\d)|{ORD_WORD})"
YEAR = r"(?P<y>(?:19|20)\d{2}|'\d{2})"
AMPM = r"(?P<ap>[ap])(?:\.\s?m\b\.?|m\b\.?)"
DAYPART_SUFFIX = r"(?P<dp>\s+in\s+the\s+(?:morning|afternoon|evening)|\s+at\s+night)?"
# Minute words after an hour word: "seven thirty", "eight fifteen", "six forty-five".
MINUTE_WORD = r"(?:o[\s-]?five|fifteen|thirty|forty[\s-]five|forty|twenty|twenty[\s-]five|ten|fifty|forty[\s-]five)"
# Words that make "for 4" / "at 7" a count or a duration rather than a time.
NOT_TIME_AFTER = (r"\s*(?:people|persons?|person|guests?|adults?|kids?|children|child|of\s+us|of\s+them|pax|heads?|"
                  r"seats?|diners?|covers?|tables?|days?|weeks?|months?|years?|minutes?|mins?|hours?|hrs?|dollars?|"
                  r"bucks|euros?|pounds?|%|percent|stars?|[:/]\d|\.\d|st\b|nd\b|rd\b|th\b|"
                  r"(?:to|or|-|and)\s*\d+\s*(?:people|persons|guests|of\s+us)|of\b|with\b|that\b|which\b|who\b|"
                  r"another\b|more\b|less\b|or\s+(?:higher|more|better|above|less|lower)|[/]|\.\d)")
TIME_PREP = (r"(?P<prep>at|around|about|after|before|by|until|till|til|from|round|near|approximately|approx\.?|"
             r"say|for|to|circa|ca\.|@|(?:later|earlier|no\s+later|no\s+earlier|sooner)\s+than|try|maybe|"
             r"towards|past)")


def _c(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, _I)


@dataclass(frozen=True)
class Clock:
    """The message time in the workspace's zone."""

    now: datetime  # aware, local to `tz`
    tz: ZoneInfo
    month_first: bool

    @property
    def today(self) -> date:
        return self.now.date()


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except Exception:  # noqa: BLE001 - an unknown zone name must not break extraction
        return ZoneInfo("UTC")


def make_clock(now: datetime, timezone: str, phone_region: str) -> Clock:
    tz = zone(timezone)
    local = now.replace(tzinfo=tz) if now.tzinfo is None else now.astimezone(tz)
    return Clock(now=local, tz=tz, month_first=(phone_region or "").upper() in MONTH_FIRST_REGIONS)


def _month(token: str) -> int:
    return MONTHS[token.strip(". ").lower()[:3]]


def _weekday(token: str) -> int:
    return WEEKDAYS[token.strip(". ").lower()[:3]]


def _year(token: str | None) -> int | None:
    if not token:
        return None
    t = token.strip("'")
    y = int(t)
    return y + 2000 if y < 100 else y


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _add_months(d: date, months: int) -> date:
    m0 = d.month - 1 + months
    y, m = d.year + m0 // 12, m0 % 12 + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def _next_month_day(today: date, m: int, d: int) -> date | None:
    """The next `m`/`d` on or after today (this year or the next ones: Feb 29th waits for a leap year)."""
    for y in range(today.year, today.year + 8):
        cand = _safe_date(y, m, d)
        if cand and cand >= today:
            return cand
    return None


def _next_day_of_month(today: date, d: int, from_month: int = 0) -> date | None:
    base = _add_months(today.replace(day=1), from_month)
    for k in range(0, 14):
        month_start = _add_months(base, k)
        cand = _safe_date(month_start.year, month_start.month, d)
        if cand and (cand >= today or from_month):
            return cand
    return None


def _iso(d: date) -> str:
    return d.isoformat()


def _hm(h: int, m: int) -> str:
    return f"{h % 24:02d}:{m:02d}"


def _date_cand(start: int, end: int, d: date, conf: float, prio: float, alts: tuple = (), **meta: object
               ) -> Candidate:
    return Candidate("date", start, end, _iso(d), conf, prio, tuple(_iso(a) for a in alts if a != d), dict(meta))
