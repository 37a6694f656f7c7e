"""Apply pending migrations programmatically (the app does this on start; tests do it per database)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from backend.db import get_engine
from backend.settings import PROJECT_ROOT


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["configure_logger"] = False
    return config


def upgrade_to_head() -> None:
    config = alembic_config()
    with get_engine().begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision() -> str | None:
    from alembic.runtime.migration import MigrationContext

    with get_engine().connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
