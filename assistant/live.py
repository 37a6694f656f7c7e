"""Live updates: backend events reach the open pages that show them, without polling.

Services publish small events on the event bus after they commit (in-process, or Redis pub/sub when several
processes run). One listener per Reflex backend process receives every event and, for each browser tab in this
process that watches the event's channel, changes that tab's state out of band with `app.modify_state`;
Reflex then sends the tab the delta over its websocket. Work done in a Celery worker reaches the pages the
same way, through Redis.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from typing import Any, Protocol

import reflex as rx

from assistant.state.handlers import off_loop
from backend.core.live_events import RESYNC, subscribe

log = logging.getLogger(__name__)


class LiveState(Protocol):
    """A page that shows live updates. The hooks are plain methods run on a handler thread: on_live_event for
    each event, then after_live_events once per batch, and on_resync (reload all) after the bus was away."""

    def on_live_event(self, channel: str, event: dict[str, Any]) -> Any: ...


class LiveRegistry:
    """Which tab (client token) of this process watches which channels, with which state class."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_channel: dict[str, dict[str, set[type]]] = defaultdict(dict)
        self._by_watcher: dict[tuple[str, type], set[str]] = {}

    def watch(self, token: str, state_cls: type, channels: list[str]) -> None:
        """Replaces what this tab's `state_cls` watched before: a tab follows one page at a time."""
        with self._lock:
            key = (token, state_cls)
            for channel in self._by_watcher.pop(key, set()):
                self._drop(channel, token, state_cls)
            self._by_watcher[key] = set(channels)
            for channel in channels:
                self._by_channel[channel].setdefault(token, set()).add(state_cls)

    def unwatch(self, token: str, state_cls: type | None = None) -> None:
        with self._lock:
            for key in [k for k in self._by_watcher if k[0] == token and (state_cls is None or k[1] is state_cls)]:
                for channel in self._by_watcher.pop(key):
                    self._drop(channel, key[0], key[1])

    def _drop(self, channel: str, token: str, state_cls: type) -> None:
        tabs = self._by_channel.get(channel)
        if not tabs or token not in tabs:
            return
        tabs[token].discard(state_cls)
        if not tabs[token]:
            del tabs[token]
        if not tabs:
            del self._by_channel[channel]

    def targets(self, channel: str) -> list[tuple[str, type]]:
        with self._lock:
            return [(token, cls) for token, classes in self._by_channel.get(channel, {}).items() for cls in classes]

    def all_targets(self) -> list[tuple[str, type]]:
        with self._lock:
            return list(self._by_watcher)

    def watcher_count(self) -> int:
        with self._lock:
            return len(self._by_watcher)


registry = LiveRegistry()


async def _push(app: rx.App, token: str, state_cls: type, events: list[tuple[str, dict]]) -> None:
    namespace = app.event_namespace
    if namespace is not None and token not in namespace.token_to_sid:
        registry.unwatch(token)  # the tab is gone
        return
    try:
        async with app.modify_state(rx.BaseStateToken(ident=token, cls=state_cls)) as root:
            state = await root.get_state(state_cls)
            # The page's hooks reload from the database: on a handler thread, like its event handlers (the
            # tab's state lock is held meanwhile, so nothing else touches this state).
            if not await off_loop(_apply_live_events, state, events):
                registry.unwatch(token)
    except Exception:  # one broken tab must not stop the others
        log.exception("live update to %s failed", state_cls.__name__)


def _apply_live_events(state: LiveState, events: list[tuple[str, dict]]) -> bool:
    """False (and nothing applied) when the tab may no longer see them: its session ended meanwhile."""
    allowed = getattr(state, "_live_allowed", None)
    if allowed is not None and not allowed():
        return False
    for channel, event in events:
        if event.get("type") == RESYNC:
            # The bus was away and events may be lost: the page reloads what it shows.
            resync = getattr(state, "on_resync", None)
            if resync is not None:
                resync()
            continue
        state.on_live_event(channel, event)
    # A burst of events (fifty customers writing at once) costs one reload, not fifty.
    flush = getattr(state, "after_live_events", None)
    if flush is not None:
        flush()
    return True


async def _read(queue: asyncio.Queue) -> None:
    async with subscribe("*") as events:
        async for channel, event in events:
            queue.put_nowait((channel, event))


async def live_listener(app: rx.App) -> None:
    """Lifespan task: runs as long as the backend process, resubscribing after a bus failure.

    A reader fills a queue; the dispatcher takes whatever has piled up while it was busy, groups it by tab and
    applies each tab's events in one state change, so the work per event shrinks as the load grows.
    """
    queue: asyncio.Queue = asyncio.Queue()
    while True:
        reader = asyncio.create_task(_read(queue))
        try:
            while not reader.done():
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                batch = [getter.result()]
                while not queue.empty() and len(batch) < MAX_BATCH:
                    batch.append(queue.get_nowait())
                by_tab: dict[tuple[str, type], list[tuple[str, dict]]] = {}
                for channel, event in batch:
                    targets = registry.all_targets() if event.get("type") == RESYNC else registry.targets(channel)
                    for target in targets:
                        by_tab.setdefault(target, []).append((channel, event))
                if by_tab:
                    await asyncio.gather(*(_push(app, t, cls, evs) for (t, cls), evs in by_tab.items()))
            reader.result()  # raises what stopped the reader
        except asyncio.CancelledError:
            reader.cancel()
            raise
        except Exception:
            log.exception("live listener lost the event bus; resubscribing")
            await asyncio.sleep(1.0)


MAX_BATCH = 500
