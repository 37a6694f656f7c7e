"""Knowledge documents on a real Celery worker: it reads each file in its own memory-limited child process, so
a decompression bomb is refused (or merely fails) without the worker itself growing or dying."""

from __future__ import annotations

import json
import os
import resource
import threading
from pathlib import Path

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker

from backend.db import session_scope
from backend.errors import ServiceError
from backend.kb.documents import get_document, list_chunks, upload_document
from backend.models import KnowledgeDocument
from tests.integration.helpers import wait_until
from tests.unit.kb_helpers import docx_bytes, pdf_stream_bomb, text_pdf, zip_bomb_docx
from tests.unit.messaging_helpers import make_workspace

pytestmark = pytest.mark.integration


class _Memory:
    """The largest resident size a process reaches while the block runs, sampled every few milliseconds."""

    def __init__(self, pid: int):
        self.pid = pid

    def rss_mb(self) -> float:
        with open(f"/proc/{self.pid}/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() / (1024 * 1024)

    def __enter__(self):
        self.before = self.highest = self.rss_mb()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while not self.done.wait(0.005):
            self.highest = max(self.highest, self.rss_mb())

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()
        self.grown = self.highest - self.before


def test_a_celery_worker_reads_documents_in_a_limited_child_and_survives_bombs(pg_db, configure, celery_worker):
    configure(celery_broker_url=celery_worker.broker_url)
    biz = make_workspace("celery-kb", "Celery KB")
    with pytest.raises(ServiceError, match="expands to more than 200 MB"):
        upload_document(biz.id, "bomb.docx", zip_bomb_docx(2560))  # refused before the worker hears of it

    handbook = docx_bytes(lambda d: (d.add_heading("Cancellations", 1),
                                     d.add_paragraph("Cancel at least 24 hours ahead to avoid the fee.")))
    with _Memory(celery_worker.process.pid) as worker_memory:
        good = upload_document(biz.id, "handbook.docx", handbook)
        liar = upload_document(biz.id, "liar.docx", zip_bomb_docx(2560, declared_size=64 * 1024))
        pdf = upload_document(biz.id, "prices.pdf", pdf_stream_bomb(6, 50))

        def settled():
            with session_scope() as s:
                return all(s.get(KnowledgeDocument, d.id).status in ("ready", "failed", "quarantined")
                           for d in (good, liar, pdf))

        wait_until(settled, timeout=120, what=f"the worker to process the documents (log: {celery_worker.log_path})")

    assert get_document(biz.id, good.id).status == "ready"
    assert "24 hours" in list_chunks(biz.id, good.id)[0].content
    failed_liar, failed_pdf = get_document(biz.id, liar.id), get_document(biz.id, pdf.id)
    assert failed_liar.status == "failed" and "damaged" in failed_liar.error and failed_liar.crashes == 0
    assert failed_pdf.status == "failed" and "expands to more than 200 MB" in failed_pdf.error
    # Read in the worker's own process, the lying bomb alone took a gigabyte.
    assert worker_memory.grown < 300, f"the Celery worker grew by {worker_memory.grown:.0f} MB"
    assert celery_worker.process.poll() is None


# --- Celery's default pool: prefork (billiard) ----------------------------------------------------------------

_prefork_app = Celery("kb-prefork-check", set_as_current=False)


@_prefork_app.task(name="tests.kb.read_in_prefork")
def _read_in_prefork(result_path: str) -> None:
    from backend.kb.worker import WorkerCrashed, read_document, run_isolated
    from tests.unit import kb_worker_targets

    read = run_isolated(read_document, text_pdf([[f"Page {n} of the price list."] for n in range(3)]),
                        "application/pdf")
    try:
        run_isolated(kb_worker_targets.allocate, 4096)
        crash = "none"
    except WorkerCrashed as exc:
        crash = exc.cause
    Path(result_path).write_text(json.dumps({"pid": os.getpid(), "pages": read["pages"],
                                             "chunks": len(read["chunks"]), "crash": crash}))


def test_a_task_in_celerys_prefork_pool_reads_in_a_limited_reader_too(tmp_path, configure):
    # The prefork pool's workers are daemonic billiard processes, where multiprocessing refuses to start children.
    configure(kb_worker_memory_mb=400, celery_broker_url="filesystem://")  # (backend.tasks wants a broker set)
    queue, result = tmp_path / "queue", tmp_path / "result.json"
    queue.mkdir()
    _prefork_app.conf.update(broker_url="filesystem://", broker_transport_options={
        "data_folder_in": str(queue), "data_folder_out": str(queue), "control_folder": str(tmp_path / "control")})
    with start_worker(_prefork_app, pool="prefork", concurrency=1, perform_ping_check=False, loglevel="WARNING"):
        _read_in_prefork.delay(str(result))
        wait_until(result.exists, timeout=60, what="the prefork worker to run the task")
    answer = json.loads(result.read_text())
    assert answer["pid"] != os.getpid()  # it ran in a pool process
    assert (answer["pages"], answer["chunks"], answer["crash"]) == (3, 3, "memory")  # a chunk per page
