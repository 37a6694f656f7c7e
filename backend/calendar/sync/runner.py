"""Running calendar sync: pushing appointments out, reading busy time in, recording what happened.

The rule: a failing calendar never blocks or loses a booking. Nothing here raises into the booking path:
`schedule_push` only enqueues (and swallows a refused enqueue), the tasks catch every error, write it to the
connection's `last_error` (and the failed push to its CalendarEventLink as `pending`), and the next sync, every
five minutes, retries whatever is pending and re-checks every upcoming appointment against what was last written
(`content_hash`), so a missed or failed push is repaired without anyone noticing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterator, Protocol

from sqlalchemy import delete as sa_delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from backend.calendar.ics import BusyList, merge_spans, subtract_spans
from backend.calendar.sync.common import AppointmentEvent, appointment_event, error_text, google_event_id
from backend.db import session_scope, tenant_select
from backend.errors import ServiceError
from backend.models import Appointment, BusyPeriod, CalendarConnection, CalendarEventLink, Workspace
from backend.models.types import utcnow
from backend.providers.background import background_task, enqueue
from backend.providers.outbound import public_addresses_only, total_deadline
from backend.security import decrypt_secret, encrypt_secret
from backend.settings import get_settings

log = logging.getLogger(__name__)

PAST_WINDOW = timedelta(hours=1)  # busy time is read from a little before now…
UPSERT, DELETE = "upsert", "delete"


# --- one interface over CalDAV and Google -----------------------------------------------------------------


class CalendarBackend(Protocol):
    def upsert(self, event: AppointmentEvent, link: CalendarEventLink | None) -> str: ...
    def delete(self, external_id: str) -> None: ...
    def busy(self, start: datetime, end: datetime, tz: str) -> BusyList: ...
    def new_secret(self) -> str | None: ...  # a secret to store after use (refreshed OAuth tokens), or None


class _CalDAV:
    def __init__(self, conn: CalendarConnection):
        self.url, self.username = conn.url, conn.username
        self.password = decrypt_secret(conn.secret_encrypted) if conn.secret_encrypted else ""

    def upsert(self, event, link):
        from backend.calendar.sync import caldav_sync

        return caldav_sync.put_event(self.url, self.username, self.password, event,
                                     href=link.external_id if link and link.external_id else "")

    def delete(self, external_id):
        from backend.calendar.sync import caldav_sync

        if external_id:
            caldav_sync.delete_event(self.url, self.username, self.password, external_id)

    def busy(self, start, end, tz):
        from backend.calendar.sync import caldav_sync

        return caldav_sync.read_busy(self.url, self.username, self.password, start=start, end=end, tz=tz)

    def new_secret(self):
        return None


class _Google:
    def __init__(self, conn: CalendarConnection):
        from backend.calendar.sync.google_sync import GoogleCalendar, GoogleTokens

        self.connection_id = conn.id
        self.calendar = GoogleCalendar(GoogleTokens.loads(decrypt_secret(conn.secret_encrypted)),
                                       calendar_id=conn.url or "primary")

    def upsert(self, event, link):
        event_id = (link.external_id if link and link.external_id
                    else google_event_id(self.connection_id, event.appointment_id))
        return self.calendar.upsert(event, event_id, exists=bool(link and link.content_hash))

    def delete(self, external_id):
        if external_id:
            self.calendar.delete(external_id)

    def busy(self, start, end, tz):
        result = BusyList(self.calendar.busy(start, end))
        return result

    def new_secret(self):
        return self.calendar.tokens.dumps() if self.calendar.tokens_changed else None


@contextmanager
def _talking_to(conn: CalendarConnection, seconds: float) -> Iterator[None]:
    """Around every exchange with a connection's server: bounded in total, and a CalDAV address an owner typed
    (unlike Google's) may only reach public addresses, on redirects too."""
    with public_addresses_only() if conn.kind == "caldav" else nullcontext(), \
            total_deadline(seconds, "The calendar server"):
        yield


def backend_for(conn: CalendarConnection) -> CalendarBackend:
    if conn.kind == "caldav":
        return _CalDAV(conn)
    if conn.kind == "google":
        return _Google(conn)
    raise ValueError(f"unknown calendar connection kind {conn.kind!r}")


def friendly_error(conn_kind: str, exc: BaseException) -> str:
    """What the owner sees on the connection: one sentence, no stack trace."""
    from backend.calendar.sync.google_sync import GoogleAuthError

    if isinstance(exc, ServiceError):
        return exc.message
    if isinstance(exc, GoogleAuthError):
        return str(exc)
    if conn_kind == "caldav":
        from caldav.lib import error as caldav_error

        if isinstance(exc, caldav_error.AuthorizationError):
            return "The calendar server no longer accepts the saved password: update the connection."
        name = type(exc).__name__
        if isinstance(exc, OSError) or name in {"ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout"}:
            return f"Could not reach the calendar server ({name}); will retry."
    from googleapiclient.errors import HttpError

    if isinstance(exc, HttpError):
        return f"Google Calendar answered HTTP {exc.resp.status}; will retry."
    return error_text(exc)


def _whole_calendar_failed(exc: BaseException) -> bool:
    from caldav.lib import error as caldav_error

    from backend.calendar.sync.google_sync import GoogleAuthError

    name = type(exc).__name__
    return isinstance(exc, (GoogleAuthError, caldav_error.AuthorizationError, OSError, ServiceError)) or name in {
        "ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout", "SecretDecryptionError"}


# --- pushing appointments ----------------------------------------------------------------------------------


def _content_hash(event: AppointmentEvent) -> str:
    fields = event.ics_fields()
    fields = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in fields.items() if k != "sequence"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _load_for_push(connection_id: int, appointment_id: int):
    with session_scope() as session:
        conn = session.get(CalendarConnection, connection_id)
        appt = session.get(Appointment, appointment_id)
        event = appointment_event(session, appt) if appt and appt.workspace_id == conn.workspace_id else None
        link = session.exec(select(CalendarEventLink).where(CalendarEventLink.connection_id == connection_id)
                            .where(CalendarEventLink.appointment_id == appointment_id)).first()
        return conn, event, link


def _save_link(conn: CalendarConnection, appointment_id: int | None, link_id: int | None, **values) -> None:
    """Insert or update the link row; a concurrent insert of the same pair turns into an update."""
    for _ in range(2):
        try:
            with session_scope() as session:
                row = session.get(CalendarEventLink, link_id) if link_id else session.exec(
                    select(CalendarEventLink).where(CalendarEventLink.connection_id == conn.id)
                    .where(CalendarEventLink.appointment_id == appointment_id)).first()
                if row is None:
                    row = CalendarEventLink(workspace_id=conn.workspace_id, connection_id=conn.id,
                                            appointment_id=appointment_id)
                for key, value in values.items():
                    setattr(row, key, value)
                row.updated_at = utcnow()
                session.add(row)
            return
        except IntegrityError:
            link_id = None  # someone inserted it meanwhile: update theirs


def _drop_link(link_id: int) -> None:
    with session_scope() as session:
        session.exec(sa_delete(CalendarEventLink).where(CalendarEventLink.id == link_id))


def _apply(conn: CalendarConnection, backend: CalendarBackend, appointment_id: int | None,
           event: AppointmentEvent | None, link: CalendarEventLink | None, action: str) -> str:
    """Make the calendar match the appointment. Raises on failure (after recording it on the link)."""
    wanted = event is not None and event.on_calendar and action != DELETE
    try:
        if wanted:
            digest = _content_hash(event)
            if link is not None and link.content_hash == digest and not link.pending:
                return "unchanged"
            external_id = backend.upsert(event, link)
            _save_link(conn, appointment_id, link.id if link else None, external_id=external_id,
                       content_hash=digest, pending="", last_error="")
            return "written"
        if link is None:
            return "absent"
        backend.delete(link.external_id)
        _drop_link(link.id)
        return "deleted"
    except Exception as exc:
        planned = ""
        if link is None and wanted:  # remember the id we would have used, so a retry finds the same event
            planned = (google_event_id(conn.id, event.appointment_id) if conn.kind == "google" else "")
        values = {"pending": UPSERT if wanted else DELETE, "last_error": friendly_error(conn.kind, exc)[:1000]}
        if planned:
            values["external_id"] = planned
        _save_link(conn, appointment_id, link.id if link else None, **values)
        raise


def _record(connection_id: int, *, error: str | None = None, synced: bool = False,
            secret: str | None = None) -> None:
    with session_scope() as session:
        conn = session.get(CalendarConnection, connection_id)
        if conn is None:
            return
        if error is not None:
            conn.last_error = error[:1000]
        if synced:
            conn.last_sync_at = utcnow()
        if secret:
            conn.secret_encrypted = encrypt_secret(secret)
        session.add(conn)


def _push_to_connection(connection_id: int, appointment_id: int, action: str) -> str:
    conn, event, link = _load_for_push(connection_id, appointment_id)
    if conn is None or not conn.active:
        return "inactive"
    try:
        backend = backend_for(conn)
        with _talking_to(conn, get_settings().outside_call_seconds):
            outcome = _apply(conn, backend, appointment_id, event, link, action)
        _record(connection_id, secret=backend.new_secret())
        return outcome
    except Exception as exc:
        message = friendly_error(conn.kind, exc)
        log.warning("calendar %s: pushing appointment %s failed: %s", connection_id, appointment_id, message)
        _record(connection_id, error=f"Appointment #{appointment_id} not updated yet: {message}")
        return "failed"


@background_task("push_appointment")
def push_appointment(appointment_id: int, action: str = UPSERT) -> dict[str, str]:
    """Write one appointment to every active calendar of its workspace ("upsert"), or remove it ("delete").
    Never raises: a failure is recorded and retried by the next sync."""
    if action not in (UPSERT, DELETE):
        raise ValueError(f"unknown push action {action!r}")
    with session_scope() as session:
        appt = session.get(Appointment, appointment_id)
        workspace_id = appt.workspace_id if appt else None
        if workspace_id is None:  # row gone: its links lost the id (SET NULL); the next sync removes the events
            return {}
        ids = session.exec(select(CalendarConnection.id).where(CalendarConnection.workspace_id == workspace_id)
                           .where(CalendarConnection.active == True)).all()  # noqa: E712
    return {str(cid): _push_to_connection(cid, appointment_id, action) for cid in ids}


def schedule_push(appointment_id: int, action: str = UPSERT) -> None:
    """For the booking service, after its commit: queue the calendar update. Never raises."""
    try:
        with session_scope() as session:
            appt = session.get(Appointment, appointment_id)
            if appt is None:
                return
            has_calendar = session.exec(select(CalendarConnection.id)
                                        .where(CalendarConnection.workspace_id == appt.workspace_id)
                                        .where(CalendarConnection.active == True)).first()  # noqa: E712
        if has_calendar:
            enqueue("push_appointment", appointment_id=appointment_id, action=action)
    except Exception:
        log.warning("could not queue the calendar update of appointment %s; the next sync does it",
                    appointment_id, exc_info=True)


# --- syncing one connection ----------------------------------------------------------------------------------


@dataclass
class SyncReport:
    connection_id: int
    ok: bool
    busy_periods: int = 0
    skipped: int = 0
    pushed: int = 0
    push_failures: int = 0
    error: str = ""
    outcomes: dict[int, str] = field(default_factory=dict)


def sync_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    now = now or utcnow()
    return now - PAST_WINDOW, now + timedelta(days=get_settings().calendar_sync_days)


def _reconcile(conn: CalendarConnection, backend: CalendarBackend, start: datetime, end: datetime,
               report: SyncReport) -> list[tuple[datetime, datetime]]:
    """Push what is pending or changed; return the spans of our own live appointments (not busy time)."""
    with session_scope() as session:
        links = {link.appointment_id: link for link in session.exec(
            select(CalendarEventLink).where(CalendarEventLink.connection_id == conn.id)).all()}
        appts = session.exec(tenant_select(Appointment, conn.workspace_id)
                             .where(Appointment.ends_at > start).where(Appointment.starts_at < end)).all()
        wanted = {a.id: appointment_event(session, a) for a in appts}
        # Linked appointments outside the window that changed or were cancelled still need their event fixed.
        for appt_id in links:
            if appt_id is not None and appt_id not in wanted:
                appt = session.get(Appointment, appt_id)
                if appt is not None:
                    wanted[appt_id] = appointment_event(session, appt)
    own_spans = [(e.starts_at, e.ends_at) for e in wanted.values() if e.on_calendar]
    work: list[tuple[int | None, AppointmentEvent | None, CalendarEventLink | None]] = []
    for appt_id, event in wanted.items():
        link = links.get(appt_id)
        if event.on_calendar or link is not None:
            work.append((appt_id, event, link))
    for appt_id, link in links.items():
        if appt_id is None:  # its appointment was deleted
            work.append((None, None, link))
    for appt_id, event, link in work:
        try:
            outcome = _apply(conn, backend, appt_id, event, link, UPSERT)
        except Exception as exc:
            report.push_failures += 1
            if appt_id is not None:
                report.outcomes[appt_id] = "failed"
            if _whole_calendar_failed(exc):
                raise  # wrong credentials or no server: the other requests would fail the same way
            continue
        if outcome in ("written", "deleted"):
            report.pushed += 1
        if appt_id is not None:
            report.outcomes[appt_id] = outcome
    return own_spans


def _store_busy(conn: CalendarConnection, spans: list[tuple[datetime, datetime]], start: datetime,
                end: datetime) -> None:
    """Replace the connection's busy periods in the window with `spans`, in one transaction."""
    with session_scope() as session:
        session.exec(sa_delete(BusyPeriod).where(BusyPeriod.connection_id == conn.id)
                     .where(BusyPeriod.starts_at < end))
        now = utcnow()
        for s, e in spans:
            session.add(BusyPeriod(workspace_id=conn.workspace_id, connection_id=conn.id, starts_at=s, ends_at=e,
                                   synced_at=now))


def sync_connection(connection_id: int, now: datetime | None = None) -> SyncReport:
    """Push pending and changed appointments, then read busy time into BusyPeriod rows. Never raises.

    On failure the previous busy periods stay (stale busy time is safer than none) and `last_error` says why.
    """
    report = SyncReport(connection_id=connection_id, ok=False)
    with session_scope() as session:
        conn = session.get(CalendarConnection, connection_id)
        tz = "UTC"
        if conn is not None:
            ws = session.get(Workspace, conn.workspace_id)
            tz = (ws.timezone if ws else "") or "UTC"
    if conn is None or not conn.active:
        report.error = "inactive"
        return report
    start, end = sync_window(now)
    try:
        backend = backend_for(conn)
        # A server that trickles its answers would otherwise hold this worker thread for as long as it likes.
        with _talking_to(conn, get_settings().calendar_sync_seconds):
            own = _reconcile(conn, backend, start, end, report)
            spans = backend.busy(start, end, tz)
        report.skipped = getattr(spans, "skipped", 0)
        # Google's free/busy includes the events we wrote; our appointments block their time anyway.
        busy = merge_spans(subtract_spans(spans, own) if conn.kind == "google" else spans, start=start, end=end)
        _store_busy(conn, busy, start, end)
        report.busy_periods = len(busy)
    except Exception as exc:
        report.error = friendly_error(conn.kind, exc)
        log.warning("calendar %s (%s) sync failed: %s", connection_id, conn.kind, report.error)
        _record(connection_id, error=report.error)
        return report
    notes = []
    if report.skipped:
        notes.append(f"{report.skipped} event(s) on this calendar could not be read and were ignored.")
    if report.push_failures:
        notes.append(f"{report.push_failures} appointment(s) could not be written yet; will retry.")
    report.ok = not report.push_failures
    _record(connection_id, error=" ".join(notes), synced=True, secret=backend.new_secret())
    return report


@background_task("sync_calendar")
def sync_calendar(connection_id: int) -> None:
    sync_connection(connection_id)


@background_task("sync_calendars")
def sync_all_calendars() -> dict[str, bool]:
    """Every active connection of every workspace, one after the other; one failing never stops the rest."""
    with session_scope() as session:
        ids = session.exec(select(CalendarConnection.id).where(CalendarConnection.active == True)  # noqa: E712
                           .order_by(CalendarConnection.id)).all()
    results = {}
    for connection_id in ids:
        try:
            results[str(connection_id)] = sync_connection(connection_id).ok
        except Exception:  # sync_connection does not raise; belt and braces for the loop
            log.exception("calendar %s sync crashed", connection_id)
            results[str(connection_id)] = False
    return results

