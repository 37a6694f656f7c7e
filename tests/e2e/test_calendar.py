"""The calendar page in Chromium: a customer's chat booking in the week view and the list; the owner confirms,
reschedules it to a free slot and cancels it with a reason; books a walk-in; blocks time; sees a booking made
elsewhere arrive live; never sees another workspace's appointments; the week at phone width."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from urllib.parse import parse_qs, urlencode, urlparse
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import GOOGLE_CONSENT_PATH
from tests.e2e.steps import log_in, make_business

pytestmark = pytest.mark.e2e

TZ = "America/Chicago"


def _business(name: str, owner: str, service: str) -> tuple[str, int, int]:
    """A salon open Monday to Saturday 9-17 that confirms bookings itself, with one service."""
    from backend.calendar.availability import save_service, set_weekly_hours, update_booking_policy

    email, _, workspace_id = make_business(name, owner=owner, timezone=TZ)
    set_weekly_hours(workspace_id, {d: [("09:00", "17:00")] for d in range(6)})
    update_booking_policy(workspace_id, min_notice_minutes=60, max_advance_days=60, max_bookings_per_day=None,
                          require_confirmation=True, reminder_lead_minutes=1440)
    service_id = save_service(workspace_id, name=service, duration_minutes=30).id
    return email, workspace_id, service_id


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(TZ))


def _chat_booking(ws: int, service_id: int, day: date, hour: int, phone: str, first: str, last: str) -> int:
    from backend.calendar.booking import book_appointment
    from backend.messaging.contacts import find_or_create_contact

    contact_id = find_or_create_contact(ws, phone, first, last)
    book_appointment(ws, service_id=service_id, starts_at=_at(day, hour), contact_id=contact_id, source="chat",
                     notes="First visit, prefers scissors")
    return contact_id


def _busy(ws: int, name: str, starts_at: datetime, ends_at: datetime) -> None:
    """Busy time as a calendar sync stores it (the sync itself is tested against Radicale)."""
    from backend.db import session_scope
    from backend.models import BusyPeriod, CalendarConnection

    with session_scope() as s:
        conn = CalendarConnection(workspace_id=ws, kind="caldav", name=name)
        s.add(conn)
        s.flush()
        s.add(BusyPeriod(workspace_id=ws, connection_id=conn.id, starts_at=starts_at, ends_at=ends_at))


def _event(page: Page, text: str):
    return page.get_by_role("button", name=re.compile(re.escape(text)))


def test_schedule_confirm_move_cancel_book_and_block(page: Page, live_app, app_db):
    base = live_app[0]
    email, ws, service_id = _business("Shear Joy", "Iris Kim", "Haircut")
    _, other_ws, other_service = _business("Other Spa", "Otto Berg", "Massage")
    today = datetime.now(ZoneInfo(TZ)).date()
    day = today + timedelta(days=7 - today.weekday() + 1)  # Tuesday of next week
    dana = _chat_booking(ws, service_id, day, 10, "+1 212 555 0147", "Dana", "Reyes")
    _chat_booking(other_ws, other_service, day, 10, "+1 212 555 0148", "Zed", "Other")
    _busy(ws, "Iris's calendar", _at(day, 12), _at(day, 13))
    _busy(other_ws, "Otto's calendar", _at(day, 15), _at(day, 16))

    log_in(page, base, email)
    page.get_by_role("link", name="Calendar", exact=True).first.click()
    expect(page.get_by_role("heading", name="Calendar", exact=True)).to_be_visible()
    expect(page.get_by_text(f"Times in {TZ}")).to_be_visible()

    # The week view: next week holds the customer's pending booking, placed in Tuesday's column.
    page.get_by_role("button", name="Next").click()
    monday = day - timedelta(days=1)
    expect(page.get_by_test_id("cal-range-title")).to_contain_text(str(monday.day))
    booked = _event(page, "Haircut with Dana Reyes")
    expect(booked).to_be_visible()
    expect(booked).to_have_attribute("aria-label", re.compile("pending"))
    expect(page.get_by_test_id(f"cal-day-{day.isoformat()}").get_by_role("button")).to_have_count(1)
    # Busy time from the owner's synced calendar is drawn in the same column (it is why 12:00 offers no slot).
    busy = page.get_by_test_id(f"cal-day-{day.isoformat()}").get_by_test_id("cal-busy")
    expect(busy).to_have_count(1)
    expect(busy).to_have_attribute("aria-label", re.compile(r"Busy on Iris's calendar, .* 12:00–13:00"))
    expect(page.get_by_text("Otto's calendar")).to_have_count(0)
    expect(page.get_by_text("Zed Other")).to_have_count(0)
    expect(page.get_by_text("Massage")).to_have_count(0)

    # Open it: details, a link to the customer, then confirm.
    booked.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("detail-status")).to_have_text("Pending")
    expect(dialog.get_by_test_id("detail-when")).to_contain_text("10:00–10:30")
    expect(dialog.get_by_role("link", name="Dana Reyes")).to_have_attribute("href", f"/dashboard/contacts/{dana}")
    expect(dialog.get_by_text("First visit, prefers scissors")).to_be_visible()
    expect(dialog.get_by_text("Booked by the customer in the chat")).to_be_visible()
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog.get_by_test_id("detail-status")).to_have_text("Confirmed")

    # Reschedule to a free slot of that day.
    dialog.get_by_role("button", name="Reschedule").click()
    expect(dialog.get_by_label("New date")).to_have_value(day.isoformat())
    dialog.get_by_role("group", name="Free times").get_by_role("button", name=re.compile(r", 14:00$")).click()
    dialog.get_by_role("button", name="Move appointment").click()
    expect(dialog.get_by_test_id("detail-when")).to_contain_text("14:00–14:30")
    dialog.get_by_role("button", name="Close").click()
    expect(_event(page, "Haircut with Dana Reyes")).to_have_attribute("aria-label", re.compile("14:00, confirmed"))

    # The list: upcoming appointments by day; cancel from there with a reason.
    page.get_by_role("button", name="List", exact=True).click()
    item = page.get_by_test_id("cal-list-item").filter(has_text="Dana Reyes")
    expect(item).to_contain_text("14:00–14:30")
    expect(item).to_contain_text("Confirmed")
    item.click()
    dialog.get_by_role("button", name="Cancel appointment").click()
    alert = page.get_by_role("alertdialog")
    alert.get_by_label("Reason (optional, the customer sees it)").fill("Stylist is ill")
    alert.get_by_role("button", name="Cancel appointment").click()
    expect(dialog.get_by_test_id("detail-status")).to_have_text("Cancelled")
    expect(dialog.get_by_text("Cancelled by you: “Stylist is ill”")).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(page.get_by_test_id("cal-list-item").filter(has_text="Dana Reyes")).to_have_count(0)
    page.get_by_role("group", name="Which appointments").get_by_role("button", name="Cancelled").click()
    expect(page.get_by_test_id("cal-list-item").filter(has_text="Dana Reyes")).to_contain_text("Stylist is ill")

    # A walk-in: a new customer, a free slot; a bad phone is refused where it was typed.
    page.get_by_role("button", name="New booking").click()
    booking = page.get_by_role("dialog")
    expect(booking.get_by_label("Service")).to_contain_text("Haircut")
    booking.get_by_role("button", name="New customer").click()
    booking.get_by_label("Customer phone").fill("12")
    booking.get_by_label("First name").fill("Walt")
    booking.get_by_label("Last name").fill("Kim")
    booking.get_by_label("Date", exact=True).fill(day.isoformat())
    booking.get_by_role("group", name="Free times").get_by_role("button", name=re.compile(r", 11:00$")).click()
    booking.get_by_role("button", name="Book").click()
    expect(booking.get_by_role("alert")).to_contain_text("phone")
    booking.get_by_label("Customer phone").fill("+1 212 555 0199")
    booking.get_by_role("button", name="Book").click()
    expect(booking).to_have_count(0)
    walk_in = page.get_by_test_id("cal-list-item").filter(has_text="Walt Kim")
    expect(walk_in).to_contain_text("11:00–11:30")
    expect(walk_in).to_contain_text("Confirmed")

    # Block time and see the block.
    page.get_by_role("button", name="Block time").click()
    block = page.get_by_role("dialog")
    block.get_by_label("Date", exact=True).fill(day.isoformat())
    block.get_by_label("From", exact=True).fill("15:00")
    block.get_by_label("To", exact=True).fill("16:00")
    block.get_by_label("Title", exact=True).fill("Team meeting")
    block.get_by_role("button", name="Block", exact=True).click()
    expect(block).to_have_count(0)
    page.get_by_role("button", name="Week", exact=True).click()
    expect(_event(page, "Team meeting")).to_have_attribute("aria-label", re.compile("15:00, blocked"))
    expect(_event(page, "Haircut with Walt Kim")).to_be_visible()
    expect(_event(page, "Dana Reyes")).to_have_count(0)  # cancelled: in the list, not in the grid

    # A change made elsewhere (here: a second tab) reaches the open page without a reload.
    other_tab = page.context.new_page()
    other_tab.goto(f"{base}/dashboard/calendar")
    other_tab.get_by_role("button", name="Block time").click()
    other_tab.get_by_role("dialog").get_by_label("Date", exact=True).fill(day.isoformat())
    other_tab.get_by_role("dialog").get_by_label("From", exact=True).fill("12:00")
    other_tab.get_by_role("dialog").get_by_label("To", exact=True).fill("12:30")
    other_tab.get_by_role("dialog").get_by_label("Title", exact=True).fill("Supplier call")
    other_tab.get_by_role("dialog").get_by_role("button", name="Block", exact=True).click()
    expect(other_tab.get_by_role("dialog")).to_have_count(0)
    other_tab.close()
    expect(_event(page, "Supplier call")).to_be_visible(timeout=20000)
    expect(page.get_by_text("Zed Other")).to_have_count(0)
    expect(page.get_by_test_id(f"cal-day-{day.isoformat()}").get_by_role("button")).to_have_count(3)

    # At phone width the week becomes a day-by-day list.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_test_id("cal-grid")).to_be_hidden()
    expect(page.get_by_test_id("cal-list-item").filter(has_text="Team meeting")).to_be_visible()

    # The Setup and Sync tabs open from the URL.
    page.goto(f"{base}/dashboard/calendar?tab=sync")
    expect(page.get_by_role("tab", name="Sync")).to_have_attribute("aria-selected", "true")
    page.get_by_role("tab", name="Schedule").click()
    expect(page.get_by_role("tab", name="Schedule")).to_have_attribute("aria-selected", "true")
    expect(page).to_have_url(re.compile(r"/dashboard/calendar$"))


def test_no_services_points_to_setup(page: Page, live_app, app_db):
    base = live_app[0]
    email, _, _ = make_business("New Nails", owner="Nia Lo", timezone=TZ)
    log_in(page, base, email)
    page.goto(f"{base}/dashboard/calendar")
    expect(page.get_by_role("heading", name="Add a service to start taking bookings")).to_be_visible()
    page.get_by_role("button", name="Open Setup").click()
    expect(page.get_by_role("tab", name="Setup")).to_have_attribute("aria-selected", "true")
    expect(page).to_have_url(re.compile(r"/dashboard/calendar\?tab=setup$"))


def test_setup_and_sync_tabs(page: Page, browser, live_app, app_db):
    import urllib.request

    base = live_app[0]
    email, ws, _ = _business("Setup Studio", "Lena Park", "Consultation")
    log_in(page, base, email)
    page.goto(f"{base}/dashboard/calendar?tab=setup")

    # A service: bad input is refused in the dialog, good input listed.
    page.get_by_role("button", name="New service").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Service name").fill("Colour")
    dialog.get_by_label("Duration in minutes").fill("0")
    dialog.get_by_role("button", name="Save service").click()
    expect(dialog.get_by_role("alert")).to_be_visible()
    dialog.get_by_label("Duration in minutes").fill("90")
    dialog.get_by_label("Price").fill("120")
    dialog.get_by_role("button", name="Save service").click()
    expect(page.get_by_test_id("service").filter(has_text="Colour")).to_contain_text("90 min")
    expect(page.get_by_test_id("service").filter(has_text="Colour")).to_contain_text("120.00 USD")

    # Opening hours: a malformed window says which day; a good week is saved.
    page.get_by_label("Hours on Sunday").fill("10:00")
    page.get_by_role("button", name="Save opening hours").click()
    expect(page.get_by_role("alert").filter(has_text="Sunday")).to_be_visible()
    page.get_by_label("Hours on Sunday").fill("10:00-14:00")
    page.get_by_label("Hours on Saturday").fill("09:00-17:00, 20:00-08:00")
    page.get_by_role("button", name="Save opening hours").click()
    expect(page.get_by_role("alert").filter(has_text="past midnight until 06:00")).to_be_visible()
    page.get_by_label("Hours on Saturday").fill("09:00-17:00, 20:00-24:00")
    page.get_by_role("button", name="Save opening hours").click()
    expect(page.get_by_text("Opening hours saved.")).to_be_visible()
    from backend.calendar.availability import get_weekly_hours

    assert get_weekly_hours(ws)[6] == [("10:00", "14:00")]
    assert get_weekly_hours(ws)[5] == [("09:00", "17:00"), ("20:00", "00:00")]
    page.reload()
    expect(page.get_by_label("Hours on Saturday")).to_have_value("09:00-17:00, 20:00-24:00")

    # A closed day, then a week away: one row for the week, removed at once.
    soon = datetime.now(ZoneInfo(TZ)).date() + timedelta(days=30)
    page.get_by_label("Date").fill(soon.isoformat())
    page.get_by_label("Note").fill("Christmas Eve")
    page.get_by_role("button", name="Add date").click()
    expect(page.get_by_test_id("override")).to_contain_text("Christmas Eve")
    page.get_by_label("Date").fill((soon + timedelta(days=10)).isoformat())
    page.get_by_label("Closed through (optional)").fill((soon + timedelta(days=4)).isoformat())
    page.get_by_role("button", name="Add date").click()
    expect(page.get_by_role("alert").filter(has_text="before the first")).to_be_visible()
    page.get_by_label("Closed through (optional)").fill((soon + timedelta(days=16)).isoformat())
    page.get_by_label("Note").fill("Team retreat")
    page.get_by_role("button", name="Add date").click()
    away = page.get_by_test_id("override").filter(has_text="Team retreat")
    expect(away).to_contain_text("Closed · 7 days")
    expect(page.get_by_test_id("override")).to_have_count(2)
    away.get_by_role("button", name=re.compile("^Remove")).click()
    expect(page.get_by_test_id("override")).to_have_count(1)
    from backend.calendar.availability import list_overrides

    assert [o.day for o in list_overrides(ws)] == [soon]

    # Sync: an unreachable CalDAV server is refused with a reason; the ICS link is made once and serves the feed.
    page.goto(f"{base}/dashboard/calendar?tab=sync")
    page.get_by_label("CalDAV address").fill("http://127.0.0.1:9/dav/")
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill("secret")
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.get_by_role("alert")).to_be_visible(timeout=30000)
    expect(page.get_by_test_id("calendar-connection")).to_have_count(0)
    page.get_by_role("button", name="Create link").click()
    url = page.get_by_test_id("feed-url").inner_text()
    assert url.endswith(".ics")
    with urllib.request.urlopen(url.replace("localhost", "127.0.0.1")) as response:
        assert response.headers["Content-Type"].startswith("text/calendar")
        assert b"BEGIN:VCALENDAR" in response.read()

    # Google: the consent screen answers at once with a code. The browser that started the sign-in gets as far
    # as the token exchange (refused here); the same link followed in another browser is turned away before it.
    returned: list[str] = []

    def consent(route):
        query = {k: v[0] for k, v in parse_qs(urlparse(route.request.url).query).items()}
        back = f"{query['redirect_uri']}?{urlencode({'code': '4/0AbE2E', 'state': query['state']})}"
        returned.append(back)
        route.fulfill(status=302, headers={"Location": back})

    page.route(f"**{GOOGLE_CONSENT_PATH}**", consent)
    page.get_by_role("button", name="Connect Google Calendar").click()
    expect(page).to_have_url(re.compile(r"/dashboard/calendar/?\?tab=sync&calendar_error="), timeout=30000)
    expect(page.get_by_text("Google did not accept the sign-in")).to_be_visible(timeout=30000)
    other = browser.new_context().new_page()
    other.goto(returned[0])
    expect(other).to_have_url(re.compile("calendar_error=.*another"))
    other.context.close()
