"""One customer message in, one decided reply out: intent → entities → retrieval → reply → policy.

Pure of storage: the caller hands in the workspace as data, a classifier, a retrieval function and optionally an
LLM, and gets back everything the engine understood and decided with per-step timings. The pipeline (stored
messages), the playground (nothing stored) and `simulate` (a workspace described in JSON) all call `respond`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable, Sequence

from backend.ai.replies.composer import compose_reply
from backend.ai.replies.llm_composer import build_messages, confidence_ceiling, parse_reply
from backend.ai.replies.policy import HANDOFF, Decision, decide, may_send
from backend.ai.types import ComposedReply, ComposeRequest, Entity, FieldSpec, IntentResult, Passage, Persona, Turn
from backend.ai.understanding.entities import DEFAULT_FIELDS, extract_entities

log = logging.getLogger(__name__)

# Intents the embedded templates answer better than a small model would: the words of a hand-off are fixed.
TEMPLATE_ONLY_INTENTS = frozenset({"human", "complaint"})
MAX_HISTORY_TURNS = 10


@dataclass(frozen=True)
class EngineConfig:
    """The workspace as the engine needs it."""

    persona: Persona
    reply_policy: str = "auto_above_threshold"
    auto_send_threshold: float = 0.75
    phone_region: str = "US"
    fields: tuple[FieldSpec, ...] = DEFAULT_FIELDS


@dataclass
class EngineResult:
    intent: IntentResult
    entities: list[Entity]
    passages: list[Passage]
    reply: ComposedReply  # what goes to the customer (or into the draft)
    decision: Decision
    answer: ComposedReply | None = None  # the answer the composer wrote, when a hand-off notice replaced it
    llm_error: str = ""  # the LLM failed and the embedded composer answered instead
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        return (self.answer or self.reply).answered

    def as_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent.as_dict(),
            "entities": [e.as_dict() for e in self.entities],
            "reply": {**self.reply.as_dict(), "action": self.decision.action, "reason": self.decision.reason},
            "passages": [{"document_title": p.document_title, "page": p.page, "heading": p.heading,
                          "score": round(p.score, 4), "text": p.text} for p in self.passages],
            "llm_error": self.llm_error,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def respond(
    config: EngineConfig,
    text: str,
    *,
    now: datetime,
    classify: Callable[[str], IntentResult],
    retrieve: Callable[[str, str], list[Passage]],
    history: Sequence[Turn] = (),
    requested: Sequence[str] = (),
    llm: Any = None,
    on_delta: Callable[[str], None] | None = None,
    ai_paused: bool = False,
    dialog: Callable[[IntentResult, list[Entity]], ComposedReply | None] | None = None,
) -> EngineResult:
    """`retrieve(text, intent_name)` returns passages best first; `llm` is a backend.providers.llm provider or
    None for the embedded composer; `on_delta` receives the LLM's text as it streams; `dialog`, when given, may
    take the message over (a booking in progress) and return the reply itself, or None to let the composers
    answer."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now_ = time.perf_counter()
        timings[name] = (now_ - clock) * 1000
        clock = now_

    intent = classify(text)
    lap("intent")
    entities = extract_entities(text, now=now, timezone=config.persona.timezone, fields=config.fields,
                                requested=tuple(requested), phone_region=config.phone_region)
    lap("entities")
    dialog_reply = dialog(intent, entities) if dialog is not None else None
    lap("dialog")
    passages = retrieve(text, intent.name) if dialog_reply is None else []
    lap("retrieval")

    history = tuple(history)[-MAX_HISTORY_TURNS:]
    request = ComposeRequest(
        message=text, persona=config.persona, intent=intent, entities=tuple(entities), passages=tuple(passages),
        history=history, first_reply=not any(t.sender == "assistant" for t in history),
    )
    llm_error = ""
    reply: ComposedReply | None = dialog_reply
    if reply is None and llm is not None and intent.name not in TEMPLATE_ONLY_INTENTS:
        # The customer watches the reply being written only when it could be sent as it is.
        stream = on_delta if on_delta is not None and may_send(
            intent=intent, confidence_ceiling=confidence_ceiling(request), reply_policy=config.reply_policy,
            auto_send_threshold=config.auto_send_threshold, ai_paused=ai_paused) else None
        try:
            reply = _compose_with_llm(request, llm, stream)
        except Exception as exc:  # any provider failure: the embedded composer still answers
            llm_error = str(exc) or type(exc).__name__
            log.warning("LLM failed, the embedded composer answers instead: %s", llm_error)
    if reply is None:
        reply = compose_reply(request)
    lap("compose")

    decision = decide(intent=intent, reply=reply, reply_policy=config.reply_policy,
                      auto_send_threshold=config.auto_send_threshold, ai_paused=ai_paused)
    answer = None
    if decision.action == HANDOFF and reply.kind not in ("handoff", "fallback"):
        # An unsure answer is not what a customer should read; tell them a person will answer instead.
        answer = reply
        notice = compose_reply(replace(request, intent=IntentResult("human", 1.0), passages=()))
        reply = replace(notice, confidence=reply.confidence, answered=reply.answered)
    lap("policy")
    return EngineResult(intent=intent, entities=list(entities), passages=list(passages), reply=reply,
                        decision=decision, answer=answer, llm_error=llm_error, timings_ms=timings)


def _compose_with_llm(request: ComposeRequest, llm: Any, on_delta: Callable[[str], None] | None) -> ComposedReply:
    messages = build_messages(request)
    if on_delta is None:
        text = llm.complete(messages).text
    else:
        stream = llm.stream(messages)
        for delta in stream:
            if delta:
                on_delta(delta)
        text = stream.result.text
    reply = parse_reply(text, request)
    return replace(reply, provider=getattr(llm, "name", "llm") or "llm")
