"""Background work behind one call, `enqueue(name, **kwargs)`.

With no broker configured, tasks run in this process on a few daemon threads (retried with a short backoff);
with `ASSISTANT_CELERY_BROKER_URL` set, they go to Celery workers (`celery -A backend.tasks worker`).
Tasks are plain functions registered by name with `@background_task`, so either runner calls the same code.
Arguments must be JSON values in both modes, so a task that works on one machine works on a worker too.

Each task belongs to a queue, so one kind of work never waits behind another: customers' replies ("ai"), document
ingestion ("ingest", where a 400-page PDF takes minutes) and the rest ("default": mail, calendar sync, sweeps).
In-process, each queue has its own threads; on Celery, each is a broker queue (a worker consumes all three unless
started with `-Q`, so a busy deployment runs dedicated workers per queue).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from typing import Any, Callable

from backend.providers.queues import DEFAULT_QUEUE, QUEUES
from backend.settings import get_settings

log = logging.getLogger(__name__)

RETRY_DELAYS_SECONDS: tuple[float, ...] = (0.5, 1.0, 2.0)  # in-process: up to 3 retries after the first try

_registry: dict[str, Callable[..., Any]] = {}
_queues: dict[str, str] = {}  # task name -> queue


class UnknownTaskError(LookupError):
    pass


class EnqueueError(RuntimeError):
    """The broker did not accept the task; whatever the caller stored first is still there to retry."""


def background_task(name: str, queue: str = DEFAULT_QUEUE) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a plain function as the background task `name` on `queue`; the function is returned unchanged."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r} for background task {name!r}; queues are {', '.join(QUEUES)}")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        existing = _registry.get(name)
        if existing is not None and existing.__qualname__ != func.__qualname__:
            raise ValueError(f"background task {name!r} is already registered by {existing.__module__}")
        _registry[name] = func
        _queues[name] = queue
        return func

    return register


def registered_tasks() -> dict[str, Callable[..., Any]]:
    return dict(_registry)


def queue_of(name: str) -> str:
    _lookup(name)
    return _queues.get(name, DEFAULT_QUEUE)


def _lookup(name: str) -> Callable[..., Any]:
    try:
        return _registry[name]
    except KeyError:
        # Tasks register when their domain is imported: backend.startup.load_domains() does it in every process.
        raise UnknownTaskError(f"no background task named {name!r} (did backend.startup.load_domains() run?)"
                               ) from None


def _as_json(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(kwargs))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"arguments of background task {name!r} must be JSON values: {exc}") from exc


def run_inline(name: str, **kwargs: Any) -> Any:
    """Run a task now, in this thread, once; exceptions reach the caller. For tests and the CLI."""
    func = _lookup(name)
    return func(**_as_json(name, kwargs))


def enqueue(name: str, **kwargs: Any) -> None:
    """Run a task later: on a Celery worker when a broker is configured, else on an in-process thread."""
    _lookup(name)  # an unknown name is a bug; say so here, not in a worker log
    payload = _as_json(name, kwargs)
    broker_url = get_settings().celery_broker_url
    if broker_url:
        from backend.providers.celery_app import celery_app_for  # Celery is loaded only when a broker is set

        try:
            celery_app_for(broker_url).send_task(name, kwargs=payload, queue=queue_of(name))
        except Exception as exc:
            raise EnqueueError(f"broker refused background task {name!r}: {exc}") from exc
    else:
        _get_runner().submit(name, payload)


def wait_until_idle(timeout: float = 10.0) -> bool:
    """Block until in-process tasks (retries included) are finished; False on timeout. No-op for Celery."""
    runner = _runner
    return True if runner is None else runner.wait_until_idle(timeout)


class _InProcessRunner:
    """Daemon threads per queue: a stuck task never keeps the process from exiting, and a long ingestion never
    holds up a reply.

    Work lost at exit is acceptable because services store their state before enqueueing (an outbox row
    stays `queued`), so nothing the customer sent is lost with it.
    """

    def __init__(self, threads_per_queue: dict[str, int] | None = None):
        threads_per_queue = threads_per_queue or _threads_per_queue()
        self._queues: dict[str, queue.Queue[tuple[str, dict[str, Any], int]]] = {
            name: queue.Queue() for name in QUEUES}
        self._pending = 0
        self._idle = threading.Condition()
        self._threads = [
            threading.Thread(target=self._work, args=(self._queues[name],), name=f"background-{name}-{i}",
                             daemon=True)
            for name in QUEUES for i in range(max(1, threads_per_queue.get(name, 1)))
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, name: str, kwargs: dict[str, Any]) -> None:
        with self._idle:
            self._pending += 1
        self._queues[_queues.get(name, DEFAULT_QUEUE)].put((name, kwargs, 0))

    def wait_until_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _finish(self) -> None:
        with self._idle:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def _work(self, tasks: queue.Queue) -> None:
        while True:
            name, kwargs, attempt = tasks.get()
            try:
                _registry[name](**kwargs)
            except Exception:
                if attempt < len(RETRY_DELAYS_SECONDS):
                    delay = RETRY_DELAYS_SECONDS[attempt]
                    log.warning("background task %s failed (try %d), retrying in %.1fs", name, attempt + 1, delay,
                                exc_info=True)
                    # A timer, not a sleep, so the worker thread stays free for other tasks meanwhile.
                    timer = threading.Timer(delay, tasks.put, args=((name, kwargs, attempt + 1),))
                    timer.daemon = True
                    timer.start()
                    continue  # still pending until the retry runs
                log.exception("background task %s failed %d times; giving up", name, attempt + 1)
            self._finish()


def _threads_per_queue() -> dict[str, int]:
    settings = get_settings()
    return {"ai": settings.background_ai_threads, "ingest": settings.background_ingest_threads,
            "default": settings.background_default_threads}


_runner: _InProcessRunner | None = None
_runner_lock = threading.Lock()


def _get_runner() -> _InProcessRunner:
    global _runner
    with _runner_lock:
        if _runner is None:
            _runner = _InProcessRunner()
        return _runner


def _forget_runner_after_fork() -> None:
    # Threads do not survive fork(); a child (e.g. a forked web worker) starts its own runner on first use.
    global _runner, _runner_lock
    _runner = None
    _runner_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_runner_after_fork)


# --- timed tasks without a broker -------------------------------------------------------------------------------

# Task name -> seconds between runs. With a broker, Celery beat runs these (backend/tasks.py's beat_schedule);
# without one, `start_scheduler()` enqueues them from a daemon thread of the app process.
PERIODIC_TASKS: dict[str, float] = {
    "send_due_reminders": 60.0,
    "requeue_stale_outbox": 300.0,
    "sweep_stale_documents": 300.0,
    "sweep_stale_ai_runs": 60.0,
    "sync_calendars": 300.0,
    "purge_deleted_workspaces": 3600.0,  # within the hour after a grace period ends
    "apply_retention": 86400.0,  # nightly (at start-up, then every 24 hours)
}


class _Scheduler:
    """Enqueues each task when due: at start, then every `interval` seconds (measured on the monotonic clock)."""

    def __init__(self, tasks: dict[str, float], tick_seconds: float):
        self.tasks = dict(tasks)
        self.tick_seconds = tick_seconds
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="periodic-tasks", daemon=True)

    def _loop(self) -> None:
        import time

        next_due = {name: 0.0 for name in self.tasks}
        while not self.stop_event.is_set():
            now = time.monotonic()
            for name, interval in self.tasks.items():
                if now >= next_due[name]:
                    next_due[name] = now + interval
                    try:
                        enqueue(name)
                    except Exception:  # an unknown task or a refused enqueue: say so, keep the others going
                        log.warning("periodic task %s was not queued", name, exc_info=True)
            self.stop_event.wait(self.tick_seconds)


_scheduler: _Scheduler | None = None
_scheduler_lock = threading.Lock()


def start_scheduler(tasks: dict[str, float] | None = None, tick_seconds: float = 1.0) -> bool:
    """Run PERIODIC_TASKS (or `tasks`) from one daemon thread per process when no broker is configured.

    Idempotent: True when this call started the thread; False when it was already running or when a broker is
    configured (Celery beat schedules the same tasks then).
    """
    global _scheduler
    if get_settings().celery_broker_url:
        return False
    with _scheduler_lock:
        if _scheduler is not None and _scheduler.thread.is_alive():
            return False
        _scheduler = _Scheduler(PERIODIC_TASKS if tasks is None else tasks, tick_seconds)
        _scheduler.thread.start()
        return True


def stop_scheduler(timeout: float = 5.0) -> None:
    """Stop the scheduler thread (tests); tasks it already queued still run."""
    global _scheduler
    with _scheduler_lock:
        scheduler, _scheduler = _scheduler, None
    if scheduler is not None:
        scheduler.stop_event.set()
        scheduler.thread.join(timeout)


def _forget_scheduler_after_fork() -> None:
    global _scheduler, _scheduler_lock
    _scheduler = None
    _scheduler_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_scheduler_after_fork)
