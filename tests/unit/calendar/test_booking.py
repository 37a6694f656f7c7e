"""Booking: validation, buffers, moves, cancellations, statuses, time blocks, tenant isolation, live events, and
races settled by the database (50 threads at one time, on SQLite and on PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from backend.calendar.availability import save_service, set_weekly_hours, update_booking_policy
from backend.calendar.booking import (
    NewContact,
    block_time,
    book_appointment,
    cancel_appointment,
    get_appointment,
    list_appointments,
    list_busy,
    reschedule_appointment,
    set_appointment_status,
    upcoming_for_contact,
)
from backend.calendar.slots import available_slots
from backend.db import get_engine, session_scope
from backend.errors import NotFound, ServiceError
from backend.models import Appointment, BusyPeriod, CalendarConnection, Contact, Workspace
from tests.unit.messaging_helpers import make_workspace, recording_bus, settle_background  # noqa: F401

UTC = timezone.utc
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 08:00 in Berlin


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local Berlin time in December 2026 (UTC+1), as aware UTC."""
    return datetime(2026, 12, day, hour - 1, minute, tzinfo=UTC)


def business(slug="oak-dental", **policy) -> tuple[int, int]:
    biz = make_workspace(slug=slug)
    with session_scope() as s:
        ws = s.get(Workspace, biz.id)
        ws.timezone = "Europe/Berlin"
        s.add(ws)
    update_booking_policy(biz.id, **{"min_notice_minutes": 120, "max_advance_days": 30, "max_bookings_per_day": None,
                                     "require_confirmation": False, "reminder_lead_minutes": 1440, **policy})
    set_weekly_hours(biz.id, {d: [("09:00", "12:00"), ("13:00", "17:00")] for d in range(5)})
    return biz.id, save_service(biz.id, name="Check-up", duration_minutes=30).id


def contact(ws: int, phone="+4915112345678", **fields) -> int:
    with session_scope() as s:
        c = Contact(workspace_id=ws, phone=phone, **fields)
        s.add(c)
        s.flush()
        return c.id


def refused(field="starts_at", match=""):
    return pytest.raises(ServiceError, match=match) if match else pytest.raises(ServiceError)


def test_booking_confirms_and_blocks_the_time(db):
    ws, service = business()
    view = book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW, notes="first visit")
    assert view.status == "confirmed" and view.label == "Tue 1 Dec, 09:00" and view.service_name == "Check-up"
    assert view.ends_at - view.starts_at == timedelta(minutes=30)
    assert (view.block_starts_at, view.block_ends_at) == (view.starts_at, view.ends_at)
    assert view.as_dict()["starts_at"] == "2026-12-01T08:00:00+00:00"
    with pytest.raises(ServiceError, match="no longer available") as err:
        book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW)
    assert err.value.field == "starts_at"
    assert get_appointment(ws, view.id) == view
    assert [a.id for a in list_appointments(ws, date(2026, 12, 1), date(2026, 12, 1))] == [view.id]
    assert list_appointments(ws, date(2026, 12, 2), date(2026, 12, 3)) == []


def test_a_walk_in_is_added_with_the_booking_and_not_at_all_when_the_booking_is_refused(db):
    ws, service = business()
    book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW, source="owner")
    with refused(match="no longer available"):  # the time is taken
        book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW, source="owner",
                         new_contact=NewContact("+1 212 555 0101", "Lena", "Park"))
    with session_scope() as s:
        assert s.exec(select(Contact).where(Contact.workspace_id == ws)).all() == []  # one transaction
    view = book_appointment(ws, service_id=service, starts_at=at(1, 10), now=NOW, source="owner",
                            new_contact=NewContact("+1 212 555 0101", "Lena", "Park"))
    assert view.contact_name == "Lena Park"
    again = book_appointment(ws, service_id=service, starts_at=at(1, 11), now=NOW, source="owner",
                             new_contact=NewContact("(212) 555-0101", "Someone", "Else"))
    assert again.contact_id == view.contact_id and again.contact_name == "Lena Park"  # found by phone, name kept


def test_pending_when_the_business_confirms_itself_and_owner_bookings_are_confirmed(db):
    ws, service = business(require_confirmation=True)
    assert book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW).status == "pending"
    assert book_appointment(ws, service_id=service, starts_at=at(1, 10), now=NOW, source="owner").status == "confirmed"
    # a pending request holds its time too
    with refused(match="no longer available"):
        book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW)


@pytest.mark.parametrize("starts_at,message", [
    (datetime(2026, 11, 30, 6, 0, tzinfo=UTC), "already passed"),
    (datetime(2026, 11, 30, 8, 0, tzinfo=UTC), "2 hours' notice"),  # Mon 30 Nov 09:00: one hour away
    (at(31, 9), "30 days ahead"),
    (at(5, 10), "closed on Sat 5 Dec"),
    (at(1, 12, 0), "outside our opening hours (09:00\u201312:00, 13:00\u201317:00 on Tue 1 Dec)"),
    (at(1, 11, 45), "outside our opening hours"),  # would end 12:15
    (at(1, 9, 7), "not one of the offered times"),  # starts are on a 5-minute grid
])
def test_refusals_say_why(db, starts_at, message):
    ws, service = business()
    with pytest.raises(ServiceError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        book_appointment(ws, service_id=service, starts_at=starts_at, now=NOW)
    assert err.value.field == "starts_at"
    assert list_appointments(ws, date(2026, 11, 1), date(2026, 12, 31)) == []


def test_unknown_inactive_and_naive_input_is_refused(db):
    ws, service = business()
    with pytest.raises(NotFound) as err:
        book_appointment(ws, service_id=9999, starts_at=at(1, 9), now=NOW)
    assert err.value.field == "service_id"
    save_service(ws, name="Check-up", duration_minutes=30, active=False, service_id=service)
    with pytest.raises(ServiceError, match="can no longer be booked"):
        book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW)
    with pytest.raises(ServiceError, match="time zone"):
        book_appointment(ws, service_id=service, starts_at=datetime(2026, 12, 1, 9), now=NOW)
    with pytest.raises(ServiceError, match="source"):
        book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW, source="fax")


def test_day_cap(db):
    ws, service = business(max_bookings_per_day=2)
    book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW)
    book_appointment(ws, service_id=service, starts_at=at(1, 14), now=NOW)
    with refused(match="Tue 1 Dec is fully booked"):
        book_appointment(ws, service_id=service, starts_at=at(1, 15), now=NOW)
    assert available_slots(ws, service, start=date(2026, 12, 1), end=date(2026, 12, 1), now=NOW) == []
    book_appointment(ws, service_id=service, starts_at=at(2, 9), now=NOW)


def test_buffers_block_neighbours(db):
    ws, _ = business()
    service = save_service(ws, name="Deep clean", duration_minutes=30, buffer_before_minutes=10,
                           buffer_after_minutes=20).id
    view = book_appointment(ws, service_id=service, starts_at=at(1, 10), now=NOW)
    assert (view.block_starts_at, view.block_ends_at) == (at(1, 9, 50), at(1, 10, 50))
    with refused(match="no longer available"):  # its block 10:20-11:20 overlaps the first's 09:50-10:50
        book_appointment(ws, service_id=service, starts_at=at(1, 10, 30), now=NOW)
    with refused(match="no longer available"):  # ends 09:50 but its buffer after runs to 10:10
        book_appointment(ws, service_id=service, starts_at=at(1, 9, 20), now=NOW)
    book_appointment(ws, service_id=service, starts_at=at(1, 11), now=NOW)  # block 10:50-11:50: touches, fine


def test_cancelled_time_can_be_booked_again_and_cancelling_twice_is_harmless(db):
    ws, service = business()
    first = book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW)
    cancelled = cancel_appointment(ws, first.id, by="customer", reason="ill", now=NOW)
    assert (cancelled.status, cancelled.cancelled_by, cancelled.cancel_reason) == ("cancelled", "customer", "ill")
    assert cancel_appointment(ws, first.id, by="owner", now=NOW).cancelled_by == "customer"
    again = book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW)
    assert again.id != first.id and again.status == "confirmed"
    with refused(match="only upcoming"):
        reschedule_appointment(ws, first.id, at(1, 14), now=NOW)


def test_reschedule_moves_and_checks_the_new_time(db):
    ws, service = business(require_confirmation=True)
    a = book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW)
    b = book_appointment(ws, service_id=service, starts_at=at(1, 10), now=NOW)
    set_appointment_status(ws, a.id, "confirmed", now=NOW)
    moved = reschedule_appointment(ws, a.id, at(1, 9, 30), by="owner", now=NOW)  # overlaps only its old self
    assert moved.starts_at == at(1, 9, 30) and moved.status == "confirmed"
    with refused(match="no longer available"):
        reschedule_appointment(ws, a.id, at(1, 10), now=NOW)
    by_customer = reschedule_appointment(ws, a.id, at(1, 14), by="customer", now=NOW)
    assert by_customer.status == "pending"  # the business confirms changes too
    assert book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW).id  # old time is free
    with refused(match="outside our opening hours"):
        reschedule_appointment(ws, b.id, at(1, 12, 30), by="customer", now=NOW)
    assert reschedule_appointment(ws, b.id, at(1, 12, 30), by="owner", now=NOW).label == "Tue 1 Dec, 12:30"


def test_status_transitions_are_checked(db):
    ws, service = business(require_confirmation=True)
    a = book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW)
    with refused(match="pending appointment cannot become completed"):
        set_appointment_status(ws, a.id, "completed", now=NOW)
    assert set_appointment_status(ws, a.id, "confirmed", now=NOW).status == "confirmed"
    with refused(match="not started yet"):
        set_appointment_status(ws, a.id, "no_show", now=NOW)
    later = at(1, 9, 45)
    assert set_appointment_status(ws, a.id, "no_show", now=later).status == "no_show"
    assert set_appointment_status(ws, a.id, "completed", now=later).status == "completed"
    with refused(match="cannot become pending"):
        set_appointment_status(ws, a.id, "pending", now=later)
    with refused(match="already completed"):
        cancel_appointment(ws, a.id, by="owner", now=later)
    with refused(match="Unknown status"):
        set_appointment_status(ws, a.id, "teleported", now=later)
    b = book_appointment(ws, service_id=service, starts_at=at(1, 10), now=NOW)
    assert set_appointment_status(ws, b.id, "cancelled", now=NOW).cancelled_by == "owner"


def test_time_blocks(db):
    ws, service = business()
    a = book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW)
    with refused(match="overlaps an appointment at Tue 1 Dec, 09:00"):
        block_time(ws, at(1, 8), at(1, 10), now=NOW)
    block = block_time(ws, at(1, 13), at(1, 15), "Dentist's own appointment", now=NOW)
    assert block.source == "block" and block.title == "Dentist's own appointment"
    with refused(match="no longer available"):
        book_appointment(ws, service_id=service, starts_at=at(1, 14), now=NOW)
    with refused(match="cannot be moved"):
        reschedule_appointment(ws, block.id, at(1, 16), by="owner", now=NOW)
    cancel_appointment(ws, block.id, by="owner", now=NOW)
    book_appointment(ws, service_id=service, starts_at=at(1, 14), now=NOW)
    with refused(match="before the start"):
        block_time(ws, at(1, 15), at(1, 14), now=NOW)
    assert a.id


def test_contact_listing_and_upcoming(db):
    ws, service = business()
    jordan = contact(ws, first_name="Jordan")
    a = book_appointment(ws, service_id=service, starts_at=at(2, 9), contact_id=jordan, now=NOW)
    b = book_appointment(ws, service_id=service, starts_at=at(1, 9), contact_id=jordan, now=NOW)
    book_appointment(ws, service_id=service, starts_at=at(1, 10), now=NOW)
    cancel_appointment(ws, a.id, by="customer", now=NOW)
    assert [v.id for v in upcoming_for_contact(ws, jordan, now=NOW)] == [b.id]
    assert upcoming_for_contact(ws, jordan, now=NOW)[0].contact_name == "Jordan"
    assert [v.id for v in list_appointments(ws, date(2026, 12, 1), date(2026, 12, 2), contact_id=jordan)] == [b.id,
                                                                                                              a.id]
    assert [v.id for v in list_appointments(ws, date(2026, 12, 1), date(2026, 12, 2), status="cancelled")] == [a.id]


def test_workspaces_are_isolated(db):
    ws, service = business()
    other_ws, other_service = business(slug="elm-clinic")
    theirs = book_appointment(other_ws, service_id=other_service, starts_at=at(1, 9), now=NOW)
    their_contact = contact(other_ws)
    # the same time is free here: overlaps are per workspace, in the service and in the constraint
    mine = book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW)
    for action in (
        lambda: get_appointment(ws, theirs.id),
        lambda: cancel_appointment(ws, theirs.id, by="owner", now=NOW),
        lambda: reschedule_appointment(ws, theirs.id, at(1, 10), by="owner", now=NOW),
        lambda: set_appointment_status(ws, theirs.id, "confirmed", now=NOW),
        lambda: book_appointment(ws, service_id=other_service, starts_at=at(1, 10), now=NOW),
        lambda: book_appointment(ws, service_id=service, starts_at=at(1, 10), contact_id=their_contact, now=NOW),
        lambda: upcoming_for_contact(ws, their_contact, now=NOW),
    ):
        with pytest.raises(NotFound):
            action()
    assert get_appointment(other_ws, theirs.id).status == "confirmed"
    assert [v.id for v in list_appointments(ws, date(2026, 12, 1), date(2026, 12, 1))] == [mine.id]


def busy(ws: int, spans: list[tuple[datetime, datetime]], name: str = "", kind: str = "caldav") -> None:
    """Busy time as a calendar sync stores it."""
    with session_scope() as s:
        conn = CalendarConnection(workspace_id=ws, kind=kind, name=name)
        s.add(conn)
        s.flush()
        for start, end in spans:
            s.add(BusyPeriod(workspace_id=ws, connection_id=conn.id, starts_at=start, ends_at=end))


def test_busy_time_from_synced_calendars_is_listed_per_workspace_and_blocks_slots(db):
    ws, service = business()
    other_ws, _ = business(slug="elm-clinic")
    busy(ws, [(at(1, 10), at(1, 11)), (at(3, 9), at(3, 10))], name="Dr. Lee")
    busy(ws, [(at(1, 15), at(1, 16))], kind="google")
    busy(other_ws, [(at(1, 13), at(1, 14))], name="Theirs")

    listed = list_busy(ws, date(2026, 12, 1), date(2026, 12, 1))
    assert [(b.starts_at, b.ends_at, b.calendar) for b in listed] == [
        (at(1, 10), at(1, 11), "Dr. Lee"), (at(1, 15), at(1, 16), "Google Calendar")]
    assert [b.calendar for b in list_busy(other_ws, date(2026, 12, 1), date(2026, 12, 3))] == ["Theirs"]
    # What is drawn as busy is what the slots leave out.
    starts = {s.starts_at for s in available_slots(ws, service, start=date(2026, 12, 1), end=date(2026, 12, 1),
                                                   now=NOW)}
    assert at(1, 10) not in starts and at(1, 10, 30) not in starts and at(1, 11) in starts and at(1, 13) in starts


def test_events_go_out_after_commit(db):
    ws, service = business()

    def committed(channel, event):
        if event.get("type") != "appointment.updated":
            return True
        with get_engine().connect() as conn:
            return conn.execute(text("SELECT count(*) FROM appointments WHERE id = :i"),
                                {"i": event["appointment_id"]}).scalar() == 1

    with recording_bus(committed) as bus:
        view = book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW)
        cancel_appointment(ws, view.id, by="owner", now=NOW)
    mine = [(c, e, ok) for c, e, ok in bus.published if e["type"] == "appointment.updated"]
    assert [(c, e) for c, e, _ in mine] == [(f"workspace:{ws}", {"type": "appointment.updated",
                                                                "appointment_id": view.id})] * 2
    assert all(ok for _, _, ok in mine)


def _race(ws: int, service: int, starts: list[datetime], threads: int = 50) -> tuple[list, list]:
    barrier = threading.Barrier(threads)
    booked, refusals, errors = [], [], []

    def worker(i: int) -> None:
        barrier.wait()
        try:
            booked.append(book_appointment(ws, service_id=service, starts_at=starts[i % len(starts)], now=NOW).id)
        except ServiceError as exc:
            refusals.append(exc.message)
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            errors.append(repr(exc))

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    assert not errors, errors[:3]
    return booked, refusals


def test_fifty_concurrent_bookings_of_one_time_make_exactly_one(db):
    ws, service = business()
    booked, refusals = _race(ws, service, [at(1, 9)])
    assert len(booked) == 1 and len(refusals) == 49
    assert set(refusals) <= {"That time was just taken. Please pick another time.",
                             "That time is no longer available. Please pick another time."}
    with session_scope() as s:
        assert len(s.exec(select(Appointment).where(Appointment.workspace_id == ws)).all()) == 1


def test_concurrent_bookings_of_overlapping_times_never_overlap(db):
    ws, _ = business()
    service = save_service(ws, name="Long", duration_minutes=60, buffer_after_minutes=15).id
    # 09:00, 09:30, 10:00 … overlap their neighbours; only non-overlapping ones may win
    booked, _ = _race(ws, service, [at(1, 9) + timedelta(minutes=30 * k) for k in range(5)],
                      threads=20)
    with session_scope() as s:
        rows = s.exec(select(Appointment).where(Appointment.workspace_id == ws).order_by(Appointment.block_starts_at)
                      ).all()
    assert len(rows) == len(booked) >= 1
    assert all(a.block_ends_at <= b.block_starts_at for a, b in zip(rows, rows[1:]))


def test_postgresql_constraint_refuses_overlaps_written_around_the_service(pg_db):
    ws, _ = business()
    with session_scope() as s:
        s.add(Appointment(workspace_id=ws, starts_at=at(1, 9), ends_at=at(1, 10), status="confirmed"))
        s.add(Appointment(workspace_id=ws, starts_at=at(1, 9), ends_at=at(1, 10), status="cancelled"))
        s.add(Appointment(workspace_id=ws, starts_at=at(1, 10), ends_at=at(1, 11), status="pending"))  # touches
    with pytest.raises(IntegrityError, match="ex_appointments_no_overlap"):
        with session_scope() as s:
            s.add(Appointment(workspace_id=ws, starts_at=at(1, 9, 30), ends_at=at(1, 9, 45), status="pending"))
    with session_scope() as s:  # the unset block columns were filled from starts_at/ends_at
        row = s.exec(select(Appointment).where(Appointment.status == "pending")).one()
        assert (row.block_starts_at, row.block_ends_at) == (at(1, 10), at(1, 11))


def test_a_deadlock_between_exclusion_checks_is_answered_as_taken(pg_db):
    """PostgreSQL inserts a row's index entry before checking it, so two bookings whose checks each wait for the
    other deadlock and one is aborted (40P01): that loser must hear "taken", like any other conflict."""
    from sqlmodel import Session

    from backend.calendar import booking

    ws, _ = business()
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def write(name, first, second):
        with Session(get_engine()) as s:
            s.add(Appointment(workspace_id=ws, starts_at=first[0], ends_at=first[1], status="confirmed"))
            s.flush()
            barrier.wait()  # both hold a row the other's second one overlaps
            s.add(Appointment(workspace_id=ws, starts_at=second[0], ends_at=second[1], status="confirmed"))
            try:
                booking._flush(s)
                s.commit()
                results[name] = "booked"
            except ServiceError as exc:
                s.rollback()
                results[name] = exc.message

    threads = [threading.Thread(target=write, args=("a", (at(1, 9), at(1, 10)), (at(1, 11, 30), at(1, 12, 30)))),
               threading.Thread(target=write, args=("b", (at(1, 11), at(1, 12)), (at(1, 9, 30), at(1, 10, 30))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results.values()) == sorted(["booked", booking.TAKEN_MESSAGE]), results
