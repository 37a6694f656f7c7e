"""Live events: services publish what changed, and every open page that should see it is told.

In-process by default (one app process); Redis pub/sub when `ASSISTANT_REDIS_URL` is set, so a Celery worker
or a second web worker reaches the pages too. Events are hints to refresh, not records: the database stays
the truth, and a subscriber that was away simply reloads. Payloads are JSON objects in both backends.

A Redis outage loses nothing the pages need: a publish Redis refuses is held and sent again once it answers,
and a subscription that had to reconnect yields one RESYNC event (channel "*") so the pages reload.

    async with get_event_bus().subscribe("workspace:*") as events:
        async for channel, event in events:
            ...
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from typing import Any

from backend.settings import get_settings

log = logging.getLogger(__name__)

SUBSCRIBER_QUEUE_SIZE = 1000  # a stalled page drops old hints rather than growing without bound
# Told to subscribers (on the channel "*") after they were cut off from the bus: reload everything shown.
RESYNC = "bus.resync"


def workspace_channel(workspace_id: int) -> str:
    return f"workspace:{int(workspace_id)}"


def conversation_channel(conversation_id: int) -> str:
    return f"conversation:{int(conversation_id)}"


def _encode(event: dict[str, Any]) -> str:
    # A non-JSON event is a bug in the publisher, not a transient failure: it raises in both backends alike.
    if not isinstance(event, dict):
        raise TypeError(f"an event must be a dict, got {type(event).__name__}")
    return json.dumps(event, separators=(",", ":"))


class Subscription(ABC):
    """An async iterator of `(channel, event)`; as an async context manager it is listening once entered."""

    def __init__(self, pattern: str):
        if not isinstance(pattern, str) or not pattern:
            raise ValueError("a subscription pattern must be a non-empty string")
        self.pattern = pattern
        self._started = False
        self._closed = False

    async def start(self) -> None:
        if not self._started:
            await self._start()
            self._started = True

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            if self._started:
                await self._stop()

    async def __aenter__(self) -> "Subscription":
        await self.start()
        return self

    async def __aexit__(self, *_exc) -> None:
        await self.aclose()

    def __aiter__(self) -> "Subscription":
        return self

    async def __anext__(self) -> tuple[str, dict[str, Any]]:
        if self._closed:
            raise StopAsyncIteration
        await self.start()
        return await self._next()

    @abstractmethod
    async def _start(self) -> None: ...

    @abstractmethod
    async def _stop(self) -> None: ...

    @abstractmethod
    async def _next(self) -> tuple[str, dict[str, Any]]: ...


class EventBus(ABC):
    name: str = ""

    @abstractmethod
    def publish(self, channel: str, event: dict[str, Any]) -> None:
        """Send an event now; callable from any thread or event loop. Transient failures are logged, not raised."""

    @abstractmethod
    def subscribe(self, pattern: str) -> Subscription:
        """Events on channels matching a glob pattern such as "workspace:*"."""

    def close(self) -> None:  # noqa: B027 - most buses hold nothing to release; Redis overrides it
        """Release connections held for publishing."""


# --- in-process --------------------------------------------------------------------------------------------


class _InProcessSubscription(Subscription):
    def __init__(self, bus: "InProcessBus", pattern: str):
        super().__init__(pattern)
        self._bus = bus
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] | None = None

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE_SIZE)
        self._bus._add(self)

    async def _stop(self) -> None:
        self._bus._remove(self)

    async def _next(self) -> tuple[str, dict[str, Any]]:
        assert self._queue is not None
        return await self._queue.get()

    def _offer(self, channel: str, data: str) -> None:
        """Runs on the subscriber's own loop (scheduled thread-safely by publish)."""
        assert self._queue is not None
        if self._queue.full():
            self._queue.get_nowait()
            log.warning("event subscriber %r is not keeping up; dropped its oldest event", self.pattern)
        # Each subscriber decodes its own copy, so one page mutating an event cannot affect another.
        self._queue.put_nowait((channel, json.loads(data)))


class InProcessBus(EventBus):
    name = "in_process"

    def __init__(self) -> None:
        self._subscribers: list[_InProcessSubscription] = []
        self._lock = threading.Lock()

    def _add(self, subscription: _InProcessSubscription) -> None:
        with self._lock:
            self._subscribers.append(subscription)

    def _remove(self, subscription: _InProcessSubscription) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)

    def subscribe(self, pattern: str) -> Subscription:
        return _InProcessSubscription(self, pattern)

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        data = _encode(event)
        with self._lock:
            targets = [s for s in self._subscribers if fnmatch.fnmatchcase(channel, s.pattern)]
        for subscription in targets:
            try:
                subscription._loop.call_soon_threadsafe(subscription._offer, channel, data)
            except RuntimeError:
                # Its event loop is closed: the page went away without unsubscribing.
                self._remove(subscription)


# --- Redis -------------------------------------------------------------------------------------------------


def _redis_namespace(url: str) -> str:
    # Redis pub/sub ignores database numbers; prefixing channels with the DB keeps two deployments that share
    # one Redis (told apart by DB number, as for every other key) from seeing each other's workspaces.
    from redis.connection import ConnectionPool

    db = ConnectionPool.from_url(url).connection_kwargs.get("db", 0)
    return f"assistant:db{db}:"


class _RedisSubscription(Subscription):
    RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0)

    def __init__(self, bus: "RedisBus", pattern: str):
        super().__init__(pattern)
        self._bus = bus
        self._client = None
        self._pubsub = None
        self._resync_due = False

    async def _connect(self) -> None:
        import redis.asyncio as aioredis

        self._client = aioredis.Redis.from_url(self._bus.url, health_check_interval=30)
        self._pubsub = self._client.pubsub()
        await self._pubsub.psubscribe(self._bus.namespace + self.pattern)
        # Wait for the server's confirmation: only then is an event published elsewhere sure to arrive.
        while True:
            message = await self._pubsub.get_message(timeout=5.0)
            if message is None:
                raise TimeoutError("Redis did not confirm the subscription")
            if message["type"] == "psubscribe":
                return

    async def _disconnect(self) -> None:
        pubsub, client, self._pubsub, self._client = self._pubsub, self._client, None, None
        for resource in (pubsub, client):
            if resource is not None:
                try:
                    await resource.aclose()
                except Exception:  # closing a broken connection may fail; it is going away anyway
                    log.debug("closing a Redis subscription connection failed", exc_info=True)

    async def _start(self) -> None:
        try:
            await self._connect()
        except BaseException:
            await self._disconnect()
            raise

    async def _stop(self) -> None:
        await self._disconnect()

    async def _reconnect(self) -> None:
        attempt = 0
        while True:
            await self._disconnect()
            try:
                await self._connect()
                log.info("event subscription %r reconnected to Redis", self.pattern)
                # Whatever was published meanwhile is gone (pub/sub keeps nothing): the pages must reload.
                self._resync_due = True
                return
            except (OSError, TimeoutError, self._bus.redis_errors) as exc:
                delay = self.RECONNECT_DELAYS[min(attempt, len(self.RECONNECT_DELAYS) - 1)]
                log.warning("event subscription %r cannot reach Redis (%s); retrying in %.1fs", self.pattern,
                            exc, delay)
                attempt += 1
                await asyncio.sleep(delay)

    async def _next(self) -> tuple[str, dict[str, Any]]:
        prefix = self._bus.namespace
        while True:
            if self._resync_due:
                self._resync_due = False
                return "*", {"type": RESYNC}
            try:
                # A bounded wait lets redis-py run its health checks on an idle connection.
                message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except (OSError, self._bus.redis_errors) as exc:
                log.warning("event subscription %r lost Redis (%s); reconnecting", self.pattern, exc)
                await self._reconnect()
                continue
            if message is None or message["type"] != "pmessage":
                continue
            channel = message["channel"].decode("utf-8", "replace")
            try:
                event = json.loads(message["data"])
            except ValueError:
                log.warning("ignored a non-JSON event on %s", channel)
                continue
            if not isinstance(event, dict):
                continue
            return channel[len(prefix):] if channel.startswith(prefix) else channel, event


class RedisBus(EventBus):
    name = "redis"
    RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0)
    RETRY_FOR_SECONDS = 600.0  # older hints are dropped: the pages' resync reloads from the database anyway
    MAX_BACKLOG = 10_000

    def __init__(self, url: str, namespace: str | None = None):
        import redis

        self.url = url
        self.namespace = _redis_namespace(url) if namespace is None else namespace
        self.redis_errors = redis.RedisError
        self._client = None
        self._client_lock = threading.Lock()
        # Events Redis refused while it was down, with when they were first tried: published again once it answers.
        self._backlog: deque[tuple[float, str, str]] = deque()
        self._backlog_lock = threading.Lock()
        self._retrier: threading.Thread | None = None

    def _publisher(self):
        with self._client_lock:
            if self._client is None:
                import redis
                from redis.backoff import NoBackoff
                from redis.retry import Retry

                # Short timeouts and one retry: a publisher is usually in the middle of a request.
                self._client = redis.Redis.from_url(
                    self.url, socket_connect_timeout=2, socket_timeout=2, retry=Retry(NoBackoff(), 1)
                )
            return self._client

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        data = _encode(event)
        with self._backlog_lock:
            if self._backlog:  # behind what still waits, so each channel keeps its order
                self._keep(channel, data)
                return
        try:
            self._publisher().publish(self.namespace + channel, data)
        except (OSError, self.redis_errors) as exc:
            log.warning("could not publish event on %s: %s; it is sent again once Redis answers", channel, exc)
            with self._backlog_lock:
                self._keep(channel, data)

    @property
    def pending_events(self) -> int:
        """Events Redis refused that wait to be published again (0 when all is well)."""
        with self._backlog_lock:
            return len(self._backlog)

    def _keep(self, channel: str, data: str) -> None:
        """Hold an unpublished event for the retry thread (the caller holds the backlog lock)."""
        if len(self._backlog) >= self.MAX_BACKLOG:
            self._backlog.popleft()  # the oldest hint goes; pages reload on the resync anyway
        self._backlog.append((time.monotonic(), channel, data))
        if self._retrier is None or not self._retrier.is_alive():
            self._retrier = threading.Thread(target=self._retry_backlog, name="event-bus-retry", daemon=True)
            self._retrier.start()

    def _retry_backlog(self) -> None:
        attempt = 0
        while True:
            time.sleep(self.RETRY_DELAYS[min(attempt, len(self.RETRY_DELAYS) - 1)])
            with self._backlog_lock:
                cutoff = time.monotonic() - self.RETRY_FOR_SECONDS
                while self._backlog and self._backlog[0][0] < cutoff:
                    self._backlog.popleft()
                if not self._backlog:
                    self._retrier = None
                    return
                try:
                    while self._backlog:
                        _, channel, data = self._backlog[0]
                        self._publisher().publish(self.namespace + channel, data)
                        self._backlog.popleft()
                except (OSError, self.redis_errors):
                    attempt += 1
                    continue
                log.info("Redis is back: the events held meanwhile were published")
                self._retrier = None
                return

    def subscribe(self, pattern: str) -> Subscription:
        return _RedisSubscription(self, pattern)

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None


# --- selection ---------------------------------------------------------------------------------------------

_buses: dict[str, EventBus] = {}
_buses_lock = threading.Lock()


def get_event_bus() -> EventBus:
    """Redis when `redis_url` is set, else the process-wide in-process bus.

    Cached by URL rather than by settings object: publishers and subscribers must share one in-process bus
    even if the settings are reloaded in between.
    """
    url = get_settings().redis_url
    with _buses_lock:
        bus = _buses.get(url)
        if bus is None:
            bus = _buses[url] = RedisBus(url) if url else InProcessBus()
        return bus
