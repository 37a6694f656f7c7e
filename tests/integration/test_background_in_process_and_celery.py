"""Background work runs the same registered functions in-process or on a real Celery worker (Redis broker)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from backend.db import session_scope
from backend.models import OutboxMessage
from backend.notifications import queue_email
from backend.providers import background
from backend.providers.background import (
    UnknownTaskError,
    background_task,
    enqueue,
    registered_tasks,
    run_inline,
    wait_until_idle,
)
from tests.integration.helpers import wait_until

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]

_calls: dict[str, list[dict]] = {}
_calls_lock = threading.Lock()


@background_task("tests.flaky")
def _flaky(run_id: str, failures: int) -> None:
    """Fails `failures` times for a run id, then succeeds."""
    with _calls_lock:
        calls = _calls.setdefault(run_id, [])
        calls.append({"thread": threading.current_thread().name})
        count = len(calls)
    if count <= failures:
        raise RuntimeError(f"planned failure {count}")


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setattr(background, "RETRY_DELAYS_SECONDS", (0.05, 0.05, 0.05))


def _status(outbox_id: int) -> OutboxMessage | None:
    with session_scope() as session:
        return session.get(OutboxMessage, outbox_id)


def test_every_service_task_is_registered():
    assert {"deliver_outbox_message", "requeue_stale_outbox"} <= set(registered_tasks())


def test_unknown_tasks_and_non_json_arguments_fail_at_the_caller():
    with pytest.raises(UnknownTaskError):
        enqueue("no_such_task")
    with pytest.raises(UnknownTaskError):
        run_inline("no_such_task")
    with pytest.raises(TypeError, match="JSON"):
        enqueue("tests.flaky", run_id=object(), failures=0)


def test_in_process_tasks_run_on_a_background_thread_and_are_retried(configure, quick_retries):
    configure(celery_broker_url=None)
    run_id = uuid.uuid4().hex
    enqueue("tests.flaky", run_id=run_id, failures=2)
    assert wait_until_idle(10)
    assert len(_calls[run_id]) == 3
    assert all(call["thread"].startswith("background-default-") for call in _calls[run_id])


_ingest_gate = threading.Event()


@background_task("tests.long_ingest", queue="ingest")
def _long_ingest(run_id: str) -> None:
    with _calls_lock:
        _calls.setdefault(run_id, []).append({"thread": threading.current_thread().name})
    _ingest_gate.wait(30)


@background_task("tests.reply", queue="ai")
def _reply(run_id: str) -> None:
    with _calls_lock:
        _calls.setdefault(run_id, []).append({"thread": threading.current_thread().name})


def test_replies_never_wait_behind_document_ingestion(configure):
    """Issue 15, finding 9: four long uploads held both shared threads and a reply waited 91 s."""
    configure(celery_broker_url=None)
    background._runner = None  # a runner made with this process's settings: one ingest thread, two for replies
    ingest_run, reply_run = uuid.uuid4().hex, uuid.uuid4().hex
    _ingest_gate.clear()
    try:
        for _ in range(4):
            enqueue("tests.long_ingest", run_id=ingest_run)
        enqueue("tests.reply", run_id=reply_run)
        wait_until(lambda: reply_run in _calls, timeout=5, what="the reply, while ingestion is busy")
        assert len(_calls[ingest_run]) == 1  # one ingestion at a time; the rest wait their turn
        assert _calls[reply_run][0]["thread"].startswith("background-ai-")
    finally:
        _ingest_gate.set()
    assert wait_until_idle(30)
    assert len(_calls[ingest_run]) == 4


def test_each_service_task_has_its_queue():
    from backend.providers.background import queue_of

    assert queue_of("ai_process_message") == "ai"
    assert queue_of("process_document") == "ingest"
    assert queue_of("deliver_outbox_message") == "default"


def test_in_process_tasks_give_up_after_three_retries(configure, quick_retries, caplog):
    configure(celery_broker_url=None)
    run_id = uuid.uuid4().hex
    with caplog.at_level(logging.WARNING, logger="backend.providers.background"):
        enqueue("tests.flaky", run_id=run_id, failures=99)
        assert wait_until_idle(10)
    assert len(_calls[run_id]) == 4
    assert "failed 4 times; giving up" in caplog.text


def test_run_inline_runs_once_in_this_thread_and_raises():
    run_id = uuid.uuid4().hex
    with pytest.raises(RuntimeError, match="planned failure 1"):
        run_inline("tests.flaky", run_id=run_id, failures=1)
    run_inline("tests.flaky", run_id=run_id, failures=1)
    assert [c["thread"] for c in _calls[run_id]] == [threading.current_thread().name] * 2


def test_in_process_path_delivers_a_queued_email(db, configure):
    configure(celery_broker_url=None, smtp_host=None)
    outbox_id = queue_email("customer@example.com", "In-process", "Delivered by a thread in this process.")
    row = wait_until(lambda: (r := _status(outbox_id)).status == "sent" and r, timeout=10, what="in-process delivery")
    assert (row.provider, row.attempts) == ("outbox", 1)


def test_celery_worker_delivers_a_queued_email(pg_db, configure, celery_worker, smtp_server):
    configure(celery_broker_url=celery_worker.broker_url, smtp_host=None)
    subject = f"Via Celery {uuid.uuid4().hex[:8]}"

    outbox_id = queue_email("customer@example.com", subject, "Sent by the worker.",
                            attachments=[("menu.txt", "text/plain", b"Soup of the day")])

    row = wait_until(lambda: (r := _status(outbox_id)).status == "sent" and r, timeout=20,
                     what=f"the Celery worker to deliver outbox row {outbox_id} (log: {celery_worker.log_path})")
    # Only the worker is configured with SMTP, so "smtp" proves the worker did the sending.
    assert (row.provider, row.attempts, row.error) == ("smtp", 1, "")

    message = smtp_server.handler.wait_for_subject(subject).message
    [attachment] = list(message.iter_attachments())
    assert (attachment.get_filename(), attachment.get_payload(decode=True)) == ("menu.txt", b"Soup of the day")
    assert "deliver_outbox_message" in celery_worker.log_path.read_text()


def test_the_celery_worker_listens_on_every_queue(celery_worker):
    from backend.providers.celery_app import celery_app_for

    app = celery_app_for(celery_worker.broker_url)
    replies = app.control.inspect(timeout=5).active_queues() or {}
    assert replies, "no worker answered"
    names = {q["name"] for queues in replies.values() for q in queues}
    assert {"ai", "ingest", "default"} <= names


def test_a_worker_without_a_broker_refuses_to_start():
    # Celery's own fallback is amqp://localhost, where a worker would idle forever looking healthy.
    env = {**os.environ, "ASSISTANT_CELERY_BROKER_URL": "", "PYTHONPATH": str(PROJECT_ROOT)}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "celery"), "-A", "backend.tasks", "worker", "--pool", "threads", "-c", "1"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "ASSISTANT_CELERY_BROKER_URL is not set" in result.stderr
