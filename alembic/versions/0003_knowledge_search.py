"""knowledge search: full-text index over knowledge chunks

PostgreSQL: a generated `search_tsv` tsvector column (heading weighted A, content B) with a GIN index, in the
text search configuration `kb_english`: PostgreSQL's `english` (stemming, stop words) with accents removed by the
`unaccent` extension first, so "creme brulee" finds "crème brûlée" as it does on SQLite.
SQLite: an external-content FTS5 table `knowledge_chunks_fts` (content, heading; porter stemming over unicode61
with diacritics removed) kept in sync by triggers, plus `knowledge_search_versions`, a per-workspace counter the
triggers bump on every chunk change so the in-process vector cache (backend/kb/search.py) knows when to reload.

Neither object is in the SQLModel metadata (they exist on one database only); alembic/env.py leaves them out of
autogenerate. Note for later migrations: a SQLite `batch_alter_table("knowledge_chunks")` recreates the table
and so drops these triggers; such a migration must recreate them (copy the statements below).

Hyphens before digits are read as spaces on both databases ("SKU-4471" -> "sku 4471"), so product codes and
phone numbers are found whether the customer types the hyphen or not.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 14:10:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


# --- PostgreSQL ------------------------------------------------------------------------------------------------

PG_TSV = (
    "setweight(to_tsvector('kb_english'::regconfig, "
    "regexp_replace(coalesce(heading, ''), '-([0-9])', ' \\1', 'g')), 'A') || "
    "setweight(to_tsvector('kb_english'::regconfig, "
    "regexp_replace(coalesce(content, ''), '-([0-9])', ' \\1', 'g')), 'B')"
)

PG_UP = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TEXT SEARCH CONFIGURATION kb_english (COPY = pg_catalog.english)",
    "ALTER TEXT SEARCH CONFIGURATION kb_english "
    "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem",
    # STORED generated column: filled for existing rows by the ALTER, kept current by PostgreSQL itself.
    f"ALTER TABLE knowledge_chunks ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS ({PG_TSV}) STORED",
    "CREATE INDEX ix_knowledge_chunks_search_tsv_gin ON knowledge_chunks USING gin (search_tsv)",
]

PG_DOWN = [
    "DROP INDEX IF EXISTS ix_knowledge_chunks_search_tsv_gin",
    "ALTER TABLE knowledge_chunks DROP COLUMN IF EXISTS search_tsv",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS kb_english",
    # The unaccent extension stays: other objects may use it, and it is harmless.
]

# --- SQLite ----------------------------------------------------------------------------------------------------

SQLITE_UP = [
    "CREATE VIRTUAL TABLE knowledge_chunks_fts USING fts5("
    "content, heading, content='knowledge_chunks', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TABLE knowledge_search_versions ("
    "workspace_id INTEGER NOT NULL PRIMARY KEY, version INTEGER NOT NULL DEFAULT 0)",
    # FTS5's documented external-content triggers; the version bump rides along.
    """CREATE TRIGGER knowledge_chunks_fts_ai AFTER INSERT ON knowledge_chunks BEGIN
        INSERT INTO knowledge_chunks_fts(rowid, content, heading) VALUES (new.id, new.content, new.heading);
        INSERT INTO knowledge_search_versions(workspace_id, version) VALUES (new.workspace_id, 1)
            ON CONFLICT(workspace_id) DO UPDATE SET version = version + 1;
    END""",
    """CREATE TRIGGER knowledge_chunks_fts_ad AFTER DELETE ON knowledge_chunks BEGIN
        INSERT INTO knowledge_chunks_fts(knowledge_chunks_fts, rowid, content, heading)
            VALUES ('delete', old.id, old.content, old.heading);
        INSERT INTO knowledge_search_versions(workspace_id, version) VALUES (old.workspace_id, 1)
            ON CONFLICT(workspace_id) DO UPDATE SET version = version + 1;
    END""",
    """CREATE TRIGGER knowledge_chunks_fts_au AFTER UPDATE ON knowledge_chunks BEGIN
        INSERT INTO knowledge_chunks_fts(knowledge_chunks_fts, rowid, content, heading)
            VALUES ('delete', old.id, old.content, old.heading);
        INSERT INTO knowledge_chunks_fts(rowid, content, heading) VALUES (new.id, new.content, new.heading);
        INSERT INTO knowledge_search_versions(workspace_id, version) VALUES (old.workspace_id, 1)
            ON CONFLICT(workspace_id) DO UPDATE SET version = version + 1;
        INSERT INTO knowledge_search_versions(workspace_id, version) VALUES (new.workspace_id, 1)
            ON CONFLICT(workspace_id) DO UPDATE SET version = version + 1;
    END""",
    # Index the chunks that already exist.
    "INSERT INTO knowledge_chunks_fts(knowledge_chunks_fts) VALUES ('rebuild')",
    "INSERT INTO knowledge_search_versions(workspace_id, version) "
    "SELECT DISTINCT workspace_id, 1 FROM knowledge_chunks WHERE true "
    "ON CONFLICT(workspace_id) DO UPDATE SET version = version + 1",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS knowledge_chunks_fts_au",
    "DROP TRIGGER IF EXISTS knowledge_chunks_fts_ad",
    "DROP TRIGGER IF EXISTS knowledge_chunks_fts_ai",
    "DROP TABLE IF EXISTS knowledge_search_versions",
    "DROP TABLE IF EXISTS knowledge_chunks_fts",
]


def upgrade() -> None:
    for statement in PG_UP if _is_postgres() else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in PG_DOWN if _is_postgres() else SQLITE_DOWN:
        op.execute(statement)
