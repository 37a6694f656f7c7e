"""Shared by the calendar benches: a throw-away migrated database (SQLite file or a fresh PostgreSQL database)."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import _env  # noqa: F401 - the environment make gives the app (bench/_env.py)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@contextmanager
def temporary_database(kind: str, admin_url: str):
    """Point the backend at a new, migrated database for the block; removed afterwards."""
    os.environ.setdefault("ASSISTANT_DATA_DIR", tempfile.mkdtemp(prefix="bench-calendar-"))
    from sqlalchemy import create_engine, text

    from backend.db import dispose_engines
    from backend.migrations import upgrade_to_head
    from backend.settings import reset_settings_cache

    name = f"bench_calendar_{uuid.uuid4().hex[:8]}"
    admin = None
    if kind == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-calendar-')}/{name}.db"
    else:
        admin = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    os.environ["ASSISTANT_DATABASE_URL"] = url
    reset_settings_cache()
    dispose_engines()
    try:
        upgrade_to_head()
        yield url
    finally:
        dispose_engines()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
