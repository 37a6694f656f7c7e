"""Counting recent events in the database, and saying how long to wait, for the limits the services apply.

The events are the rows the services keep anyway (login attempts, texted codes, reset requests), so a limit holds
across several app processes and restarts, and needs no store of its own.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select


def window_wait(session: Session, timestamp: Any, conditions: list[Any], limit: int, window: timedelta,
                now: datetime) -> float:
    """Seconds until fewer than `limit` rows matching `conditions` have `timestamp` within the last `window`;
    0 while there are fewer already."""
    if limit <= 0:
        return window.total_seconds()
    recent = [*conditions, timestamp > now - window]
    count = session.exec(select(func.count()).select_from(timestamp.class_).where(*recent)).one()
    if count < limit:
        return 0.0
    # The row whose ageing out brings the count below the limit: with `count` rows, the (count - limit + 1)-th oldest.
    pivot = session.exec(select(timestamp).where(*recent).order_by(timestamp).offset(count - limit).limit(1)).one()
    return max(1.0, (pivot + window - now).total_seconds())


def describe_wait(seconds: float) -> str:
    """"30 seconds", "2 minutes", "1 hour": rounded up, so waiting that long is always enough."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = math.ceil(minutes / 60)
    return f"{hours} hour{'s' if hours != 1 else ''}"
