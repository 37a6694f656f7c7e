"""Test harness shared by every layer.

Domain tests take the `db` fixture, which runs each test once on SQLite and once on PostgreSQL
(with pgvector), each database migrated with alembic exactly as production is.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

# Isolate every run from the developer's own data before anything reads the settings.
_RUN_DIR = Path(tempfile.mkdtemp(prefix="assistant-tests-"))
os.environ["ASSISTANT_DATA_DIR"] = str(_RUN_DIR / "data")
os.environ.pop("ASSISTANT_DATABASE_URL", None)
# The tests' own outside servers (Radicale, a trickling server) listen on localhost; the SSRF tests turn it off.
os.environ["ASSISTANT_ALLOW_PRIVATE_URLS"] = "true"
for _var in ("ASSISTANT_REDIS_URL", "ASSISTANT_CELERY_BROKER_URL", "ASSISTANT_S3_BUCKET", "ASSISTANT_SMTP_HOST"):
    os.environ.pop(_var, None)

from sqlalchemy import create_engine, text  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

import backend.models  # noqa: E402,F401
from backend.db import dispose_engines  # noqa: E402
from backend.migrations import upgrade_to_head  # noqa: E402
from backend.settings import reset_settings_cache  # noqa: E402
from backend.startup import load_domains  # noqa: E402

# Every process wires its domains once (tasks, hooks), as the app, the worker and the CLI do.
load_domains()

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _use_database(url: str | None) -> None:
    if url:
        os.environ["ASSISTANT_DATABASE_URL"] = url
    else:
        os.environ.pop("ASSISTANT_DATABASE_URL", None)
    reset_settings_cache()
    dispose_engines()


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def sqlite_database() -> str:
    url = f"sqlite:///{_RUN_DIR / 'domain.db'}"
    _use_database(url)
    upgrade_to_head()
    return url


@pytest.fixture(scope="session")
def postgresql_database():
    name = f"assistant_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_psycopg_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    _use_database(url)
    upgrade_to_head()
    yield url
    _use_database(None)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(url: str) -> None:
    from backend.db import get_engine

    engine = get_engine()
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request) -> str:
    """A migrated, empty database; the test runs once per backend. Returns the backend name."""
    url = request.getfixturevalue(f"{request.param}_database")
    _use_database(url)
    _truncate_all(url)
    yield request.param
    _truncate_all(url)


@pytest.fixture
def sqlite_db(sqlite_database) -> str:
    """SQLite only, for tests of the embedded defaults."""
    _use_database(sqlite_database)
    _truncate_all(sqlite_database)
    yield "sqlite"
    _truncate_all(sqlite_database)


@pytest.fixture
def pg_db(postgresql_database) -> str:
    """PostgreSQL only, for tests of what only PostgreSQL does (pgvector, concurrency)."""
    _use_database(postgresql_database)
    _truncate_all(postgresql_database)
    yield "postgresql"
    _truncate_all(postgresql_database)
