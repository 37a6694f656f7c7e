"""Context extraction through a real OpenAI-compatible server (llama.cpp's, with SmolLM2): the forced tool call
is sent and read back, and whatever the tiny model answers comes out as checked values or dropped values with
reasons. The model's quality is out of scope; the plumbing is not."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from backend.ai.understanding.context_extraction import ContextField, check_value, extract_with_llm
from backend.providers.llm import OpenAICompatibleLLM

FIELDS = [
    ContextField("bedrooms", "Bedrooms", "number", "Number of bedrooms wanted"),
    ContextField("deal", "Buy or rent", "choice", "Whether the client buys or rents", ("Buy", "Rent")),
    ContextField("viewing", "Viewing date", "date", "Day of the viewing"),
    ContextField("notes", "Notes", "long_text", "Owner's notes", ai_extract=False),
]


@pytest.fixture
def llm(llama_server):
    provider = OpenAICompatibleLLM(base_url=llama_server.base_url, api_key=llama_server.api_key,
                                   model=llama_server.model, timeout=60, max_retries=0)
    yield provider
    provider.close()


class Recording:
    """The provider, with the requests it was asked to send kept for the test."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def complete(self, messages, **kw):
        self.calls.append((messages, kw))
        return self.inner.complete(messages, **kw)


def test_one_forced_tool_call_comes_back_as_checked_values(llm):
    message = "We want to rent a 3 bedroom flat and view it on Friday"
    recording = Recording(llm)
    out = extract_with_llm(recording, message, FIELDS, now=datetime(2026, 3, 10, 9, 0, tzinfo=ZoneInfo("UTC")),
                           timezone="Europe/London", previous_turn="How can I help?", max_tokens=160)
    (messages, kw), = recording.calls
    assert kw["tool_choice"] == "record_context" and len(kw["tools"]) == 1
    assert set(kw["tools"][0]["function"]["parameters"]["properties"]) == {"bedrooms", "deal", "viewing"}
    assert "Tuesday 10 March 2026" in messages[0]["content"] and message in messages[1]["content"]
    assert isinstance(out.raw, dict)  # the model's arguments were parsed as JSON
    by_key = {f.key: f for f in FIELDS}
    for v in out.values:
        assert check_value(by_key[v.key], v.value) == (v.value, "")
        assert message[v.start:v.end] == v.evidence and v.source == "llm"
    for key, reason in out.dropped:
        assert reason and (key == "" or key in out.raw)
    assert len(out.values) + len(out.dropped) >= 1 or out.raw == {}
