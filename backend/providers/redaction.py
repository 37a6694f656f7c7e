"""Personal data kept out of outside AI services: e-mail addresses, phone numbers, payment card numbers and bank
account numbers in a text are swapped for placeholders ([EMAIL_1], [PHONE_1], [CARD_1], [ACCOUNT_1]) before it
leaves for an LLM or embeddings API, and put back in what the service answers.

    redactor = Redactor()
    outgoing = redactor.redact_messages(messages)      # what the outside server sees
    reply = redactor.restore(answer_text)             # what the customer reads

One Redactor serves one request: a value that appears twice (in the history and in the message) gets one
placeholder, so the model can still tell that it is the same address. Streamed answers go through
`redactor.stream_restorer()`, which holds back the end of a chunk that could be the start of a placeholder until
the next chunk says whether it is one.

Detection leans towards leaving text alone: order numbers, dates, times, prices and quantities must reach the model
as they are, or it cannot answer about them. Cards must pass the Luhn check, IBANs their mod-97 check; a bank
account number without a checksum is recognised only after words such as "account" or "sort code"; a phone number
needs a leading +, a trunk 0, or the shape of a North American number, and a bare run of digits right after
"order", "invoice", "ref" or "#" is taken for a reference, not a phone.

Pure: no settings, no I/O. Audio cannot be redacted; the transcript it becomes is, wherever it is sent onward.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

import phonenumbers

KINDS = ("EMAIL", "PHONE", "CARD", "ACCOUNT")

PLACEHOLDER = re.compile(r"\[(EMAIL|PHONE|CARD|ACCOUNT)_(\d{1,4})\]", re.I)
# What comes back may have lost its brackets (small models write "CARD_1"): restored too, as a whole word.
_RETURNED = re.compile(r"\[\s*(?i:(EMAIL|PHONE|CARD|ACCOUNT))_(\d{1,4})\s*\]"
                       r"|(?<![\w])(EMAIL|PHONE|CARD|ACCOUNT)_(\d{1,4})(?![\w])")
_LONGEST_PLACEHOLDER = len("[ACCOUNT_9999]")


@dataclass(frozen=True)
class Found:
    kind: str
    start: int
    end: int
    text: str


# --- detection -----------------------------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24}(?![\w-])")

_IBAN = re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?(?![\w])", re.I)

# 13-19 digits, in groups or not; the Luhn check decides.
_CARD = re.compile(r"(?<![\w.,-])\d(?:[ -]?\d){12,18}(?![\w-]|[.,]\d)")

# Account numbers carry no checksum: only a number right after a word that says what it is.
_ACCOUNT = re.compile(
    r"\b(?:bank\s+account|account|acct|a/c|routing|sort\s+code|bsb|konto|compte|iban)"
    r"(?:\s*(?:number|no\.?|num|nr\.?|#))?\s*(?:is|was|:|=|-)?\s*"
    r"(?P<number>\d(?:[\d -]{4,24})\d)(?![\w-]|[.,]\d)", re.I)

_PHONE_INTERNATIONAL = re.compile(r"(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){1,7}(?![\w])")
_PHONE_NANP = re.compile(
    r"(?<![\w+.,#-])(?:1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-]|[.,]\d)")
_PHONE_TRUNK = re.compile(r"(?<![\w+.,#/-])0\d{1,4}(?:[ .-]?\d{2,4}){2,4}(?![\w/-]|[.,]\d)")
_PHONE_BARE = re.compile(r"(?<![\w+.,#/-])[2-9]\d{9}(?![\w/-]|[.,]\d)")

# A number right after one of these words is a reference (an order, an invoice), not a phone.
_REFERENCE_BEFORE = re.compile(
    r"(?:\b(?:order|ref|reference|invoice|tracking|confirmation|booking|ticket|case|policy|receipt|transaction|"
    r"id|sku|item|serial|parcel|shipment|membership|member|customer)\b\W{0,3}"
    r"(?:(?:number|no\.?|num|nr\.?|#|id|code)\W{0,3})?|#\s?)$", re.I)
_DATE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    compact = re.sub(r"\s+", "", text).upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def _is_card(text: str) -> bool:
    digits = _digits(text)
    return 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_ok(digits)


_IBAN_START = re.compile(r"[A-Z]{2}\d{2}\s$", re.I)


def _after_reference_word(text: str, start: int) -> bool:
    return _REFERENCE_BEFORE.search(text[max(0, start - 40):start]) is not None


def _possible_international(candidate: str) -> bool:
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number(number)


def _international_phones(text: str) -> Iterable[Found]:
    for m in _PHONE_INTERNATIONAL.finditer(text):
        candidate = m.group(0)
        # A greedy match may have taken a following number too ("+1 212 555 0147 2026"): drop trailing groups
        # until what is left is a possible number.
        while candidate:
            if 8 <= len(_digits(candidate)) <= 15 and _possible_international(candidate):
                yield Found("PHONE", m.start(), m.start() + len(candidate), candidate)
                break
            shorter = re.sub(r"[ .-]?\(?\d{1,4}\)?$", "", candidate)
            if shorter == candidate or len(shorter) < 2:
                break
            candidate = shorter


def _national_phones(text: str) -> Iterable[Found]:
    for pattern, lengths in ((_PHONE_NANP, (10, 11)), (_PHONE_TRUNK, (9, 10, 11)), (_PHONE_BARE, (10,))):
        for m in pattern.finditer(text):
            candidate = m.group(0)
            if len(_digits(candidate)) not in lengths or _DATE.fullmatch(candidate):
                continue
            if _after_reference_word(text, m.start()):
                continue
            yield Found("PHONE", m.start(), m.end(), candidate)


def find_sensitive(text: str) -> list[Found]:
    """Every e-mail address, payment card, bank account and phone number in `text`, in order, never overlapping
    (when two detectors claim the same characters, the earlier kind in this list wins)."""
    if not text:
        return []
    candidates: list[Found] = []
    candidates += [Found("EMAIL", m.start(), m.end(), m.group(0)) for m in _EMAIL.finditer(text)]
    candidates += [Found("ACCOUNT", m.start(), m.end(), m.group(0)) for m in _IBAN.finditer(text)
                   if iban_ok(m.group(0))]
    # The digits of an IBAN whose checksum failed (a typo) are no card, whatever Luhn says.
    candidates += [Found("CARD", m.start(), m.end(), m.group(0)) for m in _CARD.finditer(text)
                   if _is_card(m.group(0)) and not _IBAN_START.search(text[max(0, m.start() - 5):m.start()])]
    for m in _ACCOUNT.finditer(text):
        number = m.group("number").strip(" -")
        if 6 <= len(_digits(number)) <= 17:
            start = m.start("number")
            candidates.append(Found("ACCOUNT", start, start + len(number), number))
    candidates += list(_international_phones(text))
    candidates += list(_national_phones(text))

    taken: list[Found] = []
    for found in candidates:  # already in priority order
        if all(found.end <= other.start or found.start >= other.end for other in taken):
            taken.append(found)
    return sorted(taken, key=lambda f: f.start)


# --- placeholders --------------------------------------------------------------------------------------------------


def _identity(kind: str, text: str) -> str:
    """What makes two spellings one value: "+1 (212) 555-0147" and "+12125550147" are one phone."""
    if kind == "EMAIL":
        return text.lower()
    if kind == "ACCOUNT" and text[:2].isalpha():
        return re.sub(r"\s+", "", text).upper()
    digits = _digits(text)
    if kind == "PHONE":
        # The national number, without country code or trunk 0: "+44 20 7946 0011" is "020 7946 0011".
        if text.lstrip().startswith("+"):
            try:
                return str(phonenumbers.parse(text, None).national_number)
            except phonenumbers.NumberParseException:
                return digits
        if digits.startswith("0") or (len(digits) == 11 and digits.startswith("1")):
            return digits[1:]
    return digits


class Redactor:
    """Placeholders for one request: redact what goes out, restore what comes back."""

    def __init__(self) -> None:
        self._placeholder_of: dict[tuple[str, str], str] = {}
        self._value_of: dict[str, str] = {}
        self._counts: dict[str, int] = {kind: 0 for kind in KINDS}

    @property
    def placeholders(self) -> dict[str, str]:
        """Placeholder → the original text it stands for."""
        return dict(self._value_of)

    def _placeholder(self, found: Found) -> str:
        key = (found.kind, _identity(found.kind, found.text))
        placeholder = self._placeholder_of.get(key)
        if placeholder is None:
            self._counts[found.kind] += 1
            placeholder = f"[{found.kind}_{self._counts[found.kind]}]"
            self._placeholder_of[key] = placeholder
            self._value_of[placeholder] = found.text
        return placeholder

    def redact(self, text: str) -> str:
        if not isinstance(text, str) or not text:
            return text
        out: list[str] = []
        position = 0
        for found in find_sensitive(text):
            out.append(text[position:found.start])
            out.append(self._placeholder(found))
            position = found.end
        out.append(text[position:])
        return "".join(out)

    def restore(self, text: str) -> str:
        """The text with every placeholder this redactor made replaced by its value (with or without its
        brackets); any other stays as written."""
        if not isinstance(text, str) or not self._value_of or "_" not in text:
            return text

        def back(m: re.Match) -> str:
            kind, number = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            return self._value_of.get(f"[{kind.upper()}_{int(number)}]", m.group(0))

        return _RETURNED.sub(back, text)

    def restore_value(self, value: Any) -> Any:
        """Strings inside dicts and lists restored (a tool call's arguments)."""
        if isinstance(value, str):
            return self.restore(value)
        if isinstance(value, dict):
            return {key: self.restore_value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.restore_value(item) for item in value]
        return value

    def redact_messages(self, messages: list[dict]) -> list[dict]:
        """Chat messages as an OpenAI-compatible API takes them, redacted: text content (plain or in parts) and
        the arguments of earlier tool calls. The caller's list is left as it was."""
        out = []
        for message in messages:
            if not isinstance(message, dict):
                out.append(message)
                continue
            copy = dict(message)
            content = copy.get("content")
            if isinstance(content, str):
                copy["content"] = self.redact(content)
            elif isinstance(content, list):
                copy["content"] = [
                    {**part, "text": self.redact(part["text"])}
                    if isinstance(part, dict) and isinstance(part.get("text"), str) else part
                    for part in content
                ]
            if isinstance(copy.get("tool_calls"), list):
                copy["tool_calls"] = [self._redact_tool_call(call) for call in copy["tool_calls"]]
            out.append(copy)
        return out

    def _redact_tool_call(self, call: Any) -> Any:
        if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
            return call
        function = dict(call["function"])
        if isinstance(function.get("arguments"), str):
            function["arguments"] = self.redact(function["arguments"])
        return {**call, "function": function}

    def stream_restorer(self) -> "StreamRestorer":
        return StreamRestorer(self)


def _could_be_placeholder_start(tail: str) -> bool:
    """True for "[", "[EM", "[EMAIL_", "[EMAIL_1" (and "CAR", "CARD_" without the bracket): the start of a
    placeholder that the next chunk may finish."""
    m = re.fullmatch(r"\[\s*([A-Za-z]*)(?:(_)(\d{0,4}))?|([A-Z]+)(?:(_)(\d{0,4}))?", tail)
    if m is None:
        return False
    letters = (m.group(1) if m.group(1) is not None else m.group(4)).upper()
    if m.group(2) or m.group(5):
        return letters in KINDS
    return any(kind.startswith(letters) for kind in KINDS)


class StreamRestorer:
    """Restores a streamed answer chunk by chunk. `feed` returns what can be shown now; `flush` the rest at the
    end. A placeholder split across chunks ("[EMA" + "IL_1]") is held back until it is complete."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self._pending = ""

    def feed(self, delta: str) -> str:
        self._pending += delta or ""
        if not self.redactor.placeholders:
            ready, self._pending = self._pending, ""
            return ready
        hold = self._held_tail(self._pending)
        ready = self._pending[:len(self._pending) - hold]
        self._pending = self._pending[len(self._pending) - hold:]
        return self.redactor.restore(ready)

    def flush(self) -> str:
        ready, self._pending = self._pending, ""
        return self.redactor.restore(ready)

    @staticmethod
    def _held_tail(text: str) -> int:
        start = text.rfind("[")
        if start >= 0 and len(text) - start <= _LONGEST_PLACEHOLDER and _could_be_placeholder_start(text[start:]):
            return len(text) - start
        bare = re.search(r"(?<![\w])[A-Z]{1,7}(?:_\d{0,4})?$", text)
        if bare and _could_be_placeholder_start(bare.group(0)):
            return len(text) - bare.start()
        return 0


__all__ = ["KINDS", "PLACEHOLDER", "Found", "Redactor", "StreamRestorer", "find_sensitive", "iban_ok", "luhn_ok"]
