"""Dates and times in customer messages, resolved in the workspace's time zone relative to the message time.

Rules of our own (compiled once, no I/O) cover what booking conversations say: "tomorrow", "tonight", "the day
after tomorrow", "this Friday", "next Thursday", "in 2 weeks", "15 days from today", "the 3rd", "Dec 5th",
"Friday the 28th of December, 2018", "2018/04/24", "5/12" (month/day order from the phone region), "7:30 pm",
"0730pm", "noon", "half past seven", "quarter to 8", "30 minutes before 12pm", "7ish", "at 7", "in an hour".
dateparser is only a fallback for month names our rules did not place.

`find_datetimes` returns `Candidate`s of kind "date" (value "YYYY-MM-DD") and "time" (value "HH:MM", 24 h); the
resolver in `ai.entities` decides between overlapping spans and maps them to fields.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from backend.ai.candidates import Candidate
from backend.ai.numwords import HOUR_WORD, NUM, ORD_WORD, parse_number, parse_ordinal

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


# ---- times ----
RE_HM = _c(rf"(?<![\d:.,/$€£])(?P<h>[01]?\d|2[0-3])(?P<sep>[:.])(?P<m>[0-5]\d)(?![\d%]|[.,:]\d)"
           rf"(?:\s*{AMPM})?(?P<ish>-?ish\b)?{DAYPART_SUFFIX}")
RE_H_AMPM = _c(rf"(?<![\d:.,/$€£])(?P<h>1[0-2]|0?[1-9])(?P<m>[0-5]\d)?\s*{AMPM}{DAYPART_SUFFIX}")
RE_WORD_AMPM = _c(rf"\b(?P<hw>{HOUR_WORD})(?:[\s-](?P<mw>{MINUTE_WORD}))?\s*(?:{AMPM}|o['’]?\s?clock\b)"
                  rf"{DAYPART_SUFFIX}")
RE_OCLOCK = _c(rf"(?<![\d:.,])(?P<h>1[0-2]|0?[1-9])\s*o['’]?\s?clock\b(?:\s*{AMPM})?{DAYPART_SUFFIX}")
RE_NOON = _c(r"\b(?:12\s+)?(?P<w>noon|midday|mid-day|midnight)\b")
RE_REL_MIN = _c(rf"\b(?:a\s+)?(?P<q>quarter|half|{MINUTE_WORD}|twenty[\s-](?:one|two|three|four|five|six|seven|"
                rf"eight|nine)|one|two|three|four|six|seven|eight|nine|eleven|twelve|thirteen|fourteen|sixteen|"
                rf"seventeen|eighteen|nineteen|five|\d{{1,2}})(?P<min>\s+(?:minutes?|mins?))?[\s-]+"
                rf"(?P<dir>past|after|to|before|til|till|of)\s+(?P<hour>(?:1[0-2]|0?[1-9])(?::[0-5]\d)?(?!\d)|"
                rf"(?:{HOUR_WORD}|noon|midnight)\b)(?:\s*{AMPM}|\s*o['’]?\s?clock\b)?{DAYPART_SUFFIX}")
RE_ISH = _c(rf"(?<![\d:.,])(?P<h>1[0-2]|0?[1-9]|{HOUR_WORD})(?P<ish>-?ish\b|(?=\s+-?ish\b))")
RE_PREP_H = _c(rf"(?:(?<=\s)|^|(?<=[(,]))(?:{TIME_PREP})\s+(?:(?:around|about|approximately|roughly|like|maybe|"
               rf"say)\s+)*(?P<h>2[0-3]|1\d|0?\d|{HOUR_WORD})(?:[\s-](?P<mw>{MINUTE_WORD}))?\b(?!{NOT_TIME_AFTER})"
               rf"{DAYPART_SUFFIX}")
RE_HHMM24 = _c(rf"(?:(?<=\s)|^)(?:{TIME_PREP})\s+(?:(?:around|about|approximately|roughly|like)\s+)*"
                rf"(?P<h>[01]?\d|2[0-3])(?P<m>[0-5]\d)\b(?![/.\-]\d)(?:\s*(?:hrs|hours|h)\b)?")
RE_HHMM_BARE = _c(r"(?<![\w/.:\-])(?P<h>[01]?\d|2[0-3])(?P<m>[0-5]\d)(?![\w/]|[.:\-]\d)")
RE_HALF_BRIT = _c(rf"\b(?P<half>half)[\s-]+(?P<h>1[0-2]|0?[1-9]|{HOUR_WORD})\b(?!\s*(?:people|persons|guests|"
                  r"hours?|days?|of|an?\b|dozen|price|portion))")
RE_H_DAYPART = _c(rf"(?<!party\sof\s)(?<!group\sof\s)(?<!table\sof\s)(?<![\d:.,])(?P<h>1[0-2]|0?[1-9]|{HOUR_WORD})"
                  r"(?P<dp>\s+in\s+the\s+(?:morning|afternoon|evening)|\s+at\s+night)\b")
RE_NOW = _c(r"(?:\b(?:free|available|open|right|from|starting)\s+|^\s*)(?P<now>now)\b(?=\s*[?.!]*\s*$|\s*\?)")
RE_H_SUFFIX = _c(r"(?<![\d:.])(?P<h>[01]?\d|2[0-3])h(?P<m>[0-5]\d)\b")
RE_REL_DUR = _c(rf"\b(?:in|within)\s+(?:(?:about|around|roughly|approximately|just|another)\s+)?"
                rf"(?P<n>an?|one|half\s+an?|an?\s+half|a\s+couple\s+of|a\s+few|couple\s+of|{NUM})\s+"
                rf"(?P<u>hours?|hrs?|minutes?|mins?)\b"
                rf"(?P<half>\s+and\s+a\s+half)?")
RE_DUR_FROM_NOW = _c(rf"\b(?P<n>an?|one|half\s+an?|{NUM})\s+(?P<u>hours?|hrs?|minutes?|mins?)\s+from\s+now\b")

# ---- dates ----
RE_MD = _c(rf"\b(?:(?P<wd>{WD_ANY})(?:[,.]\s*|\s+)(?:the\s+)?)?(?P<mon>{MONTH}),?\s*(?:the\s+)?{DAY}\b"
           rf"(?:(?:,\s*|\s+|\.)(?:of\s+)?{YEAR}\b)?{THIS_YEAR}")
RE_DM = _c(rf"\b(?:(?P<wd>{WD_ANY})(?:[,.]\s*|\s+)(?:the\s+)?)?(?:the\s+)?{DAY}\b(?P<of>\s+of)?\s+(?P<mon>{MONTH})"
           rf"(?:,?\s*{YEAR}\b)?{THIS_YEAR}")
RE_ORD = _c(rf"\b(?:(?P<wd>{WD_ANY})[,.]?\s+)?(?:(?P<the>the)\s+)?(?P<d>(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)|"
            rf"{ORD_WORD})\b(?:\s+of\s+(?P<rel>this|next|the)\s+month\b)?{THIS_YEAR}")
RE_THE_DAY = _c(r"\b(?:on|date\s+(?:to|is|of|for)|for|until|till|by)\s+the\s+(?P<d>[12]\d|3[01]|0?[1-9])\b"
                r"(?=\s*(?:$|[?.!,;]|at\b|for\b|please\b|instead\b|then\b|of\s+(?:this|next)\s+month))")
RE_NTH_WD = _c(rf"\b(?P<nth>first|second|third|fourth|last|1st|2nd|3rd|4th)\s+(?P<wd>{WD_FULL})\s+(?:of|in)\s+"
               rf"(?:(?P<rel>this|next)\s+month|(?P<mon>{MONTH}))(?:\s+this\s+year)?")
RE_HOLIDAY = _c(r"\b(?P<h>christmas\s+eve|christmas(?:\s+day)?|xmas(?:\s+eve)?|new\s+year['’]?s\s+eve|"
                r"new\s+year['’]?s(?:\s+day)?|valentine['’]?s(?:\s+day)?|halloween|boxing\s+day|"
                r"st\.?\s+patrick['’]?s\s+day|independence\s+day|fourth\s+of\s+july|4th\s+of\s+july|"
                r"thanksgiving(?:\s+day)?)")
RE_YMD = _c(r"(?<![\d/.-])(?P<y>(?:19|20)\d{2})(?P<sep>[-/.])(?P<a>0?[1-9]|1[0-2])(?P=sep)(?P<b>0?[1-9]|[12]\d|3[01])"
            r"(?![\d/]|[.-]\d)")
RE_NUM_DATE = _c(rf"\b(?:(?P<wd>{WD_ANY})[,.]?\s+)?(?<![\d/.-])(?P<a>\d{{1,2}})(?P<sep>[/.-])(?P<b>\d{{1,2}})(?P=sep)"
                 r"(?P<y>(?:19|20)?\d{2})(?![\d/]|[.-]\d)")
RE_NUM_MD = _c(rf"\b(?:(?P<wd>{WD_ANY})[,.]?\s+)?(?<![\d/.:$€£-])(?P<a>\d{{1,2}})/(?P<b>\d{{1,2}})(?![\d/]|\.\d)"
               r"(?!\s*(?:people|persons|guests|of|hours?|cups?|lbs?|pounds?|off|stars?))(?P<ty>\s+this\s+year\b)?")
RE_REL_DAY = _c(r"\b(?:(?P<the>the)\s+)?(?P<w>today|tonight|tonite|tonigth|this\s+(?:morning|afternoon|evening|eve)|"
                r"tomorrow|tomorow|tommorow|tommorrow|tmrw|tmr|2morrow|2moro|day\s+after\s+(?:tomorrow|tmrw)|"
                r"yesterday|overmorrow)\b")
RE_IN_N = _c(rf"\b(?:in|within)\s+(?:(?:about|around|roughly|approximately|exactly|just|another)\s+)?"
             rf"(?P<n>{NUM}|an?|one|a\s+couple\s+of|a\s+few)\s+(?:more\s+|further\s+)?"
             rf"(?P<u>days?|weeks?|months?|fortnights?)\b(?:\s+and\s+(?P<n2>{NUM}|an?|one)\s+(?P<u2>days?)\b)?")
RE_N_FROM = _c(rf"\b(?P<n>{NUM}|an?|one)\s+(?P<u>days?|weeks?|months?)\s+(?:from\s+(?P<base>now|today|tomorrow)|"
               r"later|hence|after\s+today|out)\b")
RE_FORTNIGHT = _c(r"\b(?:in\s+a\s+fortnight|a\s+fortnight\s+from\s+(?:now|today))\b")
RE_WEEKEND = _c(r"\b(?P<mod>this|next|the|this\s+coming|coming)\s+weekend\b")
RE_WEEKDAY = _c(rf"\b(?:(?P<mod>next\s+week(?:\s+on)?|the\s+week\s+after\s+next(?:\s+on)?|this\s+coming|"
                r"the\s+coming|this|next|coming|upcoming|following|the\s+following)\s+|"
                rf"(?P<on>on|for|this|by|until|till)\s+)?(?P<wd>{WD_FULL}|{WD_ABBR})(?!['’]s|\w)"
                r"(?P<after>\s+next\s+week|\s+after\s+next|\s+week\s+after\s+next)?")

RE_EVENING = _c(r"\b(?:evening|tonight|tonite|tonigth|night|dinner|supper|p\.?m\b)")
RE_MORNING = _c(r"\b(?:morning|breakfast|brunch|a\.m\.)")
RE_LUNCH = _c(r"\blunch")
RE_AFTERNOON = _c(r"\bafternoon")
RE_MONTH_WORD = _c(rf"\b{MONTH}")

# Following words that make an ordinal something other than a day of the month ("my 21st birthday").
ORD_NOT_DATE_WORDS = frozenset({"time", "times", "floor", "birthday", "anniversary", "row", "place", "century",
                                "grade", "street", "st", "avenue", "ave", "road", "person", "people", "guest",
                                "course", "visit", "table", "choice", "option", "one", "edition", "round",
                                "attempt", "try", "booking", "reservation", "seat", "year", "week", "month",
                                "day", "party", "wedding", "bday", "child", "kid", "baby", "grader", "hole",
                                "item", "dish", "glass", "bottle", "time", "percentile", "position"})
ORD_DATE_FOLLOW_OK = frozenset({"at", "for", "please", "and", "or", "instead", "then", "is", "would", "works",
                                "work", "in", "around", "if", "but", "so", "because", "thanks", "thank", "too",
                                "as", "from", "to", "till", "until", "by", "with", "on", "that", "this", "evening",
                                "night", "morning", "afternoon", "pls", "plz", "i", "we", "ok", "okay", "of",
                                "should", "will", "could", "can", "sounds", "after", "before", "about", "lunch",
                                "dinner", "breakfast"})


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


# ---------------------------------------------------------------- helpers

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


# ---------------------------------------------------------------- times

@dataclass(frozen=True)
class _Context:
    evening: bool
    morning: bool
    lunch: bool
    afternoon: bool


def _context(text: str) -> _Context:
    return _Context(bool(RE_EVENING.search(text)), bool(RE_MORNING.search(text)), bool(RE_LUNCH.search(text)),
                    bool(RE_AFTERNOON.search(text)))


def _meridiem(h: int, m: int, ap: str | None, daypart: str | None, ctx: _Context, leading_zero: bool,
              base_conf: float) -> tuple[int, float, tuple[str, ...]]:
    """24-hour hour, confidence, alternative readings for an hour written with or without am/pm."""
    if ap:
        ap = ap.lower()
        if h > 12:
            return h, base_conf * 0.9, ()
        if ap == "p":
            return (12 if h == 12 else h + 12), base_conf, ()
        return (0 if h == 12 else h), base_conf, ()
    if h == 0 or h > 12:
        return h, base_conf, ()
    dp = (daypart or "").lower()
    if "morning" in dp:
        return (0 if h == 12 else h), base_conf, ()
    if "afternoon" in dp or "evening" in dp or "night" in dp:
        if "night" in dp and h == 12:
            return 0, base_conf, ()
        return (12 if h == 12 else h + 12), base_conf, ()
    if leading_zero:  # "07:45" is how 24-hour clocks write the morning
        return h, base_conf * 0.85, (_hm(h + 12 if h < 12 else h, m),)
    if h == 12:
        return 12, base_conf * 0.85, ()
    am, pm = h, h + 12
    if ctx.evening and not ctx.morning:
        return pm, base_conf * 0.9, ()
    if ctx.morning and not ctx.evening:
        return am, base_conf * 0.9, ()
    if ctx.lunch:
        return (am if h >= 10 else pm), base_conf * 0.85, ()
    if ctx.afternoon:
        return pm, base_conf * 0.85, ()
    if 1 <= h <= 6:
        return pm, base_conf * 0.7, (_hm(am, m),)
    return am, base_conf * 0.65, (_hm(pm, m),)


def _hour_value(token: str) -> int | None:
    token = token.strip()
    if token.isdigit():
        return int(token)
    return parse_number(token)


def _minute_word(token: str | None) -> int:
    if not token:
        return 0
    t = re.sub(r"[\s-]+", " ", token.lower()).strip()
    if t.startswith("o"):
        return 5
    return parse_number(t) or 0



def _time_cand(text: str, start: int, end: int, h: int, mi: int, conf: float, prio: float,
               alts: tuple[str, ...] = ()) -> Candidate | None:
    if not (0 <= h <= 24 and 0 <= mi <= 59):
        return None
    value = _hm(h, mi)
    return Candidate("time", start, end, value, conf, prio, tuple(a for a in alts if a != value),
                     {"hour": h % 24, "minute": mi})


def _find_times(text: str, clock: Clock, ctx: _Context, expect_time: bool) -> list[Candidate]:
    out: list[Candidate] = []

    def dp(m: re.Match[str]) -> str | None:
        return m.groupdict().get("dp")

    for m in RE_HM.finditer(text):
        h, mi, ap, sep = int(m.group("h")), int(m.group("m")), m.group("ap"), m.group("sep")
        if sep == "." and not ap and not m.group("dp") and not m.group("ish"):
            before = text[max(0, m.start() - 12):m.start()].lower()
            if re.search(r"[$€£¥₹]\s*$|(?:usd|eur|gbp)\s*$", before):
                continue
            if re.match(r"\s*(?:dollars?|euros?|pounds?|bucks|usd|eur|gbp|%|stars?|km|miles?|kg)", text[m.end():],
                        _I):
                continue
        if ap and h > 12:
            ap = None
        conf = 0.95 if (ap or h > 12 or h == 0) else 0.8
        hh, conf, alts = _meridiem(h, mi, ap, dp(m), ctx, m.group("h").startswith("0") and len(m.group("h")) == 2,
                                   conf)
        if sep == ".":
            conf *= 0.9
        c = _time_cand(text, m.start(), m.end(), hh, mi, conf, 0.9, alts)
        if c:
            out.append(c)
    for m in RE_H_AMPM.finditer(text):
        h = int(m.group("h"))
        mi = int(m.group("m")) if m.group("m") else 0
        hh, conf, alts = _meridiem(h, mi, m.group("ap"), dp(m), ctx, False, 0.95)
        c = _time_cand(text, m.start(), m.end(), hh, mi, conf, 0.9, alts)
        if c:
            out.append(c)
    for m in RE_WORD_AMPM.finditer(text):
        h = parse_number(m.group("hw")) or 0
        mi = _minute_word(m.group("mw"))
        hh, conf, alts = _meridiem(h, mi, m.group("ap"), dp(m), ctx, False, 0.9 if m.group("ap") else 0.85)
        c = _time_cand(text, m.start(), m.end(), hh, mi, conf, 0.85, alts)
        if c:
            out.append(c)
    for m in RE_OCLOCK.finditer(text):
        h = int(m.group("h"))
        hh, conf, alts = _meridiem(h, 0, m.group("ap"), dp(m), ctx, False, 0.9)
        c = _time_cand(text, m.start(), m.end(), hh, 0, conf, 0.85, alts)
        if c:
            out.append(c)
    for m in RE_NOON.finditer(text):
        w = m.group("w").lower()
        c = _time_cand(text, m.start(), m.end(), 0 if w == "midnight" else 12, 0, 0.95, 0.9)
        if c:
            out.append(c)
    for m in RE_REL_MIN.finditer(text):
        q, direction = m.group("q").lower(), m.group("dir").lower()
        if q == "quarter":
            delta = 15
        elif q == "half":
            delta = 30
            if direction != "past" and direction != "after":
                continue
        elif q.isdigit() or re.fullmatch(r"[a-z\s-]+", q) and parse_number(q):
            delta = int(q) if q.isdigit() else (parse_number(q) or 0)
            if q.isdigit() and not m.group("min") and direction not in ("past",):
                continue
            if not 0 < delta < 60:
                continue
        else:
            delta = int(q) if q.isdigit() else _minute_word(q) or (parse_number(q) or 0)
            if q.isdigit() and not m.group("min") and direction not in ("past",):
                continue
            if not 0 < delta < 60:
                continue
        hour_tok = m.group("hour").lower()
        if hour_tok in ("noon", "midnight"):
            base_h, base_m, ap = (12 if hour_tok == "noon" else 0), 0, None
            h24, conf, alts = base_h, 0.9, ()
        else:
            if ":" in hour_tok:
                hs, ms = hour_tok.split(":")
                base_h, base_m = int(hs), int(ms)
            else:
                base_h, base_m = _hour_value(hour_tok) or 0, 0
            h24, conf, alts = _meridiem(base_h, base_m, m.group("ap"), dp(m), ctx, False, 0.9)
        total = h24 * 60 + base_m + (delta if direction in ("past", "after") else -delta)
        total %= 24 * 60
        alt_vals = []
        for a in alts:
            ah, am_ = (int(x) for x in a.split(":"))
            at = (ah * 60 + am_ + (delta if direction in ("past", "after") else -delta)) % (24 * 60)
            alt_vals.append(_hm(at // 60, at % 60))
        start = m.start("q")
        c = _time_cand(text, start, m.end(), total // 60, total % 60, conf, 0.95, tuple(alt_vals))
        if c:
            out.append(c)
    for m in RE_ISH.finditer(text):
        h = _hour_value(m.group("h")) or 0
        hh, conf, alts = _meridiem(h, 0, None, None, ctx, False, 0.8)
        c = _time_cand(text, m.start(), m.end(), hh, 0, conf, 0.8, alts)
        if c:
            out.append(c)
    for m in RE_PREP_H.finditer(text):
        prep = m.group("prep").lower()
        tok = m.group("h")
        h = _hour_value(tok)
        if h is None:
            continue
        mi = _minute_word(m.group("mw"))
        if prep in ("for", "to", "from", "by", "say") and not (expect_time or m.group("mw") or m.group("dp")):
            continue  # "for 4" is a party size unless a time was asked for
        if h > 12 and not tok.isdigit():
            continue
        if not tok.isdigit() and prep not in ("at", "around", "about", "by", "until", "till", "til", "after",
                                              "before", "@") and not m.group("mw") and not expect_time:
            continue
        if h > 23:
            continue
        lead0 = tok.startswith("0") and len(tok) == 2
        hh, conf, alts = _meridiem(h, mi, None, dp(m), ctx, lead0, 0.75 if prep != "for" else 0.6)
        start = m.start("h")
        c = _time_cand(text, start, m.end(), hh, mi, conf, 0.6 if prep not in ("for", "to") else 0.25, alts)
        if c:
            out.append(c)
    for m in RE_HHMM24.finditer(text):
        c = _time_cand(text, m.start("h"), m.end(), int(m.group("h")), int(m.group("m")), 0.8, 0.7)
        if c:
            out.append(c)
    for m in RE_H_SUFFIX.finditer(text):
        c = _time_cand(text, m.start(), m.end(), int(m.group("h")), int(m.group("m")), 0.85, 0.8)
        if c:
            out.append(c)
    if expect_time:
        # "1930", "630 please" answering "what time?"
        for m in RE_HHMM_BARE.finditer(text):
            h, mi = int(m.group("h")), int(m.group("m"))
            hh, conf, alts = _meridiem(h, mi, None, None, ctx, m.group("h").startswith("0"), 0.75)
            c = _time_cand(text, m.start(), m.end(), hh, mi, conf, 0.6, alts)
            if c:
                out.append(c)
        # "twelve twenty", "seven thirty"
        for m in re.finditer(rf"\b(?P<hw>{HOUR_WORD})[\s-](?P<mw>{MINUTE_WORD})\b", text, _I):
            h = parse_number(m.group("hw")) or 0
            mi = _minute_word(m.group("mw"))
            hh, conf, alts = _meridiem(h, mi, None, None, ctx, False, 0.8)
            c = _time_cand(text, m.start(), m.end(), hh, mi, conf, 0.7, alts)
            if c:
                out.append(c)
    for m in RE_HALF_BRIT.finditer(text):
        # British "half 8" is 8:30
        h = _hour_value(m.group("h")) or 0
        hh, conf, alts = _meridiem(h, 30, None, None, ctx, False, 0.7)
        c = _time_cand(text, m.start(), m.end(), hh, 30, conf, 0.75, alts)
        if c:
            out.append(c)
    for m in RE_H_DAYPART.finditer(text):
        h = _hour_value(m.group("h")) or 0
        hh, conf, alts = _meridiem(h, 0, None, m.group("dp"), ctx, False, 0.9)
        end = m.end() if "in the" in m.group("dp").lower() else m.end("h")
        c = _time_cand(text, m.start(), end, hh, 0, conf, 0.85, alts)
        if c:
            out.append(c)
    for m in RE_NOW.finditer(text):
        at = clock.now
        out.append(Candidate("time", m.start("now"), m.end("now"), _hm(at.hour, at.minute), 0.7, 0.6, (),
                             {"hour": at.hour, "minute": at.minute, "relative": True}))
        out.append(_date_cand(m.start("now"), m.end("now"), at.date(), 0.7, 0.6, relative=True))
    return out


def _duration(n_tok: str, unit: str, half: bool = False) -> timedelta | None:
    n_tok = re.sub(r"\s+", " ", n_tok.lower().strip())
    if n_tok in ("a", "an", "one"):
        n: float = 1
    elif n_tok.startswith("half"):
        n = 0.5
    elif n_tok in ("a half", "an half"):
        n = 0.5
    elif n_tok == "a couple of":
        n = 2
    elif n_tok == "a few":
        n = 3
    else:
        v = parse_number(n_tok)
        if v is None:
            return None
        n = v
    if half:
        n += 0.5
    u = unit.lower()
    if u.startswith("h"):
        return timedelta(hours=n)
    if u.startswith("m"):
        return timedelta(minutes=n)
    return None


def _find_relative_times(text: str, clock: Clock) -> list[Candidate]:
    out: list[Candidate] = []
    for rx in (RE_REL_DUR, RE_DUR_FROM_NOW):
        for m in rx.finditer(text):
            delta = _duration(m.group("n"), m.group("u"), bool(m.groupdict().get("half")))
            if delta is None or delta > timedelta(hours=48):
                continue
            at = (clock.now.astimezone(ZoneInfo("UTC")) + delta).astimezone(clock.tz)
            out.append(Candidate("time", m.start(), m.end(), _hm(at.hour, at.minute), 0.85, 0.95, (),
                                 {"hour": at.hour, "minute": at.minute, "relative": True}))
            out.append(_date_cand(m.start(), m.end(), at.date(), 0.85, 0.95, relative=True))
    return out


# ---------------------------------------------------------------- dates

def _weekday_check(c_date: date, wd_tok: str | None, conf: float) -> float:
    if wd_tok and _weekday(wd_tok) != c_date.weekday():
        return conf * 0.6
    return conf


def _ambiguous_month(m: re.Match[str], text: str) -> bool:
    """"may" / "march" / "mar" written in lower case are verbs more often than months."""
    tok = text[m.start("mon"):m.end("mon")]
    return tok.lower().strip(".") in ("may", "march", "mar", "jan", "sat") and tok[0].islower()


def _find_dates(text: str, clock: Clock, expect_date: bool) -> list[Candidate]:
    today = clock.today
    out: list[Candidate] = []

    for m in RE_MD.finditer(text):
        d = parse_ordinal(m.group("d"))
        if not d:
            continue
        if _ambiguous_month(m, text) and not (m.group("y") or m.group("wd") or re.search(r"[a-z]", m.group("d"), _I)):
            continue
        if re.match(NOT_DATE_AFTER, text[m.end():], _I) and not m.group("y"):
            continue
        mon = _month(m.group("mon"))
        y = _year(m.group("y"))
        c = _safe_date(y, mon, d) if y else _next_month_day(today, mon, d)
        if not c:
            continue
        conf = _weekday_check(c, m.group("wd"), 0.95 if y else 0.9)
        start = m.start("wd") if m.group("wd") else m.start()
        out.append(_date_cand(start, m.end(), c, conf, 0.9))
    for m in RE_DM.finditer(text):
        d = parse_ordinal(m.group("d"))
        if not d:
            continue
        has_suffix = bool(re.search(r"[a-z]", m.group("d"), _I))
        if _ambiguous_month(m, text) and not (m.group("y") or has_suffix or m.group("of")):
            continue
        if not (has_suffix or m.group("of") or m.group("y")):
            # "for 4 Jan": only a date when nothing says the number is something else
            prev = text[max(0, m.start() - 8):m.start()].lower()
            if re.search(r"\b(?:for|of)\s*$", prev) and not m.group("wd"):
                continue
        mon = _month(m.group("mon"))
        y = _year(m.group("y"))
        c = _safe_date(y, mon, d) if y else _next_month_day(today, mon, d)
        if not c:
            continue
        conf = _weekday_check(c, m.group("wd"), 0.95 if y else 0.9)
        start = m.start("wd") if m.group("wd") else m.start("d")
        out.append(_date_cand(start, m.end(), c, conf, 0.9))
    for m in RE_ORD.finditer(text):
        tok = m.group("d")
        d = parse_ordinal(tok)
        if not d or d > 31:
            continue
        is_word = not tok[0].isdigit()
        if is_word and not (m.group("the") or m.group("wd")):
            continue
        follow = re.match(r"\s*([A-Za-z]+)", text[m.end():])
        if follow and not m.group("rel"):
            word = follow.group(1).lower()
            if is_word and word not in ORD_DATE_FOLLOW_OK or not is_word and word in ORD_NOT_DATE_WORDS:
                continue
        if is_word:
            before = text[max(0, m.start() - 12):m.start()].lower()
            if not (m.group("wd") or re.search(r"\b(?:on|for|until|till|by|from|to|the|'s|is)\s*$", before)
                    or expect_date):
                continue
        rel = (m.group("rel") or "").lower()
        c = _next_day_of_month(today, d, 1 if rel == "next" else 0)
        if not c:
            continue
        conf = 0.8
        alts: tuple[date, ...] = ()
        if m.group("wd"):
            # "Friday the 13th": the next month where the 13th is a Friday, within a year
            wd = _weekday(m.group("wd"))
            probe = c
            for _ in range(14):
                if probe.weekday() == wd:
                    break
                nxt = _next_day_of_month(probe + timedelta(days=1), d)
                if not nxt:
                    break
                probe = nxt
            if probe.weekday() == wd:
                c = probe
            else:
                conf = 0.5
        start = m.start("wd") if m.group("wd") else m.start("d")
        out.append(_date_cand(start, m.end(), c, conf, 0.9 if m.group("wd") else 0.7, alts))
    for m in RE_YMD.finditer(text):
        c = _safe_date(int(m.group("y")), int(m.group("a")), int(m.group("b")))
        if c:
            out.append(_date_cand(m.start(), m.end(), c, 0.97, 0.95))
    for m in RE_NUM_DATE.finditer(text):
        a, b, y = int(m.group("a")), int(m.group("b")), _year(m.group("y"))
        if y is None:
            continue
        month_first = clock.month_first and m.group("sep") != "."
        mm, dd = (a, b) if month_first else (b, a)
        c = _safe_date(y, mm, dd)
        alt = _safe_date(y, dd, mm) if a != b else None
        if not c:
            c, alt = alt, None
        if not c:
            continue
        conf = 0.9 if (alt is None or a > 12 or b > 12) else 0.8
        if m.group("wd"):
            if alt and alt.weekday() == _weekday(m.group("wd")) and c.weekday() != alt.weekday():
                c, alt = alt, c
            conf = _weekday_check(c, m.group("wd"), conf)
        start = m.start("wd") if m.group("wd") else m.start("a")
        out.append(_date_cand(start, m.end(), c, conf, 0.9, (alt,) if alt else ()))
    for m in RE_NUM_MD.finditer(text):
        a, b = int(m.group("a")), int(m.group("b"))
        mm, dd = (a, b) if clock.month_first else (b, a)
        c = _safe_date(today.year, mm, dd) and _next_month_day(today, mm, dd)
        alt = _safe_date(today.year, dd, mm) and _next_month_day(today, dd, mm) if a != b else None
        if not c:
            c, alt = alt, None
        if not c:
            continue
        conf = 0.75 if (alt is None) else 0.6
        start = m.start("wd") if m.group("wd") else m.start("a")
        out.append(_date_cand(start, m.end(), c, conf, 0.6, (alt,) if alt else ()))
    for m in RE_REL_DAY.finditer(text):
        w = re.sub(r"\s+", " ", m.group("w").lower())
        if w in ("today", "tonight", "tonite", "tonigth") or w.startswith("this "):
            c, conf = today, 0.95
            if w.startswith("toni") and clock.now.hour < 4:
                conf = 0.8  # said after midnight: "tonight" may be the evening of the calendar day just begun
        elif w.startswith("day after") or w == "overmorrow":
            c, conf = today + timedelta(days=2), 0.95
        elif w == "yesterday":
            c, conf = today - timedelta(days=1), 0.9
        else:
            c, conf = today + timedelta(days=1), 0.95
            if clock.now.hour < 4:
                conf = 0.75  # "tomorrow" at 1 am often means the day that has just begun
                out.append(_date_cand(m.start("w"), m.end(), c, conf, 0.9, (today,)))
                continue
        out.append(_date_cand(m.start("w"), m.end(), c, conf, 0.9))
    for m in RE_IN_N.finditer(text):
        c = _relative_date(today, m.group("n"), m.group("u"), None)
        if c and m.group("n2"):
            extra = _relative_date(today, m.group("n2"), m.group("u2"), None)
            c = c + (extra - today) if extra else c
        if c:
            out.append(_date_cand(m.start(), m.end(), c, 0.9, 0.9))
    for m in RE_N_FROM.finditer(text):
        c = _relative_date(today, m.group("n"), m.group("u"), m.groupdict().get("base"))
        if c:
            out.append(_date_cand(m.start(), m.end(), c, 0.9, 0.9))
    for m in RE_FORTNIGHT.finditer(text):
        out.append(_date_cand(m.start(), m.end(), today + timedelta(days=14), 0.85, 0.9))
    for m in RE_WEEKEND.finditer(text):
        mod = m.group("mod").lower()
        sat = today + timedelta(days=(5 - today.weekday()) % 7)
        if today.weekday() == 6:
            sat = today - timedelta(days=1) if mod != "next" else today + timedelta(days=6)
        elif mod == "next":
            sat = sat + timedelta(days=7) if today.weekday() < 5 else sat
        start = m.start() if mod != "the" else m.start() + 4
        out.append(_date_cand(start, m.end(), sat, 0.5, 0.8, (sat + timedelta(days=1),)))
    for m in RE_WEEKDAY.finditer(text):
        wd_tok = m.group("wd")
        is_abbr = not re.fullmatch(WD_FULL, wd_tok, _I)
        mod = (m.group("mod") or "").lower()
        on = (m.group("on") or "").lower()
        if is_abbr and not (mod or on):
            continue
        if is_abbr and wd_tok.lower().startswith(("sat", "sun", "wed")) and not wd_tok[0].isupper() and not mod:
            continue  # "on sat" is a verb phrase more often than Saturday
        wd = _weekday(wd_tok)
        delta = (wd - today.weekday()) % 7
        coming = today + timedelta(days=delta or 7)
        after = re.sub(r"\s+", " ", (m.group("after") or "").lower().strip())
        start = m.start("mod") if mod else m.start("wd")
        if after == "next week":
            c = today + timedelta(days=7 - today.weekday() + wd)
            out.append(_date_cand(start, m.end(), c, 0.85, 0.85))
            continue
        if after in ("after next", "week after next"):
            c = today + timedelta(days=14 - today.weekday() + wd)
            out.append(_date_cand(start, m.end(), c, 0.8, 0.85))
            continue
        end = m.end("wd")
        n_before = len(out)
        if mod.startswith("next week") or mod.startswith("the week after"):
            weeks = 1 if mod.startswith("next") else 2
            c = today + timedelta(days=7 * weeks - today.weekday() + wd)
            out.append(_date_cand(start, end, c, 0.85, 0.85, weekday=wd))
            continue
        if mod in ("this", "this coming", "the coming", "coming", "upcoming"):
            c = today if (delta == 0 and mod == "this") else coming
            out.append(_date_cand(start, end, c, 0.85, 0.85))
        elif mod in ("next", "following", "the following"):
            next_week = today + timedelta(days=7 - today.weekday() + wd)
            if next_week == coming:
                out.append(_date_cand(start, end, coming, 0.75, 0.85, (coming + timedelta(days=7),)
                                      if delta <= 2 else ()))
            else:
                out.append(_date_cand(start, end, next_week, 0.55, 0.85, (coming,)))
        else:
            if delta == 0:
                out.append(_date_cand(start, end, today + timedelta(days=7), 0.55, 0.8, (today,)))
            else:
                out.append(_date_cand(start, end, coming, 0.85, 0.8))
        for c in out[n_before:]:
            c.meta["weekday"] = wd
    for m in RE_THE_DAY.finditer(text):
        c = _next_day_of_month(today, int(m.group("d")))
        if c:
            out.append(_date_cand(m.start("d") - 4, m.end("d"), c, 0.7, 0.65))
    for m in RE_NTH_WD.finditer(text):
        nth = m.group("nth").lower()[:3]
        wd = _weekday(m.group("wd"))
        if m.group("mon"):
            mon = _month(m.group("mon"))
            first = _next_month_day(today.replace(day=1), mon, 1) or today
        else:
            first = _add_months(today.replace(day=1), 1 if (m.group("rel") or "").lower() == "next" else 0)
        days = [first + timedelta(days=k) for k in range(calendar.monthrange(first.year, first.month)[1])]
        hits = [d for d in days if d.weekday() == wd]
        idx = {"fir": 0, "1st": 0, "sec": 1, "2nd": 1, "thi": 2, "3rd": 2, "fou": 3, "4th": 3, "las": -1}[nth]
        out.append(_date_cand(m.start(), m.end(), hits[idx], 0.85, 0.95))
    for m in RE_HOLIDAY.finditer(text):
        c = _holiday(today, m.group("h"))
        if c:
            out.append(_date_cand(m.start(), m.end(), c, 0.85, 0.85))
    return out


def _holiday(today: date, name: str) -> date | None:
    n = re.sub(r"[\s'’.]+", " ", name.lower()).strip()
    fixed = {"christmas eve": (12, 24), "xmas eve": (12, 24), "christmas": (12, 25), "christmas day": (12, 25),
             "xmas": (12, 25), "new year s eve": (12, 31), "new years eve": (12, 31), "new year s": (1, 1),
             "new years": (1, 1), "new year s day": (1, 1), "new years day": (1, 1), "valentine s": (2, 14),
             "valentines": (2, 14), "valentine s day": (2, 14), "valentines day": (2, 14), "halloween": (10, 31),
             "boxing day": (12, 26), "st patrick s day": (3, 17), "st patricks day": (3, 17),
             "independence day": (7, 4), "fourth of july": (7, 4), "4th of july": (7, 4)}
    if n in fixed:
        return _next_month_day(today, *fixed[n])
    if n.startswith("thanksgiving"):  # the fourth Thursday of November (US)
        for y in (today.year, today.year + 1):
            nov1 = date(y, 11, 1)
            d = nov1 + timedelta(days=(3 - nov1.weekday()) % 7 + 21)
            if d >= today:
                return d
    return None


def _relative_date(today: date, n_tok: str, unit: str, base: str | None) -> date | None:
    n_tok = re.sub(r"\s+", " ", n_tok.lower().strip())
    if n_tok in ("a", "an", "one"):
        n = 1
    elif n_tok == "a couple of":
        n = 2
    elif n_tok == "a few":
        n = 3
    else:
        v = parse_number(n_tok)
        if v is None:
            return None
        n = v
    if n > 400:
        return None
    start = today + timedelta(days=1) if base == "tomorrow" else today
    u = unit.lower()
    if u.startswith("day"):
        return start + timedelta(days=n)
    if u.startswith("week"):
        return start + timedelta(weeks=n)
    if u.startswith("fortnight"):
        return start + timedelta(weeks=2 * n)
    if u.startswith("month"):
        return _add_months(start, n)
    return None


def _merge_dates(text: str, cands: list[Candidate]) -> list[Candidate]:
    """"tomorrow (Friday)", "Aug 26 2018, on Sunday": adjacent date spans that agree become one span."""
    dates = sorted((c for c in cands if c.kind == "date"), key=lambda c: (c.start, -c.end))
    others = [c for c in cands if c.kind != "date"]
    merged: list[Candidate] = []
    inner: list[Candidate] = []
    for c in dates:
        if merged and c.end <= merged[-1].end:
            inner.append(c)  # inside the previous span: left to the resolver
            continue
        if merged:
            p = merged[-1]
            gap = text[p.end:c.start]
            agree = p.value == c.value or _weekday_agrees(p, c) or _weekday_agrees(c, p)
            if c.start >= p.end and agree and re.fullmatch(r"[\s,(]*(?:on\s+)?(?:the\s+)?", gap, _I):
                keep = c if "weekday" in p.meta and "weekday" not in c.meta else p
                merged[-1] = Candidate("date", p.start, c.end, keep.value, max(p.confidence, c.confidence),
                                       max(p.priority, c.priority), keep.alternatives, dict(keep.meta))
                continue
        merged.append(c)
    return merged + inner + others


def _weekday_agrees(wd_cand: Candidate, other: Candidate) -> bool:
    """"December 19th, Wednesday": a weekday next to a date that falls on it."""
    wd = wd_cand.meta.get("weekday")
    return wd is not None and "weekday" not in other.meta and date.fromisoformat(other.value).weekday() == wd


def _dateparser_fallback(text: str, clock: Clock, taken: list[Candidate]) -> list[Candidate]:
    """Month names our rules did not place ("2nd of Feb." styles we do not know): ask dateparser."""
    out: list[Candidate] = []
    for m in RE_MONTH_WORD.finditer(text):
        if any(c.start <= m.start() < c.end for c in taken):
            continue
        near = text[max(0, m.start() - 8):m.end() + 8]
        if not re.search(r"\d", near):
            continue  # "May I …": a month name needs a number next to it to be a date
        tok = m.group(0)
        if tok.lower().strip(".") in ("may", "march", "mar", "jan", "sat") and tok[0].islower():
            continue
        window_start = max(0, m.start() - 20)
        window = text[window_start:m.end() + 20]
        try:
            from dateparser.search import search_dates  # imported lazily: rarely needed
        except Exception:  # noqa: BLE001
            return out
        found = search_dates(window, languages=["en"], settings=_dateparser_settings(clock))
        for phrase, value in found or []:
            i = window.find(phrase)
            if i < 0 or not RE_MONTH_WORD.search(phrase) or not re.search(r"\d", phrase):
                continue
            s, e = window_start + i, window_start + i + len(phrase)
            out.append(_date_cand(s, e, value.date(), 0.6, 0.5, fallback=True))
    return out


def _dateparser_settings(clock: Clock) -> dict:
    return {"RELATIVE_BASE": clock.now.replace(tzinfo=None), "PREFER_DATES_FROM": "future",
            "DATE_ORDER": "MDY" if clock.month_first else "DMY", "REQUIRE_PARTS": ["day", "month"]}


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
