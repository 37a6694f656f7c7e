"""The owner's set-up: services, weekly hours, date overrides and the booking policy, each validated and scoped
to its workspace."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from backend.calendar.availability import (
    close_days,
    delete_override,
    delete_overrides,
    delete_service,
    get_booking_policy,
    get_service,
    get_weekly_hours,
    list_overrides,
    list_services,
    save_override,
    save_service,
    set_weekly_hours,
    update_booking_policy,
)
from backend.calendar.booking import book_appointment
from backend.errors import NotFound, ServiceError
from tests.unit.calendar.test_booking import NOW, at, business
from tests.unit.messaging_helpers import make_workspace, settle_background  # noqa: F401


def test_services_crud_and_validation(db):
    ws = make_workspace().id
    cut = save_service(ws, name="  Hair   cut ", duration_minutes=45, buffer_after_minutes=15, price_cents=3500,
                       currency="eur", description="Wash included")
    assert cut.as_dict() == {"id": cut.id, "name": "Hair cut", "description": "Wash included", "duration_minutes": 45,
                             "buffer_before_minutes": 0, "buffer_after_minutes": 15, "price_cents": 3500,
                             "currency": "EUR", "active": True}
    renamed = save_service(ws, name="Haircut", duration_minutes="60", service_id=cut.id)
    assert (renamed.id, renamed.name, renamed.duration_minutes, renamed.price_cents) == (cut.id, "Haircut", 60, None)
    assert [s.name for s in list_services(ws)] == ["Haircut"]
    for kwargs, field in [
        ({"name": "", "duration_minutes": 30}, "name"),
        ({"name": "X", "duration_minutes": 0}, "duration_minutes"),
        ({"name": "X", "duration_minutes": 32}, "duration_minutes"),
        ({"name": "X", "duration_minutes": "half an hour"}, "duration_minutes"),
        ({"name": "X", "duration_minutes": 30, "buffer_before_minutes": -5}, "buffer_before_minutes"),
        ({"name": "X", "duration_minutes": 30, "price_cents": -1}, "price_cents"),
        ({"name": "X", "duration_minutes": 30, "currency": "euro"}, "currency"),
        ({"name": "haircut", "duration_minutes": 30}, "name"),  # the same name, any case
    ]:
        with pytest.raises(ServiceError) as err:
            save_service(ws, **kwargs)
        assert err.value.field == field, kwargs
    assert len(list_services(ws)) == 1


def test_deleting_a_used_service_only_deactivates_it(db):
    ws, service = business()
    unused = save_service(ws, name="Unused", duration_minutes=30).id
    assert delete_service(ws, unused) is True
    book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW)
    assert delete_service(ws, service) is False
    assert get_service(ws, service).active is False
    assert list_services(ws, include_inactive=False) == []


def test_weekly_hours_are_replaced_whole_and_bad_weeks_change_nothing(db):
    ws = make_workspace().id
    week = set_weekly_hours(ws, {0: [("13:00", "17:00"), ("09:00", "12:00")], "5": [(time(10), time(14))]})
    assert week == {0: [("09:00", "12:00"), ("13:00", "17:00")], 1: [], 2: [], 3: [], 4: [], 5: [("10:00", "14:00")],
                    6: []}
    for bad, message in [
        ({1: [("09:00", "12:00"), ("11:00", "13:00")]}, "overlap"),
        ({1: [("17:00", "09:00")]}, "ends before it starts"),
        ({1: [("9am", "5pm")]}, "not a time"),
        ({7: [("09:00", "12:00")]}, "not a weekday"),
        ({1: [("09:00", "12:00")], 2: [("12:00", "12:00")]}, "Wednesday"),
    ]:
        with pytest.raises(ServiceError, match=message):
            set_weekly_hours(ws, bad)
    assert get_weekly_hours(ws) == week  # all-or-nothing


def test_date_overrides(db):
    ws = make_workspace().id
    closed = save_override(ws, date(2026, 12, 24), note="Christmas Eve")
    special = save_override(ws, "2026-12-31", closed=False, start="10:00", end="13:00")
    assert special.as_dict() == {"id": special.id, "day": "2026-12-31", "closed": False, "start": "10:00",
                                 "end": "13:00", "note": ""}
    replaced = save_override(ws, date(2026, 12, 24), closed=False, start="09:00", end="12:00")
    assert [o.day for o in list_overrides(ws)] == [date(2026, 12, 24), date(2026, 12, 31)]
    assert list_overrides(ws, start=date(2026, 12, 25))[0].id == special.id
    with pytest.raises(ServiceError, match="start and end"):
        save_override(ws, date(2027, 1, 1), closed=False)
    with pytest.raises(ServiceError, match="ends before"):
        save_override(ws, date(2027, 1, 1), closed=False, start="12:00", end="10:00")
    with pytest.raises(ServiceError):
        save_override(ws, "not a date")
    other = make_workspace(slug="elm-clinic").id
    with pytest.raises(NotFound):
        delete_override(other, replaced.id)
    delete_override(ws, replaced.id)
    assert [o.id for o in list_overrides(ws)] == [special.id]
    assert closed.note == "Christmas Eve"


def test_booking_policy(db):
    ws = make_workspace().id
    policy = update_booking_policy(ws, min_notice_minutes=30, max_advance_days=14, max_bookings_per_day=8,
                                   require_confirmation=True, reminder_lead_minutes=120)
    assert get_booking_policy(ws) == policy
    assert policy.as_dict()["max_bookings_per_day"] == 8 and policy.timezone == "UTC"
    for kwargs, field in [
        ({"min_notice_minutes": -1}, "min_notice_minutes"),
        ({"max_advance_days": 0}, "max_advance_days"),
        ({"max_bookings_per_day": 0}, "max_bookings_per_day"),
        ({"reminder_lead_minutes": 99999}, "reminder_lead_minutes"),
        ({"min_notice_minutes": 60 * 24 * 20}, "min_notice_minutes"),  # longer than 14 days ahead
    ]:
        with pytest.raises(ServiceError) as err:
            values = {k: v for k, v in {**policy.as_dict(), **kwargs}.items() if k != "timezone"}
            update_booking_policy(ws, **values)
        assert err.value.field == field
    assert get_booking_policy(ws) == policy
    assert update_booking_policy(ws, min_notice_minutes=0, max_advance_days=60, max_bookings_per_day=None,
                                 require_confirmation=False, reminder_lead_minutes=0).max_bookings_per_day is None
    with pytest.raises(NotFound):
        get_booking_policy(99999)


def test_hours_can_run_past_midnight(db):
    ws = make_workspace().id
    week = set_weekly_hours(ws, {4: [("11:00", "14:00"), ("18:00", "02:00")], 5: [("18:00", "24:00")],
                                 6: [("00:00", "00:00")]})
    assert week[4] == [("11:00", "14:00"), ("18:00", "02:00")] and week[5] == [("18:00", "00:00")]
    assert week[6] == [("00:00", "00:00")]  # open all day
    for bad, message in [
        ({4: [("18:00", "02:00")], 5: [("01:00", "05:00")]}, "Friday's 18:00–02:00 runs into Saturday's 01:00–05:00"),
        ({6: [("20:00", "03:00")], 0: [("02:00", "08:00")]}, "runs into Monday"),
        ({4: [("18:00", "02:00"), ("23:00", "23:30")]}, "overlap"),
        ({4: [("18:00", "07:00")]}, "ends before it starts .*until 06:00"),
        ({4: [("18:00", "18:00")]}, "same time"),
    ]:
        with pytest.raises(ServiceError, match=message):
            set_weekly_hours(ws, bad)
    assert get_weekly_hours(ws) == week
    late = save_override(ws, date(2026, 12, 31), closed=False, start="20:00", end="03:00")
    assert (late.start, late.end) == ("20:00", "03:00")


def test_a_stretch_of_closed_days_is_saved_and_removed_at_once(db):
    ws = make_workspace().id
    other = make_workspace(slug="elm-clinic").id
    kept = save_override(ws, date(2026, 12, 23), closed=False, start="09:00", end="12:00")
    replaced = save_override(ws, date(2026, 12, 26), closed=False, start="10:00", end="11:00")
    closed = close_days(ws, "2026-12-24", date(2027, 1, 2), note="Holidays")
    assert [o.day for o in closed] == [date(2026, 12, 24) + timedelta(days=i) for i in range(10)]
    assert all(o.closed and o.note == "Holidays" for o in closed)
    listed = list_overrides(ws)
    assert len(listed) == 11 and listed[0].id == kept.id
    assert next(o for o in listed if o.day == replaced.day).closed  # the special hours gave way
    for first, last, message in [("2027-01-05", "2027-01-04", "before the first"),
                                 ("2027-01-01", "2027-06-01", "at most 92 days"),
                                 ("2027-01-01", "soon", "not a date")]:
        with pytest.raises(ServiceError, match=message):
            close_days(ws, first, last)
    assert len(list_overrides(ws)) == 11  # nothing half-written
    with pytest.raises(NotFound):  # another workspace's dates, even mixed with one's own
        delete_overrides(other, [o.id for o in closed])
    delete_overrides(ws, [o.id for o in closed])
    assert [o.id for o in list_overrides(ws)] == [kept.id]
