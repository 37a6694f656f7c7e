"""CalDAV sync against a real Radicale server: connecting, pushing appointments, reading busy time, outages.

Radicale runs as `python -m radicale` with a temporary config (htpasswd auth, `[auth] delay = 0`, storage in a
temp folder, a free port). The caldav client reads the server back as an independent "other client" would
(the owner's phone), so every assertion is about what is really on the server.
"""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import caldav
import pytest
from caldav.lib import error as caldav_error
from sqlalchemy import text

from backend.calendar import connections
from backend.calendar.sync import runner
from backend.calendar.sync.common import appointment_uid
from backend.db import get_engine, session_scope
from backend.errors import ServiceError
from backend.models import Appointment
from backend.providers import background
from backend.security import decrypt_secret
from tests.integration.helpers import free_ports, wait_until
from tests.unit.calendar_helpers import add_appointment, at, busy_periods, connection, links, update_appointment
from tests.unit.messaging_helpers import make_workspace

USER, PASSWORD = "owner", f"pw-{uuid.uuid4().hex[:12]}"


def _start_radicale(workdir: Path, port: int) -> subprocess.Popen:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "users").write_text(f"{USER}:{PASSWORD}\n")
    (workdir / "config").write_text(f"""
[server]
hosts = 127.0.0.1:{port}
[auth]
type = htpasswd
htpasswd_filename = {workdir / 'users'}
htpasswd_encryption = plain
delay = 0
[storage]
filesystem_folder = {workdir / 'collections'}
[web]
type = none
[logging]
level = warning
""")
    log = open(workdir / "radicale.log", "ab")
    process = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(workdir / "config")],
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()

    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(f"radicale exited with {process.returncode}:\n{(workdir / 'radicale.log').read_text()}")
        with caldav.DAVClient(f"http://127.0.0.1:{port}/", username=USER, password=PASSWORD, timeout=2) as client:
            client.principal()
        return True

    wait_until(answers, timeout=20, what=f"Radicale on port {port}", interval=0.1)
    return process


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def radicale(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("radicale")
    (port,) = free_ports(1)
    process = _start_radicale(workdir, port)
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", workdir=workdir, port=port)
    finally:
        _stop(process)


def _other_client(url: str) -> caldav.DAVClient:
    return caldav.DAVClient(url, username=USER, password=PASSWORD, timeout=10)


@pytest.fixture
def work_calendar(radicale):
    """A fresh calendar on the server for one test (the account keeps others from earlier tests)."""
    name = f"Work {uuid.uuid4().hex[:6]}"
    with _other_client(radicale.url) as client:
        cal = client.principal().make_calendar(name=name)
        yield SimpleNamespace(name=name, url=str(cal.url), calendar=cal, client=client)


def _server_event(cal: caldav.Calendar, appointment_id: int):
    return cal.event_by_uid(appointment_uid(appointment_id)).icalendar_component


def test_connect_push_reschedule_cancel_and_disconnect(db, radicale, work_calendar):
    biz = make_workspace()

    with pytest.raises(ServiceError) as wrong:
        connections.add_caldav_connection(biz.id, url=radicale.url, username=USER, password="not-the-password")
    assert wrong.value.field == "password" and "did not accept" in wrong.value.message
    (dead_port,) = free_ports(1)
    with pytest.raises(ServiceError) as unreachable:
        connections.add_caldav_connection(biz.id, url=f"http://127.0.0.1:{dead_port}/", username=USER,
                                          password=PASSWORD)
    assert unreachable.value.field == "url" and "Could not reach" in unreachable.value.message
    with pytest.raises(ServiceError) as missing:
        connections.add_caldav_connection(biz.id, url=radicale.url, username=USER, password=PASSWORD,
                                          calendar_name="No such calendar")
    assert work_calendar.name in missing.value.message
    assert connections.list_connections(biz.id) == []  # nothing stored by any failed attempt

    view = connections.add_caldav_connection(biz.id, url=radicale.url, username=USER, password=PASSWORD,
                                             calendar_name=work_calendar.name, sync_now=False)
    assert (view.kind, view.name, view.url) == ("caldav", work_calendar.name, work_calendar.url)
    assert PASSWORD not in repr(connections.list_connections(biz.id))
    with get_engine().connect() as conn:  # encrypted at rest: the column never holds the password
        stored = conn.execute(text("SELECT secret_encrypted FROM calendar_connections")).scalar_one()
    assert PASSWORD not in stored and decrypt_secret(stored) == PASSWORD

    appt = add_appointment(biz.id, at(3, 15), 45, customer="Jordan Lee", service="Haircut")
    assert runner.push_appointment(appt, "upsert") == {str(view.id): "written"}
    event = _server_event(work_calendar.calendar, appt)
    assert event["DTSTART"].dt == at(3, 15) and event["DTEND"].dt == at(3, 15, 45)
    assert str(event["SUMMARY"]) == "Haircut – Jordan Lee"
    assert runner.push_appointment(appt, "upsert") == {str(view.id): "unchanged"}

    update_appointment(appt, starts_at=at(4, 10), ends_at=at(4, 11))  # rescheduled
    assert runner.push_appointment(appt, "upsert") == {str(view.id): "written"}
    event = _server_event(work_calendar.calendar, appt)
    assert event["DTSTART"].dt == at(4, 10) and event["DTEND"].dt == at(4, 11)
    assert len(work_calendar.calendar.events()) == 1  # updated in place, not duplicated

    update_appointment(appt, status="cancelled")
    assert runner.push_appointment(appt, "upsert") == {str(view.id): "deleted"}
    with pytest.raises(caldav_error.NotFoundError):
        work_calendar.calendar.event_by_uid(appointment_uid(appt))
    assert links(view.id) == []

    # A new appointment reaches the calendar on the next sync even if nobody pushed it.
    later = add_appointment(biz.id, at(5, 9), 30, customer="Ana Park")
    report = runner.sync_connection(view.id)
    assert report.ok and report.outcomes[later] == "written"
    assert _server_event(work_calendar.calendar, later)["DTSTART"].dt == at(5, 9)
    assert connection(view.id).last_sync_at is not None and connection(view.id).last_error == ""
    [health] = connections.connection_health(biz.id)
    assert health.healthy and health.pending_changes == 0

    connections.remove_connection(biz.id, view.id)
    assert connections.list_connections(biz.id) == [] and busy_periods(view.id) == [] and links(view.id) == []
    with get_engine().connect() as conn:  # the secret left with the row
        assert conn.execute(text("SELECT count(*) FROM calendar_connections")).scalar_one() == 0


def test_not_a_caldav_server_is_a_clear_error(sqlite_db):
    (port,) = free_ports(1)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        biz = make_workspace()
        with pytest.raises(ServiceError) as not_caldav:
            connections.add_caldav_connection(biz.id, url=f"http://127.0.0.1:{port}/", username=USER,
                                              password=PASSWORD)
        assert not_caldav.value.field == "url" and "CalDAV" in not_caldav.value.message
        with pytest.raises(ServiceError) as bad_url:
            connections.add_caldav_connection(biz.id, url="ftp://example.com", username=USER, password=PASSWORD)
        assert bad_url.value.field == "url"
        assert connections.list_connections(biz.id) == []
    finally:
        server.shutdown()
        server.server_close()


def _save(cal: caldav.Calendar, uid: str, body: str) -> None:
    cal.save_event(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Owner's phone//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
                   f"DTSTAMP:20260101T000000Z\r\n{body}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def _stamp(value) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


def test_busy_time_from_another_client_blocks_and_broken_events_are_skipped(sqlite_db, radicale, work_calendar):
    biz = make_workspace()
    view = connections.add_caldav_connection(biz.id, url=work_calendar.url, username=USER, password=PASSWORD,
                                             sync_now=False)
    assert view.name == work_calendar.name  # the calendar's own address works too
    cal = work_calendar.calendar
    _save(cal, "dentist", f"SUMMARY:Dentist\r\nDTSTART:{_stamp(at(2, 9))}\r\nDTEND:{_stamp(at(2, 10))}")
    _save(cal, "free", f"SUMMARY:Maybe\r\nDTSTART:{_stamp(at(2, 12))}\r\nDTEND:{_stamp(at(2, 13))}\r\n"
                       "TRANSP:TRANSPARENT")
    _save(cal, "gym", f"SUMMARY:Gym\r\nDTSTART:{_stamp(at(3, 7))}\r\nDTEND:{_stamp(at(3, 8))}\r\n"
                      "RRULE:FREQ=DAILY;COUNT=2")
    _save(cal, "mars", f"SUMMARY:Odd zone\r\nDTSTART;TZID=Mars/Olympus:{_stamp(at(6, 9))[:-1]}\r\n"
                       f"DTEND;TZID=Mars/Olympus:{_stamp(at(6, 10))[:-1]}")
    # A broken file dropped into the collection by some other tool: the server itself cannot parse it.
    collection = radicale.workdir / "collections" / "collection-root" / work_calendar.url.split("/", 3)[3].strip("/")
    (collection / "broken.ics").write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\n"
                                           "UID:broken\r\nDTSTART:2026notadate\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    ours = add_appointment(biz.id, at(2, 15), 60)  # our own event must not come back as busy time

    report = runner.sync_connection(view.id)
    assert report.ok, report
    busy = busy_periods(view.id)
    assert (at(2, 9), at(2, 10)) in busy  # opaque event of the other client
    assert (at(3, 7), at(3, 8)) in busy and (at(4, 7), at(4, 8)) in busy  # both occurrences of the series
    assert not any(s <= at(2, 12) < e for s, e in busy)  # "show as free"
    assert not any(s <= at(2, 15) < e for s, e in busy)  # our appointment is on the calendar, not busy time
    assert _server_event(cal, ours)["DTSTART"].dt == at(2, 15)
    assert len(busy) == 4 and connection(view.id).last_error == ""  # + the odd-zone event, read as UTC

    # The next sync (the scheduled task) replaces the window: a removed event stops blocking, nothing doubles.
    cal.event_by_uid("dentist").delete()
    assert background.run_inline("sync_calendars") == {str(view.id): True}
    assert (at(2, 9), at(2, 10)) not in busy_periods(view.id) and len(busy_periods(view.id)) == 3


def test_an_unreachable_server_is_recorded_and_never_blocks_a_booking(sqlite_db, tmp_path):
    (port,) = free_ports(1)
    process = _start_radicale(tmp_path / "radicale", port)
    try:
        url = f"http://127.0.0.1:{port}/"
        with _other_client(url) as client:
            cal_url = str(client.principal().make_calendar(name="Shop").url)
        biz = make_workspace()
        view = connections.add_caldav_connection(biz.id, url=cal_url, username=USER, password=PASSWORD,
                                                 sync_now=False)
        with _other_client(url) as client:
            _save(client.calendar(url=cal_url), "lunch", f"DTSTART:{_stamp(at(1, 12))}\r\nDTEND:{_stamp(at(1, 13))}")
        assert runner.sync_connection(view.id).ok and busy_periods(view.id) == [(at(1, 12), at(1, 13))]
    finally:
        _stop(process)

    # The server is down. A booking made now is stored; pushing and syncing fail quietly and say why.
    appt = add_appointment(biz.id, at(2, 10), 30)
    runner.schedule_push(appt, "upsert")  # what the booking service calls after its commit: never raises
    assert runner.push_appointment(appt, "upsert") == {str(view.id): "failed"}
    report = runner.sync_connection(view.id)
    assert not report.ok and "Could not reach" in report.error
    conn = connection(view.id)
    assert "Could not reach" in conn.last_error
    with session_scope() as s:
        assert s.get(Appointment, appt).status == "confirmed"  # the booking is untouched
    assert busy_periods(view.id) == [(at(1, 12), at(1, 13))]  # last known busy time is kept
    [link] = links(view.id)
    assert link.pending == "upsert" and link.appointment_id == appt
    [health] = connections.connection_health(biz.id)
    assert not health.healthy and health.pending_changes == 1

    # Back up (same storage, same port): the next sync writes the pending appointment and clears the error.
    process = _start_radicale(tmp_path / "radicale", port)
    try:
        report = runner.sync_connection(view.id)
        assert report.ok and report.outcomes[appt] == "written"
        with _other_client(url) as client:
            event = client.calendar(url=cal_url).event_by_uid(appointment_uid(appt)).icalendar_component
        assert event["DTSTART"].dt == at(2, 10) and event["DTEND"].dt == at(2, 10) + timedelta(minutes=30)
        assert connection(view.id).last_error == "" and links(view.id)[0].pending == ""
    finally:
        _stop(process)
