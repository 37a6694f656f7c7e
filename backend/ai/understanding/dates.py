"""Dates in a message: "tomorrow", "the day after tomorrow", "this Friday", "next Thursday", "in 2 weeks", "the
3rd", "Dec 5th", "Friday the 28th of December, 2018", "2018/04/24", "5/12" (month/day order from the region),
holidays; dateparser as a fallback for month names the rules did not place."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from backend.ai.understanding.candidates import Candidate
from backend.ai.understanding.clock import (
    _I,
    DAY,
    MONTH,
    NOT_DATE_AFTER,
    THIS_YEAR,
    WD_ABBR,
    WD_ANY,
    WD_FULL,
    YEAR,
    Clock,
    _add_months,
    _c,
    _date_cand,
    _month,
    _next_day_of_month,
    _next_month_day,
    _safe_date,
    _weekday,
    _year,
)
from backend.ai.understanding.numwords import NUM, ORD_WORD, parse_number, parse_ordinal

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

RE_MONTH_WORD = _c(rf"\b{MONTH}")

# Following words that make an ordinal something other than a day of the month ("my 21st birthday").
ORD_NOT_DATE_WORDS = frozenset({"time", "times", "floor", "birthday", "anniversary", "row", "place", "century",
                                "grade", "street", "st", "avenue", "ave", "road", "person", "people", "guest",
                                "course", "visit", "table", "choice", "option", "one", "edition", "round",
                                "attempt", "try", "booking", "reservation", "seat", "year", "week", "month",
                                "day", "party", "wedding", "bday", "child", "kid", "baby", "grader", "hole",
                                "item", "dish", "glass", "bottle", "percentile", "position"})
ORD_DATE_FOLLOW_OK = frozenset({"at", "for", "please", "and", "or", "instead", "then", "is", "would", "works",
                                "work", "in", "around", "if", "but", "so", "because", "thanks", "thank", "too",
                                "as", "from", "to", "till", "until", "by", "with", "on", "that", "this", "evening",
                                "night", "morning", "afternoon", "pls", "plz", "i", "we", "ok", "okay", "of",
                                "should", "will", "could", "can", "sounds", "after", "before", "about", "lunch",
                                "dinner", "breakfast"})


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
