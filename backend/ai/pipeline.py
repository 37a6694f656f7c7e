"""The AI pipeline over stored customer messages, in background work so the chat never waits for it.

    customer message stored + AIRun(queued)      ← same transaction (portal.send_customer_*)
    → process_message(run): claim → transcript (voice) → engine.respond → write reply / draft / hand-off → events

A run is claimed by moving it from queued to running with `started_at` as the claim token; every later write is
conditional on that token, so a run re-queued by the sweeper (worker died) and then finished twice writes once.
A provider failure never loses the customer's message: it is already stored and unread in the inbox; the run
is retried (MAX_ATTEMPTS), then marked failed and the owner is notified with what failed.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import update
from sqlmodel import Session, select

from backend.ai.classifiers import builtin_classifier, classifier_for_workspace
from backend.ai.dialogs import booking as booking_dialog
from backend.ai.dialogs import booking_tools
from backend.ai.dialogs.booking import DIALOG_CONFIDENCE
from backend.ai.engine import EngineConfig, EngineResult, respond
from backend.ai.replies.llm_composer import build_messages
from backend.ai.replies.policy import DRAFT, HANDOFF, SEND
from backend.ai.retrieval import retrieve
from backend.ai.types import ComposedReply, ComposeRequest, Persona, Turn
from backend.core.live_events import PendingEvents, publish_assistant_stream, publish_assistant_typing
from backend.db import session_scope, tenant_select
from backend.messaging.messages import add_message, record_in_conversation
from backend.models import AIRun, Contact, Conversation, Draft, Message, StoredFile, Workspace
from backend.models.enums import DraftStatus, MessageType, Sender
from backend.models.types import utcnow
from backend.notifications.service import notify
from backend.providers.background import EnqueueError, background_task, enqueue
from backend.providers.storage import get_storage

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
MAX_ATTEMPTS = 3
STALE_AFTER_SECONDS = 180  # a running run with no result after this long lost its worker
LOST_AFTER_SECONDS = 60  # a queued run nobody picked up after this long lost its task
STREAM_EVENT_INTERVAL = 0.15  # at most ~7 streamed updates a second per reply
MAX_ERROR_CHARS = 1000
TASK = "ai_process_message"
# Message.meta keys of an assistant reply.
META_RUN, META_CONFIDENCE, META_CITATIONS, META_CHOICES = "ai_run_id", "confidence", "citations", "choices"
_CITATION_MARK = re.compile(r"\s?\[\d{1,2}\]")  # the LLM's [1] markers: the final text turns them into sources


# --- queueing -----------------------------------------------------------------------------------------------------


def wants_ai(message: Message) -> bool:
    return message.sender == Sender.CUSTOMER and message.type in (MessageType.TEXT, MessageType.AUDIO)


def queue_run(session: Session, message: Message) -> AIRun | None:
    """Inside the transaction that stores the customer's message: the run exists as soon as the message does."""
    if not wants_ai(message):
        return None
    workspace = session.get(Workspace, message.workspace_id)
    if workspace is None or not workspace.ai_enabled:
        return None
    run = AIRun(workspace_id=message.workspace_id, conversation_id=message.conversation_id, message_id=message.id,
                status=QUEUED, question=message.content if message.type == MessageType.TEXT else "")
    session.add(run)
    session.flush()
    return run


def queue_run_for_customer_message(session: Session, message: Message) -> Callable[[], None] | None:
    """The receiver of messaging's `customer_message_stored` hook (connected in backend/startup.py): the run is
    stored with the message, and handed to background work once the message is committed."""
    run = queue_run(session, message)
    if run is None:
        return None
    run_id = run.id
    return lambda: start_run(run_id)


def start_run(run_id: int | None) -> None:
    """After commit: hand the run to background work (the sweeper picks it up if the broker refuses)."""
    if run_id is None:
        return
    try:
        enqueue(TASK, run_id=run_id)
    except EnqueueError:
        log.warning("AI run %s stays queued: the broker refused it; the sweeper will send it again", run_id)


# --- the task -----------------------------------------------------------------------------------------------------


class _Superseded(Exception):
    """The run lost its claim (swept and re-run elsewhere); stop without writing."""


def _claim(run_id: int) -> datetime | None:
    token = utcnow()
    with session_scope() as session:
        claimed = session.execute(
            update(AIRun).where(AIRun.id == run_id, AIRun.status == QUEUED)
            .values(status=RUNNING, started_at=token, attempts=AIRun.attempts + 1),
            execution_options={"synchronize_session": False},
        ).rowcount
    return token if claimed else None


def _still_claimed(run_id: int, token: datetime):
    return update(AIRun).where(AIRun.id == run_id, AIRun.status == RUNNING, AIRun.started_at == token)


@background_task(TASK, queue="ai")
def process_message(run_id: int) -> None:
    token = _claim(run_id)
    if token is None:
        return  # done, failed, or running elsewhere
    started = time.perf_counter()
    try:
        result, run, dialog_state = _run(run_id, token)
        if result is not None:
            _write_result(run, token, result, (time.perf_counter() - started) * 1000, dialog_state)
    except _Superseded:
        return
    except Exception as exc:
        _record_failure(run_id, token, exc)
        raise  # the runner's retry re-claims the run we put back in the queue


def _run(run_id: int, token: datetime) -> tuple[EngineResult | None, AIRun, dict | None]:
    """The engine over the run's message; the third value is the booking dialog's new conversation state (None
    when the dialog did not take part)."""
    from backend.providers.llm import get_llm

    with session_scope() as session:
        run = session.get(AIRun, run_id)
        message = session.get(Message, run.message_id) if run.message_id else None
        conversation = session.get(Conversation, run.conversation_id)
        workspace = session.get(Workspace, run.workspace_id)
        if message is None or conversation is None or workspace is None:
            _finish_without_reply(run_id, token, "the message was deleted before the assistant read it")
            return None, run, None
        history = conversation_history(session, conversation.id, message.id)
        config = engine_config(workspace)
        ai_paused = conversation.ai_paused
        assistant_state = dict(conversation.assistant_state or {})
        contact_id = conversation.contact_id
        phone_proved = not conversation.opened_unverified
        contact = session.get(Contact, contact_id)
        customer_timezone = contact.timezone if contact is not None else ""

    publish_assistant_typing(run.conversation_id)
    text = message.content if message.type == MessageType.TEXT else _transcript_of(message, token, run_id)
    if not text.strip():
        _finish_without_reply(run_id, token, "the voice message had no words the assistant could make out")
        return None, run, None

    last_stream = [0.0]
    streamed: list[str] = []

    def on_delta(delta: str) -> None:
        streamed.append(delta)
        now = time.monotonic()
        if now - last_stream[0] >= STREAM_EVENT_INTERVAL:
            last_stream[0] = now
            publish_assistant_stream(run.conversation_id, _CITATION_MARK.sub("", "".join(streamed)))

    dialog_state: list[dict] = []
    dialog_llm_error: list[str] = []
    llm = get_llm()

    def dialog(intent, entities):
        # A person who took over the conversation books themselves; the assistant does not act for them.
        if ai_paused or not booking_dialog.wants_dialog(intent, assistant_state, text, utcnow()):
            return None
        ctx = booking_dialog.DialogContext(run.workspace_id, run.conversation_id, contact_id,
                                           config.persona.timezone, utcnow(), customer_timezone,
                                           verified=phone_proved)
        if llm is not None:
            try:
                return _booking_with_llm(ctx, config, text, intent, entities, history, llm, assistant_state,
                                         dialog_state)
            except Exception as exc:  # the provider failed: the embedded dialog books instead
                dialog_llm_error.append(str(exc) or type(exc).__name__)
                log.warning("LLM booking failed, the embedded dialog answers: %s", exc)
        out = booking_dialog.handle(ctx, text, intent, entities, assistant_state)
        dialog_state.append(booking_dialog.stamp(out.state, utcnow()))
        return out.composed()

    result = respond(
        config, text, now=message.created_at, history=history, ai_paused=ai_paused,
        requested=booking_dialog.requested_fields(assistant_state, utcnow()),
        classify=classifier_for_workspace(run.workspace_id).classify,
        retrieve=lambda q, intent: retrieve(run.workspace_id, q, intent),
        llm=llm, on_delta=on_delta if llm is not None else None, dialog=dialog,
    )
    if dialog_llm_error and not result.llm_error:
        result.llm_error = dialog_llm_error[0]
    run.question = text
    return result, run, (dialog_state[0] if dialog_state else None)


def _booking_with_llm(ctx, config: EngineConfig, text: str, intent, entities, history, llm, assistant_state: dict,
                      dialog_state: list[dict]) -> ComposedReply:
    """The model books with tools (backend.ai.dialogs.booking_tools); it keeps the conversation open while it talks."""

    request = ComposeRequest(message=text, persona=config.persona, intent=intent, entities=tuple(entities),
                             history=tuple(history),
                             first_reply=not any(t.sender == "assistant" for t in history))
    outcome = booking_tools.converse(ctx, build_messages(request), llm)
    if not outcome.text:
        raise RuntimeError("the LLM answered the booking with no text")
    previous = booking_dialog.live_state(assistant_state, ctx.now).get("flow", "book")
    flow = intent.name if intent.name in booking_dialog.FLOWS else previous
    dialog_state.append(booking_dialog.stamp({} if outcome.action else {"flow": flow, "awaiting": "llm"}, ctx.now))
    return ComposedReply(text=outcome.text, confidence=DIALOG_CONFIDENCE, kind="booking",
                         choices=tuple(outcome.choices), provider=getattr(llm, "name", "llm") or "llm")


def _transcript_of(message: Message, token: datetime, run_id: int) -> str:
    """The voice message's words: transcribed once, stored on the message and shown under the audio."""
    if message.transcript is not None:
        return message.transcript
    from backend.providers.speech import get_transcriber

    with session_scope() as session:
        stored = session.get(StoredFile, message.file_id) if message.file_id else None
        if stored is None:
            return ""
        key, filename, content_type = stored.storage_key, stored.filename, stored.content_type
    data = get_storage().get(key)
    transcript = get_transcriber().transcribe(data, filename=filename, content_type=content_type)
    events = PendingEvents()
    with session_scope() as session:
        session.execute(
            update(Message).where(Message.id == message.id).values(
                transcript=transcript.text, transcript_language=transcript.language,
                transcript_confidence=transcript.confidence),
            execution_options={"synchronize_session": False},
        )
        session.execute(_still_claimed(run_id, token).values(question=transcript.text),
                        execution_options={"synchronize_session": False})
        events.message_updated(message.workspace_id, message.conversation_id, message.id)
    events.publish()
    return transcript.text


def _finish_without_reply(run_id: int, token: datetime, reason: str) -> None:
    with session_scope() as session:
        session.execute(_still_claimed(run_id, token).values(status=DONE, action="", reason=reason[:300],
                                                             finished_at=utcnow()),
                        execution_options={"synchronize_session": False})


def _record_failure(run_id: int, token: datetime, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
    log.warning("AI run %s failed: %s", run_id, error)
    notify_failed = None
    with session_scope() as session:
        run = session.get(AIRun, run_id)
        if run is None or run.status != RUNNING or run.started_at != token:
            return
        final = run.attempts >= MAX_ATTEMPTS
        run.status = FAILED if final else QUEUED
        run.error = error
        run.finished_at = utcnow() if final else None
        if final:
            notify_failed = (run.workspace_id, run.conversation_id)
    if notify_failed:
        _notify(*notify_failed, "ai_failed", "The assistant could not answer a message",
                f"It stays unread in the inbox for you to answer. What failed: {error}")


# --- writing the outcome -----------------------------------------------------------------------------------------


def _write_result(run: AIRun, token: datetime, result: EngineResult, latency_ms: float,
                  dialog_state: dict | None = None) -> None:
    events = PendingEvents()
    decision, reply = result.decision, result.reply
    action = decision.action
    reason = decision.reason
    notice: tuple[str, str, str] | None = None
    with session_scope() as session:
        claimed = session.execute(
            _still_claimed(run.id, token).values(status=RUNNING), execution_options={"synchronize_session": False}
        ).rowcount
        if not claimed:
            raise _Superseded()
        conversation = session.get(Conversation, run.conversation_id)
        deliver = decision.deliver
        if deliver and _person_answered_since(session, run):
            # Someone from the team replied while the assistant was thinking: do not talk over them.
            deliver, reason = False, "a person replied while the assistant was writing"
            action = DRAFT if action == SEND else action
        meta = {META_RUN: run.id, META_CONFIDENCE: round(reply.confidence, 4),
                META_CITATIONS: [c.as_dict() for c in reply.citations]}
        if reply.choices:
            meta[META_CHOICES] = list(reply.choices)
        if dialog_state is not None:
            conversation.assistant_state = dialog_state
        draft_id = message_id = None
        if deliver:
            message = add_message(session, conversation, Sender.ASSISTANT, content=reply.text, ai_generated=True,
                                  meta=meta)
            record_in_conversation(session, conversation, message)
            events.message_created(run.workspace_id, conversation.id, message.id, Sender.ASSISTANT)
            message_id = message.id
        else:
            draft = Draft(workspace_id=run.workspace_id, conversation_id=conversation.id,
                          trigger_message_id=run.message_id, status=DraftStatus.PENDING, content=reply.text,
                          confidence=reply.confidence, intent=result.intent.name,
                          citations=[c.as_dict() for c in reply.citations], reason=reason[:300])
            session.add(draft)
            session.flush()
            draft_id = draft.id
            events.draft_updated(run.workspace_id, conversation.id, draft.id)
        if action == HANDOFF:
            if decision.pause_ai and not conversation.ai_paused:
                conversation.ai_paused = True
                events.conversation_updated(run.workspace_id, conversation.id)
            notice = ("handoff", "A conversation needs a person", f"{reason}: “{_short(run.question)}”")
        elif draft_id is not None:
            notice = ("draft", "A reply is waiting for your review", _short(run.question))
        session.execute(
            update(AIRun).where(AIRun.id == run.id).values(
                status=DONE, question=run.question, intent=result.intent.name,
                intent_confidence=result.intent.confidence, entities=[e.as_dict() for e in result.entities],
                action=action, reason=reason[:300], reply_confidence=reply.confidence, reply_kind=reply.kind,
                reply_text=reply.text, answered=result.answered,
                citations=[c.as_dict() for c in reply.citations],
                retrieval_top_score=max((p.score for p in result.passages), default=None),
                provider=(result.answer or reply).provider[:40],
                error=f"LLM failed: {result.llm_error}"[:MAX_ERROR_CHARS] if result.llm_error else "",
                latency_ms=latency_ms, draft_id=draft_id, reply_message_id=message_id, finished_at=utcnow()),
            execution_options={"synchronize_session": False},
        )
    events.publish()
    if not (deliver and action == SEND) and ((result.answer or reply).provider != "embedded" or result.llm_error):
        # Whatever an LLM streamed is not what the customer gets (a draft, or a hand-off notice): take it away.
        publish_assistant_stream(run.conversation_id, "")
    if notice:
        _notify(run.workspace_id, run.conversation_id, *notice)


def _person_answered_since(session: Session, run: AIRun) -> bool:
    later = session.exec(
        select(Message.id).where(Message.conversation_id == run.conversation_id, Message.id > run.message_id,
                                 Message.sender == Sender.OWNER).limit(1)
    ).first()
    return later is not None


def _notify(workspace_id: int, conversation_id: int, kind: str, title: str, body: str) -> None:

    try:
        notify(workspace_id, kind, title, body, link=f"/dashboard/inbox?c={conversation_id}",
               conversation_id=conversation_id)
    except Exception:  # the outcome is stored and visible in the inbox
        log.exception("could not notify workspace %s about conversation %s", workspace_id, conversation_id)


def _short(text: str, limit: int = 140) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- reading the workspace ------------------------------------------------------------------------------------------


def persona_of(workspace: Workspace) -> Persona:
    return Persona(business_name=workspace.name, assistant_name=workspace.assistant_name or "Ava",
                   role=workspace.ai_role, personality=workspace.ai_personality,
                   custom_instructions=workspace.custom_instructions or "", timezone=workspace.timezone or "UTC")


def engine_config(workspace: Workspace) -> EngineConfig:
    return EngineConfig(persona=persona_of(workspace), reply_policy=workspace.reply_policy,
                        auto_send_threshold=float(workspace.auto_send_threshold),
                        phone_region=workspace.phone_region or "US")


def conversation_history(session: Session, conversation_id: int, before_message_id: int, limit: int = 10
                         ) -> list[Turn]:
    rows = session.exec(
        select(Message).where(Message.conversation_id == conversation_id, Message.id < before_message_id)
        .order_by(Message.id.desc()).limit(limit)
    ).all()
    turns = []
    for m in reversed(rows):
        text = m.content if m.type == MessageType.TEXT else (m.transcript or "")
        if text.strip():
            turns.append(Turn(sender=str(m.sender), text=text))
    return turns


# --- sweeping -----------------------------------------------------------------------------------------------------


@background_task("sweep_stale_ai_runs", queue="ai")
def sweep_stale_ai_runs(older_than_seconds: float = STALE_AFTER_SECONDS) -> dict[str, int]:
    """Re-queue runs whose worker died and re-send runs whose task was lost; give up after MAX_ATTEMPTS.

    At start-up without a broker, every run still "running" died with the previous process: the app sweeps with
    `older_than_seconds=0`; the periodic sweep waits STALE_AFTER_SECONDS for a live worker to finish."""
    now = utcnow()
    resend: list[int] = []
    failed: list[tuple[int, int]] = []
    with session_scope() as session:
        stale = session.exec(select(AIRun).where(
            AIRun.status == RUNNING, AIRun.started_at <= now - timedelta(seconds=older_than_seconds))).all()
        for run in stale:
            if run.attempts >= MAX_ATTEMPTS:
                run.status, run.finished_at = FAILED, now
                run.error = run.error or "the assistant stopped without an answer several times"
                failed.append((run.workspace_id, run.conversation_id))
            else:
                run.status = QUEUED
                resend.append(run.id)
        lost = session.exec(select(AIRun.id).where(
            AIRun.status == QUEUED, AIRun.created_at < now - timedelta(seconds=LOST_AFTER_SECONDS))).all()
        resend.extend(i for i in lost if i not in resend)
    for run_id in resend:
        start_run(run_id)
    for workspace_id, conversation_id in failed:
        _notify(workspace_id, conversation_id, "ai_failed", "The assistant could not answer a message",
                "It stays unread in the inbox for you to answer.")
    return {"requeued": len(resend), "failed": len(failed)}


@background_task("ai_warm_up", queue="ai")
def warm_up() -> None:
    """Load the embedder and the shared built-in intent model at start-up, so the first customer does not wait."""

    builtin_classifier().classify("hello")


def list_runs(workspace_id: int, conversation_id: int) -> list[dict[str, Any]]:
    """What the assistant understood and did for each customer message of a conversation (the inbox shows it)."""
    with session_scope() as session:
        runs = session.exec(tenant_select(AIRun, workspace_id).where(AIRun.conversation_id == conversation_id)
                            .order_by(AIRun.id)).all()
        return [run_view(r) for r in runs]


def run_view(run: AIRun) -> dict[str, Any]:
    return {
        "id": run.id, "message_id": run.message_id or 0, "status": run.status, "intent": run.intent,
        "intent_confidence": round(run.intent_confidence or 0.0, 3), "action": run.action, "reason": run.reason,
        "reply_confidence": round(run.reply_confidence or 0.0, 3), "provider": run.provider, "error": run.error,
        "entities": list(run.entities or []), "latency_ms": round(run.latency_ms or 0.0, 1),
        "answered": run.answered, "attempts": run.attempts,
    }
