"""The Celery worker's entry point: `celery -A backend.tasks worker` (and `beat`) runs every function registered
with `@background_task`.

Tasks stay thin: the registry holds service functions, and this module only loads the domains (backend/startup.py)
and wraps each registered function as a Celery task of the same name with the delivery guarantees of
backend.providers.celery_app. Without a broker nothing here is needed: `enqueue()` runs the same functions
in-process.
"""

from __future__ import annotations

from celery import signals

from backend.providers.background import PERIODIC_TASKS, queue_of, registered_tasks
from backend.providers.celery_app import TASK_OPTIONS, celery_app_for
from backend.settings import get_settings
from backend.startup import load_domains

load_domains()
_settings = get_settings()
celery_app = celery_app_for(_settings.celery_broker_url)
# `celery -A backend.tasks beat` runs the timed work (without a broker, the app's scheduler thread does).
celery_app.conf.beat_schedule = {
    name.replace("_", "-"): {"task": name, "schedule": seconds} for name, seconds in PERIODIC_TASKS.items()
}
for _name, _func in registered_tasks().items():
    celery_app.task(name=_name, queue=queue_of(_name), **TASK_OPTIONS)(_func)


@signals.worker_init.connect
def _refuse_to_start_without_broker(**_kwargs) -> None:
    # Celery would otherwise fall back to amqp://localhost and sit there looking healthy. SystemExit, because
    # Celery logs and ignores ordinary exceptions raised by signal handlers.
    if not get_settings().celery_broker_url:
        raise SystemExit("ASSISTANT_CELERY_BROKER_URL is not set; a Celery worker would have nothing to listen to")
