"""Reflex configuration. Ports and URLs come from the same environment as the backend settings."""

import os

import reflex as rx

from backend.settings import get_settings

_settings = get_settings()

config = rx.Config(
    app_name="assistant",
    # No db_url: the backend has its own engine and alembic migrations; Reflex's would only compare the tables with
    # a database it does not manage and print advice that does not apply ("reflex db makemigrations").
    # Several backend workers share UI state through Redis when it is configured.
    redis_url=_settings.redis_url or None,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    default_color_mode="light",
    frontend_port=int(os.environ.get("REFLEX_FRONTEND_PORT", "3000")),
    backend_port=int(os.environ.get("REFLEX_BACKEND_PORT", "8000")),
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="light", accent_color="indigo", gray_color="slate", radius="large")
        )
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
