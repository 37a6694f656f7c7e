"""Ingestion takes turns between businesses: one business's stack of uploads does not go before everyone else's
(issue 15, finding 9)."""

from __future__ import annotations

from sqlmodel import select

from backend.db import session_scope
from backend.kb.documents import upload_document
from backend.kb.processing import process_document
from backend.models import KnowledgeDocument
from backend.providers.background import run_inline
from tests.unit.kb_helpers import business_prose
from tests.unit.messaging_helpers import (
    make_workspace,
    settings_override,
    settle_background,  # noqa: F401 - autouse fixture
)


def _upload(workspace_id: int, title: str) -> int:
    return upload_document(workspace_id, f"{title}.txt", business_prose(120, seed=hash(title) % 1000).encode()).id


def _order_read(documents: list[int]) -> list[int]:
    with session_scope() as session:
        rows = session.exec(select(KnowledgeDocument).where(KnowledgeDocument.id.in_(documents))).all()
    assert all(r.status == "ready" for r in rows), [(r.id, r.status, r.error) for r in rows]
    return [r.id for r in sorted(rows, key=lambda r: r.updated_at)]


def test_a_business_with_many_uploads_takes_turns_with_another(db):
    busy, other = make_workspace("busy-clinic"), make_workspace("corner-cafe")
    # The tasks run here one by one, in the order they were sent, as a single ingestion worker would.
    with settings_override(celery_broker_url="redis://127.0.0.1:9/0"):  # enqueue refuses: we run the tasks
        first = [_upload(busy.id, f"Manual part {i}") for i in range(3)]
        theirs = _upload(other.id, "Price list")
    for document_id in (*first, theirs):
        run_inline("process_document", document_id=document_id)

    order = _order_read([*first, theirs])
    assert order.index(theirs) == 1  # read right after the first manual, not after all three
    assert [d for d in order if d != theirs] == first  # one business's own documents keep their order


def test_a_task_whose_document_was_read_by_another_turn_reads_the_next_waiting_one(db):
    a, b = make_workspace("a-clinic"), make_workspace("b-cafe")
    with settings_override(celery_broker_url="redis://127.0.0.1:9/0"):
        a1, a2 = _upload(a.id, "A one"), _upload(a.id, "A two")
        b1 = _upload(b.id, "B one")
    process_document(a1)
    assert process_document(a2) == "ready"  # b1's turn: it read b1 instead
    assert process_document(b1) == "ready"  # b1 was done: it reads a2
    with session_scope() as session:
        assert {session.get(KnowledgeDocument, d).status for d in (a1, a2, b1)} == {"ready"}
