"""Booking messages without the booking dialog: repeat back the date and time understood, or ask for what is
missing (kind "clarify")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Sequence

from backend.ai.replies.rendering import (
    _Context,
    _Draft,
    _extras,
    _first_greeting,
    _reply,
    _template_confidence,
)
from backend.ai.types import ComposedReply, Entity

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def say_date(value: Any) -> str:
    """"2026-12-01" → "Tuesday 1 December"; anything unreadable is returned as text."""
    day = _as_date(value)
    if day is None:
        return str(value)
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def say_time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%H:%M")
    text = str(value)
    m = re.match(r"^(\d{1,2}):(\d{2})", text)
    return f"{int(m.group(1)):02d}:{m.group(2)}" if m else text


@dataclass
class _Slots:
    service: Entity | None = None
    date: Entity | None = None
    time: Entity | None = None
    party: Entity | None = None


def _slots(entities: Sequence[Entity]) -> _Slots:
    slots = _Slots()
    for e in sorted(entities, key=lambda e: -e.confidence):
        key, kind = (e.field or "").lower(), (e.type or "").lower()
        if kind == "datetime" or key == "datetime":
            text = e.value.isoformat() if isinstance(e.value, datetime) else str(e.value)
            if slots.date is None and _as_date(text) is not None:
                slots.date = Entity(e.field, text[:10], e.text, e.start, e.end, e.confidence, "date",
                                    tuple(str(a)[:10] for a in e.alternatives))
            if slots.time is None and re.search(r"[T ]\d{1,2}:\d{2}", text):
                slots.time = Entity(e.field, re.split(r"[T ]", text, maxsplit=1)[1][:5], e.text, e.start, e.end,
                                    e.confidence, "time")
        elif (kind == "date" or key in ("date", "preferred_date", "day")) and slots.date is None:
            slots.date = e
        elif (kind == "time" or key in ("time", "preferred_time")) and slots.time is None:
            slots.time = e
        elif key in ("service", "service_name", "treatment", "reason") and slots.service is None:
            slots.service = e
        elif (key in ("party_size", "guests", "people", "party", "count") or kind == "count") and slots.party is None:
            slots.party = e
    return slots


def _clarify(ctx: _Context, intent: str) -> ComposedReply:
    role, voice = ctx.role, ctx.voice
    slots = _slots(ctx.request.entities)
    team = ctx.values["team"]
    Team = team[0].upper() + team[1:]
    booking = ctx.values["booking"]

    if intent in ("cancel", "cancellation"):
        ack = ctx.pick(voice.cancel_ack, "ack")
    elif intent == "reschedule":
        ack = ctx.pick(voice.reschedule_ack, "ack")
    else:
        ack = ctx.pick(voice.book_ack, "ack")

    # Ambiguous readings are offered back, never guessed.
    for slot, say in ((slots.date, say_date), (slots.time, say_time)):
        if slot is not None and slot.alternatives:
            options = list(dict.fromkeys([say(slot.value), *(say(a) for a in slot.alternatives)]))
            question = f"Did you mean {', '.join(options[:-1])} or {options[-1]}?"
            return _clarify_reply(ctx, [ack, question])

    when = ""
    if slots.date is not None:
        when = say_date(slots.date.value)
    if slots.time is not None:
        when = f"{when} at {say_time(slots.time.value)}" if when else say_time(slots.time.value)
    service = str(slots.service.value).strip() if slots.service is not None else ""
    party = ""
    if slots.party is not None:
        try:
            count = int(slots.party.value)
            party = f"{count} {'person' if count == 1 else 'people'}"
        except (TypeError, ValueError):
            party = str(slots.party.value)

    sentences: list[str] = [ack]
    if intent in ("cancel", "cancellation"):
        if when:
            sentences.append(f"I've noted that you'd like to cancel your {booking} on {when}.")
            sentences.append(f"{Team} will confirm the cancellation shortly.")
        else:
            sentences.append(f"Could you tell me the day and time of the {booking} you'd like to cancel?")
        return _clarify_reply(ctx, sentences)

    if intent == "reschedule":
        if slots.date is not None and slots.time is not None:
            sentences.append(f"I've noted {when} as your new preferred time.")
            sentences.append(f"{Team} will confirm shortly.")
        elif slots.date is not None:
            sentences.append(f"I've noted {when}. What time would suit you?")
        elif slots.time is not None:
            sentences.append(f"I've noted {when}. Which day would suit you?")
        else:
            sentences.append("What day and time would suit you instead?")
        return _clarify_reply(ctx, sentences)

    # book
    asks_party = role.ask_party_size and not party
    what = f" for {service}" if service else ""
    who = f" for {party}" if party else ""
    if slots.date is not None and slots.time is not None:
        sentences.append(f"I've noted {when}{what}{who}.")
        sentences.append(f"{Team} will confirm your {booking} shortly.")
        if asks_party:
            sentences.append("How many people will be joining?")
        elif not service and role.service_question:
            sentences.append(f"{role.service_question}?")
        return _clarify_reply(ctx, sentences)
    if slots.date is not None or slots.time is not None:
        missing = "What time" if slots.time is None else "Which day"
        sentences.append(f"I've noted {when}{what}{who}. {missing} would suit you?")
    else:
        need = "what day and time would suit you?"
        if asks_party:
            sentences.append(f"How many people will be joining, and {need}")
        elif not service and role.service_question:
            sentences.append(f"{role.service_question}, and {need}")
        else:
            sentences.append(f"{'Noted' + what + who + '. ' if what or who else ''}{need[0].upper()}{need[1:]}")
    if asks_party and (slots.date is not None or slots.time is not None):
        sentences.append("How many people will be joining?")
    return _clarify_reply(ctx, sentences)


def _clarify_reply(ctx: _Context, sentences: list[str]) -> ComposedReply:
    lead, extra = _extras(ctx, always=True)
    body = [ctx.voiced(s) for s in sentences if s]
    draft = _Draft(kind="clarify", lead=lead, greeting=_first_greeting(ctx), body=body, extra=extra)
    return _reply(ctx, draft, _template_confidence(ctx))
