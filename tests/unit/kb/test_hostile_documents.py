"""Hostile documents through the real entry points (`upload_document`, the background processing, Retry, the
sweeps): decompression bombs are refused without the app's memory growing, and a document that kills the
worker reading it is failed, then quarantined, and never processed again."""

from __future__ import annotations

import resource
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from backend.db import session_scope
from backend.errors import ServiceError
from backend.kb.documents import (
    get_document,
    list_documents,
    reindex_workspace,
    retry_document,
    upload_document,
)
from backend.kb.processing import process_document, sweep_stale_documents
from backend.models import KnowledgeChunk, KnowledgeDocument, StoredFile
from backend.models.types import utcnow
from tests.unit.kb_helpers import (
    pdf_stream_bomb,
    text_pdf,
    zip_bomb_docx,
)
from tests.unit.messaging_helpers import (
    make_workspace,
    settings_override,
    settle,
    settle_background,  # noqa: F401 - autouse fixture
)

# What reading one of these bombs in the app's own process would cost it, at the least. The app may grow a
# little for other reasons (a first query, a first event), never by this much.
BALLOON_MB = 300


@pytest.fixture(scope="module")
def word_bomb() -> bytes:
    """2.5 MB on disk, 2.5 GB of text in word/document.xml: the file from the report."""
    return zip_bomb_docx(2560)


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / (1024 * 1024)


class _NoBalloon:
    """The memory of this process (the app) does not rise by BALLOON_MB above what it used before.

    Sampled every few milliseconds rather than read from the peak the kernel keeps, because that peak is sticky:
    an earlier test's high water mark would hide this one's."""

    def __enter__(self):
        self.before = self.highest = _rss_mb()
        self.done = threading.Event()
        self.sampler = threading.Thread(target=self._sample, daemon=True)
        self.sampler.start()
        return self

    def _sample(self):
        while not self.done.wait(0.005):
            self.highest = max(self.highest, _rss_mb())

    def __exit__(self, *exc):
        self.done.set()
        self.sampler.join()
        grown = max(self.highest, _rss_mb()) - self.before
        if exc[0] is None:
            assert grown < BALLOON_MB, f"the app's own memory grew by {grown:.0f} MB"


def _stored_files() -> int:
    with session_scope() as s:
        return s.exec(select(func.count()).select_from(StoredFile)).one()


def _chunks(document_id: int) -> int:
    with session_scope() as s:
        return s.exec(select(func.count()).select_from(KnowledgeChunk)
                      .where(KnowledgeChunk.document_id == document_id)).one()


def test_a_word_zip_bomb_is_refused_at_upload_without_reading_it(db, word_bomb):
    biz = make_workspace()
    assert len(word_bomb) < 4 * 1024 * 1024
    with _NoBalloon():
        with pytest.raises(ServiceError, match="expands to more than 200 MB") as err:
            upload_document(biz.id, "handbook.docx", word_bomb)
        settle()
    assert err.value.field == "file"
    assert list_documents(biz.id) == [] and _stored_files() == 0


def test_a_word_bomb_that_lies_about_its_size_is_read_only_as_far_as_it_says(db):
    # The archive says word/document.xml holds 64 KB; it holds 2.5 GB. The upload check believes the listing,
    # so the worker's reading must stop where the listing said the part ends.
    biz = make_workspace()
    liar = zip_bomb_docx(2560, declared_size=64 * 1024)
    with _NoBalloon():
        view = upload_document(biz.id, "handbook.docx", liar)
        settle()
    doc = get_document(biz.id, view.id)
    assert doc.status == "failed" and "damaged" in doc.error
    assert doc.crashes == 0  # refused by the reader, not a crash: Retry stays possible
    assert _chunks(view.id) == 0


@pytest.mark.parametrize("pages,stream_mb,reason", [
    (1, 2560, "a compressed part that expands to more than"),  # one stream of 2.5 GB
    (6, 50, "expands to more than 200 MB"),  # six streams, each allowed, 300 MB together
])
def test_a_pdf_stream_bomb_is_refused_with_the_reason(db, pages, stream_mb, reason):
    biz = make_workspace()
    with _NoBalloon():
        view = upload_document(biz.id, "prices.pdf", pdf_stream_bomb(pages, stream_mb))
        settle()
    doc = get_document(biz.id, view.id)
    assert doc.status == "failed" and reason in doc.error, doc.error
    assert doc.crashes == 0 and _chunks(view.id) == 0


def test_a_pdf_with_too_many_pages_is_refused(db):
    biz = make_workspace()
    with settings_override(kb_max_pdf_pages=3):
        view = upload_document(biz.id, "manual.pdf", text_pdf([[f"Page {n} of the manual."] for n in range(4)]))
        settle()
    doc = get_document(biz.id, view.id)
    assert doc.status == "failed" and "4 pages" in doc.error and "at most 3" in doc.error


def test_a_document_that_kills_its_worker_fails_then_is_quarantined_and_never_resumed(db):
    # With the size limits lifted, a (smaller) bomb reaches the worker and runs it out of memory: the worker's
    # own limit is what keeps the app alive.
    biz = make_workspace()
    with settings_override(kb_max_expanded_mb=100_000, kb_max_compression_ratio=100_000, kb_worker_memory_mb=400):
        with _NoBalloon():
            view = upload_document(biz.id, "handbook.docx", zip_bomb_docx(600))
            settle()
            first = get_document(biz.id, view.id)
            assert first.status == "failed" and first.crashes == 1
            assert "crashed the worker" in first.error and "400 MB" in first.error

            again = retry_document(biz.id, view.id)  # Retry does not forgive the crash
            assert again.status == "queued" and again.crashes == 1
            settle()
    doc = get_document(biz.id, view.id)
    assert doc.status == "quarantined" and doc.crashes == 2
    assert doc.error.startswith("Quarantined: processing this file crashed the worker twice; it will not be "
                                "processed again. Delete it or upload a fixed file.")
    assert _chunks(view.id) == 0

    with pytest.raises(ServiceError, match="Quarantined: processing this file crashed the worker twice"):
        retry_document(biz.id, view.id)
    assert sweep_stale_documents(older_than_seconds=0) == 0  # the start-up sweep
    assert sweep_stale_documents() == 0  # the periodic one
    assert reindex_workspace(biz.id) == 0
    assert process_document(view.id) == "quarantined"  # a late or duplicate delivery of the task
    settle()
    after = get_document(biz.id, view.id)
    assert (after.status, after.crashes, after.error) == ("quarantined", 2, doc.error)


def _running_when_the_process_died(document_id: int) -> None:
    with session_scope() as s:
        row = s.get(KnowledgeDocument, document_id)
        row.status = "extracting"
        row.processing_heartbeat_at = utcnow() - timedelta(seconds=5)
        s.add(row)


def test_a_document_running_when_the_app_died_twice_is_not_resumed_a_third_time(db):
    biz = make_workspace()
    view = upload_document(biz.id, "hours.txt", b"We open at nine and close at five on weekdays.")
    settle()

    _running_when_the_process_died(view.id)
    assert sweep_stale_documents(older_than_seconds=0) == 1  # an honest interruption: resumed once
    settle()
    resumed = get_document(biz.id, view.id)
    assert resumed.status == "ready" and resumed.crashes == 1

    _running_when_the_process_died(view.id)
    assert sweep_stale_documents(older_than_seconds=0) == 1
    settle()
    doc = get_document(biz.id, view.id)
    assert doc.status == "quarantined" and doc.crashes == 2
    assert doc.error.startswith("Quarantined: processing this file stopped the app or its worker twice")
    assert _chunks(view.id) == 0
    assert sweep_stale_documents(older_than_seconds=0) == 0
    with pytest.raises(ServiceError, match="Quarantined"):
        retry_document(biz.id, view.id)
    assert get_document(biz.id, view.id).status == "quarantined"


def test_a_reader_that_cannot_start_fails_the_document_without_counting_a_crash(db, broken_install):
    # A broken install must not quarantine every document it touches.
    biz = make_workspace()
    view = upload_document(biz.id, "hours.txt", b"We open at nine and close at five on weekdays.")
    settle()
    doc = get_document(biz.id, view.id)
    assert doc.status == "failed" and doc.crashes == 0
    assert "the document reader did not start" in doc.error and "Try again" in doc.error
