"""Services, opening hours, exceptions, appointments and external calendar connections."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Optional

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.models.base import created_at_field, required_timestamp_field, timestamp_field, workspace_fk
from backend.models.types import UTCDateTime


class Service(SQLModel, table=True):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_service_workspace_name"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=1000)
    duration_minutes: int = Field(default=30)
    buffer_before_minutes: int = Field(default=0)
    buffer_after_minutes: int = Field(default=0)
    price_cents: Optional[int] = Field(default=None)
    currency: str = Field(default="USD", max_length=3)
    active: bool = Field(default=True)
    created_at: datetime = created_at_field()


class AvailabilitySlot(SQLModel, table=True):
    """One weekly opening window, in the workspace's local time (weekday 0 = Monday)."""

    __tablename__ = "availability_slots"
    __table_args__ = (Index("ix_availability_workspace_weekday", "workspace_id", "weekday"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    weekday: int = Field(ge=0, le=6)
    start_time: time
    end_time: time


class DateOverride(SQLModel, table=True):
    """A closed day or special hours on one local date."""

    __tablename__ = "date_overrides"
    __table_args__ = (Index("ix_date_overrides_workspace_date", "workspace_id", "day"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    day: date
    closed: bool = Field(default=True)
    start_time: Optional[time] = Field(default=None)
    end_time: Optional[time] = Field(default=None)
    note: str = Field(default="", max_length=200)


def _block_default(column: str):
    def default(context):
        return context.get_current_parameters().get(column)

    return default


class Appointment(SQLModel, table=True):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_workspace_starts", "workspace_id", "starts_at"),
        Index("ix_appointments_contact", "workspace_id", "contact_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    service_id: Optional[int] = Field(default=None, foreign_key="services.id", ondelete="SET NULL")
    contact_id: Optional[int] = Field(default=None, foreign_key="contacts.id", ondelete="CASCADE")
    conversation_id: Optional[int] = Field(default=None, foreign_key="conversations.id", ondelete="SET NULL")
    starts_at: datetime = required_timestamp_field()
    ends_at: datetime = required_timestamp_field()
    # The range the appointment keeps busy: its own time plus the service's buffers. PostgreSQL keeps these ranges
    # of live (pending/confirmed) appointments from overlapping within a workspace (migration 0005). Set by the
    # booking service; a row inserted without them (a seed, other code) gets its own start and end.
    block_starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False,
                                      sa_column_kwargs={"default": _block_default("starts_at")})
    block_ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False,
                                    sa_column_kwargs={"default": _block_default("ends_at")})
    status: str = Field(default="confirmed", max_length=12)
    source: str = Field(default="chat", max_length=12)  # chat | owner | api | block
    title: str = Field(default="", max_length=200)
    notes: str = Field(default="", sa_type=Text)
    cancelled_by: str = Field(default="", max_length=12)
    cancel_reason: str = Field(default="", max_length=300)
    reminder_sent_at: Optional[datetime] = timestamp_field()
    external_event_id: str = Field(default="", max_length=255)
    created_at: datetime = created_at_field()
    updated_at: Optional[datetime] = timestamp_field()


class CalendarConnection(SQLModel, table=True):
    __tablename__ = "calendar_connections"

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    kind: str = Field(max_length=12)  # google | caldav
    name: str = Field(default="", max_length=120)
    url: str = Field(default="", max_length=500)
    username: str = Field(default="", max_length=200)
    secret_encrypted: str = Field(default="", sa_type=Text)  # Fernet: OAuth tokens or CalDAV password
    active: bool = Field(default=True)
    last_sync_at: Optional[datetime] = timestamp_field()
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = created_at_field()


class BusyPeriod(SQLModel, table=True):
    """Busy time read from a synced calendar; blocks slots."""

    __tablename__ = "busy_periods"
    __table_args__ = (Index("ix_busy_workspace_starts", "workspace_id", "starts_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    connection_id: int = Field(foreign_key="calendar_connections.id", ondelete="CASCADE", index=True)
    starts_at: datetime = required_timestamp_field()
    ends_at: datetime = required_timestamp_field()
    synced_at: datetime = created_at_field()


class CalendarEventLink(SQLModel, table=True):
    """Which event on one connected calendar is which appointment, and whether it is up to date there.

    `content_hash` is the hash of what was last written successfully ("" = nothing yet); `pending` names an
    action that failed and is retried by the next sync ("upsert" | "delete" | ""). A link whose appointment
    was deleted keeps `appointment_id` NULL until its event is removed from the calendar.
    """

    __tablename__ = "calendar_event_links"
    __table_args__ = (UniqueConstraint("connection_id", "appointment_id", name="uq_event_link_connection_appt"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    connection_id: int = Field(foreign_key="calendar_connections.id", ondelete="CASCADE", index=True)
    appointment_id: Optional[int] = Field(default=None, foreign_key="appointments.id", ondelete="SET NULL",
                                          index=True)
    external_id: str = Field(default="", max_length=1024)  # CalDAV: the event's URL; Google: the event id
    content_hash: str = Field(default="", max_length=64)
    pending: str = Field(default="", max_length=12)
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = created_at_field()
    updated_at: Optional[datetime] = timestamp_field()
