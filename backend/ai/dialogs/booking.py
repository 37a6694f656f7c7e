"""Booking in the conversation, with no LLM: a slot-filling dialog over the booking services.

The customer says they want to book, move or cancel; the assistant fills the service, date and time from what
they said (asking for what is missing), offers the nearest free times as buttons, and books when the customer
picks one (a pick is the confirmation) or says yes to the one time it proposed. Moving and cancelling find the
customer's upcoming appointment first (asking which one when there are several) and confirm before acting.

The dialog's memory is `Conversation.assistant_state["booking"]` (what it asked, what it offered); it is
forgotten after STATE_TTL of silence or once the action is done. A reply carries its buttons as `choices`
(stored in the reply message's meta; the portal shows them as quick replies under the last message).

Only a conversation whose browser proved it holds the phone (`DialogContext.verified`: the conversation is not
`opened_unverified`) is told about, moves and cancels the contact's appointments made elsewhere (by the owner, in
another conversation). Anyone can type a phone number, so any other conversation may book new appointments and
act only on those booked in it; asked about others, it reveals nothing, not even whether there are any, and
offers the SEND_CODE quick reply, on which the portal texts the code.

With `DialogContext.dry_run` (the dashboard's "Try your assistant") the dialog talks exactly as it would, reading
the real free times, but books, moves and cancels nothing: the reply's `preview` says what it would have done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from backend.ai.types import ComposedReply, Entity, IntentResult
from backend.calendar import slots as slot_service
from backend.calendar.availability import list_services
from backend.calendar.booking import (
    book_appointment,
    cancel_appointment,
    get_appointment,
    reschedule_appointment,
    upcoming_for_contact,
)
from backend.calendar.slots import day_label
from backend.db import session_scope
from backend.errors import ServiceError
from backend.models import Workspace

FLOWS = ("book", "reschedule", "cancel")
INTERRUPTING_INTENTS = ("human", "complaint", "pricing", "opening_hours", "question", "thanks", "goodbye",
                        "greeting")
DIALOG_CONFIDENCE = 0.95  # the dialog says what the booking service answered: nothing to guess
MIN_INTENT_CONFIDENCE = 0.45
STATE_TTL = timedelta(hours=2)
OFFER_COUNT = 4
KEY = "booking"

YES = re.compile(r"^\s*(yes|yeah|yep|yup|sure|ok|okay|please( do)?|do it|book it|confirm(ed)?|correct|that works|"
                 r"sounds good|perfect|great|go ahead|yes,? .*)\W*$", re.I)
NO = re.compile(r"^\s*(no|nope|nah|keep it|don'?t|do not|other times?|something else|another time|not that)\b",
                re.I)
YES_BOOK, OTHER_TIMES = "Yes, book it", "Other times"
YES_CANCEL, KEEP_IT = "Yes, cancel it", "Keep it"
SEND_CODE = "Send me a code"  # picked on the portal, it starts the texted-code check (assistant/pages/portal.py)
_PRIVATE_ELSEWHERE = ("Appointments made outside this chat stay private until you confirm this phone is yours "
                      "with a 6-digit code I can text you.")


@dataclass
class DialogReply:
    text: str
    choices: list[str] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)  # the new state ({} when the dialog is over)
    action: str = ""  # booked | rescheduled | cancelled | "" (only talked)
    appointment_id: int | None = None
    requested: list[str] = field(default_factory=list)  # fields the next message probably answers
    preview: str = ""  # dry run: what it would have done ("Would book Cleaning, Fri 27 Nov 10:00")

    def composed(self) -> ComposedReply:
        """The reply as the engine's other replies are, for the policy and the conversation."""
        return ComposedReply(text=self.text, confidence=DIALOG_CONFIDENCE, kind="booking",
                             choices=tuple(self.choices))


@dataclass
class DialogContext:
    workspace_id: int
    conversation_id: int | None
    contact_id: int | None
    timezone: str
    now: datetime  # aware
    customer_timezone: str = ""  # the customer's own zone (from their browser), when known
    dry_run: bool = False  # talk, but book, move and cancel nothing (the dashboard's try-out)
    # The browser proved it holds the phone: all the contact's appointments may be shown and changed. Otherwise
    # only those booked in this conversation (see the module docstring).
    verified: bool = False

    def their_time(self, starts_at: datetime) -> str:
        """"19:00" (or "Fri 01:00") on the customer's own clock when their zone shows another time, else ""."""
        if not self.customer_timezone or self.customer_timezone == self.timezone:
            return ""
        try:
            theirs = starts_at.astimezone(ZoneInfo(self.customer_timezone))
        except Exception:  # an unknown zone name: the business's time alone is still right
            return ""
        ours = starts_at.astimezone(ZoneInfo(self.timezone))
        if theirs.replace(tzinfo=None) == ours.replace(tzinfo=None):
            return ""
        day = "" if theirs.date() == ours.date() else theirs.strftime("%a ")
        return f"{day}{theirs:%H:%M}"

    def when(self, starts_at: datetime, label: str) -> str:
        """The business's label, plus the customer's own clock time when their zone shows another one."""
        theirs = self.their_time(starts_at)
        return f"{label} ({theirs} your time)" if theirs else label


_OWN_APPOINTMENT = re.compile(
    r"\b(?:when|what time|what day|which day|what date)\b[^?.!]{0,40}\b(?:my|our)\s+"
    r"(?:next\s+)?(?:appointment|booking|reservation|visit)s?\b"
    r"|\bdo (?:i|we) (?:still )?have (?:an? |any )?(?:appointments?|bookings?|reservations?)\b", re.I)


def asks_about_own_appointment(text: str) -> bool:
    """"When is my appointment?", "What time is our booking?", "Do I have an appointment?"."""
    return _OWN_APPOINTMENT.search(text) is not None


def wants_dialog(intent: IntentResult, assistant_state: dict[str, Any], text: str, now: datetime) -> bool:
    """Whether this message belongs to the booking dialog: a booking intent, an answer to what it asked, or a
    question about the customer's own appointments."""
    if intent.name in FLOWS and intent.confidence >= MIN_INTENT_CONFIDENCE or asks_about_own_appointment(text):
        return True
    current = live_state(assistant_state, now)
    if not current.get("awaiting"):
        return False
    # A clear question, request or pleasantry of another kind interrupts; anything else is taken as the answer.
    return intent.name not in INTERRUPTING_INTENTS or _matches_choice(text, current) is not None or \
        intent.confidence < 0.6


def requested_fields(assistant_state: dict[str, Any], now: datetime) -> list[str]:
    """What the assistant asked for last, so the entity extractor reads a bare "7" or "Tuesday" right."""
    awaiting = live_state(assistant_state, now).get("awaiting", "")
    return {"date": ["date"], "time": ["time"], "slot": ["date", "time"]}.get(awaiting, [])


def handle(ctx: DialogContext, text: str, intent: IntentResult, entities: Sequence[Entity],
           assistant_state: dict[str, Any]) -> DialogReply:

    state = live_state(assistant_state, ctx.now)
    if asks_about_own_appointment(text):
        return _own_appointments(ctx, state)
    if intent.name in FLOWS and intent.confidence >= MIN_INTENT_CONFIDENCE and state.get("flow") != intent.name \
            and not _matches_choice(text, state) and not _answers_when(state, intent, entities, text):
        state = {"flow": intent.name}
    state.setdefault("flow", "book")
    services = [s for s in list_services(ctx.workspace_id, include_inactive=False)]
    if not services:
        return DialogReply("I can't book online yet — the team will get back to you to find a time.")
    if state["flow"] == "cancel":
        return _cancel(ctx, text, state)
    if state["flow"] == "reschedule" and not state.get("appointment_id"):
        picked = _pick_appointment(ctx, text, state, verb="move")
        if isinstance(picked, DialogReply):
            return picked
        if state.get("awaiting") == "pick_appointment":
            entities = ()  # the button named the appointment's current time, not the time wanted
        state.update(appointment_id=picked.id, service_id=picked.service_id, awaiting="", offered=[])
    return _book(ctx, text, entities, state, services)


def _answers_when(state: dict, intent: IntentResult, entities: Sequence[Entity], text: str) -> bool:
    """"Thursday morning" while moving an appointment reads as a booking, but it answers the question asked."""
    return intent.name == "book" and state.get("flow") == "reschedule" and \
        state.get("awaiting") in ("slot", "date", "confirm") and \
        (any(e.field in ("date", "time") for e in entities) or _daypart(text) is not None)


# --- booking and moving ---------------------------------------------------------------------------------------


def _book(ctx: DialogContext, text: str, entities: Sequence[Entity], state: dict, services) -> DialogReply:

    choice = _matches_choice(text, state)
    if state.get("awaiting") == "confirm":
        if choice == YES_BOOK or (choice is None and YES.match(text)):
            return _commit(ctx, state, state["offered"][0])
        if choice == OTHER_TIMES or NO.match(text):
            state.update(date=None, time=None)
    elif state.get("awaiting") == "slot" and choice is not None:
        offered = next(o for o in state["offered"] if o["label"] == choice)
        return _commit(ctx, state, offered)
    elif state.get("awaiting") == "slot" and YES.match(text) and not entities:
        # "yes" to several times: which one?
        return _reply("Which of these times suits you?", [o["label"] for o in state["offered"]], state,
                      requested=["date", "time"])

    # What the message says about when, remembered before anything is asked: "tomorrow at 11" said before the
    # service is known still counts once it is.
    _note_when(ctx, text, entities, state, choice)

    if state.get("flow") == "book" and state.get("service_id") and state.get("awaiting") != "service":
        named = _match_service(text, services)  # "and a cleaning on Wednesday": another service than before
        if named is not None and named.id != state["service_id"]:
            state["service_id"] = named.id

    if not state.get("service_id"):
        service = _match_service(text if state.get("awaiting") != "service" or choice is None else choice, services)
        if service is None and len(services) == 1:
            service = services[0]
        if service is None:
            # The names as offered answers, so a click (or typing one) is read as the answer, not a new question.
            state.update(awaiting="service", offered=[{"label": s.name} for s in services[:8]])
            return _reply("Which service would you like to book?", [s.name for s in services][:8], state)
        state["service_id"] = service.id
    service_id = state["service_id"]
    service_name = next((s.name for s in services if s.id == service_id), "your appointment")

    if state.get("date_options") and not state.get("date"):
        state["awaiting"] = "date"
        labels = [slot_service.day_label(date.fromisoformat(o)) for o in state["date_options"]]
        return _reply("Just to be sure — which day do you mean?", labels, state, requested=["date"])
    if not state.get("date") and not state.get("time") and state.get("from_day"):
        return _offer(ctx, state, service_id, service_name, around=date.fromisoformat(state.pop("from_day")))

    tz = ZoneInfo(ctx.timezone)
    wanted_day = date.fromisoformat(state["date"]) if state.get("date") else None
    wanted_time = time.fromisoformat(state["time"]) if state.get("time") else None
    try:
        if wanted_day and wanted_time:
            wanted = datetime.combine(wanted_day, wanted_time, tzinfo=tz)
            if wanted < ctx.now:
                state.update(date=None, time=None)
                return _offer(ctx, state, service_id, service_name, around=None,
                              intro="That time has already passed. ")
            day_slots = slot_service.available_slots(ctx.workspace_id, service_id, start=wanted_day, end=wanted_day,
                                                     now=ctx.now, step_minutes=5)
            exact = next((s for s in day_slots if s.starts_at == wanted.astimezone(s.starts_at.tzinfo)), None)
            if exact is not None:
                state.update(awaiting="confirm", offered=[_offered(ctx, exact)])
                return _reply(f"{ctx.when(exact.starts_at, exact.label)} is free for {service_name}. Shall I book "
                              "it?", [YES_BOOK, OTHER_TIMES], state)
            return _offer(ctx, state, service_id, service_name, around=wanted,
                          intro=f"{ctx.when(wanted, slot_service.label_of(wanted))} isn't available. ")
        if wanted_day:
            return _offer(ctx, state, service_id, service_name, around=wanted_day, same_day=wanted_day)
        if wanted_time:
            around = datetime.combine(ctx.now.astimezone(tz).date(), wanted_time, tzinfo=tz)
            return _offer(ctx, state, service_id, service_name, around=around if around > ctx.now else None)
        return _offer(ctx, state, service_id, service_name, around=None)
    except ServiceError as exc:
        return _reply(f"{exc.message} Which other day would suit you?", [], {**state, "awaiting": "date"},
                      requested=["date"])


def _note_when(ctx: DialogContext, text: str, entities: Sequence[Entity], state: dict, choice: str | None) -> None:
    """Keep the day, the time or the part of the day the customer gave (an ambiguous day: its readings, to ask)."""
    by_field = {e.field: e for e in entities}
    date_entity, time_entity = by_field.get("date"), by_field.get("time")
    if time_entity is not None:
        bound = _bound_before(text, time_entity)
        if bound is None:
            state["time"] = str(time_entity.value)
            state.pop("window", None)
        else:  # "after 3pm", "before noon": a range to offer from, not a time to book
            state["time"] = None
            state["window"] = _bounded_window(bound, str(time_entity.value))
    elif (part := _daypart(text)) is not None:
        state["window"] = DAYPARTS[part]
    if date_entity is not None and date_entity.alternatives:
        state.update(date=None, date_options=sorted({str(date_entity.value), *map(str, date_entity.alternatives)}))
    elif date_entity is not None:
        state["date"] = str(date_entity.value)
        state.pop("date_options", None)
    elif state.get("awaiting") == "date" and state.get("date_options") and choice is None:
        picked = _pick_day_label(text, state["date_options"])
        if picked:
            state["date"] = picked
            state.pop("date_options", None)
    if not state.get("date"):
        next_monday = _vague_start(text, ctx)
        if next_monday is not None:
            state["from_day"] = next_monday.isoformat()


def _offer(ctx: DialogContext, state: dict, service_id: int, service_name: str, *, around, intro: str = "",
           same_day: date | None = None) -> DialogReply:

    found = []
    window = state.get("window")
    if same_day is not None:
        found = slot_service.available_slots(ctx.workspace_id, service_id, start=same_day, end=same_day, now=ctx.now)
        if not found:
            intro += f"{slot_service.day_label(same_day)} is fully booked. "
        elif window:
            inside = _in_window(found, window, ctx.timezone)
            if not inside:
                intro += f"There's nothing free {window['label']} on {slot_service.day_label(same_day)}. "
            found = inside or found
        found = found[:OFFER_COUNT]
    if not found:
        found = slot_service.nearest_slots(ctx.workspace_id, service_id, around=around,
                                           count=OFFER_COUNT * 5 if window else OFFER_COUNT, now=ctx.now)
        found = (_in_window(found, window, ctx.timezone) or found)[:OFFER_COUNT] if window else found
    if not found:
        state.update(awaiting="date", offered=[])
        return _reply(intro + f"I couldn't find a free time for {service_name} in the coming weeks. Which day would "
                      "suit you? The team can also look for a time with you.", [], state, requested=["date"])
    state.update(awaiting="slot", offered=[_offered(ctx, s) for s in found])
    lead = "Here are the nearest free times" if around is not None else "Here are the first free times"
    return _reply(intro + f"{lead} for {service_name}. Which one suits you?", [o["label"] for o in state["offered"]],
                  state,
                  requested=["date", "time"])


def _commit(ctx: DialogContext, state: dict, offered: dict) -> DialogReply:

    starts_at = datetime.fromisoformat(offered["starts_at"])
    if ctx.dry_run:
        return _would_commit(ctx, state, offered, starts_at)
    try:
        if state.get("flow") == "reschedule" and state.get("appointment_id"):
            if not _may_act_on(ctx, state["appointment_id"]):
                return _code_first()
            view = reschedule_appointment(ctx.workspace_id, state["appointment_id"], starts_at, by="customer",
                                          now=ctx.now)
            action, done = "rescheduled", _after("Done — your appointment is moved", ctx, view.starts_at)
        else:
            view = book_appointment(ctx.workspace_id, service_id=state["service_id"], starts_at=starts_at,
                                    contact_id=ctx.contact_id, conversation_id=ctx.conversation_id, source="chat",
                                    now=ctx.now)
            action = "booked"
            done = ("Thanks! I've asked the team to confirm it; you'll hear back here." if view.status == "pending"
                    else _after("You're booked — see you then", ctx, view.starts_at))
    except ServiceError as exc:
        # Taken meanwhile, or no longer within the rules: offer what is free now.
        state.update(awaiting="", offered=[])
        return _offer(ctx, state, state["service_id"], "it", around=starts_at, intro=f"{exc.message} ")
    return DialogReply(done, state={}, action=action, appointment_id=view.id)


def _would_commit(ctx: DialogContext, state: dict, offered: dict, starts_at: datetime) -> DialogReply:
    """The reply a booking or move would get, with nothing written (the booking service would still check the
    time is free; it was offered from the free times a moment ago)."""

    if state.get("flow") == "reschedule" and state.get("appointment_id"):
        return DialogReply(_after("Done — your appointment is moved", ctx, starts_at), state={},
                           action="rescheduled", preview=f"Would move the appointment to {offered['label']}.")
    with session_scope() as session:
        workspace = session.get(Workspace, ctx.workspace_id)
        pending = bool(workspace is not None and workspace.require_confirmation)
    name = next((s.name for s in list_services(ctx.workspace_id, include_inactive=True)
                 if s.id == state.get("service_id")), "the appointment")
    done = ("Thanks! I've asked the team to confirm it; you'll hear back here." if pending
            else _after("You're booked — see you then", ctx, starts_at))
    return DialogReply(done, state={}, action="booked",
                       preview=f"Would book {name}, {offered['label']}" + (" (waiting for your confirmation)."
                                                                           if pending else "."))


def _after(sentence: str, ctx: DialogContext, starts_at: datetime) -> str:
    """A short confirmation: the booking service's notice just above it in the chat gives the service and time."""
    theirs = ctx.their_time(starts_at)
    return f"{sentence} ({theirs} your time)!" if theirs else f"{sentence}!"


# --- cancelling -------------------------------------------------------------------------------------------------


def _cancel(ctx: DialogContext, text: str, state: dict) -> DialogReply:

    choice = _matches_choice(text, state)
    if state.get("awaiting") == "confirm_cancel" and state.get("appointment_id"):
        if not _may_act_on(ctx, state["appointment_id"]):
            return _code_first()
        if choice == YES_CANCEL or (choice is None and YES.match(text)):
            if ctx.dry_run:
                return DialogReply("Done, it's cancelled. Would you like to book another time?", state={},
                                   action="cancelled", preview="Would cancel the appointment.")
            view = cancel_appointment(ctx.workspace_id, state["appointment_id"], by="customer",
                                      reason="asked in the chat")
            return DialogReply("Done, it's cancelled. Would you like to book another time?",
                               state={}, action="cancelled", appointment_id=view.id)
        if choice == KEEP_IT or NO.match(text):
            return DialogReply("No problem, your appointment stays as it is.", state={})
    picked = _pick_appointment(ctx, text, state, verb="cancel")
    if isinstance(picked, DialogReply):
        return picked
    view = get_appointment(ctx.workspace_id, picked.id)
    state.update(appointment_id=view.id, awaiting="confirm_cancel", offered=[])
    return _reply(f"Cancel your {view.service_name or 'appointment'} on {view.label}?", [YES_CANCEL, KEEP_IT], state)


def visible_appointments(ctx: DialogContext) -> list:
    """The contact's upcoming appointments this conversation may be told about and act on, soonest first."""

    if ctx.contact_id is None:
        return []
    upcoming = upcoming_for_contact(ctx.workspace_id, ctx.contact_id, now=ctx.now)
    if ctx.verified:
        return upcoming
    return [a for a in upcoming if ctx.conversation_id is not None and a.conversation_id == ctx.conversation_id]


def _may_act_on(ctx: DialogContext, appointment_id: int) -> bool:
    # The dialog only ever remembers an appointment it picked from the visible ones; checked again before acting
    # all the same, as the state outlives the message that chose it.
    return ctx.dry_run or appointment_id in {a.id for a in visible_appointments(ctx)}


def _code_first(state: dict | None = None) -> DialogReply:
    """The answer to an unproven browser about appointments it may not see: the same whether there are any."""
    return DialogReply("I can only see and change appointments booked in this chat. " + _PRIVATE_ELSEWHERE,
                       choices=[SEND_CODE], state=state if state is not None else {})


def _own_appointments(ctx: DialogContext, state: dict) -> DialogReply:
    """The customer's upcoming appointments, from the calendar itself; a booking in progress stays where it was."""
    upcoming = visible_appointments(ctx)
    if not upcoming:
        if not ctx.verified:
            return _code_first(state)
        return DialogReply("I don't see an upcoming appointment for you. Would you like to book one?", state=state)
    lines = [f"{a.service_name or a.title or 'Appointment'} on {ctx.when(a.starts_at, a.label)}"
             + (" (waiting for the team to confirm)" if a.status == "pending" else "") for a in upcoming[:5]]
    if len(lines) == 1:
        text = f"You're booked for {lines[0]}."
    else:
        text = f"You have {len(upcoming)} upcoming appointments: " + "; ".join(lines) + "."
    if not ctx.verified:
        return DialogReply(f"{text} {_PRIVATE_ELSEWHERE}", choices=[SEND_CODE], state=state)
    return DialogReply(text, state=state)


def _pick_appointment(ctx: DialogContext, text: str, state: dict, *, verb: str):
    upcoming = visible_appointments(ctx)
    if not upcoming:
        if not ctx.verified:
            return _code_first()
        return DialogReply("I don't see an upcoming appointment for you. Would you like to book one?", state={})
    if state.get("awaiting") == "pick_appointment":
        choice = _matches_choice(text, state)
        if choice is not None:
            return next(a for a in upcoming if _appointment_label(a) == choice)
    if len(upcoming) == 1:
        return upcoming[0]
    labels = [_appointment_label(a) for a in upcoming[:6]]
    state.update(awaiting="pick_appointment", offered=[{"label": label, "starts_at": a.starts_at.isoformat()}
                                                       for label, a in zip(labels, upcoming)])
    return _reply(f"Which appointment would you like to {verb}?", labels, state)


def _appointment_label(a) -> str:
    return f"{a.service_name or a.title or 'Appointment'}, {a.label}"


# --- helpers ------------------------------------------------------------------------------------------------------


def live_state(assistant_state: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """The booking dialog's state out of a conversation's assistant_state, or {} when none or gone stale."""
    state = dict((assistant_state or {}).get(KEY) or {})
    at = state.get("updated_at")
    if at:
        try:
            if now - datetime.fromisoformat(at) > STATE_TTL:
                return {}
        except (TypeError, ValueError):
            return {}
    return state


def _reply(text: str, choices: list[str], state: dict, requested: list[str] | None = None) -> DialogReply:
    return DialogReply(text, choices=list(choices), state=state, requested=list(requested or []))


def _offered(ctx: DialogContext, slot) -> dict[str, str]:
    return {"label": ctx.when(slot.starts_at, slot.label), "starts_at": slot.starts_at.isoformat()}


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w:]+", " ", text.lower()).split())


def _matches_choice(text: str, state: dict) -> str | None:
    """The offered button the customer clicked or typed (exactly, or its time/label inside their words)."""
    said = _norm(text)
    if not said:
        return None
    labels = [o["label"] for o in state.get("offered") or []]
    awaiting = state.get("awaiting")
    if awaiting == "confirm":
        labels += [YES_BOOK, OTHER_TIMES]
    elif awaiting == "confirm_cancel":
        labels += [YES_CANCEL, KEEP_IT]
    for label in labels:
        if _norm(label) == said:
            return label
    for label in labels:
        norm = _norm(label)
        if len(said) >= 4 and (norm in said or said in norm):
            return label
    return None


def _match_service(text: str, services) -> Any | None:
    """The service the customer named: most of the words of its name said ("a cleaning" for "Check-up &
    cleaning"); a hyphenated word counts said whole or joined ("check-up", "checkup", "check up")."""
    said = set(_norm(text).split())
    said |= {a + b for a, b in zip(_norm(text).split(), _norm(text).split()[1:])}  # "check up" → "checkup"
    best, best_score = None, 0.0
    for s in services:
        concepts = []
        for word in re.findall(r"\w+(?:-\w+)*", s.name.lower()):
            forms = {word.replace("-", "")} | {part for part in word.split("-") if len(part) > 2}
            if len(word.replace("-", "")) > 2:
                concepts.append(forms)
        if not concepts:
            continue
        score = sum(1 for forms in concepts if forms & said) / len(concepts)
        if score > best_score:
            best, best_score = s, score
    return best if best_score >= 0.5 else None


_NEXT_WEEK = re.compile(r"\bnext week\b", re.I)
# Parts of the day a customer asks for without a time ("tomorrow afternoon"), as minutes on the business's clock.
DAYPARTS = {
    "morning": {"from": 0, "to": 12 * 60, "label": "in the morning"},
    "lunchtime": {"from": 11 * 60 + 30, "to": 14 * 60, "label": "around lunchtime"},
    "afternoon": {"from": 12 * 60, "to": 17 * 60, "label": "in the afternoon"},
    "evening": {"from": 17 * 60, "to": 24 * 60, "label": "in the evening"},
}
_DAYPART_WORDS = (
    ("morning", re.compile(r"\b(?:morning|mornings|early)\b", re.I)),
    ("lunchtime", re.compile(r"\b(?:lunch ?time|lunch ?break|at lunch|over lunch|midday)\b", re.I)),
    ("afternoon", re.compile(r"\b(?:afternoon|afternoons|after lunch)\b", re.I)),
    ("evening", re.compile(r"\b(?:evening|evenings|tonight|after work|night)\b", re.I)),
)
_AFTER = re.compile(r"\b(?:after|from|later than|past|not before)\s*$", re.I)
_BEFORE = re.compile(r"\b(?:before|by|earlier than|until|till|no later than)\s*$", re.I)


def _daypart(text: str) -> str | None:
    found = [name for name, pattern in _DAYPART_WORDS if pattern.search(text)]
    return found[0] if len(found) == 1 else None  # "morning or afternoon" narrows nothing


def _bound_before(text: str, time_entity: Entity) -> str | None:
    """ "after" or "before" when the words just before the time make it a bound ("after 3pm", "before noon")."""
    start = getattr(time_entity, "start", None)
    if start is None:
        return None
    lead = text[max(0, start - 20):start]
    if _AFTER.search(lead):
        return "after"
    if _BEFORE.search(lead):
        return "before"
    return None


def _bounded_window(bound: str, hhmm: str) -> dict:
    minute = int(hhmm[:2]) * 60 + int(hhmm[3:5])
    if bound == "after":
        return {"from": minute, "to": 24 * 60, "label": f"from {hhmm[:5]}"}
    return {"from": 0, "to": minute, "label": f"before {hhmm[:5]}"}


def _in_window(slots, window: dict, timezone: str) -> list:
    """The slots that start in the window (minutes of the day on the business's clock)."""
    tz = ZoneInfo(timezone)
    out = []
    for s in slots:
        start = s.starts_at.astimezone(tz)
        minute = start.hour * 60 + start.minute
        if window["from"] <= minute < window["to"]:
            out.append(s)
    return out


def _vague_start(text: str, ctx: DialogContext) -> date | None:
    """Monday of "next week": too vague for the entity extractor to call it a date (it does read "this weekend"),
    but where a booking should start looking."""
    if not _NEXT_WEEK.search(text):
        return None
    today = ctx.now.astimezone(ZoneInfo(ctx.timezone)).date()
    return today + timedelta(days=7 - today.weekday())


def _pick_day_label(text: str, options: list[str]) -> str | None:

    said = _norm(text)
    for option in options:
        if _norm(day_label(date.fromisoformat(option))) in said or said in _norm(day_label(date.fromisoformat(option))):
            return option
    return None


def stamp(state: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The conversation's assistant_state with this dialog state saved (or cleared)."""
    return {KEY: {**state, "updated_at": now.isoformat()}} if state else {}
