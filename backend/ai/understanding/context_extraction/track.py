"""A conversation's context, built turn after turn from what each customer message gives.

    tracker = ContextTracker(schema, timezone="America/Los_Angeles")
    tracker.assistant("How many bedrooms do you need?")
    tracker.customer("Three, and two baths", now=now)
    tracker.context  → {"bedrooms": {"value": 3, "confidence": 0.8, "evidence": "Three"}, "baths": {...}}
    tracker.status   → the workflow's status ("" when the schema has none)

Progressive: a later value replaces an earlier one when it corrects it ("actually, make it three"), when the
customer said yes to the assistant's new proposal, or when it is at least as confident; a weaker guess later on
never overwrites a firmer statement. Confidence is compared by band (firm ≥ 0.75, likely ≥ 0.5, a guess below):
two firm statements are equals, so the later one stands ("today" at 0.95 then "the 10th" at 0.8 is the 10th).

Status, kept simple: a schema with statuses starts in its initial one (the one marked `"initial": true`, else the
first); once every required field has a value it moves to `complete_status` when the schema names one, else to
the first status the initial one may move to (`transitions[initial][0]`), else to the next status in the list.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.ai.understanding.context_extraction.extract import ExtractedValue, extract_context
from backend.ai.understanding.context_extraction.fields import ContextField


@dataclass(frozen=True)
class ContextSchemaSpec:
    key: str
    name: str = ""
    description: str = ""
    fields: tuple[ContextField, ...] = ()
    statuses: tuple[str, ...] = ()
    transitions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    initial_status: str = ""  # "" → the first status
    complete_status: str = ""  # "" → the first status the initial one moves to
    is_default: bool = False

    @property
    def has_workflow(self) -> bool:
        return bool(self.statuses)

    def start_status(self) -> str:
        return self.initial_status or (self.statuses[0] if self.statuses else "")

    def next_when_complete(self) -> str:
        if self.complete_status:
            return self.complete_status
        start = self.start_status()
        if self.transitions.get(start):
            return self.transitions[start][0]
        if start in self.statuses:
            i = self.statuses.index(start)
            if i + 1 < len(self.statuses):
                return self.statuses[i + 1]
        return start


BANDS = (0.75, 0.5)


def band(confidence: float) -> int:
    """2 firm, 1 likely, 0 a guess."""
    return sum(confidence >= b for b in BANDS)


def merge(context: dict[str, dict[str, Any]], values: Sequence[ExtractedValue]) -> dict[str, dict[str, Any]]:
    """The context after `values`: a new dict, `context` is left as it was."""
    out = {k: dict(v) for k, v in context.items()}
    for v in values:
        old = out.get(v.key)
        if old is None or v.corrects or band(v.confidence) >= band(old["confidence"]):
            out[v.key] = {"value": v.value, "confidence": round(v.confidence, 4), "evidence": v.evidence}
    return out


def status_for(schema: ContextSchemaSpec, context: dict[str, dict[str, Any]], current: str) -> str:
    if not schema.has_workflow:
        return ""
    current = current or schema.start_status()
    required = [f.key for f in schema.fields if f.required]
    if current == schema.start_status() and required and all(k in context for k in required):
        return schema.next_when_complete()
    return current


Extract = Callable[..., list[ExtractedValue]]


class ContextTracker:
    """One conversation's context under one schema; `extract_ms` records the cost of each customer message."""

    def __init__(self, schema: ContextSchemaSpec, *, timezone: str = "UTC", phone_region: str = "US",
                 extract: Extract = extract_context, embed: Any = None, use_default_embed: bool = True):
        self.schema = schema
        self.timezone = timezone
        self.phone_region = phone_region
        self._extract = extract
        self._embed_kwargs = {} if use_default_embed and embed is None else {"embed": embed}
        self.context: dict[str, dict[str, Any]] = {}
        self.status = schema.start_status()
        self.previous_turn = ""
        self.extract_ms: list[float] = []
        self.last: list[ExtractedValue] = []

    def assistant(self, text: str) -> None:
        self.previous_turn = text or ""

    def customer(self, text: str, *, now: datetime, requested: Sequence[str] = ()) -> list[ExtractedValue]:
        known = {k: v["value"] for k, v in self.context.items()}
        started = time.perf_counter()
        values = self._extract(text, self.schema.fields, now=now, timezone=self.timezone,
                               phone_region=self.phone_region, requested=tuple(requested),
                               previous_turn=self.previous_turn, known=known, **self._embed_kwargs)
        self.extract_ms.append((time.perf_counter() - started) * 1000)
        self.context = merge(self.context, values)
        self.status = status_for(self.schema, self.context, self.status)
        self.previous_turn = ""
        self.last = values
        return values

    def snapshot(self) -> dict[str, Any]:
        out: dict[str, Any] = {"context": {k: dict(v) for k, v in self.context.items()}}
        if self.schema.has_workflow:
            out["status"] = self.status
        return out
