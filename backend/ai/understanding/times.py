"""Times of day in a message: "7:30 pm", "0730pm", "noon", "half past seven", "quarter to 8", "30 minutes before
12pm", "7ish", "at 7" (am or pm decided from the context), and times relative to now ("in an hour")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from backend.ai.understanding.candidates import Candidate
from backend.ai.understanding.clock import (
    _I,
    AMPM,
    DAYPART_SUFFIX,
    MINUTE_WORD,
    NOT_TIME_AFTER,
    TIME_PREP,
    Clock,
    _c,
    _date_cand,
    _hm,
)
from backend.ai.understanding.numwords import HOUR_WORD, NUM, parse_number

# Words that tell which half of the day a bare hour means.
RE_EVENING = _c(r"\b(?:evening|tonight|tonite|tonigth|night|dinner|supper|p\.?m\b)")
RE_MORNING = _c(r"\b(?:morning|breakfast|brunch|a\.m\.)")
RE_LUNCH = _c(r"\blunch")
RE_AFTERNOON = _c(r"\bafternoon")


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
