"""The language model behind the assistant: any OpenAI-compatible chat API (OpenAI, DeepSeek, Ollama, vLLM,
llama.cpp's server, …) through the `openai` package, when `ASSISTANT_LLM_BASE_URL` is set.

Without a base URL there is no LLM: `get_llm()` returns None and the embedded composer answers.
(One file on purpose: one provider class whose chat, streaming and tool-call paths share its retries, errors
and the redaction of personal data.)

    llm = get_llm()
    if llm is not None:
        result = llm.complete([{"role": "user", "content": "When are you open?"}])
        result.text, result.tool_calls, result.latency_ms

        stream = llm.stream(messages)
        for delta in stream:          # text pieces as they arrive
            ...
        stream.result                 # the whole LLMResult (tool calls assembled), once the loop has ended

Failures raise `LLMError` whose `kind` says what went wrong (timeout, connection, auth, rate_limit, server,
bad_request, bad_response) and whose message names the server and the setting to check. Timeouts, lost
connections, 429 and 5xx answers are retried (exponential backoff with jitter, at most `max_retries` more tries);
refusals (4xx, a wrong key) are not. The openai client's own retry loop is turned off, so one setting governs.

With `redact` (ASSISTANT_REDACT_OUTSIDE_AI, on by default) the server never sees the customers' e-mail addresses,
phone numbers, card or bank account numbers: every call swaps them for placeholders (backend.providers.redaction)
in the messages and in earlier tool calls, and puts the values back in the answer's text, in streamed deltas (a
placeholder split across deltas included) and in the arguments of the tool calls it returns.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator
from urllib.parse import urlparse

from backend.providers.redaction import Redactor
from backend.providers.remote import ProviderError, backoff_delay
from backend.settings import Settings, get_settings

log = logging.getLogger(__name__)

ERROR_KINDS = ("timeout", "connection", "auth", "rate_limit", "server", "bad_request", "bad_response")
# Hosts that never answer without a key: a missing key is reported by validate_config() before any call.
KEY_REQUIRED_HOSTS = ("openai.com", "deepseek.com", "groq.com", "mistral.ai", "together.xyz", "openrouter.ai",
                      "fireworks.ai", "anthropic.com")


class LLMError(ProviderError):
    """The language model could not answer (see ProviderError for kind, retryable, attempts, retry_delays)."""

    KINDS = ERROR_KINDS


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass
class LLMResult:
    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None  # "stop", "length", "tool_calls", "content_filter", … as the server says
    model: str = ""
    latency_ms: float = 0.0  # whole call, retries included
    prompt_tokens: int | None = None  # None when the server does not report usage (some do not when streaming)
    completion_tokens: int | None = None
    attempts: int = 1
    first_token_ms: float | None = None  # streams only: time until the first text or tool-call delta


class StreamResult:
    """Iterate for the text deltas; after the loop `.result` holds the LLMResult (tool calls assembled).

    Both an iterable and an iterator (`for delta in stream`, `next(stream)`). Breaking out of the loop and calling
    `close()` ends the request; `.result` then raises. Errors (LLMError) are raised from the loop, before the first
    delta or after some.
    """

    def __init__(self, generator: Iterator[str]):
        self._generator = generator
        self._result: LLMResult | None = None
        self._deltas: list[str] = []

    def __iter__(self) -> "StreamResult":
        return self

    def __next__(self) -> str:
        delta = next(self._generator)
        self._deltas.append(delta)
        return delta

    def _finish(self, result: LLMResult) -> None:
        self._result = result

    @property
    def text_so_far(self) -> str:
        return "".join(self._deltas)

    @property
    def done(self) -> bool:
        return self._result is not None

    @property
    def result(self) -> LLMResult:
        if self._result is None:
            raise RuntimeError("the stream has not been read to the end yet: iterate over it first")
        return self._result

    def consume(self) -> LLMResult:
        """Read whatever is left and return the result."""
        for _ in self:
            pass
        return self.result

    def close(self) -> None:
        close = getattr(self._generator, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> "StreamResult":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class LLMProvider(ABC):
    name: str = ""
    model: str = ""

    @abstractmethod
    def complete(self, messages: list[dict], *, tools: list[dict] | None = None, tool_choice: Any = None,
                 temperature: float | None = None, max_tokens: int | None = None) -> LLMResult:
        """One answer. `tools` are OpenAI function tools; `tool_choice` is "auto", "none", "required", a
        function's name (forces that call) or OpenAI's dict form. Raises LLMError."""

    @abstractmethod
    def stream(self, messages: list[dict], *, tools: list[dict] | None = None, tool_choice: Any = None,
               temperature: float | None = None, max_tokens: int | None = None) -> StreamResult:
        """The answer as text deltas; see StreamResult. Raises LLMError while iterating."""

    def validate_config(self) -> list[str]:
        """Configuration problems as readable sentences; never raises."""
        return []

    def check(self) -> LLMResult:
        """A tiny round trip for the settings page's "Test connection" button; raises LLMError."""
        return self.complete([{"role": "user", "content": "Reply with the single word OK."}],
                             temperature=0.0, max_tokens=8)


# --- helpers -----------------------------------------------------------------------------------------------


def normalise_tools(tools: list[dict] | None) -> list[dict] | None:
    """OpenAI's tool format; a bare function spec ({"name", "description", "parameters"}) is wrapped."""
    if not tools:
        return None
    out = []
    for tool in tools:
        if not isinstance(tool, dict):
            raise TypeError(f"a tool must be a dict, got {type(tool).__name__}")
        if tool.get("type") == "function" and isinstance(tool.get("function"), dict):
            out.append(tool)
        elif "name" in tool:
            function = {"name": tool["name"], "parameters": tool.get("parameters") or
                        {"type": "object", "properties": {}}}
            if tool.get("description"):
                function["description"] = tool["description"]
            out.append({"type": "function", "function": function})
        else:
            raise ValueError(f"not a function tool: {tool!r}")
    return out


def normalise_tool_choice(tool_choice: Any, tools: list[dict] | None) -> Any:
    if tool_choice is None or not tools:
        return None
    if isinstance(tool_choice, str):
        if tool_choice in ("auto", "none", "required"):
            return tool_choice
        names = [t["function"]["name"] for t in tools]
        if tool_choice not in names:
            raise ValueError(f"tool_choice names {tool_choice!r}, which is not among the tools {names}")
        return {"type": "function", "function": {"name": tool_choice}}
    return tool_choice


def parse_arguments(raw: Any, name: str, where: str) -> dict[str, Any]:
    """A tool call's arguments: a JSON object as text ("" means no arguments)."""
    if isinstance(raw, dict):
        return raw
    text = (raw or "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise LLMError(f"the LLM at {where} called {name!r} with arguments that are not valid JSON "
                       f"({exc.msg} at character {exc.pos}): {text[:200]!r}", kind="bad_response") from exc
    if not isinstance(value, dict):
        raise LLMError(f"the LLM at {where} called {name!r} with arguments that are not a JSON object: "
                       f"{text[:200]!r}", kind="bad_response")
    return value


def _status_detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    detail = ""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            detail = str(error.get("message") or error.get("detail") or "")
        elif isinstance(error, str):
            detail = error
        detail = detail or str(body.get("message") or body.get("detail") or "")
    if not detail:
        response = getattr(exc, "response", None)
        try:
            detail = response.text.strip()[:300] if response is not None else ""
        except Exception:  # a streamed body that cannot be read any more
            detail = ""
    return (detail or getattr(exc, "message", "") or str(exc)).strip()


# --- OpenAI-compatible API ---------------------------------------------------------------------------------


class OpenAICompatibleLLM(LLMProvider):
    """Any server speaking OpenAI's `POST {base_url}/chat/completions`, with and without streaming."""

    MAX_RETRY_AFTER = 20.0  # seconds: a longer Retry-After is not waited for, the call fails instead

    def __init__(self, base_url: str, api_key: str = "", model: str = "", timeout: float = 30.0,
                 max_retries: int = 2, temperature: float = 0.2, max_tokens: int = 500,
                 backoff_base: float = 0.5, backoff_max: float = 8.0,
                 sleep: Callable[[float], None] = time.sleep, redact: bool = True):
        self.base_url = (base_url or "").strip().rstrip("/")
        self.api_key = (api_key or "").strip()
        self.model = (model or "").strip()
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.temperature = float(temperature)
        self.max_tokens = int(max_tokens)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self._sleep = sleep
        self.redact = bool(redact)
        self.name = "openai-compatible"
        self._client = None
        self._client_lock = threading.Lock()
        self._send_stream_options = True

    # --- configuration -----------------------------------------------------------------------------------

    def validate_config(self) -> list[str]:
        errors = []
        parsed = urlparse(self.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            errors.append(f"LLM base URL must start with http:// or https://, got {self.base_url!r} "
                          "(ASSISTANT_LLM_BASE_URL)")
        if not self.model:
            errors.append("LLM model is not set (ASSISTANT_LLM_MODEL), e.g. gpt-4o-mini, deepseek-chat or the "
                          "name of a model your server has loaded")
        host = (parsed.hostname or "").lower()
        if not self.api_key and any(host == h or host.endswith("." + h) for h in KEY_REQUIRED_HOSTS):
            errors.append(f"LLM API key is not set (ASSISTANT_LLM_API_KEY); {host} needs one")
        if self.timeout <= 0:
            errors.append("ASSISTANT_LLM_TIMEOUT_SECONDS must be more than 0")
        if self.max_retries < 0:
            errors.append("ASSISTANT_LLM_MAX_RETRIES cannot be negative")
        if not 0.0 <= self.temperature <= 2.0:
            errors.append("ASSISTANT_LLM_TEMPERATURE must be between 0 and 2")
        if self.max_tokens <= 0:
            errors.append("ASSISTANT_LLM_MAX_TOKENS must be more than 0")
        return errors

    def _require_config(self) -> None:
        problems = self.validate_config()
        if problems:
            raise LLMError("the LLM is not configured: " + "; ".join(problems), kind="bad_request",
                           attempts=0)

    def _openai(self):
        import openai

        with self._client_lock:
            if self._client is None:
                self._client = openai.OpenAI(
                    base_url=self.base_url,
                    # Local servers (Ollama, llama.cpp, vLLM) often need no key; the client insists on one.
                    api_key=self.api_key or "no-key",
                    timeout=openai.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
                    max_retries=0,  # our own loop below retries, with our rules
                )
            return self._client

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # --- requests ------------------------------------------------------------------------------------------

    def _request(self, messages: list[dict], tools, tool_choice, temperature, max_tokens,
                 stream: bool) -> dict[str, Any]:
        if not isinstance(messages, list) or not messages:
            raise ValueError("messages must be a non-empty list of {'role': ..., 'content': ...} dicts")
        tools = normalise_tools(tools)
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature if temperature is None else float(temperature),
            "max_tokens": self.max_tokens if max_tokens is None else int(max_tokens),
        }
        if tools:
            request["tools"] = tools
            choice = normalise_tool_choice(tool_choice, tools)
            if choice is not None:
                request["tool_choice"] = choice
        if stream:
            request["stream"] = True
            if self._send_stream_options:
                request["stream_options"] = {"include_usage": True}
        return request

    def _map_error(self, exc: BaseException) -> LLMError:
        import openai

        where = self.base_url
        if isinstance(exc, LLMError):
            return exc
        if isinstance(exc, openai.APITimeoutError):
            return LLMError(f"the LLM at {where} did not answer within {self.timeout:g} s "
                            "(ASSISTANT_LLM_TIMEOUT_SECONDS)", kind="timeout")
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            reason = f"{type(cause).__name__}: {cause}" if cause else str(exc)
            return LLMError(f"could not connect to the LLM at {where} ({reason}); check ASSISTANT_LLM_BASE_URL "
                            "and that the server is running", kind="connection")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            detail = _status_detail(exc).rstrip(".")
            if status in (401, 403):
                return LLMError(f"the LLM at {where} refused the API key (HTTP {status}): {detail}. "
                                "Check ASSISTANT_LLM_API_KEY", kind="auth", status_code=status)
            if status == 429:
                return LLMError(f"the LLM at {where} is rate limiting us or the account is out of credit "
                                f"(HTTP 429): {detail}", kind="rate_limit", status_code=status)
            if status == 408:
                return LLMError(f"the LLM at {where} timed out the request (HTTP 408): {detail}",
                                kind="timeout", status_code=status)
            if status >= 500:
                return LLMError(f"the LLM at {where} failed (HTTP {status}): {detail}", kind="server",
                                status_code=status)
            hint = ""
            if status == 404:
                hint = (f". Check ASSISTANT_LLM_BASE_URL (it usually ends in /v1) and that the model "
                        f"{self.model!r} exists there (ASSISTANT_LLM_MODEL)")
            return LLMError(f"the LLM at {where} refused the request (HTTP {status}): {detail}{hint}",
                            kind="bad_request", status_code=status)
        if isinstance(exc, openai.APIResponseValidationError):
            return LLMError(f"the LLM at {where} sent an answer that is not a chat completion: {exc}",
                            kind="bad_response")
        if isinstance(exc, openai.APIError):  # e.g. an error event in the middle of a stream
            return LLMError(f"the LLM at {where} reported an error: {exc}", kind="server")
        return LLMError(f"the LLM at {where} sent an answer that could not be read "
                        f"({type(exc).__name__}: {exc})", kind="bad_response")

    def _retry_pause(self, error: LLMError, retry: int, exc: BaseException) -> float:
        delay = backoff_delay(retry, self.backoff_base, self.backoff_max)
        response = getattr(exc, "response", None)
        retry_after = response.headers.get("retry-after") if response is not None else None
        if retry_after:
            try:
                delay = max(delay, min(float(retry_after), self.MAX_RETRY_AFTER))
            except ValueError:
                pass
        return delay

    def _with_retries(self, call: Callable[[], Any]) -> tuple[Any, int]:
        """Run `call` until it succeeds or fails for good; returns (its value, attempts made)."""
        delays: list[float] = []
        attempt = 0
        while True:
            attempt += 1
            try:
                return call(), attempt
            except Exception as exc:  # noqa: BLE001 - every failure becomes an LLMError
                error = self._map_error(exc)
                if not error.retryable or attempt > self.max_retries:
                    raise self._final(error, attempt, delays) from exc
                delay = self._retry_pause(error, attempt - 1, exc)
                log.warning("LLM call failed (attempt %d of %d, %s): %s; retrying in %.2fs", attempt,
                            self.max_retries + 1, error.kind, error, delay)
                delays.append(delay)
                self._sleep(delay)

    def _final(self, error: LLMError, attempts: int, delays: list[float]) -> LLMError:
        message = str(error)
        if attempts > 1:
            message += f" (gave up after {attempts} attempts)"
        return LLMError(message, kind=error.kind, retryable=error.retryable, status_code=error.status_code,
                        attempts=attempts, retry_delays=delays)

    def _refuses_stream_options(self, error: LLMError) -> bool:
        """Some servers refuse `stream_options`; they then get streams without token counts."""
        if error.kind == "bad_request" and self._send_stream_options and "stream_options" in str(error):
            log.info("the LLM at %s refused stream_options; streaming without token counts", self.base_url)
            self._send_stream_options = False
            return True
        return False

    # --- complete ------------------------------------------------------------------------------------------

    def complete(self, messages: list[dict], *, tools: list[dict] | None = None, tool_choice: Any = None,
                 temperature: float | None = None, max_tokens: int | None = None) -> LLMResult:
        self._require_config()
        redactor = Redactor() if self.redact else None
        outgoing = redactor.redact_messages(messages) if redactor else messages
        request = self._request(outgoing, tools, tool_choice, temperature, max_tokens, stream=False)
        started = time.perf_counter()
        client = self._openai()
        response, attempts = self._with_retries(lambda: client.chat.completions.create(**request))
        latency_ms = (time.perf_counter() - started) * 1000
        result = self._parse_completion(response, latency_ms, attempts)
        return _restored(result, redactor) if redactor else result

    def _parse_completion(self, response: Any, latency_ms: float, attempts: int) -> LLMResult:
        where = self.base_url
        choices = getattr(response, "choices", None)
        if not choices:
            raise LLMError(f"the LLM at {where} sent an answer without choices", kind="bad_response",
                           attempts=attempts)
        choice = choices[0]
        message = choice.message
        if message is None:
            raise LLMError(f"the LLM at {where} sent an answer without a message", kind="bad_response",
                           attempts=attempts)
        tool_calls = []
        for index, call in enumerate(message.tool_calls or []):
            function = getattr(call, "function", None)
            if function is None or not function.name:
                raise LLMError(f"the LLM at {where} sent a tool call without a function name",
                               kind="bad_response", attempts=attempts)
            tool_calls.append(ToolCall(id=call.id or f"call_{index}", name=function.name,
                                       arguments=parse_arguments(function.arguments, function.name, where)))
        if not tool_calls and getattr(message, "function_call", None) is not None:  # the legacy form
            function = message.function_call
            tool_calls.append(ToolCall(id="call_0", name=function.name,
                                       arguments=parse_arguments(function.arguments, function.name, where)))
        usage = getattr(response, "usage", None)
        return LLMResult(
            text=message.content or "",
            tool_calls=tool_calls,
            finish_reason=choice.finish_reason,
            model=getattr(response, "model", None) or self.model,
            latency_ms=round(latency_ms, 1),
            prompt_tokens=getattr(usage, "prompt_tokens", None) if usage else None,
            completion_tokens=getattr(usage, "completion_tokens", None) if usage else None,
            attempts=attempts,
        )

    # --- stream --------------------------------------------------------------------------------------------

    def stream(self, messages: list[dict], *, tools: list[dict] | None = None, tool_choice: Any = None,
               temperature: float | None = None, max_tokens: int | None = None) -> StreamResult:
        self._require_config()
        redactor = Redactor() if self.redact else None
        outgoing = redactor.redact_messages(messages) if redactor else messages
        # Built now, so a bad argument raises here rather than in the caller's loop.
        self._request(outgoing, tools, tool_choice, temperature, max_tokens, stream=True)
        holder: list[StreamResult] = []
        holder.append(StreamResult(self._stream(outgoing, tools, tool_choice, temperature, max_tokens, holder)))
        if redactor is None:
            return holder[0]
        outer: list[StreamResult] = []
        outer.append(StreamResult(_restoring(holder[0], redactor, outer)))
        return outer[0]

    def _stream(self, messages, tools, tool_choice, temperature, max_tokens,
                holder: list[StreamResult]) -> Iterator[str]:
        where = self.base_url
        started = time.perf_counter()
        client = self._openai()
        attempt = 0
        delays: list[float] = []
        while True:
            attempt += 1
            # Everything received on this attempt; a retry starts from scratch, which is only allowed while
            # nothing has been handed to the caller.
            yielded = False
            text: list[str] = []
            calls: dict[int, dict[str, Any]] = {}
            finish_reason = None
            model = ""
            usage = None
            first_token_ms = None
            stream = None
            try:
                request = self._request(messages, tools, tool_choice, temperature, max_tokens, stream=True)
                stream = client.chat.completions.create(**request)
                for chunk in stream:
                    model = getattr(chunk, "model", None) or model
                    if getattr(chunk, "usage", None):
                        usage = chunk.usage
                    for choice in chunk.choices or []:
                        if choice.index not in (None, 0):
                            continue
                        if choice.finish_reason:
                            finish_reason = choice.finish_reason
                        delta = choice.delta
                        if delta is None:
                            continue
                        for call in delta.tool_calls or []:
                            if first_token_ms is None:
                                first_token_ms = (time.perf_counter() - started) * 1000
                            self._merge_tool_delta(calls, call)
                        content = delta.content
                        if content:
                            if first_token_ms is None:
                                first_token_ms = (time.perf_counter() - started) * 1000
                            text.append(content)
                            yielded = True
                            yield content
                break
            except GeneratorExit:
                if stream is not None:
                    stream.close()
                raise
            except Exception as exc:  # noqa: BLE001 - every failure becomes an LLMError
                if stream is not None:
                    try:
                        stream.close()
                    except Exception:  # noqa: BLE001
                        pass
                error = self._map_error(exc)
                if not yielded and self._refuses_stream_options(error):
                    attempt -= 1  # not a failure of the server: ask again at once without the option
                    continue
                if yielded:
                    got = len("".join(text))
                    raise LLMError(f"{error} (the answer broke off after {got} characters)", kind=error.kind,
                                   retryable=error.retryable, status_code=error.status_code, attempts=attempt,
                                   retry_delays=delays) from exc
                if not error.retryable or attempt > self.max_retries:
                    raise self._final(error, attempt, delays) from exc
                delay = self._retry_pause(error, attempt - 1, exc)
                log.warning("LLM stream failed (attempt %d of %d, %s): %s; retrying in %.2fs", attempt,
                            self.max_retries + 1, error.kind, error, delay)
                delays.append(delay)
                self._sleep(delay)

        tool_calls = []
        for index in sorted(calls):
            call = calls[index]
            if not call["name"]:
                raise LLMError(f"the LLM at {where} streamed a tool call without a function name",
                               kind="bad_response", attempts=attempt)
            tool_calls.append(ToolCall(id=call["id"] or f"call_{index}", name=call["name"],
                                       arguments=parse_arguments(call["arguments"], call["name"], where)))
        holder[0]._finish(LLMResult(
            text="".join(text),
            tool_calls=tool_calls,
            finish_reason=finish_reason,
            model=model or self.model,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            prompt_tokens=getattr(usage, "prompt_tokens", None) if usage else None,
            completion_tokens=getattr(usage, "completion_tokens", None) if usage else None,
            attempts=attempt,
            first_token_ms=round(first_token_ms, 1) if first_token_ms is not None else None,
        ))

    @staticmethod
    def _merge_tool_delta(calls: dict[int, dict[str, Any]], delta: Any) -> None:
        """Add one streamed tool-call fragment. OpenAI sends id and name once and the arguments in pieces;
        some servers (llama.cpp) repeat id and name in every fragment: repeated values are not appended."""
        index = getattr(delta, "index", None)
        if index is None:  # servers that leave out the index: a new id starts a new call
            last = max(calls, default=None)
            index = 0 if last is None else (last + 1 if delta.id and delta.id != calls[last]["id"] else last)
        call = calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
        if delta.id:
            call["id"] = delta.id
        function = getattr(delta, "function", None)
        if function is None:
            return
        name = function.name or ""
        if name and name != call["name"]:
            # a first name, a repeated-and-grown name, or (rarely) a name sent in pieces
            call["name"] = name if (not call["name"] or name.startswith(call["name"])) else call["name"] + name
        if function.arguments:
            call["arguments"] += function.arguments


# --- placeholders back in the answer --------------------------------------------------------------------------


def _restored(result: LLMResult, redactor: Redactor) -> LLMResult:
    calls = [ToolCall(id=c.id, name=c.name, arguments=redactor.restore_value(c.arguments)) for c in result.tool_calls]
    return replace(result, text=redactor.restore(result.text), tool_calls=calls)


def _restoring(inner: StreamResult, redactor: Redactor, holder: list[StreamResult]) -> Iterator[str]:
    """The inner stream's deltas with placeholders restored; the end of a delta that may begin a placeholder waits
    for the next one."""
    restorer = redactor.stream_restorer()
    try:
        for delta in inner:
            shown = restorer.feed(delta)
            if shown:
                yield shown
        rest = restorer.flush()
        if rest:
            yield rest
    finally:
        inner.close()
    holder[0]._finish(_restored(inner.result, redactor))


# --- from the settings -------------------------------------------------------------------------------------


def llm_from_settings(settings: Settings) -> LLMProvider | None:
    if not (settings.llm_base_url or "").strip():
        return None
    return OpenAICompatibleLLM(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key,
        model=settings.llm_model,
        timeout=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        redact=settings.redact_outside_ai,
    )


_cache: dict[tuple, LLMProvider | None] = {}
_cache_lock = threading.Lock()


def get_llm() -> LLMProvider | None:
    """The configured LLM, or None when ASSISTANT_LLM_BASE_URL is empty (the embedded composer answers).
    One instance (and HTTP connection pool) per configuration."""
    s = get_settings()
    key = (s.llm_base_url.strip(), s.llm_api_key, s.llm_model, s.llm_timeout_seconds, s.llm_max_retries,
           s.llm_temperature, s.llm_max_tokens, s.redact_outside_ai)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = llm_from_settings(s)
        return _cache[key]


def reset_llm_cache() -> None:
    with _cache_lock:
        for provider in _cache.values():
            close = getattr(provider, "close", None)
            if close is not None:
                close()
        _cache.clear()
