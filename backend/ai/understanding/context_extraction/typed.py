"""Typed values from a customer message: dates, times, amounts, counts, contacts and names through the shared
entity extractor (backend.ai.understanding.entities), plus the types it does not read (percent, duration, rating,
street address) and numbers tied to a field by the words next to them ("3 bedrooms", "two baths")."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from backend.ai.types import FieldSpec
from backend.ai.understanding.context_extraction.fields import ContextField
from backend.ai.understanding.context_extraction.words import (
    NUMBER_WORD,
    STOP,
    field_words,
    find_numbers,
    stem,
    tokens,
    words_to_number,
)
from backend.ai.understanding.datetimes import make_clock
from backend.ai.understanding.entities import extract_entities, field_kind


@dataclass
class Found:
    """A value found for a field, before one per field is chosen."""

    key: str
    value: Any
    confidence: float
    start: int
    end: int
    source: str = "rules"  # rules | confirmed | llm
    meta: dict[str, Any] = field(default_factory=dict)


_BOOLEAN_OPTIONS = ({"true", "false"}, {"yes", "no"}, {"y", "n"})
RE_LOCATION_FIELD = re.compile(r"\b(?:city|cities|town|area|location|located|neighbou?rhood|suburb|region|district|"
                               r"county|state|country|where|place\s+where|zip|postcode|post\s+code)\b", re.I)
RE_NAME_FIELD = re.compile(r"(?:^|_)name$|\bname\s+of\b|\btitle\s+of\b|\bcalled\b", re.I)
_ENTITY_KINDS = {"date", "time", "datetime", "email", "phone", "url", "money", "count", "first_name",
                 "last_name", "person_name", "number"}


def kind_of(f: ContextField) -> str:
    """How the extractor reads the field: its type, refined by its options and, for text, by its words."""
    t = (f.type or "text").strip().lower()
    vt = f.value_type
    if vt in ("choice", "multi_choice"):
        folded = {o.strip().lower() for o in f.options}
        if vt == "choice" and any(folded == b for b in _BOOLEAN_OPTIONS):
            return "boolean_choice"
        if vt == "choice" and f.options and all(re.fullmatch(r"\d+", o.strip()) for o in f.options):
            return "choice_number"
        return vt
    if t in ("count", "first_name", "last_name"):
        return t
    if vt == "person_name":
        hinted = field_kind(FieldSpec(f.key, "text", f.description))
        return hinted if hinted in ("first_name", "last_name") else "person_name"
    if vt == "number":
        return field_kind(FieldSpec(f.key, "number", f"{f.title} {f.description}"))
    if vt in ("text", "long_text"):
        words = f"{f.key.replace('_', ' ')} {f.label} {f.description}"
        if vt == "text":
            hinted = field_kind(FieldSpec(f.key, "text", f.description))
            if hinted in ("email", "phone", "url", "date", "time", "datetime") and not RE_NAME_FIELD.search(f.key):
                return "text_" + hinted
            if RE_LOCATION_FIELD.search(words) and not RE_NAME_FIELD.search(f.key):
                return "location"
            if RE_NAME_FIELD.search(f.key) or RE_NAME_FIELD.search(f.description):
                return "name"
        return vt
    return vt


def entity_spec(f: ContextField, kind: str) -> FieldSpec | None:
    """The entity extractor's view of a field, when it reads that field's kind."""
    if kind in _ENTITY_KINDS:
        return FieldSpec(f.key, kind, f"{f.title}. {f.description}")
    if kind.startswith("text_"):
        return FieldSpec(f.key, kind[5:], f.description)
    if kind == "choice_number":
        hinted = field_kind(FieldSpec(f.key, "number", f"{f.title} {f.description}"))
        return FieldSpec(f.key, "count", f.description) if hinted == "count" else None
    return None


def entity_values(message: str, fields: Sequence[ContextField], kinds: dict[str, str], *, now: datetime,
                  timezone: str, phone_region: str, asked: Sequence[str], embed: Any = None) -> list[Found]:
    specs = {}
    for f in fields:
        spec = entity_spec(f, kinds[f.key])
        if spec is not None:
            specs[f.key] = spec
    if not specs:
        return []
    entities = extract_entities(message, now=now, timezone=timezone, fields=list(specs.values()),
                                requested=[a for a in asked if a in specs], phone_region=phone_region)
    by_key = {f.key: f for f in fields}
    entities = _by_context(message, entities, [f for f in fields if f.key in specs], kinds, asked, embed)
    out = []
    for e in entities:
        f = by_key[e.field]
        kind = kinds[f.key]
        value: Any = e.value
        start, end, conf = e.start, e.end, e.confidence
        if kind == "money":
            start, value = _spoken_amount(message, start, value)
        elif kind in ("count", "number") and f.value_type == "number":
            value = value if isinstance(value, (int, float)) else None
        elif kind == "choice_number":
            value = _option_number(f, value)
        elif kind.startswith("text_"):
            value = message[start:end]
        if value is None:
            continue
        if kind in ("date", "datetime") and str(value)[:10] < now_local_date(now, timezone) and \
                not RE_PAST_FIELD.search(f"{f.key.replace('_', ' ')} {f.label} {f.description}"):
            conf *= 0.4  # "we moved in on 3 March 2025": a past date is not when a future visit happens
        out.append(Found(f.key, value, conf, start, end, meta={"alternatives": list(e.alternatives)}))
    return out


RE_PAST_FIELD = re.compile(r"\b(?:birth|born|since|last|previous|past|incident|accident|happened|occurred|started|"
                           r"began|moved|purchased|bought|ago|was|were|issued|signed|joined|injur\w*|diagnos\w*)\b",
                           re.I)


def now_local_date(now: datetime, timezone: str) -> str:
    return make_clock(now, timezone, "").today.isoformat()


def _by_context(message: str, entities: list, fields: Sequence[ContextField], kinds: dict[str, str],
                asked: Sequence[str], embed: Any) -> list:
    """Several fields of one kind (a deposit and a monthly rent, check-in and check-out): each value goes to
    the field whose words surround it ("a deposit of $500" → the deposit), else to the field asked for,
    else to the field whose description is closest in meaning to the words around it, else where the entity
    extractor put it (in order of appearance)."""
    groups: dict[str, list[ContextField]] = {}
    for f in fields:
        groups.setdefault(kinds[f.key], []).append(f)
    out = []
    for e in entities:
        same = groups.get(kinds.get(e.field, ""), [])
        if len(same) < 2:
            out.append(e)
            continue
        window = {stem(w.lower()) for w, _s, _e in tokens(message[max(0, e.start - 40):e.end + 30])}
        scores = []
        for f in same:
            core, described = field_words(f)
            score = len(core & window) + 0.5 * len(described & window) + (0.75 if f.key in asked else 0.0)
            scores.append((score, f.key))
        scores.sort(key=lambda x: -x[0])
        if scores[0][0] > 0 and (len(scores) < 2 or scores[0][0] > scores[1][0]):
            e = replace(e, field=scores[0][1])
        elif embed is not None:
            e = replace(e, field=_closest_in_meaning(message, e, same, embed) or e.field)
        out.append(e)
    # one value per field: the first of several values the context gave one field goes back in order
    return out


def _closest_in_meaning(message: str, e: Any, same: list[ContextField], embed: Any) -> str | None:
    clause = re.split(r"(?<=[.?!;])\s+", message)
    around = next((c for c in clause if message.find(c) <= e.start < message.find(c) + len(c)), message)
    try:
        vectors = embed([around] + [f"{f.title}: {f.description}" for f in same])
    except Exception:  # noqa: BLE001 - meaning is a bonus: without embeddings the order of appearance stands
        return None
    sims = vectors[1:] @ vectors[0]
    order = sims.argsort()[::-1]
    return same[int(order[0])].key if float(sims[order[0]] - sims[order[1]]) >= 0.03 else None


def _spoken_amount(message: str, start: int, value: dict) -> tuple[int, dict]:
    """"eight hundred and ten dollars": the entity extractor reads "ten dollars"; the whole number is 810."""
    amount = float(value["amount"])
    before = message[:start]
    m = re.search(r"((?:\b(?:[a-z]+)[\s-]+(?:and\s+)?)+)$", before, re.I)
    if m:
        for i in range(len(m.group(1))):
            piece = m.group(1)[i:]
            if i and m.group(1)[i - 1].isalpha():
                continue
            n = words_to_number(piece + message[start:].split()[0])
            if n is not None and n > amount:
                return start - len(piece), {"amount": n, "currency": value.get("currency", "")}
    return start, {"amount": int(amount) if amount.is_integer() else amount, "currency": value.get("currency", "")}


def _option_number(f: ContextField, value: Any) -> str | None:
    s = str(int(value)) if isinstance(value, (int, float)) and float(value).is_integer() else str(value)
    return s if s in [o.strip() for o in f.options] else None


# ---------------------------------------------------------------- numbers named by the field's words

def _matches(token_stem: str, vocabulary: frozenset[str]) -> bool:
    if token_stem in vocabulary:
        return True
    # "bedroom" for "bed", "bathroom" for "bath": a compound that starts with the field's word
    return any(len(v) >= 3 and token_stem.startswith(v) and len(token_stem) - len(v) <= 5 for v in vocabulary)


def numbered_values(message: str, fields: Sequence[ContextField], kinds: dict[str, str], taken: list[Found],
                    asked: Sequence[str]) -> list[Found]:
    """Numbers next to a word of a number field ("3 bedrooms", "baths: 2", "two of the seats"): the field whose
    words sit closest wins, so "2 kids and 2 bedrooms" fills each field with its own number."""
    numeric = [f for f in fields if kinds[f.key] in ("number", "count", "choice_number") or
               (f.value_type == "rating")]
    if not numeric and not any(kinds[k] == "money" for k in asked if k in kinds):
        return []
    spans = [(t.start, t.end) for t in taken]
    numbers = [(s, e, v) for s, e, v in find_numbers(message) if not any(s < b and a < e for a, b in spans)]
    toks = tokens(message)
    out: list[Found] = []
    used: set[int] = set()
    scored = []
    for s, e, v in numbers:
        after = [t for t in toks if t[1] >= e][:3]
        before = [t for t in toks if t[2] <= s][-3:]
        for f in numeric:
            core, described = field_words(f)
            best, reach = 0.0, (s, e)
            for dist, (w, _a, b) in enumerate(after):
                low = w.lower()
                if low in STOP and dist == 0 and low not in ("of",):
                    break
                st = stem(low)
                score = 0.9 if _matches(st, core) else 0.75 if _matches(st, described) else 0.0
                if score and score - 0.1 * dist > best:
                    best, reach = score - 0.1 * dist, (s, b)
            for dist, (w, a, _b) in enumerate(reversed(before)):
                st = stem(w.lower())
                score = 0.8 if _matches(st, core) else 0.65 if _matches(st, described) else 0.0
                if score and score - 0.1 * dist > best:
                    best, reach = score - 0.1 * dist, (a, e)
            if best > 0:
                scored.append((best, s, e, v, f, reach))
    scored.sort(key=lambda x: -x[0])
    filled: set[str] = set()
    for conf, s, _e, v, f, (rs, re_) in scored:
        if s in used:
            continue
        value = _typed_number(f, kinds[f.key], v)
        if value is None:
            continue
        used.add(s)
        filled.add(f.key)
        out.append(Found(f.key, value, conf, rs, re_))
    # an answer to "how many …?" (or "what budget?") that is one number: it is that, whatever else the bare
    # number could be read as ("1500" answering the budget question is not a time)
    everything = find_numbers(message)
    free = [(s, e, v) for s, e, v in numbers if s not in used]
    if len(everything) == 1 and not used:
        free = everything
    answerable = numeric + [f for f in fields if kinds[f.key] == "money" and f.key in asked]
    have = {t.key for t in taken}
    for key in asked[:1]:
        f = next((x for x in answerable if x.key == key), None)
        if f is None or f.key in filled or f.key in have or len(free) != 1:
            continue
        s, e, v = free[0]
        if re.match(r"\s*(?:%|percent|dollars?|bucks|euros?|pounds?|am\b|pm\b|a\.m|p\.m|o'?clock|:)",
                    message[e:e + 10], re.I):
            continue
        value = _typed_number(f, kinds[f.key], v)
        if value is not None:
            out.append(Found(f.key, value, 0.8, s, e, meta={"answer": True}))
            filled.add(f.key)
            free = []
    return out


def _typed_number(f: ContextField, kind: str, v: float | int) -> Any:
    if kind == "money":
        return {"amount": v, "currency": ""}  # a bare amount: the currency was not said
    if kind == "choice_number":
        return _option_number(f, v)
    if f.value_type == "rating":
        return int(v) if float(v).is_integer() and 1 <= v <= 5 else None
    return v


# ---------------------------------------------------------------- percent, duration, rating, address

RE_PERCENT = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?:%|percent\b|per\s+cent\b|pct\b)", re.I)
_UNIT_MINUTES = {"min": 1, "minute": 1, "mins": 1, "minutes": 1, "m": 1, "hour": 60, "hours": 60, "hr": 60,
                 "hrs": 60, "h": 60, "day": 1440, "days": 1440, "week": 10080, "weeks": 10080}
RE_DURATION = re.compile(
    rf"(?<![\w.])(?P<a>(?:an?|half\s+an?|\d+(?:\.\d+)?|(?:{NUMBER_WORD})(?:[\s-](?:{NUMBER_WORD}))?))\s*"
    r"(?P<u>minutes?|mins?|hours?|hrs?|h|m|"
    r"days?|weeks?)\b(?:\s+and\s+(?:a\s+)?(?P<half>half)|\s*(?P<m2>\d{1,2})\s*(?:minutes?|mins?|m)?\b)?", re.I)
RE_RATING = re.compile(r"\b(?P<n>[1-5]|one|two|three|four|five)(?:\s*(?:/|out\s+of)\s*5\b|\s*stars?\b)", re.I)
RE_ADDRESS = re.compile(
    r"\b\d{1,6}[A-Za-z]?\s+(?:[A-Z0-9][\w'.-]*\s+){0,4}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|"
    r"Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Common|Alley|"
    r"Plaza|Row|Crescent|Close)\b\.?(?:,?\s+(?:Apt|Apartment|Suite|Unit|#)\s*\w+)?"
    r"(?:,\s*[A-Z][A-Za-z]+(?:\s+[A-Z][A-Za-z]+){0,2})?(?:,?\s+[A-Z]{2})?(?:\s+\d{5}(?:-\d{4})?)?")


def other_typed_values(message: str, fields: Sequence[ContextField], kinds: dict[str, str], asked: Sequence[str]
                       ) -> list[Found]:
    out: list[Found] = []
    for f in fields:
        kind = kinds[f.key]
        if kind == "percent":
            for m in RE_PERCENT.finditer(message):
                n = float(m.group("n"))
                if 0 <= n <= 100:
                    out.append(Found(f.key, int(n) if n.is_integer() else n, 0.9, m.start(), m.end()))
        elif kind == "duration":
            for m in RE_DURATION.finditer(message):
                minutes = _minutes(m)
                if minutes is not None:
                    out.append(Found(f.key, minutes, 0.85, m.start(), m.end()))
        elif kind == "rating":
            for m in RE_RATING.finditer(message):
                n = words_to_number(m.group("n")) if not m.group("n").isdigit() else int(m.group("n"))
                if n and 1 <= n <= 5:
                    out.append(Found(f.key, n, 0.9, m.start(), m.end()))
        elif kind == "address":
            for m in RE_ADDRESS.finditer(message):
                text = m.group(0).rstrip(".,")
                out.append(Found(f.key, text, 0.85, m.start(), m.start() + len(text)))
    return out


def _minutes(m: re.Match[str]) -> int | None:
    a = m.group("a").lower().strip()
    unit = _UNIT_MINUTES.get(m.group("u").lower())
    if unit is None:
        return None
    if a in ("a", "an", "one"):
        n: float | None = 1
    elif a.startswith("half"):
        n = 0.5
    elif re.fullmatch(r"\d+(?:\.\d+)?", a):
        n = float(a)
    else:
        n = words_to_number(a)
        if n is None:
            return None
    if m.group("u").lower() in ("m",) and not re.fullmatch(r"\d+", a):
        return None
    total = n * unit
    if m.group("half"):
        total += unit / 2
    if m.group("m2") and unit == 60:
        total += int(m.group("m2"))
    return int(round(total))
