"""Start-up: the one place that wires the domains together, and the work a starting web process owes.

`load_domains()` imports every module that registers background tasks, and connects the hooks a lower domain
publishes to the higher domain that acts on them: messaging stores a customer's message and announces it; the AI
registers to queue its run in the same transaction (messaging never imports the AI). It runs in every process:
the web app, a Celery worker (backend/tasks.py), the CLI and the tests. Calling it again does nothing.

`start_app()` is what the web app does before it serves (called from the app's lifespan, never as a side effect
of importing a module): apply pending migrations, pick up work a previous run left half-done, and, without a
broker, start the scheduler thread of the timed work. `stop_app()` stops that thread.
"""

from __future__ import annotations

import importlib
import logging
import threading

from backend.ai.pipeline import queue_run_for_customer_message
from backend.messaging.hooks import customer_message_stored
from backend.migrations import upgrade_to_head
from backend.providers.background import EnqueueError, enqueue, start_scheduler, stop_scheduler
from backend.settings import get_settings

log = logging.getLogger(__name__)

# Modules whose import registers background tasks (@background_task) and hooks.
DOMAIN_MODULES: tuple[str, ...] = (
    "backend.notifications.outbox", "backend.notifications.sms", "backend.kb.processing", "backend.ai.pipeline",
    "backend.calendar.sync.runner", "backend.calendar.reminders", "backend.privacy.retention",
    "backend.privacy.deletion",
)

_loaded = False
_lock = threading.Lock()


def load_domains() -> None:
    global _loaded
    with _lock:
        if _loaded:
            return
        for name in DOMAIN_MODULES:
            importlib.import_module(name)

        customer_message_stored.connect(queue_run_for_customer_message)
        _loaded = True


def start_app() -> None:
    load_domains()
    upgrade_to_head()
    try:
        enqueue("requeue_stale_outbox", older_than_seconds=0)
        if not get_settings().celery_broker_url:
            # In-process work died with the previous run: pick up documents and replies it left half-done (the
            # scheduler's own sweeps wait for stale work to age first).
            enqueue("sweep_stale_documents", older_than_seconds=0)
            enqueue("sweep_stale_ai_runs", older_than_seconds=0)
            enqueue("ai_warm_up")
    except EnqueueError:  # the broker is down: the rows stay queued and the beat sweep retries them
        log.warning("start-up work was not queued: the broker refused it; the periodic sweeps will retry")
    # Without a broker, this process runs the timed work itself: reminders, calendar sync, the sweeps.
    start_scheduler()


def stop_app() -> None:
    stop_scheduler()
