"""How a page's event handler that calls the backend runs: on a worker thread, never on the app's event loop.

Reflex runs a plain (synchronous) event handler on the event loop itself. Every handler that reaches the
backend waits on the database, and some on outside servers (a calendar, mail, an LLM): while it waits, every
other browser of every business waits too. `@service_event` is `@rx.event` for such handlers: the body runs on
a worker thread while the loop goes on serving everyone else.

A state may define `_guard()` (OwnerState does: the session still holds): it runs first, on the same thread,
and what it returns (a redirect to the login page) is returned instead of running the handler.

It is safe because Reflex holds this tab's state lock for the whole event: nothing else touches this state
until the handler is done, and the delta is computed back on the loop afterwards. A generator handler (one
that `yield`s to show a "saving…" state first) runs each step on the thread, the deltas go out in between.

Handlers that only change what the page shows (open a dialog, switch a tab) stay plain `@rx.event`:
tests/unit/test_ui_handlers_off_loop.py fails for any plain handler that reaches the backend.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

import reflex as rx

from backend.errors import ServiceError
from backend.settings import get_settings

F = TypeVar("F", bound=Callable[..., Any])

_log = logging.getLogger(__name__)
_pool: ThreadPoolExecutor | None = None
_DONE = object()


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=get_settings().handler_threads, thread_name_prefix="handler")
    return _pool


async def off_loop(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)` on a handler thread (with this task's context variables), awaited."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_executor(), call)


async def read_upload(upload: rx.UploadFile) -> bytes:
    """An uploaded file's bytes, refused (ServiceError) past the upload limit without holding more than it.

    The HTTP layer already refuses bodies over the limit; this is the same promise for one file of several."""
    limit = get_settings().max_upload_mb * 1024 * 1024
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ServiceError(f"{upload.name or 'The file'} is larger than {get_settings().max_upload_mb} MB.",
                           field="file")
    return data


def _check(state) -> Any:
    """The state's own guard (OwnerState: the session still holds), or None for states without one."""
    guard = getattr(state, "_guard", None)
    return guard() if guard is not None else None


def _checked_call(fn: Callable[..., Any], state, *args: Any, **kwargs: Any) -> Any:
    refusal = _check(state)
    return refusal if refusal is not None else fn(state, *args, **kwargs)


def _step(generator) -> tuple[Any, Any]:
    try:
        return next(generator), None
    except StopIteration as stop:  # a StopIteration must not cross into an asyncio future
        return _DONE, stop.value


def service_event(fn: F) -> F:
    """`@rx.event` whose body runs on a worker thread (see the module docstring)."""
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise TypeError(f"{fn.__qualname__} is already async: await off_loop(...) for its blocking calls instead")

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        async def stepped(self, *args: Any, **kwargs: Any):
            refusal = await off_loop(_check, self)
            if refusal is not None:
                yield refusal
                return
            generator = fn(self, *args, **kwargs)
            while True:
                event, returned = await off_loop(_step, generator)
                if event is _DONE:
                    if returned is not None:
                        yield returned
                    return
                yield event

        return rx.event(stepped)  # type: ignore[return-value]

    @functools.wraps(fn)
    async def threaded(self, *args: Any, **kwargs: Any):
        return await off_loop(_checked_call, fn, self, *args, **kwargs)

    return rx.event(threaded)  # type: ignore[return-value]


def report_unexpected_error(exception):
    """The app's backend_exception_handler: the person is told plainly that what they did did not go through
    (the message they typed stays in its box: see components.chat.composer_form); the details go to the log."""
    _log.error("a page handler failed", exc_info=(type(exception), exception, exception.__traceback__))
    return rx.toast.error("That did not go through. Please try again in a moment.", id="backend_error",
                          position="top-center")


# Reflex checks the handler's annotations as real types (this module's are strings, `from __future__`).
report_unexpected_error.__annotations__ = {"exception": Exception}
