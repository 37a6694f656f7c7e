"""The Celery app. `celery -A backend.tasks worker` runs every function registered with `@background_task`.

Tasks stay thin: the registry holds service functions, and this module only wraps each one as a Celery task
of the same name with the delivery guarantees below. Without a broker nothing here is needed: `enqueue()`
runs the same functions in-process.
"""

from __future__ import annotations

import threading

from celery import Celery, signals
from celery.schedules import crontab
from kombu import Queue

from backend.providers.background import DEFAULT_QUEUE, QUEUES, queue_of, registered_tasks
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
        # `celery -A backend.tasks beat` runs the timed sweeps (the in-process runner does them at start-up).
        beat_schedule={
            "requeue-stale-outbox": {"task": "requeue_stale_outbox", "schedule": 300.0},
            "sweep-stale-documents": {"task": "sweep_stale_documents", "schedule": 300.0},
            "sweep-stale-ai-runs": {"task": "sweep_stale_ai_runs", "schedule": 60.0},
            "sync-calendars": {"task": "sync_calendars", "schedule": 300.0},
            "send-due-reminders": {"task": "send_due_reminders", "schedule": 60.0},
            "purge-deleted-workspaces": {"task": "purge_deleted_workspaces", "schedule": 3600.0},
            "apply-retention": {"task": "apply_retention", "schedule": crontab(hour=3, minute=0)},
        },
    )
    return app


def _register_tasks(app: Celery) -> None:
    for name, func in registered_tasks().items():
        app.task(name=name, queue=queue_of(name), **TASK_OPTIONS)(func)


_settings = get_settings()
celery_app = make_celery_app(_settings.celery_broker_url, _settings.celery_result_backend)
_register_tasks(celery_app)


@signals.worker_init.connect
def _refuse_to_start_without_broker(**_kwargs) -> None:
    # Celery would otherwise fall back to amqp://localhost and sit there looking healthy. SystemExit, because
    # Celery logs and ignores ordinary exceptions raised by signal handlers.
    if not get_settings().celery_broker_url:
        raise SystemExit("ASSISTANT_CELERY_BROKER_URL is not set; a Celery worker would have nothing to listen to")


_producers: dict[str, Celery] = {}
_producers_lock = threading.Lock()


def celery_app_for(broker_url: str) -> Celery:
    """An app that sends to `broker_url`: the module's app, or one made for a broker configured after import."""
    if celery_app.conf.broker_url == broker_url:
        return celery_app
    with _producers_lock:
        app = _producers.get(broker_url)
        if app is None:
            # Sending by name needs no task registry; only the serializer and broker settings matter.
            app = _producers[broker_url] = make_celery_app(broker_url, get_settings().celery_result_backend)
        return app
