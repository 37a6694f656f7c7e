"""The Calendar page's layout (assistant/pages/dashboard/calendar_layout.py), pure: which hours the grid shows,
where each item sits and how tall, side by side where times overlap, the "now" line, the list by day. The clock
is passed in, so every date here is fixed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from assistant.pages.dashboard.calendar_layout import (
    HOUR_PX,
    MIN_BLOCK_PX,
    lanes,
    list_groups,
    opening_span,
    range_title,
    time_grid,
    visible_range,
)
from backend.calendar.booking import AppointmentView, BusyView

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 3, 2)  # a week with no change of the clocks in New York
NINE_TO_FIVE = {d: [("09:00", "17:00")] for d in range(5)} | {5: [], 6: []}
_ids = iter(range(1, 10_000))


def _at(day: date, hour: int, minute: int = 0, tz: ZoneInfo = NY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


def _appt(starts_at: datetime, minutes: int = 60, *, status: str = "confirmed", source: str = "chat",
          title: str = "", who: str = "Dana Reyes", reason: str = "", ends_at: datetime | None = None
          ) -> AppointmentView:
    ends_at = ends_at or starts_at + timedelta(minutes=minutes)
    return AppointmentView(
        id=next(_ids), service_id=1, service_name="" if source == "block" else "Haircut", contact_id=1,
        contact_name=who, conversation_id=None, starts_at=starts_at, ends_at=ends_at, block_starts_at=starts_at,
        block_ends_at=ends_at, local_start=starts_at.isoformat(), label="", status=status, source=source,
        title=title, notes="", cancelled_by="owner" if status == "cancelled" else "", cancel_reason=reason,
        reminder_sent_at=None, created_at=starts_at)


def _grid(first: date, last: date, appointments=(), busy=(), *, weekly=NINE_TO_FIVE, tz=NY, now=None):
    now = now or _at(first - timedelta(days=30), 12, tz=tz)  # a month before: no day in sight is today
    return time_grid(first, last, appointments=list(appointments), busy=list(busy), weekly_hours=weekly, tz=tz,
                     now=now)


def _px(hours_from_top: float) -> str:
    return f"{hours_from_top * HOUR_PX:.1f}px"


def test_the_grid_shows_the_opening_hours_with_each_item_placed_by_its_time():
    grid = _grid(MONDAY, MONDAY, [_appt(_at(MONDAY, 10, 30), 90)])
    assert grid.hours == [f"{h:02d}:00" for h in range(9, 17)]
    assert grid.height == f"{8 * HOUR_PX}px"
    [item] = grid.columns[0]
    assert item["top"] == _px(1.5)
    assert item["height"] == f"{90 * HOUR_PX / 60 - 2:.1f}px"
    assert (item["left"], item["width"]) == ("0.000%", "100.000%")
    assert item["lines"] == "3"
    assert item["meta"] == "10:30–12:00 · Dana Reyes"
    assert item["label"] == "Haircut with Dana Reyes, Mon 2 Mar 10:30, confirmed"
    assert grid.days[0] == {"key": "2026-03-02", "weekday": "Mon", "day": "2", "label": "Mon 2 Mar", "today": "",
                            "now": "", "count": "1"}


def test_overlapping_items_sit_side_by_side_and_a_free_lane_is_reused():
    a = _appt(_at(MONDAY, 10), 60)
    b = _appt(_at(MONDAY, 10, 30), 60)
    c = _appt(_at(MONDAY, 11), 60)  # overlaps b only: takes a's lane, which is free again at 11:00
    later = _appt(_at(MONDAY, 14), 30)  # overlaps nothing: full width
    busy = BusyView(_at(MONDAY, 10), _at(MONDAY, 10, 45), "Iris's calendar")
    grid = _grid(MONDAY, MONDAY, [later, c, b, a], [busy])
    placed = [(it["time"], it["kind"], it["left"], it["width"]) for it in grid.columns[0]]
    assert placed == [
        ("10:00–10:45", "busy", "0.000%", "33.333%"),
        ("10:00–11:00", "appointment", "33.333%", "33.333%"),
        ("10:30–11:30", "appointment", "66.667%", "33.333%"),
        ("11:00–12:00", "appointment", "0.000%", "33.333%"),
        ("14:00–14:30", "appointment", "0.000%", "100.000%"),
    ]
    assert grid.days[0]["count"] == "5"


def test_lanes_split_a_cluster_only_as_far_as_it_needs():
    assert lanes([]) == []
    assert lanes([(0, 60), (60, 120)]) == [(0, 1), (0, 1)]  # end to end: no overlap
    assert lanes([(0, 60), (30, 90), (60, 120), (200, 230)]) == [(0, 2), (1, 2), (0, 2), (0, 1)]
    assert lanes([(0, 300), (10, 20), (30, 40), (35, 50)]) == [(0, 3), (1, 3), (1, 3), (2, 3)]


def test_a_block_past_midnight_shows_in_both_days_and_opens_the_grid_around_the_clock():
    block = _appt(_at(MONDAY, 22), source="block", title="Night shift", ends_at=_at(MONDAY + timedelta(days=1), 2))
    grid = _grid(MONDAY, MONDAY + timedelta(days=6), [block])
    assert grid.hours[0] == "00:00" and grid.hours[-1] == "23:00" and len(grid.hours) == 24
    monday, tuesday = grid.columns[0], grid.columns[1]
    assert [(it["top"], it["height"]) for it in monday] == [(_px(22), f"{2 * HOUR_PX - 2:.1f}px")]
    assert [(it["top"], it["height"]) for it in tuesday] == [(_px(0), f"{2 * HOUR_PX - 2:.1f}px")]
    assert monday[0]["kind"] == "block" and monday[0]["status"] == "blocked" and monday[0]["who"] == ""
    assert monday[0]["label"] == "Night shift, Mon 2 Mar 22:00, blocked"
    assert [d["count"] for d in grid.days] == ["1", "1", "0", "0", "0", "0", "0"]


def test_the_hours_stretch_to_bookings_outside_the_opening_hours():
    early = _appt(_at(MONDAY, 7, 30), 30)
    late = _appt(_at(MONDAY + timedelta(days=2), 18, 45), 30)  # ends 19:15: the 19:00 row shows
    grid = _grid(MONDAY, MONDAY + timedelta(days=6), [early, late])
    assert grid.hours == [f"{h:02d}:00" for h in range(7, 20)]
    assert grid.columns[0][0]["top"] == _px(0.5)
    assert grid.columns[2][0]["top"] == _px(11.75)


def test_opening_hours_set_the_span_a_window_past_midnight_keeps_it_open_to_midnight():
    assert opening_span(NINE_TO_FIVE) == (9, 17)
    assert opening_span({0: [("08:30", "12:15")], 1: [("18:00", "02:00")]}) == (8, 24)
    assert opening_span({d: [] for d in range(7)}) == (8, 18)


def test_a_short_item_is_drawn_at_least_the_minimum_height_on_one_line():
    grid = _grid(MONDAY, MONDAY, [_appt(_at(MONDAY, 12), 5), _appt(_at(MONDAY, 13), 50)])
    short, longer = grid.columns[0]
    assert short["height"] == f"{MIN_BLOCK_PX:.1f}px"
    assert short["lines"] == "1"
    assert longer["lines"] == "2"
    # Laid out as 15 minutes, it does not share its lane with what starts right after it ends.
    grid = _grid(MONDAY, MONDAY, [_appt(_at(MONDAY, 12), 5), _appt(_at(MONDAY, 12, 10), 30)])
    assert [it["width"] for it in grid.columns[0]] == ["50.000%", "50.000%"]


@pytest.mark.parametrize(("hour", "minute", "line"), [(12, 30, _px(3.5)), (9, 0, _px(0)), (8, 59, ""), (17, 0, "")])
def test_the_now_line_is_on_today_only_and_only_within_the_hours(hour, minute, line):
    wednesday = MONDAY + timedelta(days=2)
    grid = _grid(MONDAY, MONDAY + timedelta(days=6), now=_at(wednesday, hour, minute))
    assert [d["now"] for d in grid.days] == ["", "", line, "", "", "", ""]
    assert [d["today"] for d in grid.days] == ["", "", "1", "", "", "", ""]
    # The same moment seen from another zone is another day's afternoon.
    grid = _grid(MONDAY, MONDAY + timedelta(days=6), now=_at(wednesday, 23, 30).astimezone(ZoneInfo("Asia/Tokyo")))
    assert [d["today"] for d in grid.days] == ["", "", "1", "", "", "", ""]


def test_on_the_day_the_clocks_go_back_items_sit_at_their_wall_clock_time():
    change = date(2026, 10, 25)  # Europe/Berlin: 03:00 summer time becomes 02:00 winter time
    everyday = {d: [("09:00", "17:00")] for d in range(7)}
    morning = _appt(_at(change, 10, tz=BERLIN), 60)
    night = _appt(_at(change, 1, 30, tz=BERLIN), 60)  # 01:30 summer time to 02:30 summer time
    grid = _grid(change, change, [morning, night], weekly=everyday, tz=BERLIN,
                 now=_at(change, 12, tz=BERLIN))
    assert grid.hours[0] == "01:00" and grid.hours[-1] == "16:00"
    items = {it["time"]: it for it in grid.columns[0]}
    assert set(items) == {"01:30–02:30", "10:00–11:00"}
    assert items["10:00–11:00"]["top"] == _px(9)  # by the clock: not shifted by the hour that repeats
    assert items["01:30–02:30"]["top"] == _px(0.5)
    assert grid.days[0]["now"] == _px(11)
    # The day before and the day after lay out the same way.
    before = _grid(change - timedelta(days=1), change - timedelta(days=1),
                   [_appt(_at(change - timedelta(days=1), 10, tz=BERLIN))], weekly=everyday, tz=BERLIN)
    assert before.columns[0][0]["top"] == _px(1)


def test_the_list_groups_by_day_and_names_today_and_tomorrow():
    today = date(2026, 3, 4)
    rows = [_appt(_at(today, 9)), _appt(_at(today, 15), source="block", title="Lunch"),
            _appt(_at(today + timedelta(days=1), 10), status="pending"),
            _appt(_at(today + timedelta(days=2), 11), status="cancelled", reason="Stylist is ill"),
            _appt(_at(today + timedelta(days=2), 12), status="cancelled")]
    groups, items = list_groups(rows, NY, today)
    assert groups == [{"key": "2026-03-04", "label": "Today · Wed 4 Mar"},
                      {"key": "2026-03-05", "label": "Tomorrow · Thu 5 Mar"},
                      {"key": "2026-03-06", "label": "Fri 6 Mar"}]
    assert [[it["title"] for it in day] for day in items] == [["Haircut", "Lunch"], ["Haircut"],
                                                               ["Haircut", "Haircut"]]
    assert items[1][0]["status_label"] == "Pending" and items[1][0]["color"] == "amber"
    assert items[2][0]["who"] == "Dana Reyes · “Stylist is ill”"
    assert items[2][1]["who"] == "Dana Reyes"
    # Seen a day later, nothing is today and the first day is yesterday's date.
    groups, _ = list_groups(rows, NY, today + timedelta(days=1))
    assert [g["label"] for g in groups] == ["Wed 4 Mar", "Today · Thu 5 Mar", "Tomorrow · Fri 6 Mar"]
    assert list_groups([], NY, today) == ([], [])


def test_the_range_in_sight_and_its_title():
    wednesday = date(2026, 12, 30)
    assert visible_range("day", wednesday) == (wednesday, wednesday)
    assert visible_range("week", wednesday) == (date(2026, 12, 28), date(2027, 1, 3))
    assert visible_range("list", wednesday) == (wednesday, date(2027, 1, 26))
    assert range_title("day", wednesday, wednesday) == "Wednesday 30 December 2026"
    assert range_title("week", *visible_range("week", wednesday)) == "28 Dec 2026 – 3 Jan 2027"
    assert range_title("week", date(2026, 3, 30), date(2026, 4, 5)) == "30 Mar – 5 Apr 2026"
    assert range_title("week", MONDAY, MONDAY + timedelta(days=6)) == "2 – 8 March 2026"
