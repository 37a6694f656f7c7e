"""How times travel to pages and the API: ISO-8601 in UTC with a "Z"."""

from __future__ import annotations

from datetime import datetime, timezone


def iso(value: datetime | None) -> str:
    """"2026-11-26T12:49:18Z", or "" for no time."""
    if value is None:
        return ""
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
