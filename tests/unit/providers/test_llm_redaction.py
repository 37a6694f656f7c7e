"""The LLM provider keeps customers' contact and payment details from the server and puts them back in its answer:
complete, stream (placeholders split across deltas) and tool calls, with a stand-in for the openai client that
records what would have been sent. tests/integration/test_llm_redaction.py does the same against a real server."""

from __future__ import annotations

import json
from types import SimpleNamespace as NS

from backend.providers.llm import OpenAICompatibleLLM, get_llm, reset_llm_cache
from tests.unit.messaging_helpers import settings_override

MESSAGES = [
    {"role": "system", "content": "You are the front desk. Passages: [1] Call us on 020 7946 0011."},
    {"role": "user", "content": "I'm jo@example.com, card 4111 1111 1111 1111. Order #123456789?"},
]


class _Client:
    """Stands in for openai.OpenAI: records each request and answers with what the test scripted."""

    def __init__(self, answer=None, chunks=None):
        self.requests: list[dict] = []
        self.answer, self.chunks = answer, chunks
        self.chat = NS(completions=NS(create=self._create))

    def _create(self, **request):
        self.requests.append(json.loads(json.dumps(request)))
        if request.get("stream"):
            return iter(self.chunks)
        return self.answer

    def close(self):
        pass


def _llm(client, **options) -> OpenAICompatibleLLM:
    llm = OpenAICompatibleLLM(base_url="http://llm.test/v1", model="m", max_retries=0, **options)
    llm._client = client
    return llm


def _completion(text="", tool_calls=()):
    message = NS(content=text, tool_calls=[
        NS(id=f"call_{i}", function=NS(name=name, arguments=json.dumps(args))) for i, (name, args) in
        enumerate(tool_calls)] or None, function_call=None)
    return NS(choices=[NS(message=message, finish_reason="stop")], model="m", usage=None)


def _chunk(text):
    return NS(model="m", usage=None, choices=[NS(index=0, finish_reason=None, delta=NS(content=text, tool_calls=None))])


def test_completion_sends_placeholders_and_restores_the_reply_and_tool_arguments():
    client = _Client(answer=_completion(
        "We'll e-mail [EMAIL_1] about order #123456789; call [PHONE_1].",
        tool_calls=[("note_contact", {"email": "[EMAIL_1]", "card": ["[CARD_1]"]})]))
    result = _llm(client).complete(MESSAGES)

    sent = json.dumps(client.requests[0]["messages"])
    assert "jo@example.com" not in sent and "4111" not in sent and "7946" not in sent
    assert "[EMAIL_1]" in sent and "[CARD_1]" in sent and "[PHONE_1]" in sent
    assert "#123456789" in sent  # what the model needs to answer goes as it is
    assert result.text == "We'll e-mail jo@example.com about order #123456789; call 020 7946 0011."
    assert result.tool_calls[0].arguments == {"email": "jo@example.com", "card": ["4111 1111 1111 1111"]}
    assert MESSAGES[1]["content"].startswith("I'm jo@example.com")  # the caller's messages are untouched


def test_stream_restores_a_placeholder_split_across_deltas():
    client = _Client(chunks=[_chunk(t) for t in ["We'll write to [EM", "AIL", "_1] soon", ". Bye [", "1]"]])
    stream = _llm(client).stream(MESSAGES)
    deltas = list(stream)
    assert "jo@example.com" not in json.dumps(client.requests[0]["messages"])
    assert "".join(deltas) == stream.result.text == "We'll write to jo@example.com soon. Bye [1]"
    assert not any("[EM" in d or "AIL" in d for d in deltas)


def test_redaction_can_be_turned_off():
    client = _Client(answer=_completion("ok"))
    _llm(client, redact=False).complete(MESSAGES)
    assert "jo@example.com" in json.dumps(client.requests[0]["messages"])


def test_the_setting_decides_for_the_configured_llm():
    reset_llm_cache()
    try:
        with settings_override(llm_base_url="http://llm.test/v1", llm_model="m"):
            assert get_llm().redact is True  # on unless turned off
        with settings_override(llm_base_url="http://llm.test/v1", llm_model="m", redact_outside_ai="false"):
            assert get_llm().redact is False
    finally:
        reset_llm_cache()
