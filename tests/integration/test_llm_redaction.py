"""Customers' personal data never reaches a real OpenAI-compatible server (llama.cpp's server with SmolLM2, see
ai_servers.py), and comes back in what the customer reads.

A recording proxy sits between the app and the server: it forwards every request as it is (streams included) and
keeps the bodies, so the test sees exactly what the server received. The tiny model is asked to repeat the
customer's words, which it does placeholders and all; the reply the app hands on must hold the real values.
"""

from __future__ import annotations

import json
import re
import threading
from types import SimpleNamespace

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlmodel import select

from backend.db import session_scope
from backend.kb.documents import add_faq
from backend.messaging import portal
from backend.models import AIRun, Message, Workspace
from backend.providers.llm import OpenAICompatibleLLM, reset_llm_cache
from tests.integration.helpers import free_ports, wait_until
from tests.unit.messaging_helpers import make_workspace, recording_bus, settings_override, settle

PLACEHOLDER = re.compile(r"(EMAIL|PHONE|CARD|ACCOUNT)_\d", re.I)

pytestmark = pytest.mark.integration

EMAIL, CARD, PHONE = "jordan.reyes@example.com", "4111 1111 1111 1111", "+1 212 555 0147"
ECHO = [
    {"role": "system", "content": "Repeat the user's message exactly, word for word, and nothing else."},
    {"role": "user", "content": f"My email is {EMAIL}"},
]
NOTE_TOOL = {"type": "function", "function": {
    "name": "save_contact_details", "description": "Save the customer's e-mail address and card number.",
    "parameters": {"type": "object", "properties": {"email": {"type": "string"}, "card": {"type": "string"}},
                   "required": ["email", "card"]}}}


@pytest.fixture(scope="module")
def recording_proxy(llama_server):
    """The llama.cpp server behind a proxy that records each request body; SimpleNamespace(base_url, bodies)."""
    app = FastAPI()
    bodies: list[dict] = []
    upstream = httpx.Client(base_url=llama_server.base_url.rsplit("/v1", 1)[0], timeout=120)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        raw = await request.body()
        bodies.append(json.loads(raw))
        headers = {"Authorization": request.headers.get("authorization", ""), "Content-Type": "application/json"}
        if not bodies[-1].get("stream"):
            answer = upstream.post("/v1/chat/completions", content=raw, headers=headers)
            return JSONResponse(answer.json(), status_code=answer.status_code)
        call = upstream.build_request("POST", "/v1/chat/completions", content=raw, headers=headers)
        answer = upstream.send(call, stream=True)
        return StreamingResponse(answer.iter_raw(), status_code=answer.status_code,
                                 media_type=answer.headers.get("content-type", "text/event-stream"),
                                 background=None)

    (port,) = free_ports(1)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="recording-llm-proxy", daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=15, what="the recording proxy")
    try:
        yield SimpleNamespace(base_url=f"http://127.0.0.1:{port}/v1", bodies=bodies, api_key=llama_server.api_key,
                              model=llama_server.model)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        upstream.close()


@pytest.fixture
def llm(recording_proxy):
    recording_proxy.bodies.clear()
    provider = OpenAICompatibleLLM(base_url=recording_proxy.base_url, api_key=recording_proxy.api_key,
                                   model=recording_proxy.model, timeout=60, max_retries=0)
    yield provider
    provider.close()


def _sent(proxy) -> str:
    return json.dumps(proxy.bodies)


def test_the_server_gets_placeholders_and_the_reply_gets_the_values_back(llm, recording_proxy):
    result = llm.complete(ECHO, temperature=0.0, max_tokens=24)
    sent = _sent(recording_proxy)
    assert EMAIL not in sent and "[EMAIL_1]" in sent
    assert "[EMAIL_1]" in recording_proxy.bodies[0]["messages"][1]["content"]
    assert EMAIL in result.text and "[EMAIL_" not in result.text


def test_a_streamed_reply_is_restored_as_it_streams(llm, recording_proxy):
    stream = llm.stream(ECHO, temperature=0.0, max_tokens=24)
    deltas = list(stream)
    assert EMAIL not in _sent(recording_proxy) and recording_proxy.bodies[0]["stream"] is True
    assert "".join(deltas) == stream.result.text
    assert EMAIL in stream.result.text
    assert not any("[EMAIL" in delta or "EMAIL_" in delta for delta in deltas)


def test_tool_call_arguments_come_back_with_the_real_values(llm, recording_proxy):
    messages = [{"role": "system", "content": "Copy the user's email and card into the tool call, character for "
                                              "character."},
                {"role": "user", "content": f"email: {EMAIL}\ncard: {CARD}"}]
    result = llm.complete(messages, tools=[NOTE_TOOL], tool_choice="save_contact_details", temperature=0.0,
                          max_tokens=60)
    sent = _sent(recording_proxy)
    assert EMAIL not in sent and "4111" not in sent and "[CARD_1]" in sent
    [call] = result.tool_calls
    arguments = json.dumps(call.arguments)
    # Whatever the model copied from the customer's words came back as the real value, bracketed or not (this
    # model writes "CARD_1"); what it made up stays as it is.
    assert not PLACEHOLDER.search(arguments), arguments


def test_the_assistants_reply_to_a_customer_keeps_their_details_and_the_server_never_sees_them(
        sqlite_db, recording_proxy):
    biz = make_workspace(slug="private-dental", name="Private Dental", ai=True)
    with session_scope() as s:
        s.get(Workspace, biz.id).reply_policy = "always_send"
    add_faq(biz.id, "How much does a cleaning cost?", "A standard cleaning costs $95. Call us on 020 7946 0011.")
    settle()
    token = portal.identify_customer(biz.slug, "+12025550188").session_token
    text = f"How much is a cleaning? Reach me at {EMAIL} or {PHONE}, and charge my card {CARD}."
    recording_proxy.bodies.clear()
    with settings_override(llm_base_url=recording_proxy.base_url, llm_api_key=recording_proxy.api_key,
                           llm_model=recording_proxy.model, llm_max_tokens=48, llm_timeout_seconds=60):
        reset_llm_cache()
        try:
            with recording_bus() as bus:
                sent = portal.send_customer_message(token, text)
                settle()
        finally:
            reset_llm_cache()
    with session_scope() as s:
        run = s.exec(select(AIRun).where(AIRun.message_id == sent.id)).one()
        reply = s.get(Message, run.reply_message_id) if run.reply_message_id else None
        stored = s.get(Message, sent.id).content

    server_saw = _sent(recording_proxy)
    assert recording_proxy.bodies, "the assistant did not call the LLM"
    for secret in (EMAIL, "555 0147", "2125550147", "4111"):
        assert secret not in server_saw, secret
    assert "[EMAIL_1]" in server_saw and "[PHONE_1]" in server_saw and "[CARD_1]" in server_saw
    assert stored == text  # kept as the customer wrote it
    assert run.provider == "openai-compatible" and run.error == ""
    assert reply is not None and not PLACEHOLDER.search(reply.content)
    # What was streamed to the customer while it was written held no placeholder either.
    streamed = [e["text"] for _, e, _ in bus.published if e.get("type") == "assistant.stream"]
    assert streamed and not any(PLACEHOLDER.search(t) for t in streamed)
    # The business's own number in its documents went out as a placeholder too, and came back as itself.
    assert "7946" not in server_saw
