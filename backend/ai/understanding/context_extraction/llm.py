"""Context extraction by an LLM: one forced tool call against the schema, its output held to the same checks as
the rules' (`fields.check_value`, evidence found in the message).

    outcome = extract_with_llm(get_llm(), "Three beds in Leeds, £900 max", fields, now=now, timezone=tz)
    outcome.values   → [ExtractedValue(...), …]      (source "llm")
    outcome.dropped  → [("budget", "budget: {'amount': 'lots'} is not a valid money"), …]

The tool has one optional property per AI-extractable field, each an object {"value", "evidence", "confidence",
"corrects"} whose "value" is typed by the field (an enum for choices, an object for money, formats spelt out for
dates and times), so a server that constrains tool calls to their JSON schema (llama.cpp, vLLM) can only send
well-formed values. The provider is passed in (anything with `complete(messages, tools=, tool_choice=)`); its
errors propagate for the caller to fall back to `extract_context`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.ai.understanding.context_extraction.extract import ExtractedValue
from backend.ai.understanding.context_extraction.fields import ContextField, check_value
from backend.ai.understanding.datetimes import make_clock

TOOL_NAME = "record_context"
DEFAULT_CONFIDENCE = 0.8
_FORMATS = {
    "date": "a date as YYYY-MM-DD", "time": "a time as HH:MM, 24-hour", "email": "an e-mail address",
    "datetime": "an ISO 8601 date-time with its UTC offset, e.g. 2026-03-14T17:30:00+00:00",
    "phone": "a phone number in E.164 form, e.g. +442079460958", "url": "a web address starting with https://",
    "duration": "a whole number of minutes", "percent": "a number from 0 to 100", "rating": "a whole number 1-5",
}


@dataclass
class LLMExtraction:
    values: list[ExtractedValue] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (field key, the reason)
    raw: dict[str, Any] = field(default_factory=dict)  # the tool call's arguments, for the owner's audit


def _value_schema(f: ContextField) -> dict[str, Any]:
    t = f.value_type
    if t in ("number", "percent"):
        out: dict[str, Any] = {"type": "number"}
    elif t in ("duration", "rating"):
        out = {"type": "integer"}
    elif t == "boolean":
        out = {"type": "boolean"}
    elif t == "money":
        out = {"type": "object", "properties": {"amount": {"type": "number"},
                                                "currency": {"type": "string",
                                                             "description": "ISO 4217 code, \"\" if not said"}},
               "required": ["amount", "currency"]}
    elif t == "choice":
        out = {"type": "string", "enum": list(f.options)}
    elif t == "multi_choice":
        out = {"type": "array", "items": {"type": "string", "enum": list(f.options)}}
    elif t == "tags":
        out = {"type": "array", "items": {"type": "string"}}
    else:
        out = {"type": "string"}
    if t in _FORMATS:
        out["description"] = _FORMATS[t]
    return out


def extraction_tool(fields: Sequence[ContextField]) -> dict[str, Any]:
    """The OpenAI function tool that records what a message says about the fields."""
    properties = {}
    for f in fields:
        if not f.ai_extract:
            continue
        about = f.title + (f": {f.description}" if f.description else "")
        properties[f.key] = {
            "type": "object", "description": about,
            "properties": {
                "value": _value_schema(f),
                "evidence": {"type": "string", "description": "the customer's exact words it comes from"},
                "confidence": {"type": "number", "description": "0 to 1"},
                "corrects": {"type": "boolean", "description": "the customer corrects what they said before"},
            },
            "required": ["value", "evidence"],
        }
    return {"type": "function", "function": {
        "name": TOOL_NAME,
        "description": "Record the context fields the customer's message gives a value for. Leave out every field "
                       "the message does not give.",
        "parameters": {"type": "object", "properties": properties}}}


def extraction_messages(message: str, fields: Sequence[ContextField], *, now: datetime, timezone: str,
                        previous_turn: str = "", known: dict[str, Any] | None = None) -> list[dict[str, str]]:
    local = make_clock(now, timezone, "").now
    system = (f"You fill in a business's context form from what a customer writes. It is now "
              f"{local.strftime('%A %d %B %Y, %H:%M')} ({timezone}); resolve relative dates and times in that zone. "
              "Only record what the customer states or confirms: not what they ask about, and not the assistant's "
              "words unless the customer agrees to them (then the evidence is the customer's agreement). "
              "Evidence must be copied exactly from the customer's message.")
    if known:
        system += " Already known: " + json.dumps(known, ensure_ascii=False) + "."
    user = (f"The assistant said: {previous_turn}\n" if previous_turn else "") + f"The customer wrote: {message}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def extract_with_llm(llm: Any, message: str, fields: Sequence[ContextField], *, now: datetime, timezone: str = "UTC",
                     previous_turn: str = "", known: dict[str, Any] | None = None, max_tokens: int = 400
                     ) -> LLMExtraction:
    """One forced tool call; the values that pass the checks, and the reasons the others were dropped."""
    fields = [f for f in fields if f.ai_extract]
    if not fields or not (message or "").strip():
        return LLMExtraction()
    result = llm.complete(extraction_messages(message, fields, now=now, timezone=timezone,
                                              previous_turn=previous_turn, known=known),
                          tools=[extraction_tool(fields)], tool_choice=TOOL_NAME, temperature=0.0,
                          max_tokens=max_tokens)
    call = next((c for c in result.tool_calls if c.name == TOOL_NAME), None)
    if call is None:
        return LLMExtraction(dropped=[("", "the model did not call the tool")])
    return read_tool_arguments(call.arguments, message, fields, known=known)


def read_tool_arguments(arguments: dict[str, Any], message: str, fields: Sequence[ContextField], *,
                        known: dict[str, Any] | None = None) -> LLMExtraction:
    """The tool call's arguments checked field by field, as the storage side would check them."""
    by_key = {f.key: f for f in fields if f.ai_extract}
    out = LLMExtraction(raw=dict(arguments or {}))
    for key, item in (arguments or {}).items():
        f = by_key.get(key)
        if f is None:
            out.dropped.append((key, f"{key}: not an AI-extractable field of this schema"))
            continue
        if not isinstance(item, dict) or "value" not in item:
            out.dropped.append((key, f"{key}: expected an object with a value"))
            continue
        if item["value"] in (None, "", []):
            continue  # the model's way of saying "not given"
        value, problem = check_value(f, item["value"])
        if problem:
            out.dropped.append((key, problem))
            continue
        span = _evidence_span(message, item.get("evidence"), value)
        if span is None:
            out.dropped.append((key, f"{key}: the evidence {item.get('evidence')!r} is not in the message"))
            continue
        confidence = item.get("confidence", DEFAULT_CONFIDENCE)
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
            confidence = DEFAULT_CONFIDENCE
        corrects = item.get("corrects") is True and known is not None and key in known and known[key] != value
        s, e = span
        out.values.append(ExtractedValue(key, value, round(max(0.0, min(1.0, float(confidence))), 4), message[s:e],
                                         s, e, corrects, "llm"))
    return out


def _evidence_span(message: str, evidence: Any, value: Any) -> tuple[int, int] | None:
    """Where the evidence is in the message: as given, else ignoring case, else where the value is written."""
    for needle in (evidence, value if isinstance(value, str) else None):
        if not isinstance(needle, str) or not needle.strip():
            continue
        needle = needle.strip()
        at = message.find(needle)
        if at < 0:
            at = message.lower().find(needle.lower())
        if at >= 0:
            return at, at + len(needle)
    return None


def llm_extractor(llm: Any, fallback: Any = None):
    """An extractor with `extract_context`'s signature that asks the LLM, and reads the message with the rules
    when the LLM fails (a provider error never costs the customer's values)."""
    from backend.ai.understanding.context_extraction.extract import extract_context

    rules = fallback or extract_context

    def extract(message: str, fields: Sequence[ContextField], *, now: datetime, timezone: str = "UTC",
                phone_region: str = "US", requested: Sequence[str] = (), previous_turn: str = "",
                known: dict[str, Any] | None = None, **kw: Any) -> list[ExtractedValue]:
        try:
            return extract_with_llm(llm, message, fields, now=now, timezone=timezone, previous_turn=previous_turn,
                                    known=known).values
        except Exception:  # noqa: BLE001 - any provider failure: the rules still read the message
            return rules(message, fields, now=now, timezone=timezone, phone_region=phone_region,
                         requested=requested, previous_turn=previous_turn, known=known, **kw)

    return extract
