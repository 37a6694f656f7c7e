"""Alembic reads the models and the database URL from the backend, so `alembic upgrade head` just works."""

from logging.config import fileConfig

from alembic import context
from sqlmodel import SQLModel

import backend.models  # noqa: F401  (registers every table)
from backend.db import get_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    from backend.settings import get_settings

    context.configure(
        url=get_settings().effective_database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        with get_engine().connect() as connection:
            _run(connection)
    else:
        _run(connection)


# Search objects that exist on one database only and are made by raw SQL in the migrations (0001, 0003):
# PostgreSQL's HNSW and GIN indexes and generated tsvector column; SQLite's FTS5 table (with its shadow tables)
# and the per-workspace version counter its triggers keep.
_RAW_SQL_TABLE_PREFIXES = ("knowledge_chunks_fts", "knowledge_search_versions")
_RAW_SQL_COLUMNS = {("knowledge_chunks", "search_tsv")}


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "index" and name and name.endswith(("_hnsw", "_gin")):
        return False
    if type_ == "table" and name and name.startswith(_RAW_SQL_TABLE_PREFIXES):
        return False
    if type_ == "column" and reflected and compare_to is None:
        table = getattr(getattr(obj, "table", None), "name", None)
        if (table, name) in _RAW_SQL_COLUMNS:
            return False
    return True


def _run(connection) -> None:
    if connection.dialect.name == "postgresql":
        from pgvector.sqlalchemy import Vector

        connection.dialect.ischema_names["vector"] = Vector
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
