"""Engine and session helpers. SQLite and PostgreSQL go through the same code.

Services own their transaction with `session_scope()`; workspace-owned reads go through `tenant_select()`
so no query can forget the tenant.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager, nullcontext
from typing import Iterator, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine, select
from sqlmodel.sql.expression import SelectOfScalar

from backend.settings import get_settings

_engines: dict[str, Engine] = {}
_lock = threading.Lock()

T = TypeVar("T", bound=SQLModel)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # pragma: no cover - exercised by every sqlite test
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def _without_nul(params):
    """Statement parameters with NUL characters taken out of every string (rebuilt only when one has any)."""
    if isinstance(params, str):
        return params.replace("\x00", "") if "\x00" in params else params
    if isinstance(params, dict):
        if any(isinstance(v, str) and "\x00" in v for v in params.values()):
            return {k: _without_nul(v) for k, v in params.items()}
        return params
    if isinstance(params, (list, tuple)):
        cleaned = [_without_nul(v) if isinstance(v, (str, dict, list, tuple)) else v for v in params]
        if any(a is not b for a, b in zip(cleaned, params)):
            return type(params)(cleaned)
    return params


def _drop_nul_characters(engine: Engine) -> None:
    """Text from a form may carry a NUL (U+0000), which PostgreSQL refuses in text (and SQLite would keep): it
    means nothing in a name, a title or a search, so it is dropped from every statement's parameters, for every
    service at once."""

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _clean(_conn, _cursor, statement, parameters, _context, _executemany):
        return statement, _without_nul(parameters)


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().effective_database_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                path = url.split("sqlite:///", 1)[-1]
                if path and path != ":memory:":
                    from pathlib import Path

                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
                _configure_sqlite(engine)
            else:
                engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
            _drop_nul_characters(engine)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


# SQLite lets one writer in at a time and makes the others sleep and retry with growing pauses (its busy
# handler): with many threads writing at once (page handlers, background work) a transaction can wait hundreds of
# milliseconds after the database is free. Within one process, transactions take turns on this lock instead.
# (PostgreSQL locks rows, not the database: no such lock there.)
_sqlite_turns = threading.RLock()


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    engine = get_engine()
    with _sqlite_turns if engine.dialect.name == "sqlite" else nullcontext():
        session = Session(engine, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def tenant_select(model: type[T], workspace_id: int) -> SelectOfScalar[T]:
    """A SELECT over a workspace-owned table that is already scoped to one workspace."""
    column = getattr(model, "workspace_id", None)
    if column is None:
        raise TypeError(f"{model.__name__} is not workspace-owned")
    return select(model).where(column == workspace_id)


def tenant_get(session: Session, model: type[T], workspace_id: int, row_id: int) -> T | None:
    """Fetch one workspace-owned row by id, or None if it belongs to another workspace."""
    return session.exec(tenant_select(model, workspace_id).where(model.id == row_id)).first()
