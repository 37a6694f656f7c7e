"""The ICS subscription feed behind a secret URL, ICS writing and tolerant reading, and stored-secret encryption."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import icalendar
import pytest
from fastapi.testclient import TestClient

from backend.api.app import create_api
from backend.calendar import feed
from backend.calendar.ics import event_ics, feed_ics, parse_busy
from backend.db import session_scope
from backend.models import Workspace
from backend.security import SecretDecryptionError, decrypt_secret, encrypt_secret, mask_secret
from tests.unit.calendar_helpers import add_appointment, at
from tests.unit.messaging_helpers import make_workspace, settings_override

UTC = timezone.utc


def _token(url: str) -> str:
    return url.rsplit("/", 1)[-1].removesuffix(".ics")


def _events(ics_text: str) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(ics_text)
    return {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}


# --- the feed ----------------------------------------------------------------------------------------------


def test_feed_lists_upcoming_and_recent_live_appointments_as_valid_ics(db):
    biz = make_workspace()
    add_appointment(biz.id, at(2, 14), 45, customer="Jordan Lee", service="Haircut", notes="Likes it short")
    add_appointment(biz.id, at(-3, 9), 30, customer="Ana Park", service="Beard trim")
    add_appointment(biz.id, at(3, 10), 30, customer="Sam Cancel", status="cancelled")
    add_appointment(biz.id, at(-90, 10), 30, customer="Old Timer")  # long past: not in the feed
    add_appointment(biz.id, at(4, 16), 30, customer="Pat Pending", status="pending")

    url = feed.feed_url(biz.id)
    assert url.startswith("http://localhost:3000/calendar/feed/") and url.endswith(".ics")
    body = TestClient(create_api()).get(url.removeprefix("http://localhost:3000"))
    assert body.status_code == 200 and body.headers["content-type"].startswith("text/calendar")

    cal = icalendar.Calendar.from_ical(body.text)
    assert str(cal["X-WR-CALNAME"]) == "Oak Dental – appointments"
    events = _events(body.text)
    assert set(events) == {"Haircut – Jordan Lee", "Beard trim – Ana Park", "Haircut – Pat Pending"}
    haircut = events["Haircut – Jordan Lee"]
    assert haircut["DTSTART"].dt == at(2, 14) and haircut["DTEND"].dt == at(2, 14, 45)
    assert "Likes it short" in str(haircut["DESCRIPTION"]) and str(haircut["STATUS"]) == "CONFIRMED"
    assert str(events["Haircut – Pat Pending"]["STATUS"]) == "TENTATIVE"
    assert str(haircut["UID"]).startswith("appointment-") and len({str(e["UID"]) for e in events.values()}) == 3


def test_unknown_rotated_and_other_workspaces_tokens_get_404_and_no_data(sqlite_db):
    oak = make_workspace()
    elm = make_workspace(slug="elm-salon", name="Elm Salon")
    add_appointment(oak.id, at(1, 10), customer="Oak Customer")
    add_appointment(elm.id, at(1, 11), customer="Elm Customer")
    client = TestClient(create_api())

    assert client.get("/calendar/feed/nope.ics").status_code == 404
    assert client.get("/calendar/feed/.ics").status_code == 404
    with session_scope() as s:  # an unset token (empty hash) must never match an empty-ish token
        assert s.get(Workspace, elm.id).ics_feed_token_hash == ""

    oak_url = feed.feed_url(oak.id)
    elm_url = feed.feed_url(elm.id)
    oak_path, elm_path = (u.removeprefix("http://localhost:3000") for u in (oak_url, elm_url))
    assert set(_events(client.get(oak_path).text)) == {"Haircut – Oak Customer"}
    assert set(_events(client.get(elm_path).text)) == {"Haircut – Elm Customer"}

    with session_scope() as s:  # only the hash is stored
        stored = s.get(Workspace, oak.id).ics_feed_token_hash
    assert len(stored) == 64 and _token(oak_url) not in stored

    new_url = feed.rotate_feed_token(oak.id)
    assert new_url != oak_url
    gone = client.get(oak_path)
    assert gone.status_code == 404 and "Oak" not in gone.text
    assert client.get(new_url.removeprefix("http://localhost:3000")).status_code == 200
    assert client.get(elm_path).status_code == 200  # rotating one workspace leaves the other alone

    feed.disable_feed(oak.id)
    assert client.get(new_url.removeprefix("http://localhost:3000")).status_code == 404
    with pytest.raises(feed.FeedNotFound):
        feed.feed_for_token("")


# --- writing and reading ICS ---------------------------------------------------------------------------------


def test_event_ics_escapes_folds_and_round_trips():
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    text = event_ics(uid="appointment-7@frontdesk.appointments", summary="Cut, color; and \\ more",
                     starts_at=start, ends_at=start + timedelta(minutes=90),
                     description="Line one\nLine two " + "x" * 120,
                     location="Main St. 1, Springfield", sequence=3, method="REQUEST")
    assert "SUMMARY:Cut\\, color\\; and \\\\ more" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n")), "lines are folded at 75 octets"
    assert "METHOD:REQUEST" in text and "DTSTART:20261201T090000Z" in text
    event = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Cut, color; and \\ more"
    assert str(event["DESCRIPTION"]).startswith("Line one\nLine two")
    assert event["SEQUENCE"] == 3 and event["DTEND"].dt == start + timedelta(minutes=90)
    with pytest.raises(ValueError):
        event_ics(uid="x", summary="s", starts_at=start, ends_at=start)
    with pytest.raises(ValueError):
        event_ics(uid="x", summary="s", starts_at=start.replace(tzinfo=None), ends_at=start + timedelta(hours=1))
    assert feed_ics("Empty", []).startswith("BEGIN:VCALENDAR")


BROKEN_AND_TRICKY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Someone else//EN
BEGIN:VEVENT
UID:broken-date
DTSTART:2026notadate
DTEND:20261201T100000Z
END:VEVENT
BEGIN:VEVENT
UID:broken-rule
DTSTART:20261201T090000Z
DTEND:20261201T100000Z
RRULE:FREQ=BOGUS
END:VEVENT
BEGIN:VEVENT
UID:weekly-standup
DTSTART;TZID=Europe/Berlin:20261130T090000
DTEND;TZID=Europe/Berlin:20261130T100000
RRULE:FREQ=DAILY;COUNT=5
EXDATE;TZID=Europe/Berlin:20261202T090000
END:VEVENT
BEGIN:VEVENT
UID:weekly-standup
RECURRENCE-ID;TZID=Europe/Berlin:20261203T090000
DTSTART;TZID=Europe/Berlin:20261203T150000
DTEND;TZID=Europe/Berlin:20261203T160000
END:VEVENT
BEGIN:VEVENT
UID:holiday
DTSTART;VALUE=DATE:20261205
DTEND;VALUE=DATE:20261206
END:VEVENT
BEGIN:VEVENT
UID:free-lunch
DTSTART:20261201T120000Z
DTEND:20261201T130000Z
TRANSP:TRANSPARENT
END:VEVENT
BEGIN:VEVENT
UID:called-off
DTSTART:20261201T140000Z
DTEND:20261201T150000Z
STATUS:CANCELLED
END:VEVENT
BEGIN:VEVENT
UID:appointment-5@frontdesk.appointments
DTSTART:20261201T160000Z
DTEND:20261201T170000Z
END:VEVENT
END:VCALENDAR
"""


def test_parse_busy_skips_broken_components_and_reads_the_rest():
    busy = parse_busy(BROKEN_AND_TRICKY, start=datetime(2026, 12, 1, tzinfo=UTC), end=datetime(2026, 12, 8, tzinfo=UTC),
                      tz="America/New_York", exclude_uid=lambda uid: uid.startswith("appointment-"))
    assert busy.skipped == 2  # the bad date and the bad rule; the rest of the calendar still counts
    assert busy == [
        (datetime(2026, 12, 1, 8, tzinfo=UTC), datetime(2026, 12, 1, 9, tzinfo=UTC)),  # Berlin 09:00, daily
        # 2 Dec excluded by EXDATE; 3 Dec moved to 15:00 Berlin
        (datetime(2026, 12, 3, 14, tzinfo=UTC), datetime(2026, 12, 3, 15, tzinfo=UTC)),
        (datetime(2026, 12, 4, 8, tzinfo=UTC), datetime(2026, 12, 4, 9, tzinfo=UTC)),
        # the all-day holiday is a whole day in the business's zone (New York: UTC-5)
        (datetime(2026, 12, 5, 5, tzinfo=UTC), datetime(2026, 12, 6, 5, tzinfo=UTC)),
    ]
    not_ics = parse_busy("this is not a calendar", start=datetime(2026, 12, 1, tzinfo=UTC),
                         end=datetime(2026, 12, 2, tzinfo=UTC))
    assert not_ics == [] and not_ics.skipped == 1


# --- secrets -------------------------------------------------------------------------------------------------


def test_secrets_round_trip_fail_with_another_key_and_mask():
    with settings_override(secret_key="first-key-" + "a" * 30):
        token = encrypt_secret("hunter2-calendar")
        assert "hunter2" not in token and decrypt_secret(token) == "hunter2-calendar"
        assert encrypt_secret("hunter2-calendar") != token  # a fresh IV each time
    with settings_override(secret_key="second-key-" + "b" * 30):
        with pytest.raises(SecretDecryptionError):
            decrypt_secret(token)
    with settings_override(secret_key="first-key-" + "a" * 30, encryption_key="a separate encryption key"):
        with pytest.raises(SecretDecryptionError):  # ASSISTANT_ENCRYPTION_KEY overrides the derived key
            decrypt_secret(token)
        assert decrypt_secret(encrypt_secret("x")) == "x"
    with pytest.raises(SecretDecryptionError):
        decrypt_secret("not-a-fernet-token")
    assert mask_secret("ya29.a0AfB_byC3f9a") == "••••3f9a"
    assert mask_secret("short") == "••••" and mask_secret("") == ""
