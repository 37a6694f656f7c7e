"""What every provider that calls a remote API shares: its error type, the pause between retries, and the HTTP
client. The LLM, speech-to-text and embeddings providers build on these, so they fail, retry and authenticate the
same way."""

from __future__ import annotations

import random
import threading
from typing import ClassVar

RETRYABLE_KINDS = frozenset({"timeout", "connection", "rate_limit", "server"})


class ProviderError(RuntimeError):
    """A remote provider could not do the work; the message says why in words an owner (or operator) can act on.

    kind: one of the subclass's KINDS. retryable: whether trying again later may help (timeouts, connection
    trouble, rate limits, server errors). attempts: how many requests were made. retry_delays: the pauses.
    """

    KINDS: ClassVar[tuple[str, ...]] = ()
    RETRYABLE: ClassVar[frozenset[str]] = RETRYABLE_KINDS

    def __init__(self, message: str, *, kind: str, retryable: bool | None = None, status_code: int | None = None,
                 attempts: int = 1, retry_delays: list[float] | None = None):
        if kind not in self.KINDS:
            raise ValueError(f"unknown {type(self).__name__} kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.retryable = kind in self.RETRYABLE if retryable is None else retryable
        self.status_code = status_code
        self.attempts = attempts
        self.retry_delays = list(retry_delays or [])


def backoff_delay(retry: int, base: float, cap: float) -> float:
    """Pause before retry number `retry` (0 for the first): "equal jitter" exponential backoff.

    The pause is between half and all of min(cap, base * 2**retry), so pauses grow from one retry to the next
    while clients that failed together do not retry together."""
    ceiling = min(cap, base * (2 ** retry))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def http_client(api_key: str, timeout: float, headers: dict[str, str] | None = None):
    """An httpx client with the bearer key (when there is one) and a connect timeout capped at 10 s."""
    import httpx

    all_headers = dict(headers or {})
    if api_key:
        all_headers["Authorization"] = f"Bearer {api_key}"
    return httpx.Client(headers=all_headers, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))


_clients_lock = threading.Lock()  # guards making and closing clients (rare), never a request


class SharedHTTPClient:
    """One httpx client per provider instance, made on first use and shared by threads (connections are kept
    alive between calls). A provider sets `api_key`, `timeout` and, when it needs them, `http_headers`."""

    api_key: str = ""
    timeout: float = 30.0
    http_headers: ClassVar[dict[str, str] | None] = None
    _client = None

    def _http(self):
        client = self._client
        if client is not None:
            return client
        with _clients_lock:
            if self._client is None:
                self._client = http_client(self.api_key, self.timeout, self.http_headers)
            return self._client

    def close(self) -> None:
        with _clients_lock:
            if self._client is not None:
                self._client.close()
                self._client = None
