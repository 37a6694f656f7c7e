"""Slot generation: the pure core (daylight saving in both directions, three hemispheres' worth of zones), and
the database wrapper on both databases."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from backend.calendar.availability import save_override, save_service, set_weekly_hours, update_booking_policy
from backend.calendar.booking import block_time, book_appointment
from backend.calendar.slots import (
    BusyIndex,
    Calendar,
    OpeningHours,
    Policy,
    ServiceSpec,
    available_slots,
    check_start,
    generate_slots,
    nearest_slots,
)
from backend.db import session_scope
from backend.errors import NotFound, ServiceError
from backend.models import BusyPeriod, CalendarConnection, Workspace
from tests.unit.messaging_helpers import make_workspace, settle_background  # noqa: F401

UTC = timezone.utc
T = time.fromisoformat
HALF_HOUR = ServiceSpec(30)


def make_cal(tz: str, windows=((T("09:00"), T("17:00")),), *, days=range(7), overrides=None, busy=(), counts=None,
             policy=Policy(0, 3650, None)) -> Calendar:
    weekly = {d: list(windows) for d in days}
    ranges = [(int(a.timestamp()), int(b.timestamp())) for a, b in busy]
    return Calendar(ZoneInfo(tz), OpeningHours(weekly, dict(overrides or {})), BusyIndex(ranges), dict(counts or {}),
                    policy)


def local(slot, tz: str) -> datetime:
    return slot.starts_at.astimezone(ZoneInfo(tz))


def day_slots(cal: Calendar, day: date, service=HALF_HOUR, now=None, step=None):
    now = now or datetime.combine(day - timedelta(days=2), time(0), tzinfo=UTC)
    return generate_slots(cal, service, start=day, end=day, now=now, step_minutes=step)


# (zone, change day, "spring" | "autumn"): 2026's changes, northern and southern hemisphere.
CHANGE_DAYS = [
    ("Europe/Berlin", date(2026, 3, 29), "spring"),
    ("Europe/Berlin", date(2026, 10, 25), "autumn"),
    ("America/New_York", date(2026, 3, 8), "spring"),
    ("America/New_York", date(2026, 11, 1), "autumn"),
    ("Australia/Sydney", date(2026, 10, 4), "spring"),
    ("Australia/Sydney", date(2026, 4, 5), "autumn"),
    ("America/Santiago", date(2026, 9, 6), "spring"),  # the clock skips midnight
]


@pytest.mark.parametrize("tz,day,season", CHANGE_DAYS)
def test_a_nine_to_five_day_is_eight_hours_of_slots_on_the_change_day(tz, day, season):
    zone = ZoneInfo(tz)
    before = datetime.combine(day - timedelta(days=1), T("12:00"), tzinfo=zone).utcoffset()
    after = datetime.combine(day + timedelta(days=1), T("12:00"), tzinfo=zone).utcoffset()
    assert (after > before) == (season == "spring") and after != before  # it really is a change day

    slots = day_slots(make_cal(tz), day)
    assert len(slots) == 16
    assert [local(s, tz).strftime("%H:%M") for s in slots][:2] == ["09:00", "09:30"]
    assert local(slots[-1], tz).strftime("%H:%M") == "16:30"
    assert slots[-1].ends_at - slots[0].starts_at == timedelta(hours=8)
    assert all(b.starts_at - a.starts_at == timedelta(minutes=30) for a, b in zip(slots, slots[1:]))
    assert all(s.starts_at.tzinfo == UTC and s.ends_at - s.starts_at == timedelta(minutes=30) for s in slots)
    assert slots[0].local_start == datetime.combine(day, T("09:00"), tzinfo=zone).isoformat()


@pytest.mark.parametrize("tz,day", [("Europe/Berlin", date(2026, 3, 29)), ("America/New_York", date(2026, 3, 8)),
                                    ("Australia/Sydney", date(2026, 10, 4))])
def test_the_skipped_hour_never_appears(tz, day):
    slots = day_slots(make_cal(tz, [(T("00:00"), T("06:00"))]), day)
    labels = [s.label.split(", ")[1] for s in slots]
    assert not any(label.startswith("02:") for label in labels)
    assert labels[:5] == ["00:00", "00:30", "01:00", "01:30", "03:00"]
    assert len(slots) == 10  # 00:00-06:00 on this day lasts 5 real hours
    assert all(b.starts_at - a.starts_at == timedelta(minutes=30) for a, b in zip(slots, slots[1:]))


def test_a_window_opening_inside_the_gap_opens_when_the_gap_ends():
    tz = "Europe/Berlin"
    slots = day_slots(make_cal(tz, [(T("02:30"), T("05:00"))]), date(2026, 3, 29))
    assert [s.label.split(", ")[1] for s in slots] == ["03:00", "03:30", "04:00", "04:30"]


def test_santiago_skips_midnight_in_spring():
    tz = "America/Santiago"
    slots = day_slots(make_cal(tz, [(T("00:00"), T("03:00"))]), date(2026, 9, 6))
    assert [s.label.split(", ")[1] for s in slots] == ["01:00", "01:30", "02:00", "02:30"]


@pytest.mark.parametrize("tz,day,repeated", [
    ("America/New_York", date(2026, 11, 1), "01"),
    ("Europe/Berlin", date(2026, 10, 25), "02"),
    ("Australia/Sydney", date(2026, 4, 5), "02"),
    ("America/Santiago", date(2026, 4, 4), "23"),  # Saturday 23:00-24:00 happens twice
])
def test_the_repeated_hour_does_not_double_slots(tz, day, repeated):
    cal = make_cal(tz, [(T("00:00"), T("23:59"))])
    slots = day_slots(cal, day, service=ServiceSpec(15), step=30)
    labels = [s.label for s in slots]
    assert len(labels) == len(set(labels))
    in_repeated = [s for s in slots if s.label.split(", ")[1].startswith(repeated + ":")]
    assert len(in_repeated) == 2  # :00 and :30, once each
    # …and it is the first occurrence: the one with the earlier (summer) offset
    first, second = in_repeated[0].starts_at, in_repeated[0].starts_at + timedelta(hours=1)
    assert first.astimezone(ZoneInfo(tz)).strftime("%H:%M") == second.astimezone(ZoneInfo(tz)).strftime("%H:%M")
    assert first.astimezone(ZoneInfo(tz)).fold == 0
    assert all(b.starts_at > a.starts_at for a, b in zip(slots, slots[1:]))
    # the second pass of the hour is not bookable either
    assert check_start(cal, HALF_HOUR, second, datetime(2020, 1, 1, tzinfo=UTC)) is not None
    assert check_start(cal, HALF_HOUR, first, datetime(2020, 1, 1, tzinfo=UTC)) is None


def test_minimum_notice_across_spring_forward_is_real_time():
    tz = "Europe/Berlin"
    cal = make_cal(tz, [(T("00:00"), T("08:00"))], policy=Policy(180, 30, None))
    now = datetime(2026, 3, 29, 0, 30, tzinfo=ZoneInfo(tz))  # 23:30 UTC the evening before
    slots = day_slots(cal, date(2026, 3, 29), now=now)
    # 3 real hours after 00:30 CET is 04:30 CEST (wall-clock arithmetic would wrongly say 03:30)
    assert slots[0].label == "Sun 29 Mar, 04:30"
    assert slots[0].starts_at - now.astimezone(UTC) == timedelta(hours=3)
    assert "notice" in check_start(cal, HALF_HOUR, slots[0].starts_at - timedelta(minutes=30), now)


def test_minimum_notice_across_fall_back_is_real_time():
    tz = "America/New_York"
    cal = make_cal(tz, [(T("00:00"), T("06:00"))], policy=Policy(120, 30, None))
    now = datetime(2026, 11, 1, 0, 30, tzinfo=ZoneInfo(tz))  # 00:30 EDT = 04:30 UTC; +2 h = 06:30 UTC = 01:30 EST
    slots = day_slots(cal, date(2026, 11, 1), now=now)
    assert slots[0].starts_at == datetime(2026, 11, 1, 7, 0, tzinfo=UTC)  # 02:00 EST, the first grid start after
    assert slots[0].label == "Sun 1 Nov, 02:00"
    assert all(s.starts_at >= now.astimezone(UTC) + timedelta(hours=2) for s in slots)  # real time, not wall


def test_buffers_keep_neighbours_apart_and_may_spill_outside_opening_hours():
    tz = "UTC"
    day = date(2030, 1, 7)
    booked = (datetime(2030, 1, 7, 10, 0, tzinfo=UTC), datetime(2030, 1, 7, 10, 30, tzinfo=UTC))
    service = ServiceSpec(30, buffer_before_minutes=15, buffer_after_minutes=15)
    slots = day_slots(make_cal(tz, busy=[booked]), day, service=service)
    labels = [s.label.split(", ")[1] for s in slots]
    assert "09:00" in labels  # its buffer before starts at 08:45, before opening: allowed
    assert "16:30" in labels  # its buffer after ends at 17:15, after closing: allowed
    assert "09:30" not in labels and "10:00" not in labels and "10:30" not in labels
    assert "09:00" in labels and "11:00" in labels  # 09:00-09:30 + 15 min ends 09:45 < 10:00


def test_busy_overrides_cap_and_advance():
    tz = "Europe/Berlin"
    monday = date(2030, 1, 7)
    cal = make_cal(tz, overrides={monday + timedelta(days=1): [], monday + timedelta(days=2): [(T("10:00"),
                                                                                                T("11:00"))]},
                   counts={monday + timedelta(days=3): 2}, policy=Policy(0, 5, 2),
                   busy=[(datetime(2030, 1, 7, 8, 0, tzinfo=UTC), datetime(2030, 1, 7, 15, 0, tzinfo=UTC))])
    now = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)
    slots = generate_slots(cal, HALF_HOUR, start=monday, end=monday + timedelta(days=30), now=now)
    by_day: dict[date, list[str]] = {}
    for s in slots:
        by_day.setdefault(s.starts_at.astimezone(ZoneInfo(tz)).date(), []).append(s.label.split(", ")[1])
    assert by_day[monday][0] == "16:00"  # busy 09:00-16:00 local
    assert monday + timedelta(days=1) not in by_day  # closed
    assert by_day[monday + timedelta(days=2)] == ["10:00", "10:30"]  # special hours
    assert monday + timedelta(days=3) not in by_day  # full
    assert max(by_day) == monday + timedelta(days=5)  # max advance
    reason = check_start(cal, HALF_HOUR, datetime(2030, 1, 10, 9, 0, tzinfo=UTC), now)
    assert "fully booked" in reason
    assert "closed" in check_start(cal, HALF_HOUR, datetime(2030, 1, 8, 9, 0, tzinfo=UTC), now)
    assert "outside our opening hours" in check_start(cal, HALF_HOUR, datetime(2030, 1, 9, 12, 0, tzinfo=UTC), now)
    assert "offered times" in check_start(cal, HALF_HOUR, datetime(2030, 1, 7, 15, 7, tzinfo=UTC), now)
    assert "ahead" in check_start(cal, HALF_HOUR, datetime(2030, 1, 14, 9, 0, tzinfo=UTC), now)
    assert "passed" in check_start(cal, HALF_HOUR, datetime(2030, 1, 7, 5, 0, tzinfo=UTC), now)
    assert "no longer available" in check_start(cal, HALF_HOUR, datetime(2030, 1, 7, 9, 0, tzinfo=UTC), now)


def test_busy_index_finds_every_kind_of_overlap():
    index = BusyIndex([(10, 20), (15, 30), (40, 50), (50, 55)])
    assert index.starts == [10, 40] and index.ends == [30, 55]
    assert index.overlaps(0, 11) and index.overlaps(29, 35) and index.overlaps(5, 60) and index.overlaps(41, 42)
    assert not index.overlaps(0, 10) and not index.overlaps(30, 40) and not index.overlaps(55, 99)
    assert not BusyIndex().overlaps(0, 100)


# --- through the database -----------------------------------------------------------------------------------

NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 08:00 in Berlin


def _business(tz="Europe/Berlin", **policy):
    biz = make_workspace()
    with session_scope() as s:
        ws = s.get(Workspace, biz.id)
        ws.timezone = tz
        s.add(ws)
    update_booking_policy(biz.id, **{"min_notice_minutes": 60, "max_advance_days": 30, "max_bookings_per_day": None,
                                     "require_confirmation": False, "reminder_lead_minutes": 1440, **policy})
    set_weekly_hours(biz.id, {d: [("09:00", "12:00"), ("13:00", "17:00")] for d in range(5)})
    service = save_service(biz.id, name="Check-up", duration_minutes=30)
    return biz.id, service.id


def test_available_slots_reads_hours_overrides_bookings_and_busy_time(db):
    ws, service = _business()
    tuesday = date(2026, 12, 1)
    slots = available_slots(ws, service, start=tuesday, end=tuesday, now=NOW)
    assert len(slots) == 14 and slots[0].label == "Tue 1 Dec, 09:00" and slots[-1].label == "Tue 1 Dec, 16:30"
    assert slots[0].local_start == "2026-12-01T09:00:00+01:00"
    assert slots[0].as_dict()["starts_at"] == "2026-12-01T08:00:00+00:00"

    book_appointment(ws, service_id=service, starts_at=slots[0].starts_at, now=NOW)
    block_time(ws, slots[2].starts_at, slots[4].starts_at, "Lunch meeting", now=NOW)
    with session_scope() as s:
        conn = CalendarConnection(workspace_id=ws, kind="caldav", name="Personal")
        s.add(conn)
        s.flush()
        s.add(BusyPeriod(workspace_id=ws, connection_id=conn.id, starts_at=slots[-1].starts_at,
                         ends_at=slots[-1].ends_at))
    save_override(ws, date(2026, 12, 2), closed=True)
    left = available_slots(ws, service, start=tuesday, end=date(2026, 12, 2), now=NOW)
    labels = [s.label for s in left]
    assert "Tue 1 Dec, 09:00" not in labels and "Tue 1 Dec, 10:00" not in labels and "Tue 1 Dec, 10:30" not in labels
    assert "Tue 1 Dec, 16:30" not in labels and "Tue 1 Dec, 09:30" in labels
    assert len(left) == 10 and not any(label.startswith("Wed") for label in labels)
    assert [s.label for s in available_slots(ws, service, start=tuesday, end=tuesday, now=NOW, step_minutes=60)][:3] \
        == ["Tue 1 Dec, 11:00", "Tue 1 Dec, 13:00", "Tue 1 Dec, 14:00"]


def test_available_slots_refuses_bad_input_and_other_workspaces(db):
    ws, service = _business()
    with pytest.raises(ServiceError) as err:
        available_slots(ws, service, start=date(2026, 12, 2), end=date(2026, 12, 1), now=NOW)
    assert err.value.field == "end"
    with pytest.raises(ServiceError) as err:
        available_slots(ws, service, start=date(2026, 12, 1), end=date(2026, 12, 1), now=NOW, step_minutes=7)
    assert err.value.field == "step_minutes"
    second = make_workspace(slug="elm-clinic")
    foreign = save_service(second.id, name="Foreign", duration_minutes=30).id
    with pytest.raises(NotFound):
        available_slots(ws, foreign, start=date(2026, 12, 1), end=date(2026, 12, 1), now=NOW)
    save_service(ws, name="Check-up", duration_minutes=30, active=False, service_id=service)
    with pytest.raises(ServiceError, match="can no longer be booked"):
        available_slots(ws, service, start=date(2026, 12, 1), end=date(2026, 12, 1), now=NOW)


def test_nearest_slots_offers_a_few_choices(db):
    ws, service = _business()
    earliest = nearest_slots(ws, service, now=NOW)
    assert [s.label for s in earliest] == ["Mon 30 Nov, 09:00", "Mon 30 Nov, 09:30", "Mon 30 Nov, 10:00"]
    on_thursday = nearest_slots(ws, service, around=date(2026, 12, 3), now=NOW)
    assert [s.label for s in on_thursday] == ["Thu 3 Dec, 09:00", "Thu 3 Dec, 09:30", "Thu 3 Dec, 10:00"]
    around_noon = nearest_slots(ws, service, around=datetime(2026, 12, 3, 12, 10, tzinfo=ZoneInfo("Europe/Berlin")),
                                now=NOW)
    assert [s.label for s in around_noon] == ["Thu 3 Dec, 11:00", "Thu 3 Dec, 11:30", "Thu 3 Dec, 13:00"]
    saturday = nearest_slots(ws, service, around=date(2026, 12, 5), count=2, now=NOW)  # closed: the nearest days
    assert [s.label for s in saturday] == ["Fri 4 Dec, 16:00", "Fri 4 Dec, 16:30"]


# --- windows that run past midnight ---------------------------------------------------------------------------

FRIDAY, SATURDAY = date(2026, 12, 4), date(2026, 12, 5)


def times(slots) -> list[str]:
    return [s.label.split(", ")[1] for s in slots]


def test_a_window_past_midnight_offers_its_late_starts_on_the_next_day():
    tz = "Europe/Berlin"
    cal = make_cal(tz, [(T("22:00"), T("02:00"))], days=[4])  # Fridays only
    assert times(day_slots(cal, FRIDAY)) == ["22:00", "22:30", "23:00", "23:30"]
    saturday = day_slots(cal, SATURDAY)
    assert times(saturday) == ["00:00", "00:30", "01:00", "01:30"]
    assert all(s.label.startswith("Sat 5 Dec") for s in saturday)
    friday_and_saturday = generate_slots(cal, HALF_HOUR, start=FRIDAY, end=SATURDAY,
                                         now=datetime(2026, 12, 1, tzinfo=UTC))
    assert len(friday_and_saturday) == 8 and friday_and_saturday == sorted(friday_and_saturday,
                                                                          key=lambda s: s.starts_at)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert check_start(cal, HALF_HOUR, datetime(2026, 12, 5, 1, 30, tzinfo=ZoneInfo(tz)), now) is None
    assert "outside" in check_start(cal, HALF_HOUR, datetime(2026, 12, 4, 21, 0, tzinfo=ZoneInfo(tz)), now)
    assert "closed on Sat 5 Dec" in check_start(cal, HALF_HOUR, datetime(2026, 12, 5, 2, 0, tzinfo=ZoneInfo(tz)),
                                                now)


def test_the_window_belongs_to_the_day_it_opens():
    tz = "America/New_York"
    friday_closed = make_cal(tz, [(T("22:00"), T("02:00"))], days=[4], overrides={FRIDAY: []})
    assert day_slots(friday_closed, SATURDAY) == []
    saturday_closed = make_cal(tz, [(T("22:00"), T("02:00"))], days=[4], overrides={SATURDAY: []})
    assert times(day_slots(saturday_closed, SATURDAY)) == ["00:00", "00:30", "01:00", "01:30"]
    # The day's cap counts the starts of the day they fall on.
    capped = make_cal(tz, [(T("22:00"), T("02:00"))], days=[4], counts={SATURDAY: 1}, policy=Policy(0, 3650, 1))
    assert times(day_slots(capped, FRIDAY)) == ["22:00", "22:30", "23:00", "23:30"]
    assert day_slots(capped, SATURDAY) == []


def test_closing_at_midnight_and_open_all_day():
    tz = "Europe/Berlin"
    assert times(day_slots(make_cal(tz, [(T("22:00"), T("00:00"))]), FRIDAY)) == ["22:00", "22:30", "23:00", "23:30"]
    all_day = day_slots(make_cal(tz, [(T("00:00"), T("00:00"))]), FRIDAY, step=60)
    assert len(all_day) == 24 and times(all_day)[-1] == "23:00"  # each day's own, none repeated


def test_a_window_past_midnight_across_the_spring_change():
    tz = "Europe/Berlin"  # 2026-03-29: 02:00 becomes 03:00
    cal = make_cal(tz, [(T("23:00"), T("04:00"))], days=[5])  # Saturday night
    sunday = day_slots(cal, date(2026, 3, 29), step=30)
    assert times(sunday) == ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30"]
    assert (sunday[-1].ends_at - sunday[-1].starts_at) == timedelta(minutes=30)
    assert sunday[-1].ends_at == datetime(2026, 3, 29, 4, 0, tzinfo=ZoneInfo(tz))


def test_late_night_hours_in_the_database(db):
    ws = make_workspace().id
    with session_scope() as s:
        s.get(Workspace, ws).timezone = "Europe/Berlin"
    update_booking_policy(ws, min_notice_minutes=0, max_advance_days=365, max_bookings_per_day=None,
                          require_confirmation=False, reminder_lead_minutes=0)
    set_weekly_hours(ws, {4: [("18:00", "02:00")], 5: [("18:00", "24:00")]})
    service = save_service(ws, name="Table", duration_minutes=60).id
    next_friday = date.today() + timedelta(days=(4 - date.today().weekday()) % 7 + 7)
    saturday = next_friday + timedelta(days=1)
    assert times(available_slots(ws, service, start=saturday, end=saturday)) == [
        "00:00", "00:30", "01:00", "18:00", "18:30", "19:00", "19:30", "20:00", "20:30", "21:00", "21:30", "22:00",
        "22:30", "23:00"]
    booked = book_appointment(ws, service_id=service, starts_at=datetime.combine(
        saturday, T("01:00"), tzinfo=ZoneInfo("Europe/Berlin")))
    assert booked.status == "confirmed"
