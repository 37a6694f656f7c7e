"""The AI pipeline with a real OpenAI-compatible LLM (llama.cpp's server with SmolLM2): the reply is written by
the LLM, streamed to the conversation's channel while it is written, and stored with the provider's name; when the
server goes away, the embedded composer answers and the run says what failed. The model's wording is out of scope."""

from __future__ import annotations

from sqlmodel import select

from backend.db import session_scope
from backend.kb.documents import add_faq
from backend.messaging import portal
from backend.models import AIRun, Message, Workspace
from backend.providers.background import wait_until_idle
from backend.providers.events import conversation_channel
from backend.providers.llm import reset_llm_cache
from tests.unit.messaging_helpers import make_workspace, recording_bus, settings_override, settle


def _business():
    biz = make_workspace(slug="llm-dental", name="LLM Dental", ai=True)
    with session_scope() as s:
        s.get(Workspace, biz.id).reply_policy = "always_send"
    add_faq(biz.id, "How much does a cleaning cost?", "A standard cleaning costs $95.")
    settle()
    return biz


def _ask(biz, phone: str, llama_server, text: str = "How much is a cleaning?"):
    """A customer's message answered with the LLM: (the message, its AI run, the events published meanwhile)."""
    token = portal.identify_customer(biz.slug, phone).session_token
    with settings_override(llm_base_url=llama_server.base_url, llm_api_key=llama_server.api_key,
                           llm_model=llama_server.model, llm_max_tokens=32, llm_timeout_seconds=60):
        reset_llm_cache()
        try:
            with recording_bus() as bus:
                sent = portal.send_customer_message(token, text)
                assert wait_until_idle(120), "the LLM did not answer within 2 minutes"
        finally:
            reset_llm_cache()
    with session_scope() as s:
        run = s.exec(select(AIRun).where(AIRun.message_id == sent.id)).one()
    return sent, run, bus


def test_the_llm_writes_and_streams_the_reply(sqlite_db, llama_server):
    biz = _business()
    sent, run, bus = _ask(biz, "+12025550171", llama_server)
    with session_scope() as s:
        reply = s.get(Message, run.reply_message_id) if run.reply_message_id else None
    assert (run.status, run.provider) == ("done", "openai-compatible")
    assert run.error == ""
    assert reply is not None and reply.sender == "assistant" and reply.content.strip()

    channel = conversation_channel(sent.conversation_id)
    kinds = [e["type"] for c, e, _ in bus.published if c == channel]
    assert "assistant.typing" in kinds
    streamed = [e["text"] for c, e, _ in bus.published if c == channel and e["type"] == "assistant.stream"]
    written = [t for t in streamed if t]
    assert written, "the reply was not streamed"
    # Each update holds the reply so far: it only grows.
    assert all(later.startswith(earlier[: len(earlier) // 2]) for earlier, later in zip(written, written[1:]))
    # Had the tiny model's answer ended as a hand-off, the streamed text would have been taken away after it.
    assert (streamed[-1] == "") == (run.action != "send")
    # The customer's message, then the assistant typing, streaming, and its stored reply.
    reply_created = len(kinds) - 1 - kinds[::-1].index("message.created")
    assert kinds.index("message.created") < kinds.index("assistant.typing") < kinds.index("assistant.stream") \
        < reply_created


def test_a_reply_held_for_review_is_never_streamed_to_the_customer(sqlite_db, llama_server):
    biz = _business()
    with session_scope() as s:
        s.get(Workspace, biz.id).reply_policy = "always_draft"
    sent, run, bus = _ask(biz, "+12025550173", llama_server)
    assert run.provider == "openai-compatible" and run.draft_id is not None and run.reply_message_id is None
    channel = conversation_channel(sent.conversation_id)
    streamed = [e["text"] for c, e, _ in bus.published if c == channel and e["type"] == "assistant.stream"]
    assert streamed == [""]  # nothing of the draft, only "nothing is being written"


def test_when_the_llm_server_refuses_the_embedded_composer_answers(sqlite_db, llama_server):
    biz = _business()
    token = portal.identify_customer(biz.slug, "+12025550172").session_token
    with settings_override(llm_base_url=llama_server.base_url, llm_api_key="sk-wrong-key",
                           llm_model=llama_server.model, llm_max_retries=0):
        reset_llm_cache()
        try:
            sent = portal.send_customer_message(token, "How much is a cleaning?")
            settle()
        finally:
            reset_llm_cache()
    with session_scope() as s:
        run = s.exec(select(AIRun).where(AIRun.message_id == sent.id)).one()
        reply = s.get(Message, run.reply_message_id)
    assert run.status == "done" and run.provider == "embedded"
    assert run.error.startswith("LLM failed") and "key" in run.error.lower()
    assert "$95" in reply.content


def test_booking_tools_are_called_through_a_real_server(sqlite_db, llama_server):
    from backend.ai.dialogs.booking import DialogContext
    from backend.ai.dialogs.booking_tools import converse
    from backend.calendar.availability import save_service
    from backend.models.types import utcnow
    from backend.providers.llm import OpenAICompatibleLLM

    biz = _business()
    save_service(biz.id, name="Check-up", duration_minutes=30)
    llm = OpenAICompatibleLLM(base_url=llama_server.base_url, api_key=llama_server.api_key,
                              model=llama_server.model, timeout=60, max_retries=0, max_tokens=32)
    messages = [{"role": "system", "content": "You are the front desk of LLM Dental."},
                {"role": "user", "content": "What can I book?"}]
    outcome = converse(DialogContext(biz.id, None, None, "America/New_York", utcnow()), messages, llm,
                       first_tool_choice="list_services", max_rounds=1)
    # The forced call went through the real protocol and the real executor; the model then answered in words.
    assert outcome.calls[0]["name"] == "list_services"
    assert outcome.calls[0]["result"]["services"][0]["name"] == "Check-up"
    assert isinstance(outcome.text, str)
