"""Entity extraction: the booking details and context fields a customer message fills.

    extract_entities("Table for 4 tomorrow at 7:30pm, I'm John Smith", now=..., timezone="Europe/Berlin")
    → date "2026-11-28", time "19:30", people 4, first_name "John", last_name "Smith"

Shared by the AI pipeline, booking and context tracking. Rules only (regular expressions compiled once, no
model, no I/O): a few milliseconds per message.

Value formats (`Entity.value`), by the extractor a field maps to:
- date: "YYYY-MM-DD" in the workspace's time zone; time: "HH:MM" (24 h); datetime: ISO 8601 with the zone's
  offset ("2026-11-27T19:30:00+01:00") — emitted when the message gives a time (the date is the message's,
  else the next such time); a date alone fills only date fields.
- count (party size, "number of people"): int. number: int, or float when written with decimals.
- email: the address, domain lower-cased (email-validator's normalised form). phone: E.164 ("+12125550147"),
  numbers without a country code read in `phone_region`.
- money: {"amount": "45.00", "currency": "USD"} — the amount a decimal string with the currency's minor
  digits (2, or 0 for JPY/KRW), the currency ISO 4217; "$" is the region's dollar (USD for US, CAD for CA…).
- first_name / last_name / person_name: the name as written, lower- or upper-case words capitalised.
- url: the address, "https://" added when written without a scheme ("www.example.com").
- boolean: True / False from a yes / no answer (only when the field was just asked for).
- text (and choice): the trimmed answer (only when the field was just asked for).

Confidence is 0..1; ambiguous readings ("next Thursday" said on a Wednesday, "5/6", "at 7") have a lower
confidence and the other readings in `alternatives`.

Fields map to an extractor by `type` first; generic types (text, number) by hints in the key, then the
description ("party_size", "guests", "number of people" → count; "first_name" → first name …). `requested` is
what the assistant just asked for: a bare "7" is a count after "how many people?", a time after "what time?",
and the whole answer is the value of a requested free-text field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from backend.ai.types import Entity, FieldSpec
from backend.ai.understanding.candidates import Candidate
from backend.ai.understanding.datetimes import Clock, combine, day_of_month, find_datetimes, make_clock, time_from_hour
from backend.ai.understanding.numwords import NUM, NUM_WORD, parse_number
from backend.ai.understanding.party_size import find_counts
from backend.ai.understanding.person_names import find_names

__all__ = ["DEFAULT_FIELDS", "extract_entities", "field_kind"]

DEFAULT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("date", "date", "the date of the booking"),
    FieldSpec("time", "time", "the time of the booking"),
    FieldSpec("people", "count", "number of people"),
    FieldSpec("first_name", "first_name", "first name"),
    FieldSpec("last_name", "last_name", "last name"),
    FieldSpec("email", "email", "email address"),
    FieldSpec("phone", "phone", "phone number"),
    FieldSpec("money", "money", "an amount of money"),
)

KINDS = frozenset({"date", "time", "datetime", "email", "phone", "money", "count", "number", "first_name",
                   "last_name", "person_name", "url", "boolean", "text"})
_TYPE_ALIASES = {"name": "person_name", "full_name": "person_name", "person": "person_name",
                 "fullname": "person_name", "firstname": "first_name", "lastname": "last_name",
                 "surname": "last_name", "party_size": "count", "integer": "number", "int": "number",
                 "float": "number", "decimal": "number", "quantity": "number", "string": "text", "str": "text",
                 "price": "money", "currency": "money", "amount": "money", "telephone": "phone", "tel": "phone",
                 "mobile": "phone", "e-mail": "email", "timestamp": "datetime", "date_time": "datetime",
                 "bool": "boolean", "yes_no": "boolean", "link": "url", "website": "url", "choice": "text"}
_COUNT_HINT = re.compile(r"party|guests?|people|persons?|pax|covers|adults|head\s*count|headcount|attendees|"
                         r"group\s*size|diners|seats|participants|number\s+of\s+(?:people|guests|persons)|"
                         r"how\s+many\s+(?:people|guests)", re.I)
_KEY_HINTS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p, re.I), k) for p, k in (
    (r"first[\s_-]?name|given[\s_-]?name|forename|christian[\s_-]?name", "first_name"),
    (r"last[\s_-]?name|surname|family[\s_-]?name", "last_name"),
    (r"e[\s_-]?mail", "email"),
    (r"phone|mobile|cell\b|telephone|\btel\b|whatsapp", "phone"),
    (r"(?:^|[\s_-])(?:full[\s_-]?)?name$|^name|customer[\s_-]?name|contact[\s_-]?name|guest[\s_-]?name|"
     r"your\s+name|full\s+name", "person_name"),
    (r"date[\s_-]?time|datetime|appointment[\s_-]?(?:at|time)|starts?[\s_-]?at", "datetime"),
    (r"(?:^|[\s_-])(?:date|day)(?:$|[\s_-])|check[\s_-]?in|check[\s_-]?out|arrival|departure", "date"),
    (r"(?:^|[\s_-])(?:time|hour)(?:$|[\s_-])", "time"),
    (r"party[\s_-]?size|guests|people|persons|pax|covers|head[\s_-]?count|number[\s_-]of[\s_-](?:people|guests)|"
     r"group[\s_-]?size|adults|attendees|diners", "count"),
    (r"price|budget|amount|cost|(?<![a-z])fees?(?![a-z])|deposit|spend|salary|(?<![a-z])rent(?![a-z])", "money"),
))

_COMPATIBLE = {frozenset({"person_name", "first_name"}), frozenset({"person_name", "last_name"})}
_REQUESTED_BOOST = 0.3
# "I said 5pm not 6pm", "2pm instead of 3:30pm": a value the customer rules out is not extracted
RE_DENIED = re.compile(r"(?:\bnot|\binstead\s+of|\brather\s+than|\bnot\s+(?:for|at|on)|\bdidn['’]?t\s+say|"
                       r"\bdid\s+not\s+say|\bno\s+longer)\s+(?:the\s+)?$", re.I)


def field_kind(spec: FieldSpec) -> str:
    """The extractor a field uses: its type when it is one we know, else hints in its key, then description."""
    t = (spec.type or "text").strip().lower()
    t = _TYPE_ALIASES.get(t, t)
    if t == "number":
        return "count" if _COUNT_HINT.search(f"{spec.key} {spec.description}") else "number"
    if t in KINDS and t != "text":
        return t
    for source in (spec.key, spec.description):
        for rx, kind in _KEY_HINTS:
            if source and rx.search(source):
                return kind
    return "text"


# ---------------------------------------------------------------- email, phone, money, number

RE_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+'-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![\w@])")


def _emails(text: str) -> list[Candidate]:
    if "@" not in text:
        return []
    out = []
    for m in RE_EMAIL.finditer(text):
        try:
            value = validate_email(m.group(0), check_deliverability=False).normalized
        except EmailNotValidError:
            continue
        out.append(Candidate("email", m.start(), m.end(), value, 0.97, 1.0))
    return out


_DIGITS7 = re.compile(r"(?:\d\D{0,3}){7}")


def _phones(text: str, region: str) -> list[Candidate]:
    if not _DIGITS7.search(text):
        return []
    region_code = (region or "").strip().upper()
    if region_code not in phonenumbers.SUPPORTED_REGIONS:
        region_code = None
    out = []
    try:
        matcher = phonenumbers.PhoneNumberMatcher(text, region_code, leniency=phonenumbers.Leniency.VALID)
        for match in matcher:
            number = match.number
            if number.extension:
                continue
            value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            conf = 0.95 if match.raw_string.lstrip().startswith("+") else 0.9
            out.append(Candidate("phone", match.start, match.end, value, conf, 0.92))
    except Exception:  # noqa: BLE001 - a parsing corner case must not break extraction
        return out
    return out


_DOLLAR_BY_REGION = {"US": "USD", "CA": "CAD", "AU": "AUD", "NZ": "NZD", "SG": "SGD", "HK": "HKD", "MX": "MXN",
                     "TW": "TWD", "JM": "JMD", "BS": "BSD", "BB": "BBD", "LR": "LRD", "FJ": "FJD"}
_SYMBOLS = {"us$": "USD", "c$": "CAD", "ca$": "CAD", "a$": "AUD", "au$": "AUD", "nz$": "NZD", "hk$": "HKD",
            "s$": "SGD", "r$": "BRL", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW", "₽": "RUB",
            "₺": "TRY", "₪": "ILS", "฿": "THB", "zł": "PLN", "kr": "SEK", "chf": "CHF", "fr.": "CHF"}
_CODES = ("USD", "EUR", "GBP", "CAD", "AUD", "NZD", "JPY", "INR", "CHF", "CNY", "SEK", "NOK", "DKK", "MXN", "BRL",
          "ZAR", "SGD", "HKD", "PLN", "CZK", "HUF", "TRY", "ILS", "AED", "KRW", "THB", "RUB")
_WORDS = {"dollar": "$", "dollars": "$", "bucks": "$", "buck": "$", "euro": "EUR", "euros": "EUR", "pound": "GBP",
          "pounds": "GBP", "quid": "GBP", "yen": "JPY", "rupee": "INR", "rupees": "INR", "franc": "CHF",
          "francs": "CHF", "cent": "¢", "cents": "¢", "pence": "p", "p": "p"}
_ZERO_DECIMALS = {"JPY", "KRW", "HUF"}
_SYM_RX = r"(?:US\$|C\$|CA\$|A\$|AU\$|NZ\$|HK\$|S\$|R\$|\$|€|£|¥|₹|₩|₽|₺|₪|฿)"
_CODE_RX = "|".join(_CODES)
_AMOUNT = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d{1,3}(?:\.\d{3})+,\d{2}|\d+(?:[.,]\d{1,2})?)"
_SCALE = r"(?:\s?(?P<scale>k|K|m|M|thousand|million|grand)\b)?"
RE_MONEY_PRE = re.compile(rf"(?P<cur>{_SYM_RX}|\b(?:{_CODE_RX})\s?)\s?(?P<amt>{_AMOUNT}){_SCALE}", re.I)
RE_MONEY_POST = re.compile(rf"(?<![\w.,])(?P<amt>{_AMOUNT}|{NUM_WORD}){_SCALE}\s?(?P<cur>{_SYM_RX}|(?:{_CODE_RX})\b|"
                           rf"(?:dollars?|bucks?|euros?|pounds?|quid|yen|rupees?|francs?|cents?|pence)\b|"
                           r"p\b(?!\.?m))", re.I)


def _amount(raw: str) -> Decimal | None:
    raw = raw.strip()
    word = parse_number(raw)
    if word is not None and not raw[0].isdigit():
        return Decimal(word)
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+,\d{2}", raw):  # 1.234,50
        raw = raw.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d+,\d{2}", raw):  # 12,50 (decimal comma)
        raw = raw.replace(",", ".")
    else:
        raw = raw.replace(",", "")
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None


def _money_value(amount: Decimal, currency: str) -> dict[str, str]:
    places = 0 if currency in _ZERO_DECIMALS else 2
    q = Decimal(1).scaleb(-places)
    return {"amount": str(amount.quantize(q)), "currency": currency}


def _money(text: str, region: str) -> list[Candidate]:
    if not re.search(r"\d|dollar|euro|pound|buck|quid", text, re.I):
        return []
    dollar = _DOLLAR_BY_REGION.get((region or "").upper(), "USD")
    out = []

    def currency_of(tok: str) -> tuple[str, Decimal, float]:
        t = tok.strip().lower()
        if t in ("$",):
            return dollar, Decimal(1), 0.9
        if t in _SYMBOLS:
            return _SYMBOLS[t], Decimal(1), 0.95
        if t.upper() in _CODES:
            return t.upper(), Decimal(1), 0.95
        w = _WORDS.get(t, "")
        if w == "$":
            return dollar, Decimal(1), 0.9
        if w == "¢":
            return dollar, Decimal("0.01"), 0.85
        if w == "p":
            return "GBP", Decimal("0.01"), 0.6
        if t in ("pound", "pounds"):
            return "GBP", Decimal(1), 0.7  # also a weight
        return w or dollar, Decimal(1), 0.85

    scales = {"k": 1000, "thousand": 1000, "grand": 1000, "m": 1_000_000, "million": 1_000_000}
    for rx in (RE_MONEY_PRE, RE_MONEY_POST):
        for m in rx.finditer(text):
            amt = _amount(m.group("amt"))
            if amt is None:
                continue
            cur, mult, conf = currency_of(m.group("cur"))
            scale = m.group("scale")
            if scale:
                amt *= scales.get(scale.lower(), 1)
            out.append(Candidate("money", m.start(), m.end(), _money_value(amt * mult, cur), conf, 0.93))
    return out


RE_URL = re.compile(r"(?<![\w@.])(?:https?://|www\.)[^\s<>\"'()]+", re.I)
RE_DOMAIN = re.compile(r"(?<![\w@.])[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*\.[a-z]{2,24}(?:/[^\s<>\"']*)?"
                       r"(?![\w@])", re.I)


def _urls(text: str, asked: bool) -> list[Candidate]:
    """Web addresses; a bare domain ("example.com") only when a url field was just asked for."""
    if "." not in text:
        return []
    out = []
    for rx, conf in ((RE_URL, 0.95),) + (((RE_DOMAIN, 0.75),) if asked else ()):
        for m in rx.finditer(text):
            raw = m.group(0).rstrip(".,;:!?")
            if "@" in raw:
                continue
            value = raw if re.match(r"https?://", raw, re.I) else f"https://{raw}"
            out.append(Candidate("url", m.start(), m.start() + len(raw), value, conf, 0.95))
    return out


RE_YES = re.compile(r"^\W*(?P<w>yes|yeah|yep|yup|yea|sure|of\s+course|correct|absolutely|definitely|certainly|ok|"
                    r"okay|affirmative|please\s+do|that'?s\s+right|right)\b", re.I)
RE_NO = re.compile(r"^\W*(?P<w>no|nope|nah|not\s+really|negative|no\s+thanks|not\s+at\s+all|never|don'?t|"
                   r"do\s+not)\b", re.I)


def _booleans(text: str) -> list[Candidate]:
    """A yes / no answer to a requested boolean field."""
    for rx, value in ((RE_NO, False), (RE_YES, True)):
        m = rx.match(text)
        if m:
            return [Candidate("boolean", m.start("w"), m.end("w"), value, 0.85, 0.5)]
    return []


RE_NUMBER = re.compile(rf"(?<![\w.,])(?P<n>\d+(?:\.\d+)?|{NUM_WORD})(?![\w]|[.,]\d)", re.I)


def _numbers(text: str) -> list[Candidate]:
    out = []
    for m in RE_NUMBER.finditer(text):
        tok = m.group("n")
        if tok[0].isdigit():
            value: Any = float(tok) if "." in tok else int(tok)
        else:
            value = parse_number(tok)
            if value is None:
                continue
        out.append(Candidate("number", m.start(), m.end(), value, 0.6, 0.2))
    return out


# ---------------------------------------------------------------- bare answers

_BARE_HEAD = re.compile(r"^\s*(?:(?:yes|yeah|yep|yup|ok|okay|sure|um+|uh+|hmm+|so|well|oh|no|nope|sorry|"
                        r"it'?s|it’s|it\s+is|its|that'?s|that\s+is|make\s+it|let'?s\s+say|let'?s\s+do|say|about|"
                        r"around|approximately|roughly|maybe|probably|perhaps|just|only|for|at|we\s+are|we'?re|"
                        r"there\s+will\s+be|there\s+are|there'?ll\s+be|how\s+about|what\s+about|i\s+think|"
                        r"i'?d\s+say|like|actually|then|and|the|on|please)\b[\s,.!-]*)+", re.I)
_BARE_TAIL = re.compile(r"(?:[\s,.!-]+(?:please|thanks|thank\s+you|thx|then|now|instead|if\s+possible|"
                        r"would\s+be\s+(?:great|good|fine|perfect)|is\s+fine|works|total|in\s+total|"
                        r"altogether|please\s+thanks|ok|okay))*[\s,.!?]*$", re.I)
RE_ONE_NUM = re.compile(rf"^(?:{NUM}|\d{{1,3}})$", re.I)


def _bare_number(text: str) -> tuple[int, int, int] | None:
    head = _BARE_HEAD.match(text)
    s = head.end() if head else 0
    tail = _BARE_TAIL.search(text, s)
    e = tail.start() if tail else len(text)
    core = text[s:e]
    if not core or not RE_ONE_NUM.match(core):
        return None
    n = parse_number(core)
    if n is None:
        return None
    return s, e, n


# ---------------------------------------------------------------- resolution

def _conflict(a: Candidate, b: Candidate) -> bool:
    if not a.overlaps(b):
        return False
    if a.kind == b.kind:
        return True
    if {a.kind, b.kind} == {"date", "time"}:
        return (a.start, a.end) != (b.start, b.end)  # "in an hour" is both; "2018" of "2018/05/17" is not a time
    return frozenset({a.kind, b.kind}) not in _COMPATIBLE


def _resolve(cands: list[Candidate]) -> list[Candidate]:
    """Greedy: the most specific candidates first; a candidate that conflicts with an accepted one is dropped."""
    order = sorted(cands, key=lambda c: (-c.priority, -c.length, -c.confidence, c.start))
    accepted: list[Candidate] = []
    for c in order:
        if any(_conflict(c, a) for a in accepted):
            continue
        if any(a.kind == c.kind and a.start == c.start and a.end == c.end for a in accepted):
            continue
        accepted.append(c)
    return accepted


def _to_entity(c: Candidate, key: str, kind: str) -> Entity:
    return Entity(field=key, value=c.value, text="", start=c.start, end=c.end,
                  confidence=max(0.0, min(1.0, round(c.confidence, 4))), type=kind, alternatives=c.alternatives)


def extract_entities(text: str, *, now: datetime, timezone: str, fields: Sequence[FieldSpec] | None = None,
                     requested: Sequence[str] = (), phone_region: str = "US") -> list[Entity]:
    """Entities in `text` for `fields` (DEFAULT_FIELDS when None), sorted by start. `now` is the message time
    (aware), `timezone` the workspace's zone name, `requested` the field keys the assistant just asked for."""
    text = text or ""
    specs = tuple(DEFAULT_FIELDS if fields is None else fields)
    if not text.strip() or not specs:
        return []
    kinds_by_key = {f.key: field_kind(f) for f in specs}
    requested = tuple(r for r in requested if r in kinds_by_key)
    requested_kinds = {kinds_by_key[r] for r in requested}
    wanted = set(kinds_by_key.values())
    clock = make_clock(now, timezone, phone_region)

    cands: list[Candidate] = []
    cands += _emails(text)
    cands += _phones(text, phone_region)
    cands += _money(text, phone_region)
    if "url" in wanted:
        cands += _urls(text, any(kinds_by_key[r] == "url" for r in requested))
    if "boolean" in requested_kinds:
        cands += _booleans(text)
    cands += find_datetimes(text, clock, expect_time="time" in requested_kinds or "datetime" in requested_kinds,
                            expect_date="date" in requested_kinds or "datetime" in requested_kinds)
    if wanted & {"count", "number"} or "count" in requested_kinds:
        cands += find_counts(text, expect_count="count" in requested_kinds)
    if wanted & {"first_name", "last_name", "person_name"}:
        name_kinds = {k: v for k, v in kinds_by_key.items() if v in ("first_name", "last_name", "person_name")}
        cands += find_names(text, requested=requested, name_kinds=name_kinds)

    # what the assistant asked for wins close calls
    for c in cands:
        if c.kind in requested_kinds or (c.kind in ("date", "time") and "datetime" in requested_kinds):
            c.priority += _REQUESTED_BOOST
            c.confidence = min(1.0, c.confidence + 0.05)

    bare = _bare_number(text)
    if bare:
        s, e, n = bare
        for r in requested:
            kind = kinds_by_key[r]
            c = _bare_candidate(kind, s, e, n, text, clock)
            if c:
                cands.append(c)
                break

    cands = [c for c in cands if not (c.kind in ("date", "time", "count") and
                                      RE_DENIED.search(text[max(0, c.start - 24):c.start]))]
    accepted = _resolve(cands)
    counts = [c for c in accepted if c.kind == "count"]
    if len(counts) > 1 and any(not c.meta.get("implicit") for c in counts):
        # "my friend and I booked for 2": the number said wins over the people listed
        accepted = [c for c in accepted if not (c.kind == "count" and c.meta.get("implicit"))]
    accepted += _fallbacks(text, accepted, requested, kinds_by_key, clock)
    _small_hours_of_tonight(text, accepted, clock)
    if "number" in wanted:
        accepted += _number_entities(text, accepted, specs, kinds_by_key, requested)

    entities: list[Entity] = []
    by_kind: dict[str, list[str]] = {}
    for f in specs:
        by_kind.setdefault(kinds_by_key[f.key], []).append(f.key)
    for kind, keys in by_kind.items():
        if kind in ("datetime", "text", "number"):
            continue
        found = sorted((c for c in accepted if c.kind == kind), key=lambda c: c.start)
        if not found:
            continue
        for key, c in _assign(keys, found, requested):
            entities.append(_to_entity(c, key, kind))
    if "datetime" in by_kind:
        entities += _datetimes(text, accepted, by_kind["datetime"], clock, requested)
    if "number" in by_kind:
        found = sorted((c for c in accepted if c.kind == "number"), key=lambda c: c.start)
        for c in found:
            entities.append(_to_entity(c, c.meta["field"], "number"))
    for key in by_kind.get("text", []):
        if key in requested:
            stripped = text.strip()
            start = text.index(stripped)
            entities.append(Entity(key, stripped, stripped, start, start + len(stripped), 0.5, "text"))
    out = []
    for e in entities:
        out.append(Entity(field=e.field, value=e.value, text=text[e.start:e.end], start=e.start, end=e.end,
                          confidence=e.confidence, type=e.type, alternatives=e.alternatives))
    out.sort(key=lambda e: (e.start, e.end, e.field))
    return out


_TONIGHT = re.compile(r"(?:tonight|tonite|tonigth|this\s+evening|this\s+eve)", re.I)


def _small_hours_of_tonight(text: str, accepted: list[Candidate], clock: Clock) -> None:
    """"Tonight at 1am" said in the evening is the small hours after it: the next calendar day. (Said after
    midnight, "tonight" already reads as the day just begun.)"""
    if clock.now.hour < 4 or not any(c.kind == "time" and str(c.value) < "06:00" for c in accepted):
        return
    for c in accepted:
        if c.kind == "date" and _TONIGHT.fullmatch(text[c.start:c.end].strip()):
            c.value = (date.fromisoformat(str(c.value)) + timedelta(days=1)).isoformat()


def _assign(keys: list[str], found: list[Candidate], requested: Sequence[str]) -> list[tuple[str, Candidate]]:
    """Several fields of one kind (check-in / check-out dates): values in order of appearance; one value goes to
    the field that was asked for."""
    if len(keys) == 1:
        return [(keys[0], c) for c in found]
    asked = [k for k in requested if k in keys]
    if len(found) == 1 and asked:
        return [(asked[0], found[0])]
    out = []
    for i, c in enumerate(found):
        out.append((keys[min(i, len(keys) - 1)], c))
    return out


def _bare_candidate(kind: str, s: int, e: int, n: int, text: str, clock: Clock) -> Candidate | None:
    if kind == "count" and 0 < n <= 500:
        return Candidate("count", s, e, n, 0.85, 1.5)
    if kind == "number":
        return Candidate("number", s, e, n, 0.85, 1.5, meta={"bare": True})
    if kind in ("time", "datetime") and 0 <= n <= 24:
        value, conf, alts = time_from_hour(n, 0, text)
        return Candidate("time", s, e, value, conf, 1.5, alts, {"hour": int(value[:2]), "minute": 0})
    if kind == "date" and 1 <= n <= 31:
        d = day_of_month(clock, n)
        if d:
            return Candidate("date", s, e, d, 0.6, 1.5)
    return None


def _fallbacks(text: str, accepted: list[Candidate], requested: Sequence[str], kinds_by_key: dict[str, str],
               clock: Clock) -> list[Candidate]:
    """A requested count / time still missing: the one free number in the message, with a lower confidence."""
    out: list[Candidate] = []
    have = {c.kind for c in accepted}
    for r in requested:
        kind = kinds_by_key[r]
        if kind == "datetime":
            kind = "time"
        if kind not in ("count", "time") or kind in have:
            continue
        free = [(m.start(), m.end(), m.group(0)) for m in re.finditer(NUM, text, re.I)
                if not any(a.start < m.end() and m.start() < a.end for a in accepted + out)]
        if len(free) != 1:
            continue
        s, e, tok = free[0]
        n = parse_number(tok)
        if n is None:
            continue
        after = text[e:e + 12].lower()
        if re.match(r"\s*(?:days?|weeks?|months?|years?|hours?|minutes?|%|dollars?)", after):
            continue
        if kind == "count" and 0 < n <= 100:
            out.append(Candidate("count", s, e, n, 0.55, 0.5))
        elif kind == "time" and 0 <= n <= 23:
            value, conf, alts = time_from_hour(n, 0, text)
            out.append(Candidate("time", s, e, value, min(conf, 0.55), 0.5, alts))
        have.add(kind)
    return out


def _number_entities(text: str, accepted: list[Candidate], specs: Sequence[FieldSpec], kinds_by_key: dict[str, str],
                     requested: Sequence[str]) -> list[Candidate]:
    """Generic number fields: a number next to a word of the field's key/description ("2 children" for
    "children"), or the one number of an answer to that field."""
    keys = [f for f in specs if kinds_by_key[f.key] == "number"]
    # numbers inside a party size stay available ("2 children" of "4 adults and 2 children"); inside a date,
    # time, phone or amount they do not
    taken = [c for c in accepted if c.kind not in ("number", "count", "first_name", "last_name", "person_name")]
    numbers = [c for c in _numbers(text) if not any(c.overlaps(a) for a in taken)]
    bare = [c for c in accepted if c.kind == "number"]
    out: list[Candidate] = []
    used: set[int] = set()
    for f in keys:
        if f.key in requested and bare:
            c = bare[0]
            c.meta["field"] = f.key
            out.append(c)
            used.add(c.start)
            continue
        words = {w for w in re.findall(r"[a-z]{3,}", f"{f.key} {f.description}".replace("_", " ").lower())
                 if w not in _HINT_STOP}
        best = None
        for c in numbers:
            if c.start in used:
                continue
            after = re.findall(r"[a-z]+", text[c.end:c.end + 30].lower())[:1]
            before = re.findall(r"[a-z]+", text[max(0, c.start - 30):c.start].lower())[-1:]
            if any(_stem(w) in {_stem(x) for x in words} for w in after + before):
                best = c
                break
        if best is None and f.key in requested and len([c for c in numbers if c.start not in used]) == 1:
            best = next(c for c in numbers if c.start not in used)
            best.confidence = 0.7
        if best is not None:
            used.add(best.start)
            out.append(Candidate("number", best.start, best.end, best.value, max(best.confidence, 0.7),
                                 best.priority, (), {"field": f.key}))
    return out


_HINT_STOP = frozenset({"the", "number", "how", "many", "much", "of", "and", "for", "count", "total", "amount",
                        "value", "what", "which", "your", "you", "are", "is"})


def _stem(w: str) -> str:
    for suf in ("ren", "es", "s"):
        if w.endswith(suf) and len(w) > len(suf) + 2:
            return w[: -len(suf)]
    return w


def _datetimes(text: str, accepted: list[Candidate], keys: list[str], clock: Clock, requested: Sequence[str]
               ) -> list[Entity]:
    times = sorted((c for c in accepted if c.kind == "time"), key=lambda c: c.start)
    dates = sorted((c for c in accepted if c.kind == "date"), key=lambda c: c.start)
    out: list[Entity] = []
    last_end = -1
    for i, t in enumerate(times):
        d = min(dates, key=lambda x: min(abs(x.start - t.end), abs(t.start - x.end)), default=None)
        start, end = t.start, t.end
        if d is not None:
            gap = text[min(d.end, t.end):max(d.start, t.start)]
            if len(gap) <= 20 and not any(o is not t and min(d.start, t.start) <= o.start < max(d.end, t.end)
                                          for o in times):
                start, end = min(start, d.start), max(end, d.end)
        if start < last_end:
            start, end = t.start, t.end
            if start < last_end:
                continue
        value = combine(d.value if d else None, t.value, clock)
        alts = tuple(combine(d.value if d else None, a, clock) for a in t.alternatives)
        if d is not None:
            alts += tuple(combine(a, t.value, clock) for a in d.alternatives)
        conf = min(t.confidence, d.confidence) if d else t.confidence * 0.8
        key = keys[min(i, len(keys) - 1)]
        out.append(Entity(key, value, "", start, end, round(conf, 4), "datetime", alts))
        last_end = end
    return out
