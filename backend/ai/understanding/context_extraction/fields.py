"""The fields a context schema asks the extractor to fill, and the canonical JSON value of each type.

`ContextField` is the extractor's own minimal view of a field (the context domain's richer definition maps onto
it). `check_value` is the one gate every extracted value passes, whether the rules or an LLM produced it, so both
paths hand the storage side the same canonical JSON:

    text, long_text, address, person_name, url → str          number → int | float
    money → {"amount": number, "currency": "USD" | ""}        percent → number in 0..100
    boolean → true / false                                    date → "YYYY-MM-DD"      time → "HH:MM" (24 h)
    datetime → ISO 8601 with offset                           duration → int minutes
    choice → one option exactly as defined                    multi_choice → [options]  tags → [str]
    email → lower-cased address                               phone → E.164             rating → int 1..5

Legacy types of the older `context_fields` format (count, first_name, last_name) are accepted: they extract the
way they always did and validate as number / person_name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

TYPES = ("text", "long_text", "number", "money", "percent", "boolean", "date", "time", "datetime", "duration",
         "choice", "multi_choice", "tags", "email", "phone", "url", "address", "rating", "person_name")
LEGACY_TYPES = {"count": "number", "first_name": "person_name", "last_name": "person_name"}
_ISO_CURRENCY = re.compile(r"^[A-Z]{3}$")
_TIME = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class ContextField:
    key: str
    label: str = ""
    type: str = "text"
    description: str = ""  # the owner's words: the extractor reads them
    options: tuple[str, ...] = ()  # choice / multi_choice
    required: bool = False
    ai_extract: bool = True  # False: owner-only, never filled by the assistant

    @property
    def value_type(self) -> str:
        t = (self.type or "text").strip().lower()
        return LEGACY_TYPES.get(t, t if t in TYPES else "text")

    @property
    def title(self) -> str:
        return self.label or self.key.replace("_", " ")


def check_value(f: ContextField, value: Any) -> tuple[Any, str]:
    """(canonical value, "") when `value` is valid for the field, else (None, the reason)."""
    t = f.value_type
    try:
        out = _CHECKS[t](f, value)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        return None, f"{f.key}: {exc}"
    if out is None:
        return None, f"{f.key}: {value!r} is not a valid {t}"
    return out, ""


def _string(_f: ContextField, v: Any) -> str | None:
    if not isinstance(v, str) or not v.strip():
        return None
    return v.strip()


def _number(_f: ContextField, v: Any) -> int | float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, str):
        v = float(v.replace(",", "").strip())
    if not isinstance(v, (int, float)) or v != v or v in (float("inf"), float("-inf")):
        return None
    return int(v) if float(v).is_integer() else float(v)


def _money(f: ContextField, v: Any) -> dict | None:
    if not isinstance(v, dict) or "amount" not in v:
        return None
    amount = _number(f, v["amount"])
    currency = v.get("currency") or ""
    if amount is None or amount < 0 or not isinstance(currency, str):
        return None
    currency = currency.strip().upper()
    if currency and not _ISO_CURRENCY.match(currency):
        raise ValueError(f"currency {currency!r} is not an ISO 4217 code")
    return {"amount": amount, "currency": currency}


def _percent(f: ContextField, v: Any) -> int | float | None:
    n = _number(f, v)
    return n if n is not None and 0 <= n <= 100 else None


def _boolean(_f: ContextField, v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


def _date(_f: ContextField, v: Any) -> str | None:
    if not isinstance(v, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        return None
    return date.fromisoformat(v).isoformat()


def _time(_f: ContextField, v: Any) -> str | None:
    return v if isinstance(v, str) and _TIME.match(v) else None


def _datetime(_f: ContextField, v: Any) -> str | None:
    if not isinstance(v, str):
        return None
    moment = datetime.fromisoformat(v.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{v!r} has no UTC offset")
    return moment.isoformat()


def _duration(_f: ContextField, v: Any) -> int | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or not float(v).is_integer():
        return None
    return int(v)


def _option(f: ContextField, v: Any) -> str | None:
    if not isinstance(v, str):
        return None
    if v in f.options:
        return v
    # the same option in another case is still that option, written as the owner defined it
    folded = {o.casefold(): o for o in f.options}
    return folded.get(v.strip().casefold())


def _options(f: ContextField, v: Any) -> list[str] | None:
    if not isinstance(v, list) or not v:
        return None
    out = []
    for item in v:
        option = _option(f, item)
        if option is None:
            raise ValueError(f"{item!r} is not one of the options")
        if option not in out:
            out.append(option)
    return out


def _tags(_f: ContextField, v: Any) -> list[str] | None:
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x.strip() for x in v):
        return None
    return list(dict.fromkeys(x.strip() for x in v))


def _email(_f: ContextField, v: Any) -> str | None:
    if not isinstance(v, str):
        return None
    try:
        return validate_email(v.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def _phone(_f: ContextField, v: Any) -> str | None:
    if not isinstance(v, str) or not v.strip().startswith("+"):
        return None
    number = phonenumbers.parse(v.strip(), None)
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _url(_f: ContextField, v: Any) -> str | None:
    if not isinstance(v, str) or not re.match(r"^https?://[^\s/$.?#][^\s]*$", v.strip(), re.I):
        return None
    return v.strip()


def _rating(_f: ContextField, v: Any) -> int | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v).is_integer():
        return None
    return int(v) if 1 <= v <= 5 else None


_CHECKS = {"text": _string, "long_text": _string, "address": _string, "person_name": _string, "url": _url,
           "number": _number, "money": _money, "percent": _percent, "boolean": _boolean, "date": _date,
           "time": _time, "datetime": _datetime, "duration": _duration, "choice": _option,
           "multi_choice": _options, "tags": _tags, "email": _email, "phone": _phone, "rating": _rating}
