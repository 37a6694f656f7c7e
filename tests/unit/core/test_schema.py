"""The migrated schema matches the models and behaves the same on both databases."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from backend.db import get_engine, session_scope, tenant_get, tenant_select
from backend.migrations import current_revision
from backend.models import Contact, KnowledgeChunk, KnowledgeDocument, Workspace
from backend.models.types import utcnow


def _workspace(session, slug: str) -> Workspace:
    ws = Workspace(name=slug.title(), slug=slug)
    session.add(ws)
    session.flush()
    return ws


def test_migrations_create_every_model_table(db):
    tables = set(inspect(get_engine()).get_table_names())
    missing = set(SQLModel.metadata.tables) - tables
    assert not missing
    assert current_revision() is not None


def test_phone_is_unique_per_workspace_not_globally(db):
    with session_scope() as s:
        a, b = _workspace(s, "alpha"), _workspace(s, "beta")
        s.add(Contact(workspace_id=a.id, phone="+14155550100"))
        s.add(Contact(workspace_id=b.id, phone="+14155550100"))
    with pytest.raises(IntegrityError):
        with session_scope() as s:
            s.add(Contact(workspace_id=a.id, phone="+14155550100"))
    with session_scope() as s:
        assert len(s.exec(select(Contact)).all()) == 2


def test_tenant_helpers_never_cross_workspaces(db):
    with session_scope() as s:
        a, b = _workspace(s, "alpha"), _workspace(s, "beta")
        c = Contact(workspace_id=a.id, phone="+14155550101")
        s.add(c)
        s.flush()
        ids = (a.id, b.id, c.id)
    with session_scope() as s:
        assert tenant_get(s, Contact, ids[0], ids[2]) is not None
        assert tenant_get(s, Contact, ids[1], ids[2]) is None
        assert s.exec(tenant_select(Contact, ids[1])).all() == []
    with pytest.raises(TypeError):
        tenant_select(Workspace, ids[0])


def test_datetimes_come_back_aware_utc(db):
    moment = utcnow().astimezone(timezone(timedelta(hours=-5)))
    with session_scope() as s:
        ws = _workspace(s, "gamma")
        ws.onboarded_at = moment
        ws_id = ws.id
    with session_scope() as s:
        loaded = s.get(Workspace, ws_id)
        assert loaded.onboarded_at.tzinfo is not None
        assert abs((loaded.onboarded_at - moment).total_seconds()) < 1e-3


def test_embeddings_round_trip_and_deleting_workspace_cascades(db):
    vector = [((i % 7) - 3) / 10 for i in range(384)]
    with session_scope() as s:
        ws = _workspace(s, "delta")
        doc = KnowledgeDocument(workspace_id=ws.id, title="Prices")
        s.add(doc)
        s.flush()
        s.add(KnowledgeChunk(workspace_id=ws.id, document_id=doc.id, content="Cut: $30", embedding=vector))
        ws_id = ws.id
    with session_scope() as s:
        chunk = s.exec(select(KnowledgeChunk)).one()
        assert chunk.embedding == pytest.approx(vector, abs=1e-6)
    with session_scope() as s:
        s.delete(s.get(Workspace, ws_id))
    with session_scope() as s:
        assert s.exec(select(KnowledgeChunk)).all() == []
        assert s.exec(select(KnowledgeDocument)).all() == []


def test_wrong_embedding_size_is_refused(db):
    with pytest.raises(Exception, match="384"):
        with session_scope() as s:
            ws = _workspace(s, "epsilon")
            doc = KnowledgeDocument(workspace_id=ws.id, title="x")
            s.add(doc)
            s.flush()
            s.add(KnowledgeChunk(workspace_id=ws.id, document_id=doc.id, content="x", embedding=[0.1] * 10))


def test_postgres_has_pgvector_hnsw_index(pg_db):
    with get_engine().connect() as conn:
        ext = conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")).scalar()
        indexdef = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_knowledge_chunks_embedding_hnsw'")
        ).scalar()
    assert ext is not None
    assert "hnsw" in indexdef and "vector_cosine_ops" in indexdef
