"""Booking through an LLM's tool calls: the same actions as the embedded dialog, offered to the model as tools.

The model sees the conversation (backend.ai.replies.llm_composer's prompt) plus these tools, calls them as it needs
(look up services, find free times, book, list the customer's appointments, move, cancel), and writes the reply from
their results. Every call goes through the booking services with the workspace and the conversation's contact fixed
by the server: the model chooses times and services, never whose appointment it touches. In a conversation whose
browser has not proved it holds the phone (`DialogContext.verified`), the tools list, move and cancel only the
appointments booked in that conversation, as the embedded dialog does, and say a texted code is needed for the
others; the reply then carries the SEND_CODE button. A tool that refuses (taken, outside hours, unknown id) answers
with an error the model can read and relay; nothing raises into the pipeline except the provider's own failures, on
which the pipeline falls back to the embedded dialog. """

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Callable
from zoneinfo import ZoneInfo

from backend.ai.dialogs.booking import SEND_CODE, DialogContext, visible_appointments
from backend.calendar import slots
from backend.calendar.availability import list_services
from backend.calendar.booking import book_appointment, cancel_appointment, reschedule_appointment
from backend.errors import ServiceError

MAX_ROUNDS = 4
MAX_SLOTS = 5


def _fn(name: str, description: str, properties: dict | None = None, required: list[str] | None = None) -> dict:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": properties or {}, "required": required or []}}}


TOOLS = [
    _fn("list_services", "The services customers can book, with their ids, length in minutes and price."),
    _fn("find_free_times", "Free start times for a service, nearest first. Give a date to look at that day, a time "
        "to look near it.", {
            "service_id": {"type": "integer"},
            "date": {"type": "string", "description": "YYYY-MM-DD in the business's time zone (optional)"},
            "time": {"type": "string", "description": "HH:MM, 24 h (optional)"}}, ["service_id"]),
    _fn("book_appointment", "Book a service at a start time the customer agreed to (one returned by "
        "find_free_times).", {
            "service_id": {"type": "integer"},
            "starts_at": {"type": "string", "description": "ISO 8601 with offset, as find_free_times gave it"}},
        ["service_id", "starts_at"]),
    _fn("list_my_appointments", "The customer's upcoming appointments, with their ids."),
    _fn("reschedule_appointment", "Move one of the customer's appointments to a free start time.", {
        "appointment_id": {"type": "integer"}, "starts_at": {"type": "string"}}, ["appointment_id", "starts_at"]),
    _fn("cancel_appointment", "Cancel one of the customer's appointments after they confirmed.", {
        "appointment_id": {"type": "integer"}, "reason": {"type": "string"}}, ["appointment_id"]),
]
TOOL_NAMES = [t["function"]["name"] for t in TOOLS]
TOOLS_PROMPT = ("You can look up services and free times and book, move or cancel appointments with the tools. "
                "Check free times with find_free_times before proposing any; book, move or cancel only after the "
                "customer agreed to that exact time or action. Times are in {tz}. Never invent an id or a time.")
UNVERIFIED_PROMPT = ("This customer has not confirmed their phone number with the texted code: you can book new "
                     "appointments and see, move or cancel only those booked in this chat. Never guess about other "
                     f"appointments; to see those, tell them to tap \"{SEND_CODE}\" to get a code.")
CODE_NEEDED = ("Only appointments booked in this chat can be seen or changed: the customer has not confirmed this "
               "phone number. Others, if any, show once they enter the code we text them.")


@dataclass
class ToolOutcome:
    text: str
    action: str = ""  # booked | rescheduled | cancelled
    appointment_id: int | None = None
    choices: list[str] = field(default_factory=list)  # the last free times found, as buttons
    calls: list[dict] = field(default_factory=list)  # [{"name", "arguments", "result"}] for the owner / tests


class BookingTools:
    """Executes tool calls for one conversation; results are JSON-ready dicts."""

    def __init__(self, ctx: DialogContext):
        self.ctx = ctx
        self.tz = ZoneInfo(ctx.timezone)
        self.action = ""
        self.appointment_id: int | None = None
        self.last_labels: list[str] = []
        self.code_needed = False  # a tool answered that the code is needed: offer the button

    def run(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        handler: Callable[..., dict] | None = getattr(self, f"_{name}", None) if name in TOOL_NAMES else None
        if handler is None:
            return {"error": f"unknown tool {name!r}"}
        try:
            return handler(**{k: v for k, v in (arguments or {}).items() if isinstance(k, str)})
        except TypeError as exc:  # missing or unexpected arguments
            return {"error": f"bad arguments for {name}: {exc}"}
        except ServiceError as exc:
            return {"error": exc.message}
        except (ValueError, KeyError) as exc:
            return {"error": f"could not read the arguments: {exc}"}

    def _moment(self, value: Any) -> datetime:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=self.tz)

    def _list_services(self) -> dict:

        return {"services": [{"id": s.id, "name": s.name, "minutes": s.duration_minutes,
                              "price": None if s.price_cents is None else f"{s.price_cents / 100:.2f} {s.currency}"}
                             for s in list_services(self.ctx.workspace_id, include_inactive=False)]}

    def _find_free_times(self, service_id: int, date: str | None = None, time: str | None = None) -> dict:

        service_id = int(service_id)
        if date:
            day = _date(date)
            found = slots.available_slots(self.ctx.workspace_id, service_id, start=day, end=day, now=self.ctx.now)
            if time:
                wanted = datetime.combine(day, _time(time), tzinfo=self.tz)
                found.sort(key=lambda s: abs((s.starts_at - wanted).total_seconds()))
            found = found[:MAX_SLOTS] or slots.nearest_slots(self.ctx.workspace_id, service_id, around=day,
                                                             count=MAX_SLOTS, now=self.ctx.now)
        else:
            around = None
            if time:
                around = datetime.combine(self.ctx.now.astimezone(self.tz).date(), _time(time), tzinfo=self.tz)
            found = slots.nearest_slots(self.ctx.workspace_id, service_id, around=around, count=MAX_SLOTS,
                                        now=self.ctx.now)
        found = sorted(found, key=lambda s: s.starts_at)
        self.last_labels = [s.label for s in found]
        return {"free_times": [{"starts_at": s.local_start, "label": s.label} for s in found]}

    def _book_appointment(self, service_id: int, starts_at: str) -> dict:

        view = book_appointment(self.ctx.workspace_id, service_id=int(service_id), starts_at=self._moment(starts_at),
                                contact_id=self.ctx.contact_id, conversation_id=self.ctx.conversation_id,
                                source="chat", now=self.ctx.now)
        self.action, self.appointment_id = "booked", view.id
        return {"booked": True, "appointment_id": view.id, "when": view.label, "service": view.service_name,
                "status": view.status}

    def _list_my_appointments(self) -> dict:
        out: dict[str, Any] = {"appointments": [
            {"id": a.id, "service": a.service_name, "when": a.label, "status": a.status}
            for a in visible_appointments(self.ctx)]}
        if not self.ctx.verified:
            self.code_needed = True
            out["note"] = CODE_NEEDED
        return out

    def _owned(self, appointment_id: Any) -> int:
        appointment_id = int(appointment_id)
        if appointment_id not in {a.id for a in visible_appointments(self.ctx)}:
            if not self.ctx.verified:
                self.code_needed = True
                raise ServiceError(CODE_NEEDED)
            raise ServiceError("That is not one of this customer's upcoming appointments.")
        return appointment_id

    def _reschedule_appointment(self, appointment_id: int, starts_at: str) -> dict:

        view = reschedule_appointment(self.ctx.workspace_id, self._owned(appointment_id), self._moment(starts_at),
                                      by="customer", now=self.ctx.now)
        self.action, self.appointment_id = "rescheduled", view.id
        return {"moved": True, "appointment_id": view.id, "when": view.label, "status": view.status}

    def _cancel_appointment(self, appointment_id: int, reason: str = "") -> dict:

        view = cancel_appointment(self.ctx.workspace_id, self._owned(appointment_id), by="customer",
                                  reason=str(reason or "asked in the chat")[:300])
        self.action, self.appointment_id = "cancelled", view.id
        return {"cancelled": True, "appointment_id": view.id, "when": view.label}


def _date(value: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ServiceError(f"{value!r} is not a date like 2026-12-01.") from None


def _time(value: str) -> time:
    try:
        return time.fromisoformat(str(value)[:5])
    except ValueError:
        raise ServiceError(f"{value!r} is not a time like 09:30.") from None


def converse(ctx: DialogContext, messages: list[dict], llm: Any, *, first_tool_choice: Any = "auto",
             max_rounds: int = MAX_ROUNDS) -> ToolOutcome:
    """Let the model call tools until it answers in words (or MAX_ROUNDS pass). `messages` is the composer's
    prompt; the tools' instructions are added to its system message. Provider errors propagate."""
    messages = [dict(m) for m in messages]
    if messages and messages[0].get("role") == "system":
        messages[0]["content"] += "\n\n" + TOOLS_PROMPT.format(tz=ctx.timezone)
        if not ctx.verified:
            messages[0]["content"] += " " + UNVERIFIED_PROMPT
    tools = BookingTools(ctx)
    calls: list[dict] = []
    choice = first_tool_choice
    for _ in range(max_rounds):
        result = llm.complete(messages, tools=TOOLS, tool_choice=choice)
        choice = "auto"
        if not result.tool_calls:
            return _outcome(result.text, tools, calls)
        messages.append({"role": "assistant", "content": result.text or "", "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for c in result.tool_calls]})
        for call in result.tool_calls:
            output = tools.run(call.name, call.arguments)
            calls.append({"name": call.name, "arguments": call.arguments, "result": output})
            messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(output)})
    final = llm.complete(messages, tools=TOOLS, tool_choice="none")
    return _outcome(final.text, tools, calls)


def _outcome(text: str, tools: BookingTools, calls: list[dict]) -> ToolOutcome:
    choices = [] if tools.action else list(tools.last_labels)
    if tools.code_needed and not tools.action:
        choices.append(SEND_CODE)
    return ToolOutcome(text.strip(), tools.action, tools.appointment_id, choices, calls)
