"""The Celery application objects: how this product talks to a broker. No task is known here; the worker's entry
point (backend/tasks.py) registers the domains' tasks on the app, and `enqueue` only sends by name."""

from __future__ import annotations

import threading

from celery import Celery
from kombu import Queue

from backend.providers.queues import DEFAULT_QUEUE, QUEUES
from backend.settings import get_settings

TASK_OPTIONS = {
    # At-least-once: a task is acknowledged after it ran, and re-queued if its worker dies mid-way.
    # Tasks are written to be idempotent for that reason (e.g. a sent outbox row is never sent again).
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (Exception,),
    "max_retries": 3,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
}


def make_celery_app(broker_url: str, result_backend: str = "") -> Celery:
    app = Celery("assistant", set_as_current=False)
    app.conf.update(
        broker_url=broker_url or None,
        result_backend=result_backend or None,
        task_ignore_result=not result_backend,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # with acks_late, do not hoard tasks another worker could run
        broker_connection_retry_on_startup=True,
        enable_utc=True,
        timezone="UTC",
        # Replies, ingestion and the rest on separate queues (backend.providers.background.QUEUES); a worker
        # started without -Q consumes all of them.
        task_default_queue=DEFAULT_QUEUE,
        task_queues=[Queue(name, routing_key=name) for name in QUEUES],
    )
    return app


_apps: dict[str, Celery] = {}
_apps_lock = threading.Lock()


def celery_app_for(broker_url: str) -> Celery:
    """The app that sends to `broker_url` (one per broker URL, made on first use)."""
    with _apps_lock:
        app = _apps.get(broker_url)
        if app is None:
            # Sending by name needs no task registry; only the serializer and broker settings matter.
            app = _apps[broker_url] = make_celery_app(broker_url, get_settings().celery_result_backend)
        return app
