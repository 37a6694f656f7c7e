"""The embedded composer: a reply without a language model, from templates and the knowledge passages.

    reply = compose_reply(ComposeRequest(message="How much is whitening?", persona=persona, intent=intent,
                                         passages=passages))
    reply.text, reply.confidence, reply.citations, reply.answered, reply.kind

Questions (intents "question", "other", "opening_hours", "pricing", custom intents) are answered EXTRACTIVELY: the
passages are cut into units (sentences of a paragraph, lines of a list or table, the answer of a "Q: … A: …" pair),
every unit is scored against the question, and the 1–3 best units that belong together are said in the
personality's voice, with a citation per passage used (Citation.quote = the units used). No sentence of fact is
ever written by the composer: every fact comes from a passage, or from a line the owner wrote in the custom
instructions. Other intents have templates: greeting, thanks, goodbye, human / complaint (kind "handoff"), book /
reschedule / cancel (kind "clarify": asks for what is missing, or repeats the date and time back).

The parts: passages.py cuts passages into units, extractive.py scores them and picks the answer (with the
formulas and how the thresholds were chosen), rendering.py says it in the voice, clarify.py asks for what a booking
message left out.

Everything is deterministic: variants are chosen by a stable hash of the message (persona.pick), never at random."""

from __future__ import annotations

import logging
import re
from typing import Any, Sequence

from backend.ai.replies.clarify import _clarify, say_date, say_time
from backend.ai.replies.extractive import (
    ANSWER_RAW_THRESHOLD,
    ANSWERED_CONFIDENCE,
    FALLBACK_CONFIDENCE_CAP,
    RECOMMENDED_AUTO_SEND,
    Extraction,
    confidence_from_raw,
    extract_answer,
)
from backend.ai.replies.passages import Unit, passage_units, split_sentences
from backend.ai.replies.rendering import (
    _ACK,
    _ASKS_FOR_PERSON,
    _Context,
    _Draft,
    _extras,
    _first_greeting,
    _norm,
    _reply,
    _template_confidence,
)
from backend.ai.types import Citation, ComposedReply, ComposeRequest, Passage

log = logging.getLogger(__name__)


GREETING_INTENTS = frozenset({"greeting", "hello", "welcome"})
THANKS_INTENTS = frozenset({"thanks", "thank_you", "acknowledgement", "ack"})
GOODBYE_INTENTS = frozenset({"goodbye", "bye", "farewell"})
HANDOFF_INTENTS = frozenset({"human", "complaint", "handoff", "agent"})
BOOKING_INTENTS = frozenset({"book", "booking", "reschedule", "cancel", "cancellation"})


def compose_reply(request: ComposeRequest, *, embedder: Any = None) -> ComposedReply:
    """One reply to `request.message`, in the persona's voice; `embedder` defaults to the configured one."""
    ctx = _Context(request)
    name = (request.intent.name or "other").strip().lower()
    if _ACK.match(request.message.strip()) and name not in HANDOFF_INTENTS | BOOKING_INTENTS:
        return _thanks(ctx, ack=True)
    if name in GREETING_INTENTS:
        if "?" in request.message and request.passages:  # "Hi! How much is a cleaning?"
            reply = _answer(ctx, embedder)
            if reply.answered:
                return reply
        return _greeting(ctx)
    if name in THANKS_INTENTS:
        return _thanks(ctx)
    if name in GOODBYE_INTENTS:
        return _goodbye(ctx)
    if name in HANDOFF_INTENTS:
        return _handoff(ctx, complaint=name == "complaint")
    if name in BOOKING_INTENTS:
        return _clarify(ctx, name)
    return _answer(ctx, embedder)


def _answer(ctx: _Context, embedder: Any) -> ComposedReply:
    request = ctx.request
    extraction = extract_answer(request.message, request.passages, intent=request.intent.name,
                                embedder=embedder, max_units=ctx.max_units, forbidden=ctx.rules)
    if not extraction.answered or not extraction.units:
        return _fallback(ctx, extraction.confidence)
    units = list(extraction.units)
    lead, extra = _extras(ctx, always=True)
    items = all(u.item for u in units) and len(units) > 1
    draft = _Draft(kind="answer", lead=lead, body=[u.text for u in units], items=items, extra=extra)
    contexts = {u.context for u in units}
    if items and len(contexts) == 1 and next(iter(contexts)):
        draft.list_title = next(iter(contexts)).split(" — ")[-1]  # "Opening hours:" above the lines
    draft.greeting = _first_greeting(ctx)
    # No cheerful opener after an emergency line or before "Yes, …" ("Sure! Yes." reads oddly); no offer of more
    # help when caveats or the owner's lines already follow the answer.
    if not draft.greeting and not lead and not ctx.rules.brief and not re.match(r"(?:yes|no)\b", draft.body[0], re.I):
        draft.opener = ctx.pick(ctx.voice.openers, "opener")
    if not ctx.rules.brief and not extra:
        draft.closer = ctx.pick(ctx.voice.closers, "closer")
    citations = _citations(request.passages, units)
    return _reply(ctx, draft, extraction.confidence, citations=citations)


def _citations(passages: Sequence[Passage], units: Sequence[Unit]) -> list[Citation]:
    out = []
    for index in sorted({u.passage for u in units}):
        p = passages[index]
        used = [u for u in units if u.passage == index]
        joiner = "\n" if all(u.item for u in used) and len(used) > 1 else " "
        out.append(Citation(document_id=p.document_id, document_title=p.document_title, chunk_id=p.chunk_id,
                            page=p.page, heading=p.heading, quote=joiner.join(u.text for u in used)))
    return out


def _fallback(ctx: _Context, confidence: float) -> ComposedReply:
    lead, extra = _extras(ctx, always=False)
    draft = _Draft(kind="fallback", lead=lead, greeting=_first_greeting(ctx),
                   body=[ctx.pick(ctx.voice.fallback, "fallback")], extra=extra)
    return _reply(ctx, draft, min(confidence, FALLBACK_CONFIDENCE_CAP), answered=False)


def _greeting(ctx: _Context) -> ComposedReply:
    voice = ctx.voice
    lead, _ = _extras(ctx, always=False)
    if ctx.request.first_reply:
        hello = ctx.rules.greeting or ctx.say(voice.hello)
        greeting_text = _norm(hello)
        name, business = ctx.values["name"], ctx.values["business"]
        if _norm(name) in greeting_text.split():
            intro = ""
        elif _norm(business) in greeting_text or _norm(business.split()[0]) in greeting_text.split():
            intro = ctx.say(voice.self_intro_short)
        else:
            intro = ctx.say(voice.self_intro)
        parts = [hello, intro, ctx.say(voice.offer), ctx.say(voice.ask)]
        body = [" ".join(p for p in parts if p)]
    elif ctx.rules.greeting:
        body = [f"{ctx.rules.greeting} {ctx.say(voice.ask)}"]
    else:
        body = [ctx.pick(voice.regreet, "regreet")]
    return _reply(ctx, _Draft(kind="greeting", lead=lead, body=body), _template_confidence(ctx))


def _thanks(ctx: _Context, *, ack: bool = False) -> ComposedReply:
    options = ctx.voice.thanks
    if ack:  # "ok" / "great": no thanks to answer, just stay available
        options = tuple(o for o in ctx.voice.closers if o) or options
    draft = _Draft(kind="thanks", body=[ctx.pick(options, "thanks")])
    return _reply(ctx, draft, _template_confidence(ctx) if not ack else 0.9)


def _goodbye(ctx: _Context) -> ComposedReply:
    return _reply(ctx, _Draft(kind="thanks", body=[ctx.pick(ctx.voice.goodbye, "bye")]), _template_confidence(ctx))


def _handoff(ctx: _Context, *, complaint: bool) -> ComposedReply:
    voice = ctx.voice
    if complaint:
        options = voice.handoff_complaint
    elif _ASKS_FOR_PERSON.search(ctx.request.message):
        options = voice.handoff_human
    else:  # the engine hands an unsure answer over: the customer did not ask for a person
        options = voice.handoff_notice
    lead, extra = _extras(ctx, always=False)  # "call us right away if…" matters most while waiting for a person
    greeting = ctx.rules.greeting if ctx.request.first_reply and not complaint else ""
    draft = _Draft(kind="handoff", lead=lead, greeting=greeting, body=[ctx.pick(options, "handoff")], extra=extra)
    # The words promise a person: only as sure as the intent (a lukewarm "complaint" guess is drafted, not sent).
    return _reply(ctx, draft, _template_confidence(ctx))


__all__ = [
    "ANSWER_RAW_THRESHOLD", "ANSWERED_CONFIDENCE", "RECOMMENDED_AUTO_SEND", "Extraction", "Unit", "compose_reply",
    "confidence_from_raw", "extract_answer", "passage_units", "say_date", "say_time", "split_sentences",
]
