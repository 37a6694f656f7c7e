"""The AI pipeline over real stored messages: a customer writes in the portal, background work answers, drafts
or hands off; the owner reviews drafts. On SQLite and PostgreSQL, through the same services the pages call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from backend.ai import pipeline
from backend.ai.gaps import list_gaps
from backend.db import session_scope
from backend.errors import NotFound, ServiceError
from backend.kb import documents
from backend.messaging import drafts, inbox, portal
from backend.models import AIRun, Conversation, Message, Notification, Workspace
from backend.models.types import utcnow
from backend.providers.background import run_inline
from tests.unit.messaging_helpers import (
    make_workspace,
    recording_bus,
    settings_override,
    settle,
    settle_background,  # noqa: F401 - autouse fixture
)

FAQ = [
    ("How much does a cleaning cost?", "A standard cleaning costs $95 and takes about 45 minutes."),
    ("Do you take insurance?", "We accept Delta Dental, Cigna and Aetna. Bring your insurance card to every visit."),
    ("Where can I park?", "Free parking is behind the building, entrance on Oak Street."),
]


def _workspace(slug="oak-dental", policy="always_send", **extra):
    biz = make_workspace(slug=slug, name=slug.replace("-", " ").title(), ai=True)
    with session_scope() as s:
        ws = s.get(Workspace, biz.id)
        ws.reply_policy = policy
        ws.assistant_name = "Ava"
        ws.timezone = "America/New_York"
        for key, value in extra.items():
            setattr(ws, key, value)
    for question, answer in FAQ:
        documents.add_faq(biz.id, question, answer)
    settle()
    return biz


def _customer(biz, phone="+12025550143"):
    return portal.identify_customer(biz.slug, phone, first_name="Sam").session_token


def _messages(conversation_id):
    with session_scope() as s:
        return list(s.exec(select(Message).where(Message.conversation_id == conversation_id)
                           .order_by(Message.id)).all())


def _runs(workspace_id):
    with session_scope() as s:
        return list(s.exec(select(AIRun).where(AIRun.workspace_id == workspace_id).order_by(AIRun.id)).all())


def test_a_question_the_documents_answer_gets_a_cited_reply(db):
    biz = _workspace()
    token = _customer(biz)
    sent = portal.send_customer_message(token, "How much is a cleaning?")
    settle()

    messages = _messages(sent.conversation_id)
    assert [m.sender for m in messages] == ["customer", "assistant"]
    reply = messages[1]
    assert reply.ai_generated and "$95" in reply.content
    assert reply.meta["citations"] and reply.meta["citations"][0]["quote"]
    run = _runs(biz.id)[0]
    assert (run.status, run.action, run.reply_message_id) == ("done", "send", reply.id)
    assert run.question == "How much is a cleaning?" and run.answered is True
    assert run.latency_ms > 0 and run.intent

    # The customer's own view shows the reply and where it came from.
    views = portal.list_portal_messages(token)
    assert views[-1].sender == "assistant" and views[-1].citations[0]["label"]


def test_under_always_draft_the_customer_sees_nothing_until_the_owner_approves(db):
    biz = _workspace(policy="always_draft")
    token = _customer(biz)
    with recording_bus() as bus:
        sent = portal.send_customer_message(token, "Do you take Cigna insurance?")
        settle()
    # Nothing was streamed (no LLM), so there is nothing to take back either.
    assert not [e for _c, e, _ in bus.published if e["type"] == "assistant.stream"]

    assert [m.sender for m in _messages(sent.conversation_id)] == ["customer"]
    pending = drafts.list_drafts(biz.id)
    assert len(pending) == 1 and pending[0].customer_message == "Do you take Cigna insurance?"
    assert "Cigna" in pending[0].content and pending[0].citations
    assert drafts.pending_draft_count(biz.id) == 1
    assert [v.sender for v in portal.list_portal_messages(token)] == ["customer"]

    edited = pending[0].content + " See you soon!"
    view = drafts.approve_draft(biz.id, pending[0].id, biz.owner_id, edited_text=edited)
    assert view.status == "sent" and view.sent_content == edited and 0 < view.edit_ratio < 0.5
    assert portal.list_portal_messages(token)[-1].content == edited
    with pytest.raises(ServiceError, match="already sent"):
        drafts.approve_draft(biz.id, pending[0].id, biz.owner_id)
    assert drafts.pending_draft_count(biz.id) == 0


def test_rejecting_and_superseding_drafts(db):
    biz = _workspace(policy="always_draft")
    token = _customer(biz)
    sent = portal.send_customer_message(token, "Where can I park?")
    settle()
    first = drafts.list_drafts(biz.id)[0]
    rejected = drafts.reject_draft(biz.id, first.id, biz.owner_id, reason="too curt")
    assert rejected.status == "rejected" and "too curt" in rejected.reason

    portal.send_customer_message(token, "And do you take insurance?")
    settle()
    assert len(drafts.list_drafts(biz.id)) == 1
    inbox.send_owner_reply(biz.id, sent.conversation_id, biz.owner_id, "Yes, most of them. Parking is free.")
    assert drafts.list_drafts(biz.id) == []
    assert [d.status for d in drafts.list_drafts(biz.id, status="superseded")] == ["superseded"]
    assert [v.sender for v in portal.list_portal_messages(token)] == ["customer", "customer", "owner"]


def test_asking_for_a_person_hands_off(db):
    biz = _workspace(policy="auto_above_threshold")
    token = _customer(biz)
    sent = portal.send_customer_message(token, "I want to speak to a real person please")
    settle()

    run = _runs(biz.id)[0]
    assert run.intent == "human" and run.action == "handoff"
    messages = _messages(sent.conversation_id)
    assert messages[-1].sender == "assistant"  # the customer is told a person will answer
    with session_scope() as s:
        assert s.get(Conversation, sent.conversation_id).ai_paused is True
        kinds = [n.kind for n in s.exec(select(Notification).where(Notification.workspace_id == biz.id)).all()]
    assert "handoff" in kinds

    # While a person handles it, the assistant only drafts.
    portal.send_customer_message(token, "How much is a cleaning?")
    settle()
    assert _runs(biz.id)[1].action == "draft"
    assert len(_messages(sent.conversation_id)) == 3
    assert drafts.list_drafts(biz.id)[0].reason == "a person has taken over this conversation"


def test_an_unanswerable_question_hands_off_and_shows_up_as_a_knowledge_gap(db):
    biz = _workspace(policy="auto_above_threshold")
    token = _customer(biz)
    portal.send_customer_message(token, "Do you offer laser hair removal for teenagers?")
    settle()

    run = _runs(biz.id)[0]
    assert run.action == "handoff" and run.answered is False
    with session_scope() as s:
        # One unanswered question does not take the assistant off the conversation: the next one is answered.
        assert s.get(Conversation, run.conversation_id).ai_paused is False
        assert [n.kind for n in s.exec(select(Notification).where(Notification.workspace_id == biz.id))] \
            == ["new_conversation", "handoff"]
    portal.send_customer_message(token, "How much is a cleaning?")
    settle()
    assert _runs(biz.id)[1].action == "send"
    gaps = list_gaps(biz.id)
    assert gaps and gaps[0].question == "Do you offer laser hair removal for teenagers?"
    assert gaps[0].count == 1 and not gaps[0].covered_now

    # Once the owner adds the answer, the gap shows as covered.
    documents.add_faq(biz.id, "Do you offer laser hair removal?", "No, we do not offer laser hair removal.")
    settle()
    assert list_gaps(biz.id)[0].covered_now


def test_a_person_who_replied_meanwhile_is_not_talked_over(db):
    biz = _workspace()
    token = _customer(biz)
    sent = portal.send_customer_message(token, "How much is a cleaning?")
    settle()
    with session_scope() as s:
        message = s.get(Message, sent.id)
        run = pipeline.queue_run(s, message)  # a second run over the same message, not started yet
        run_id = run.id
    inbox.send_owner_reply(biz.id, sent.conversation_id, biz.owner_id, "It's $95.")
    run_inline(pipeline.TASK, run_id=run_id)

    with session_scope() as s:
        run = s.get(AIRun, run_id)
    assert run.action == "draft" and run.reason == "a person replied while the assistant was writing"


def test_a_run_whose_worker_died_is_swept_and_finished_once(db):
    biz = _workspace()
    token = _customer(biz)
    sent = portal.send_customer_message(token, "Where can I park?")
    settle()
    with session_scope() as s:
        message = s.get(Message, sent.id)
        run = pipeline.queue_run(s, message)
        run.status, run.started_at, run.attempts = "running", utcnow() - timedelta(minutes=10), 1
        run_id = run.id
    assert pipeline.sweep_stale_ai_runs()["requeued"] >= 1
    settle()
    with session_scope() as s:
        run = s.get(AIRun, run_id)
    assert (run.status, run.attempts) == ("done", 2)
    # Running the same task again (a duplicate delivery) changes nothing.
    before = len(_messages(sent.conversation_id))
    run_inline(pipeline.TASK, run_id=run_id)
    assert len(_messages(sent.conversation_id)) == before


def test_a_failing_llm_falls_back_to_the_embedded_composer_and_says_so(db):
    biz = _workspace()
    token = _customer(biz)
    # Nothing listens on port 9: the real client fails to connect, retries, then gives up.
    with settings_override(llm_base_url="http://127.0.0.1:9/v1", llm_model="any", llm_max_retries=0,
                           llm_timeout_seconds=2):
        from backend.providers.llm import reset_llm_cache

        reset_llm_cache()
        try:
            sent = portal.send_customer_message(token, "How much is a cleaning?")
            settle()
        finally:
            reset_llm_cache()
    run = _runs(biz.id)[0]
    assert run.status == "done" and run.error.startswith("LLM failed")
    assert run.provider == "embedded"
    assert "$95" in _messages(sent.conversation_id)[-1].content


def test_drafts_and_runs_stay_in_their_workspace(db):
    a = _workspace(slug="oak-dental", policy="always_draft")
    b = _workspace(slug="elm-clinic", policy="always_draft")
    portal.send_customer_message(_customer(a), "How much is a cleaning?")
    settle()
    draft = drafts.list_drafts(a.id)[0]
    assert drafts.list_drafts(b.id) == []
    with pytest.raises(NotFound):
        drafts.approve_draft(b.id, draft.id, b.owner_id)
    with pytest.raises(NotFound):
        drafts.reject_draft(b.id, draft.id, b.owner_id)
    with pytest.raises(ServiceError):  # a member of B cannot act in A
        drafts.approve_draft(a.id, draft.id, b.owner_id)
    assert pipeline.list_runs(b.id, draft.conversation_id) == []
    assert len(pipeline.list_runs(a.id, draft.conversation_id)) == 1
    assert list_gaps(b.id) == []


def test_a_voice_message_is_transcribed_shown_and_answered(sqlite_db, tmp_path):
    import subprocess

    biz = _workspace()
    token = _customer(biz)
    raw, clip = tmp_path / "raw.wav", tmp_path / "clip.wav"
    subprocess.run(["espeak-ng", "-w", str(raw), "Where can I park my car?"], check=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", str(clip)], check=True)
    sent = portal.send_customer_file(token, "voice.wav", clip.read_bytes())
    settle()

    messages = _messages(sent.conversation_id)
    voice = messages[0]
    assert voice.type == "audio" and "park" in voice.transcript.lower()
    assert voice.transcript_language == "en" and voice.transcript_confidence > 0.3
    assert messages[-1].sender == "assistant" and "Oak Street" in messages[-1].content
    assert _runs(biz.id)[0].question == voice.transcript
    assert "park" in portal.list_portal_messages(token)[0].transcript.lower()


def test_with_the_assistant_switched_off_messages_wait_for_a_person(db):
    from backend.ai.reply_settings import get_reply_settings, update_reply_settings

    biz = _workspace()
    update_reply_settings(biz.id, reply_policy="always_send", auto_send_threshold=0.8, ai_enabled=False,
                          user_id=biz.owner_id)
    assert get_reply_settings(biz.id)["ai_enabled"] is False
    sent = portal.send_customer_message(_customer(biz), "How much is a cleaning?")
    settle()
    assert _runs(biz.id) == [] and drafts.list_drafts(biz.id) == []
    assert [m.sender for m in _messages(sent.conversation_id)] == ["customer"]
    with pytest.raises(ServiceError, match="threshold"):
        update_reply_settings(biz.id, reply_policy="auto_above_threshold", auto_send_threshold=0.1)
    with pytest.raises(ServiceError):
        update_reply_settings(biz.id, reply_policy="sometimes", auto_send_threshold=0.8)


def test_at_start_up_runs_left_running_by_the_previous_process_are_picked_up_at_once(db):
    biz = _workspace()
    token = _customer(biz)
    sent = portal.send_customer_message(token, "Where can I park?")
    settle()
    with session_scope() as s:
        run = pipeline.queue_run(s, s.get(Message, sent.id))
        run.status, run.started_at, run.attempts = "running", utcnow() - timedelta(seconds=5), 1
        run_id = run.id
    assert pipeline.sweep_stale_ai_runs()["requeued"] == 0  # a live worker may still be on it
    assert pipeline.sweep_stale_ai_runs(older_than_seconds=0)["requeued"] == 1
    settle()
    with session_scope() as s:
        assert s.get(AIRun, run_id).status == "done"
