"""No page handler reaches the backend from the app's event loop (issue: one slow handler froze every tenant).

Reflex runs a plain event handler on the event loop; a handler that calls a backend service must be a
`@service_event` (run on a worker thread) or async and await its blocking calls with `off_loop`. This test reads
every state class of every page: a plain handler whose code (or a helper method it calls) names something from
`backend` fails, with the handler's name.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import pkgutil
import threading
import types

import pytest
import reflex as rx

import assistant.components
import assistant.pages
import assistant.state
from assistant.state.handlers import off_loop, service_event
from backend.messaging import portal

LIVE_HOOKS = ("on_live_event", "after_live_events", "on_resync")


def _import_all() -> None:
    for package in (assistant.pages, assistant.state, assistant.components):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(info.name)


def _codes(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def _is_backend(value) -> bool:
    name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", "") or ""
    return name == "backend" or name.startswith("backend.")


def _reaches_backend(fn, cls, seen: set) -> str | None:
    """The backend name `fn` uses, directly or through a helper method of its state class, else None."""
    fn = inspect.unwrap(fn)
    if fn in seen or not hasattr(fn, "__code__"):
        return None
    seen.add(fn)
    for code in _codes(fn.__code__):
        for name in code.co_names:
            if name in fn.__globals__ and _is_backend(fn.__globals__[name]):
                return name
            helper = inspect.getattr_static(cls, name, None)
            if isinstance(helper, (staticmethod, classmethod)):
                helper = helper.__func__
            if inspect.isfunction(helper) and (helper.__module__ == cls.__module__
                                               or helper.__module__.startswith("assistant.")):
                found = _reaches_backend(helper, cls, seen)
                if found:
                    return f"{name} → {found}"
    return None


def _state_classes():
    stack, out = [rx.State], []
    while stack:
        cls = stack.pop()
        out.append(cls)
        stack.extend(cls.get_substates())
    return [c for c in out if c.__module__.startswith("assistant.")]


def test_every_handler_that_reaches_the_backend_runs_off_the_event_loop():
    _import_all()
    offenders = []
    checked = 0
    for cls in _state_classes():
        for name, handler in cls.event_handlers.items():
            fn = handler.fn
            if fn.__module__ != cls.__module__ or name not in cls.__dict__:
                continue  # inherited: checked on the class that defines it
            if name in LIVE_HOOKS:
                continue  # not events: assistant/live.py runs them with off_loop
            checked += 1
            if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
                continue
            found = _reaches_backend(fn, cls, set())
            if found:
                offenders.append(f"{cls.__module__}.{cls.__name__}.{name} uses {found}")
    assert checked > 50, "the page modules were not found"
    assert not offenders, ("These handlers call the backend on the event loop; make them @service_event "
                           "(assistant/state/handlers.py):\n" + "\n".join(sorted(offenders)))


def test_the_check_itself_catches_a_plain_handler_that_calls_the_backend():
    class _Helper:
        def _load(self):
            return portal.portal_conversation_id("x")

    def handler(self):
        self._load()

    assert _reaches_backend(handler, _Helper, set()) == "_load → portal"

    def ui_only(self):
        self.open = True

    assert _reaches_backend(ui_only, _Helper, set()) is None


def test_a_service_event_runs_on_a_worker_thread_and_keeps_its_signature():
    threads = []

    class Dummy:
        pass

    def save(self, form_data: dict) -> str:
        threads.append(threading.current_thread().name)
        return form_data["x"]

    def steps(self):
        threads.append(threading.current_thread().name)
        yield "saving"
        threads.append(threading.current_thread().name)
        return "saved"

    wrapped = service_event(save)
    assert inspect.signature(wrapped.fn if hasattr(wrapped, "fn") else wrapped).parameters.keys() >= {"form_data"}
    fn = getattr(wrapped, "fn", wrapped)
    assert asyncio.run(fn(Dummy(), {"x": "ok"})) == "ok"

    async def collect():
        return [event async for event in getattr(service_event(steps), "fn", service_event(steps))(Dummy())]

    assert asyncio.run(collect()) == ["saving", "saved"]
    assert threads and all(t.startswith("handler") for t in threads)
    assert asyncio.run(off_loop(lambda: threading.current_thread().name)).startswith("handler")


def test_an_async_handler_is_refused_by_service_event():
    async def upload(self):
        return None

    with pytest.raises(TypeError, match="already async"):
        service_event(upload)
