"""The LLM client against a real OpenAI-compatible server: llama.cpp's server with SmolLM2-135M (see ai_servers.py).

What is tested is the protocol and the failure handling: completions, streaming, tool calls, auth, connection,
timeouts, retries and configuration. The tiny model's answers are not judged.
"""

from __future__ import annotations

import time

import pytest

from backend.providers.llm import (
    LLMError,
    LLMResult,
    OpenAICompatibleLLM,
    StreamResult,
    ToolCall,
    get_llm,
    parse_arguments,
    reset_llm_cache,
)
from tests.integration.helpers import free_ports

pytestmark = pytest.mark.integration

BOOKING_TOOL = {
    "type": "function",
    "function": {
        "name": "book_appointment",
        "description": "Book an appointment for the customer.",
        "parameters": {
            "type": "object",
            "properties": {
                "service": {"type": "string", "description": "what the customer wants done"},
                "day": {"type": "string", "description": "the day, e.g. Tuesday"},
                "hour": {"type": "integer", "description": "hour of the day, 0-23"},
            },
            "required": ["service", "day", "hour"],
        },
    },
}
HOURS_TOOL = {  # the bare form (no "type"/"function" wrapper) is accepted too
    "name": "opening_hours",
    "description": "Look up the opening hours.",
    "parameters": {"type": "object", "properties": {"day": {"type": "string"}}, "required": ["day"]},
}
BOOKING_MESSAGES = [
    {"role": "system", "content": "You are the front desk of a dental practice. Book appointments with the tools."},
    {"role": "user", "content": "I would like to book a cleaning next Tuesday at ten."},
]


@pytest.fixture
def llm(llama_server) -> OpenAICompatibleLLM:
    provider = OpenAICompatibleLLM(base_url=llama_server.base_url, api_key=llama_server.api_key,
                                   model=llama_server.model, timeout=60, max_retries=0)
    yield provider
    provider.close()


@pytest.fixture
def _fresh_llm_cache():
    reset_llm_cache()
    yield
    reset_llm_cache()


def test_completion_returns_text_and_token_counts(llm, llama_server):
    result = llm.complete([{"role": "system", "content": "You are a friendly receptionist."},
                           {"role": "user", "content": "Say hello to a new customer."}],
                          temperature=0.0, max_tokens=30)
    assert isinstance(result, LLMResult)
    assert result.text.strip()
    assert result.tool_calls == []
    assert result.finish_reason in ("stop", "length")
    assert result.model == llama_server.model
    assert result.prompt_tokens and result.prompt_tokens > 5
    assert result.completion_tokens and 0 < result.completion_tokens <= 30
    assert result.attempts == 1
    assert result.latency_ms > 0


def test_max_tokens_caps_the_answer(llm):
    result = llm.complete([{"role": "user", "content": "Tell me a long story about a dentist."}],
                          temperature=0.0, max_tokens=5)
    assert result.finish_reason == "length"
    assert result.completion_tokens == 5


def test_stream_yields_deltas_that_join_to_the_final_text(llm):
    stream = llm.stream([{"role": "user", "content": "Count from one to ten in words."}],
                        temperature=0.0, max_tokens=40)
    assert isinstance(stream, StreamResult)
    with pytest.raises(RuntimeError, match="not been read"):
        stream.result  # noqa: B018 - nothing read yet
    deltas = list(stream)
    result = stream.result
    assert len(deltas) >= 3
    assert all(isinstance(d, str) and d for d in deltas)
    assert "".join(deltas) == result.text
    assert result.text.strip()
    assert result.finish_reason in ("stop", "length")
    assert result.first_token_ms is not None and result.first_token_ms <= result.latency_ms
    assert result.attempts == 1


def test_stream_stopped_early_closes_cleanly(llm):
    stream = llm.stream([{"role": "user", "content": "Tell me a long story about a dentist."}],
                        temperature=0.0, max_tokens=200)
    first = next(iter(stream))
    assert first
    stream.close()
    assert not stream.done
    # the server is free for the next request
    assert llm.complete([{"role": "user", "content": "Hi"}], max_tokens=3).completion_tokens


def test_forced_tool_call_is_parsed_into_a_dict(llm):
    result = llm.complete(BOOKING_MESSAGES, tools=[BOOKING_TOOL, HOURS_TOOL], tool_choice="book_appointment",
                          temperature=0.0, max_tokens=80)
    assert result.finish_reason == "tool_calls"
    assert len(result.tool_calls) == 1
    call = result.tool_calls[0]
    assert isinstance(call, ToolCall)
    assert call.name == "book_appointment"
    assert call.id
    assert isinstance(call.arguments, dict)
    assert {"service", "day", "hour"} <= set(call.arguments)
    assert isinstance(call.arguments["hour"], int)


def test_forced_tool_call_in_a_stream_is_assembled(llm):
    stream = llm.stream(BOOKING_MESSAGES, tools=[BOOKING_TOOL, HOURS_TOOL],
                        tool_choice={"type": "function", "function": {"name": "opening_hours"}},
                        temperature=0.0, max_tokens=60)
    text = "".join(stream)
    result = stream.result
    assert text == result.text == ""
    assert [c.name for c in result.tool_calls] == ["opening_hours"]
    assert isinstance(result.tool_calls[0].arguments, dict)
    assert "day" in result.tool_calls[0].arguments
    assert result.finish_reason == "tool_calls"


def test_tool_choice_must_name_a_given_tool(llm):
    with pytest.raises(ValueError, match="not among the tools"):
        llm.complete(BOOKING_MESSAGES, tools=[BOOKING_TOOL], tool_choice="cancel_appointment")


def test_check_is_a_tiny_round_trip(llm):
    result = llm.check()
    assert result.completion_tokens is not None and result.completion_tokens <= 8
    assert result.attempts == 1


def test_wrong_api_key_is_an_auth_error_and_not_retried(llama_server):
    slept: list[float] = []
    provider = OpenAICompatibleLLM(base_url=llama_server.base_url, api_key="sk-wrong", model=llama_server.model,
                                   timeout=10, max_retries=3, sleep=slept.append)
    with pytest.raises(LLMError) as caught:
        provider.complete([{"role": "user", "content": "Hi"}], max_tokens=3)
    error = caught.value
    assert error.kind == "auth"
    assert error.retryable is False
    assert error.status_code == 401
    assert error.attempts == 1 and slept == []
    assert llama_server.base_url in str(error) and "ASSISTANT_LLM_API_KEY" in str(error)

    with pytest.raises(LLMError) as caught:
        list(provider.stream([{"role": "user", "content": "Hi"}], max_tokens=3))
    assert caught.value.kind == "auth" and caught.value.attempts == 1
    provider.close()


def test_nothing_listening_is_a_connection_error_after_all_retries_with_growing_backoff():
    (port,) = free_ports(1)
    base_url = f"http://127.0.0.1:{port}/v1"
    provider = OpenAICompatibleLLM(base_url=base_url, model="any", timeout=5, max_retries=2,
                                   backoff_base=0.1, backoff_max=5)
    started = time.perf_counter()
    with pytest.raises(LLMError) as caught:
        provider.complete([{"role": "user", "content": "Hi"}])
    elapsed = time.perf_counter() - started
    error = caught.value
    assert error.kind == "connection"
    assert error.retryable is True
    assert error.attempts == 3
    assert len(error.retry_delays) == 2
    first, second = error.retry_delays
    assert 0.05 <= first <= 0.1 and 0.1 <= second <= 0.2 and second >= first  # equal-jitter exponential
    assert elapsed >= sum(error.retry_delays)
    assert base_url in str(error) and "gave up after 3 attempts" in str(error)

    # the stream path retries the same way (nothing had been yielded)
    with pytest.raises(LLMError) as caught:
        list(provider.stream([{"role": "user", "content": "Hi"}]))
    assert caught.value.kind == "connection" and caught.value.attempts == 3
    provider.close()


def test_a_timeout_shorter_than_the_generation_is_a_timeout_error(llm, llama_server):
    messages = [{"role": "user", "content": "Write a long, detailed story about a busy day at a dental practice."}]
    baseline = llm.complete(messages, temperature=0.0, max_tokens=120)
    timeout = round(max(0.05, min(0.25, baseline.latency_ms / 1000 / 4)), 2)
    assert baseline.latency_ms / 1000 > 2 * timeout, "the generation must take longer than the timeout"

    provider = OpenAICompatibleLLM(base_url=llama_server.base_url, api_key=llama_server.api_key,
                                   model=llama_server.model, timeout=timeout, max_retries=1, backoff_base=0.05)
    started = time.perf_counter()
    with pytest.raises(LLMError) as caught:
        provider.complete(messages, temperature=0.0, max_tokens=120)
    elapsed = time.perf_counter() - started
    error = caught.value
    assert error.kind == "timeout" and error.retryable
    assert error.attempts == 2  # a timeout is retried
    assert f"did not answer within {timeout:g} s" in str(error)
    assert llama_server.base_url in str(error)
    assert elapsed < baseline.latency_ms / 1000 * 2 + 1
    provider.close()


def test_validate_config_reports_problems_instead_of_raising():
    assert OpenAICompatibleLLM(base_url="http://127.0.0.1:8080/v1", model="m").validate_config() == []

    problems = OpenAICompatibleLLM(base_url="", model="").validate_config()
    assert any("ASSISTANT_LLM_BASE_URL" in p for p in problems)
    assert any("ASSISTANT_LLM_MODEL" in p for p in problems)

    problems = OpenAICompatibleLLM(base_url="https://api.openai.com/v1", model="gpt-4o-mini").validate_config()
    assert problems == ["LLM API key is not set (ASSISTANT_LLM_API_KEY); api.openai.com needs one"]

    problems = OpenAICompatibleLLM(base_url="localhost:11434", model="llama3", timeout=0, max_tokens=0,
                                   temperature=3).validate_config()
    assert len(problems) == 4

    with pytest.raises(LLMError) as caught:  # a call with a broken configuration fails before any request
        OpenAICompatibleLLM(base_url="", model="").complete([{"role": "user", "content": "Hi"}])
    assert caught.value.kind == "bad_request" and caught.value.attempts == 0
    assert "not configured" in str(caught.value)


def test_get_llm_follows_the_settings(configure, llama_server, _fresh_llm_cache):
    configure(llm_base_url=None)
    assert get_llm() is None  # no LLM: the embedded composer answers

    configure(llm_base_url=llama_server.base_url, llm_api_key=llama_server.api_key, llm_model=llama_server.model,
              llm_timeout_seconds=20, llm_max_retries=1, llm_max_tokens=16)
    provider = get_llm()
    assert isinstance(provider, OpenAICompatibleLLM)
    assert get_llm() is provider  # cached per configuration
    assert (provider.timeout, provider.max_retries, provider.max_tokens) == (20, 1, 16)
    result = provider.complete([{"role": "user", "content": "Say hi."}])
    assert result.completion_tokens is not None and result.completion_tokens <= 16  # the settings' max_tokens

    configure(llm_model="another-name")
    assert get_llm() is not provider
    reset_llm_cache()
    configure(llm_model=llama_server.model)
    assert get_llm() is not provider


def test_invalid_tool_arguments_are_a_bad_response():
    assert parse_arguments('{"day": "Tuesday"}', "f", "here") == {"day": "Tuesday"}
    assert parse_arguments("", "f", "here") == {}
    for broken in ('{"day": "Tues', "[1, 2]", "day=Tuesday"):
        with pytest.raises(LLMError) as caught:
            parse_arguments(broken, "book_appointment", "http://llm/v1")
        assert caught.value.kind == "bad_response" and not caught.value.retryable
        assert "book_appointment" in str(caught.value)
