"""Field helpers so every table spells timestamps, JSON and tenant keys the same way."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field

from backend.models.types import UTCDateTime, utcnow


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def timestamp_field(index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)


def required_timestamp_field(index: bool = False) -> Any:
    return Field(sa_type=UTCDateTime, nullable=False, index=index)


def workspace_fk() -> Any:
    """The tenant key every workspace-owned row carries; deleting the workspace deletes the row."""
    return Field(foreign_key="workspaces.id", ondelete="CASCADE", index=True, nullable=False)


def json_list_field() -> Any:
    return Field(default_factory=list, sa_type=JSON, nullable=False)


def json_dict_field() -> Any:
    return Field(default_factory=dict, sa_type=JSON, nullable=False)


__all__ = [
    "created_at_field",
    "timestamp_field",
    "required_timestamp_field",
    "workspace_fk",
    "json_list_field",
    "json_dict_field",
    "datetime",
]
