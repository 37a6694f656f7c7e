"""The knowledge base's services and background processing, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import math
import time
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend.db import get_engine, session_scope
from backend.errors import NotFound, ServiceError
from backend.kb import documents, processing
from backend.kb.documents import (
    add_faq,
    delete_document,
    get_document,
    list_chunks,
    list_documents,
    reindex_workspace,
    retry_document,
    upload_document,
)
from backend.kb.processing import process_document, sweep_stale_documents
from backend.models import AuditEvent, KnowledgeChunk, KnowledgeDocument, StoredFile
from backend.models.types import utcnow
from backend.providers.background import registered_tasks, run_inline
from backend.providers.embeddings import LocalMiniLM
from backend.providers.storage import get_storage
from tests.unit.kb_helpers import business_prose, docx_bytes, image_only_pdf, long_pdf, text_pdf
from tests.unit.messaging_helpers import (
    make_workspace,
    png_bytes,
    recording_bus,
    settings_override,
    settle,
    settle_background,  # noqa: F401 - autouse fixture
)

_ORDER = {"queued": 0, "extracting": 1, "embedding": 2, "ready": 3, "failed": 3}


def _price_pdf(extra: str = "") -> bytes:
    return text_pdf([
        [("Opening hours", 18, True), "We are open Monday to Friday from nine to six.", extra or "Welcome."],
        [("Price list", 18, True), "A routine cleaning costs 80 dollars.", "Whitening costs 300 dollars."],
    ])


def _chunk_rows(document_id: int) -> list[KnowledgeChunk]:
    with session_scope() as s:
        return list(s.exec(select(KnowledgeChunk).where(KnowledgeChunk.document_id == document_id)
                           .order_by(KnowledgeChunk.ordinal)).all())


def _stored_key(document_id: int) -> str:
    with session_scope() as s:
        doc = s.get(KnowledgeDocument, document_id)
        return s.get(StoredFile, doc.file_id).storage_key


def _committed(channel: str, event: dict) -> bool:
    """From a separate connection, which sees only committed rows: the document is in (at least) that state."""
    with Session(get_engine()) as fresh:
        row = fresh.get(KnowledgeDocument, event["document_id"])
        if event["status"] == "deleted":
            return row is None
        return row is not None and _ORDER[row.status] >= _ORDER[event["status"]] and \
            channel == f"workspace:{row.workspace_id}"


def test_tasks_are_registered_for_both_runners():
    assert {"process_document", "sweep_stale_documents"} <= set(registered_tasks())
    from backend.tasks import celery_app

    assert "sweep_stale_documents" in {entry["task"] for entry in celery_app.conf.beat_schedule.values()}


def test_upload_is_processed_to_ready_with_chunks_and_vectors(db):
    biz = make_workspace()
    with recording_bus(_committed) as bus:
        view = upload_document(biz.id, "Price list.pdf", _price_pdf(), tags=["prices", " Prices ", "hours"],
                               user_id=biz.owner_id)
        assert view.status == "queued" and view.progress == 0.0 and view.title == "Price list.pdf"
        assert view.mime_type == "application/pdf" and view.tags == ["prices", "hours"]
        settle()

    doc = get_document(biz.id, view.id)
    assert doc.status == "ready" and doc.progress == 1.0 and doc.error == ""
    assert doc.page_count == 2 and doc.chunk_count == 2 and doc.attempts == 1
    assert doc.size_bytes == len(_price_pdf()) and doc.source_type == "file"

    chunks = list_chunks(biz.id, view.id)
    assert [(c.ordinal, c.page, c.heading) for c in chunks] == [(0, 1, "Opening hours"), (1, 2, "Price list")]
    assert "80 dollars" in chunks[1].content and chunks[1].token_count > 5

    rows = _chunk_rows(view.id)
    query = LocalMiniLM().embed(["How much is a teeth cleaning?"])[0]
    for row in rows:
        assert row.workspace_id == biz.id and len(row.embedding) == 384
        assert math.isclose(sum(x * x for x in row.embedding), 1.0, abs_tol=1e-3)
    scores = [sum(a * b for a, b in zip(query, row.embedding)) for row in rows]
    assert scores[1] > scores[0]  # the price page answers the price question

    statuses = [e["status"] for _, e, _ in bus.published if e["document_id"] == view.id]
    assert statuses[0] == "queued" and statuses[-1] == "ready"
    assert statuses.index("extracting") < statuses.index("embedding") < statuses.index("ready")
    assert all(e["type"] == "kb.document.updated" for _, e, _ in bus.published)
    assert all(ok for _, _, ok in bus.published), bus.published
    with session_scope() as s:
        audit = s.exec(select(AuditEvent).where(AuditEvent.action == "kb.document.added")).one()
        assert audit.user_id == biz.owner_id and audit.workspace_id == biz.id


@pytest.mark.parametrize("filename,data,mime,expected", [
    ("handbook.docx", docx_bytes(lambda d: (d.add_heading("Policies", 1),
                                            d.add_paragraph("Cancel 24 hours ahead to avoid a fee."))),
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("Policies", "Cancel 24 hours")),
    ("faq.md", b"# Parking\n\nFree parking behind the building.\n", "text/markdown", ("Parking", "Free parking")),
    ("site.html", b"<html><body><h2>Kids</h2><p>Children under 12 pay half.</p><script>alert(1)</script></body></html>",
     "text/html", ("Kids", "Children under 12")),
    ("prices.csv", b"Service,Price\nCleaning,80\nWhitening,300\n", "text/csv", ("", "Service: Whitening")),
    ("notes.txt", "Parking is free for patients. Café on site.".encode("cp1252"), "text/plain", ("", "Café")),
])
def test_every_kind_of_document_becomes_searchable(db, filename, data, mime, expected):
    biz = make_workspace()
    view = upload_document(biz.id, filename, data)
    settle()
    doc = get_document(biz.id, view.id)
    assert (doc.mime_type, doc.status, doc.page_count) == (mime, "ready", None)
    heading, fragment = expected
    chunk = next(c for c in list_chunks(biz.id, view.id) if fragment in c.content)
    assert chunk.heading == heading and "alert" not in chunk.content
    assert all(row.embedding is not None for row in _chunk_rows(view.id))


def test_the_same_file_twice_is_refused_and_nothing_is_stored(db):
    biz = make_workspace()
    first = upload_document(biz.id, "Price list.pdf", _price_pdf())
    settle()
    with pytest.raises(ServiceError, match="already in your knowledge base as 'Price list.pdf'") as err:
        upload_document(biz.id, "copy of prices.pdf", _price_pdf())
    assert err.value.field == "file"
    assert [d.id for d in list_documents(biz.id)] == [first.id]
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(StoredFile)).one() == 1
    # Another business may hold the same file.
    other = make_workspace("elm-salon", "Elm Salon")
    assert upload_document(other.id, "prices.pdf", _price_pdf()).id != first.id


@pytest.mark.parametrize("filename,data,fragment", [
    ("empty.txt", b"", "empty"),
    ("photo.pdf", png_bytes(), "Images can't be read"),
    ("tool.txt", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200, "can't be added"),
    ("blob.txt", bytes(range(256)) * 4, "binary data"),
])
def test_files_that_are_not_documents_are_refused_before_anything_is_kept(db, filename, data, fragment):
    biz = make_workspace()
    with pytest.raises(ServiceError, match=fragment):
        upload_document(biz.id, filename, data)
    assert list_documents(biz.id) == []
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(StoredFile)).one() == 0


def test_too_large_a_file_and_bad_tags_are_refused(db):
    biz = make_workspace()
    with settings_override(max_upload_mb=1):
        with pytest.raises(ServiceError, match="at most 1 MB"):
            upload_document(biz.id, "big.txt", b"lorem ipsum " * 100_000)
    with pytest.raises(ServiceError, match="at most 40 characters") as err:
        upload_document(biz.id, "a.txt", b"Some text.", tags=["x" * 41])
    assert err.value.field == "tags"
    with pytest.raises(ServiceError, match="at most 20 tags"):
        upload_document(biz.id, "a.txt", b"Some text.", tags=[f"t{i}" for i in range(21)])
    assert upload_document(biz.id, "a.txt", b"Some text.", tags="menu, #drinks,,menu").tags == ["menu", "drinks"]
    with pytest.raises(NotFound):
        upload_document(987654, "a.txt", b"Other text.")


def _stored_paths() -> set[str]:
    root = get_storage().root
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_a_failed_database_write_leaves_no_stored_file(db):
    biz = make_workspace()
    before = _stored_paths()
    with pytest.raises(IntegrityError):
        upload_document(biz.id, "hours.txt", b"Open nine to five.", user_id=999_999)  # no such user: FK fails
    assert _stored_paths() == before
    assert list_documents(biz.id) == []
    upload_document(biz.id, "hours.txt", b"Open nine to five.")
    assert len(_stored_paths()) == len(before) + 1  # (the check above can see a stored file)


def test_bad_documents_fail_with_a_reason_and_the_rest_of_the_batch_goes_through(db):
    biz = make_workspace()
    batch = [
        ("hours.pdf", _price_pdf()),
        ("locked.pdf", text_pdf([["secret prices"]], password="pw")),
        ("scan.pdf", image_only_pdf()),
        ("broken.pdf", _price_pdf("Damaged copy.")[:400]),
        ("policies.txt", business_prose(400).encode()),
    ]
    ids = {name: upload_document(biz.id, name, data).id for name, data in batch}
    settle()
    docs = {d.title: d for d in list_documents(biz.id)}
    assert docs["hours.pdf"].status == "ready" and docs["policies.txt"].status == "ready"
    assert docs["policies.txt"].chunk_count >= 2
    assert docs["locked.pdf"].status == "failed" and "password-protected" in docs["locked.pdf"].error
    assert docs["scan.pdf"].status == "failed" and "no text layer (scanned?)" in docs["scan.pdf"].error
    assert docs["broken.pdf"].status == "failed" and "damaged" in docs["broken.pdf"].error
    for name in ("locked.pdf", "scan.pdf", "broken.pdf"):
        assert docs[name].progress == 0.0 and docs[name].chunk_count == 0 and _chunk_rows(ids[name]) == []
        assert docs[name].attempts == 1  # a document that cannot be read is not retried on its own


def test_retry_processes_a_failed_document_again(db):
    biz = make_workspace()
    with settings_override(embeddings_provider="nonsense"):
        view = upload_document(biz.id, "hours.txt", b"We open at nine and close at five.")
        settle()
        failed = get_document(biz.id, view.id)
    assert failed.status == "failed" and "unknown embeddings provider 'nonsense'" in failed.error
    assert "Fix the embeddings settings" in failed.error

    with pytest.raises(ServiceError, match="Only documents that failed"):
        retry_document(biz.id, make_ready(biz.id).id)

    again = retry_document(biz.id, view.id, user_id=biz.owner_id)
    assert again.status == "queued" and again.error == "" and again.attempts == 0
    settle()
    done = get_document(biz.id, view.id)
    assert done.status == "ready" and done.chunk_count == 1 and done.attempts == 1


def make_ready(workspace_id: int):
    view = upload_document(workspace_id, "ready.txt", b"Walk-ins are welcome before noon.")
    settle()
    return get_document(workspace_id, view.id)


def test_faq_entries_are_one_chunk_and_questions_are_not_duplicated(db):
    biz = make_workspace()
    view = add_faq(biz.id, "  Do you take   walk-ins? ", "Yes, every weekday\nuntil 4 pm.", user_id=biz.owner_id)
    assert view.source_type == "faq" and view.title == "Do you take walk-ins?" and view.status == "queued"
    settle()
    doc = get_document(biz.id, view.id)
    assert doc.status == "ready" and doc.chunk_count == 1 and doc.faq_answer == "Yes, every weekday\nuntil 4 pm."
    (chunk,) = list_chunks(biz.id, view.id)
    assert chunk.content == "Q: Do you take walk-ins?\nA: Yes, every weekday\nuntil 4 pm."
    assert len(_chunk_rows(view.id)[0].embedding) == 384

    with pytest.raises(ServiceError, match="already in your knowledge base") as err:
        add_faq(biz.id, "do you take walk-ins", "No.")
    assert err.value.field == "question"
    for question, answer, field in [("", "Yes", "question"), ("Hi", "Yes", "question"),
                                    ("x" * 501, "Yes", "question"), ("Is there parking?", "   ", "answer"),
                                    ("Is there parking?", "y" * 5001, "answer")]:
        with pytest.raises(ServiceError) as err:
            add_faq(biz.id, question, answer)
        assert err.value.field == field
    assert len(list_documents(biz.id)) == 1


def test_delete_removes_the_row_chunks_vectors_and_stored_file(db):
    biz = make_workspace()
    keep = upload_document(biz.id, "keep.txt", b"Keep this one about parking.")
    view = upload_document(biz.id, "Price list.pdf", _price_pdf())
    settle()
    key = _stored_key(view.id)
    assert get_storage().exists(key) and key.startswith(f"ws/{biz.id}/kb/")
    assert len(_chunk_rows(view.id)) == 2

    with recording_bus(_committed) as bus:
        delete_document(biz.id, view.id, user_id=biz.owner_id)
    assert bus.published and bus.published[-1][1] == {"type": "kb.document.updated", "document_id": view.id,
                                                       "status": "deleted", "progress": 0.0}
    assert all(ok for _, _, ok in bus.published)
    assert not get_storage().exists(key)
    assert _chunk_rows(view.id) == []
    with session_scope() as s:
        assert s.get(KnowledgeDocument, view.id) is None
        assert s.exec(select(StoredFile).where(StoredFile.storage_key == key)).first() is None
    with pytest.raises(NotFound):
        get_document(biz.id, view.id)
    assert [d.id for d in list_documents(biz.id)] == [keep.id] and len(_chunk_rows(keep.id)) == 1
    # Deleted means the same file may come back.
    assert upload_document(biz.id, "Price list.pdf", _price_pdf()).status == "queued"


def test_processing_twice_is_harmless_and_reindex_replaces_the_chunks(db):
    biz = make_workspace()
    view = upload_document(biz.id, "policies.txt", business_prose(500, seed=2).encode())
    settle()
    before = _chunk_rows(view.id)
    assert len(before) >= 2
    assert run_inline("process_document", document_id=view.id) == "ready"  # a duplicate delivery: no change
    assert [c.id for c in _chunk_rows(view.id)] == [c.id for c in before]

    other = upload_document(biz.id, "hours.txt", b"Open nine to five.")
    settle()
    assert reindex_workspace(biz.id) == 2
    assert {d.status for d in list_documents(biz.id)} <= {"queued", "extracting", "embedding", "ready"}
    settle()
    after = _chunk_rows(view.id)
    assert [c.content for c in after] == [c.content for c in before]
    assert not {c.id for c in after} & {c.id for c in before}  # a new set, not added to the old one
    assert all(d.status == "ready" and d.attempts == 1 for d in list_documents(biz.id))
    assert len(_chunk_rows(other.id)) == 1
    assert process_document(123456) == "missing"


def test_a_run_that_lost_its_claim_writes_nothing(db):
    biz = make_workspace()
    view = upload_document(biz.id, "hours.txt", b"We open at nine.")
    settle()
    with session_scope() as s:
        row = s.get(KnowledgeDocument, view.id)
        row.status = "queued"
        s.add(row)
    run, source = processing._claim(view.id)
    chunks, pages = processing._chunks_for(run, source)
    vectors = processing._embed(run, chunks)
    reindex_workspace(biz.id)  # the owner re-indexes meanwhile: this run's claim is void
    with pytest.raises(processing._Superseded):
        processing._store(run, chunks, vectors, pages)
    settle()  # the re-index's own run finishes the job
    assert get_document(biz.id, view.id).status == "ready" and len(_chunk_rows(view.id)) == 1


def test_progress_is_reported_live_but_not_too_often(db, monkeypatch):
    monkeypatch.setattr(processing, "EMBED_BATCH", 4)  # many updates, so the throttle has something to hold back
    biz = make_workspace()
    stamps: list[tuple[float, dict]] = []

    def record(channel, event):
        stamps.append((time.monotonic(), event))
        return _committed(channel, event)

    with recording_bus(record) as bus:
        view = upload_document(biz.id, "manual.pdf", long_pdf(pages=16, words_per_page=200))
        settle()
    assert get_document(biz.id, view.id).status == "ready"
    assert all(ok for _, _, ok in bus.published)
    progress = [e["progress"] for _, e in stamps]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert len([p for p in progress if 0 < p < 1]) >= 2  # the bar moves between the start and the end
    for status in ("extracting", "embedding"):
        times = [t for t, e in stamps if e["status"] == status]
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert all(gap >= 0.25 for gap in gaps), gaps  # a few events a second at most


def _set_state(document_id: int, status: str, attempts: int, heartbeat_age_s: float | None,
               updated_age_s: float = 0) -> None:
    with session_scope() as s:
        row = s.get(KnowledgeDocument, document_id)
        row.status, row.attempts = status, attempts
        row.processing_heartbeat_at = None if heartbeat_age_s is None else utcnow() - timedelta(
            seconds=heartbeat_age_s)
        row.updated_at = utcnow() - timedelta(seconds=updated_age_s)
        s.add(row)


def test_sweep_requeues_documents_whose_worker_died_and_fails_them_after_three_attempts(db):
    biz = make_workspace()
    died = upload_document(biz.id, "died.txt", b"The worker died while embedding this.")
    alive = upload_document(biz.id, "alive.txt", b"A worker is still busy with this one.")
    tired = upload_document(biz.id, "tired.txt", b"This one killed its worker three times.")
    lost = upload_document(biz.id, "lost.txt", b"This one's task was lost by the broker.")
    settle()
    _set_state(died.id, "embedding", attempts=1, heartbeat_age_s=600)
    _set_state(alive.id, "extracting", attempts=1, heartbeat_age_s=10)
    _set_state(tired.id, "embedding", attempts=3, heartbeat_age_s=600)
    assert process_document(alive.id) == "busy"  # a live run is never doubled
    # (set after: a task reads whichever queued document's turn it is, see test_kb_fairness)
    _set_state(lost.id, "queued", attempts=0, heartbeat_age_s=None, updated_age_s=900)
    with recording_bus(_committed) as bus:
        assert sweep_stale_documents(older_than_seconds=300) == 3
        settle()
    assert all(ok for _, _, ok in bus.published)
    assert get_document(biz.id, died.id).status == "ready" and get_document(biz.id, died.id).attempts == 2
    assert get_document(biz.id, lost.id).status == "ready"
    assert get_document(biz.id, alive.id).status == "extracting"  # untouched
    gave_up = get_document(biz.id, tired.id)
    assert gave_up.status == "failed" and "stopped 3 times" in gave_up.error and _chunk_rows(tired.id) == []
    assert sweep_stale_documents(older_than_seconds=300) == 0
    # With no age limit (start-up of a single process), the "alive" one is presumed dead too.
    assert sweep_stale_documents(older_than_seconds=0) == 1
    settle()
    assert get_document(biz.id, alive.id).status == "ready"


def test_workspaces_never_see_each_others_documents(db):
    oak = make_workspace()
    elm = make_workspace("elm-salon", "Elm Salon")
    view = upload_document(oak.id, "Price list.pdf", _price_pdf())
    settle()
    assert list_documents(elm.id) == []
    for call in (lambda: get_document(elm.id, view.id), lambda: list_chunks(elm.id, view.id),
                 lambda: delete_document(elm.id, view.id), lambda: retry_document(elm.id, view.id)):
        with pytest.raises(NotFound):
            call()
    assert reindex_workspace(elm.id) == 0
    assert get_document(oak.id, view.id).status == "ready" and len(_chunk_rows(view.id)) == 2
    assert all(row.workspace_id == oak.id for row in _chunk_rows(view.id))


def test_list_chunks_is_bounded_and_documents_are_listed_newest_first(db):
    biz = make_workspace()
    first = upload_document(biz.id, "policies.txt", business_prose(900, seed=4).encode())
    second = add_faq(biz.id, "Is there parking?", "Yes, behind the building.")
    settle()
    assert [d.id for d in list_documents(biz.id)] == [second.id, first.id]
    chunks = list_chunks(biz.id, first.id, limit=2)
    assert [c.ordinal for c in chunks] == [0, 1]
    assert len(list_chunks(biz.id, first.id)) == get_document(biz.id, first.id).chunk_count
    assert documents.DocumentView.of  # the view type is part of the module's surface
