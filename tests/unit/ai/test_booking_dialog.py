"""Booking in the conversation through the real pipeline: the customer books, picks an offered time, moves and
cancels by asking; the assistant offers free times as buttons and never books a taken time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from backend.calendar.availability import save_service, set_weekly_hours, update_booking_policy
from backend.calendar.booking import book_appointment, list_appointments, upcoming_for_contact
from backend.db import session_scope
from backend.messaging import portal
from backend.models import Conversation, Workspace
from backend.models.types import utcnow
from tests.unit.messaging_helpers import (
    last_code,
    make_workspace,
    settle,
    settle_background,  # noqa: F401 - autouse fixture
)

TZ = "America/New_York"


def _clinic():
    biz = make_workspace(slug="oak-dental", name="Oak Dental", ai=True)
    with session_scope() as s:
        ws = s.get(Workspace, biz.id)
        ws.timezone, ws.reply_policy = TZ, "auto_above_threshold"
    set_weekly_hours(biz.id, {day: [("08:00", "20:00")] for day in range(7)})
    update_booking_policy(biz.id, min_notice_minutes=0, max_advance_days=30, max_bookings_per_day=None,
                          require_confirmation=False, reminder_lead_minutes=0)
    service = save_service(biz.id, name="Check-up", duration_minutes=30)
    return biz, service


def _say(token: str, text: str):
    portal.send_customer_message(token, text)
    settle()
    views = portal.list_portal_messages(token)
    return [v for v in views if v.sender == "assistant"][-1], views


def _confirmed(slug: str, phone: str) -> portal.PortalIdentity:
    """A customer whose browser entered the texted code: the assistant may tell them of bookings the owner made."""
    identity = portal.identify_customer(slug, phone)
    portal.send_verification_code(identity.session_token)
    return portal.verify_code(identity.session_token, last_code(phone))


def _tomorrow(hour: int) -> datetime:
    local = utcnow().astimezone(ZoneInfo(TZ)) + timedelta(days=1)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def test_a_customer_books_by_asking_then_confirming(db):
    biz, service = _clinic()
    identity = portal.identify_customer(biz.slug, "+12025550140", first_name="Sam")
    reply, _ = _say(identity.session_token, "Hi, can I book a check-up tomorrow at 10am?")
    assert "free" in reply.content and reply.choices == ["Yes, book it", "Other times"]
    assert list_appointments(biz.id, utcnow(), utcnow() + timedelta(days=3)) == []  # nothing before the yes

    reply, views = _say(identity.session_token, "Yes, book it")
    assert "booked" in reply.content.lower()
    booked = upcoming_for_contact(biz.id, identity.contact_id)
    assert len(booked) == 1 and booked[0].starts_at == _tomorrow(10)
    assert booked[0].conversation_id == views[-1].conversation_id and booked[0].source == "chat"
    with session_scope() as s:
        assert s.get(Conversation, views[-1].conversation_id).assistant_state == {}  # the dialog is over


def test_without_a_time_the_nearest_free_times_are_offered_and_a_pick_books(db):
    biz, service = _clinic()
    token = portal.identify_customer(biz.slug, "+12025550141").session_token
    reply, _ = _say(token, "I'd like to make an appointment")
    assert len(reply.choices) == 4 and "Which one suits you?" in reply.content
    reply, _ = _say(token, reply.choices[1])
    assert "booked" in reply.content.lower()
    assert len(list_appointments(biz.id, utcnow(), utcnow() + timedelta(days=30))) == 1


def test_a_taken_time_is_never_booked_twice(db):
    biz, service = _clinic()
    book_appointment(biz.id, service_id=service.id, starts_at=_tomorrow(10), source="owner")
    token = portal.identify_customer(biz.slug, "+12025550142").session_token
    reply, _ = _say(token, "Can I book a check-up tomorrow at 10am?")
    assert "isn't available" in reply.content and reply.choices
    assert all("10:00" not in c or "Tomorrow" in c for c in reply.choices)
    reply, _ = _say(token, reply.choices[0])
    appointments = list_appointments(biz.id, utcnow(), utcnow() + timedelta(days=30))
    assert len(appointments) == 2
    a, b = sorted(appointments, key=lambda x: x.starts_at)
    assert a.ends_at <= b.starts_at  # no overlap


def test_moving_and_cancelling_by_just_asking(db):
    biz, service = _clinic()
    identity = portal.identify_customer(biz.slug, "+12025550143")
    token = identity.session_token
    _say(token, "Book me a check-up tomorrow at 10am please")
    _say(token, "yes")
    assert len(upcoming_for_contact(biz.id, identity.contact_id)) == 1

    reply, _ = _say(token, "Could I reschedule my appointment to tomorrow at 3pm?")
    assert reply.choices == ["Yes, book it", "Other times"], reply.content
    reply, _ = _say(token, "Yes, book it")
    assert "moved" in reply.content
    (moved,) = upcoming_for_contact(biz.id, identity.contact_id)
    assert moved.starts_at == _tomorrow(15)

    reply, _ = _say(token, "Actually I need to cancel my appointment")
    assert reply.content.startswith("Cancel your Check-up") and reply.choices == ["Yes, cancel it", "Keep it"]
    reply, _ = _say(token, "Yes, cancel it")
    assert "cancelled" in reply.content
    assert upcoming_for_contact(biz.id, identity.contact_id) == []
    with session_scope() as s:
        from backend.models import Appointment

        assert s.exec(select(Appointment.cancelled_by)).one() == "customer"


def test_the_llm_booking_tools_act_only_for_this_customer(db):
    from backend.ai.dialogs.booking import DialogContext
    from backend.ai.dialogs.booking_tools import BookingTools

    biz, service = _clinic()
    me = portal.identify_customer(biz.slug, "+12025550144")
    someone = portal.identify_customer(biz.slug, "+12025550145")
    theirs = book_appointment(biz.id, service_id=service.id, starts_at=_tomorrow(9), contact_id=someone.contact_id)
    tools = BookingTools(DialogContext(biz.id, None, me.contact_id, TZ, utcnow(), verified=True))

    assert tools.run("list_services", {})["services"][0]["name"] == "Check-up"
    free = tools.run("find_free_times", {"service_id": service.id, "date": _tomorrow(9).date().isoformat(),
                                         "time": "09:00"})["free_times"]
    assert free and all("09:00" not in f["label"] for f in free[:1])  # 09:00 is someone else's
    booked = tools.run("book_appointment", {"service_id": service.id, "starts_at": free[0]["starts_at"]})
    assert booked["booked"] and tools.action == "booked"
    assert [a["id"] for a in tools.run("list_my_appointments", {})["appointments"]] == [booked["appointment_id"]]

    # The model cannot touch another customer's appointment, nor book a taken time, nor call what is not a tool.
    assert "error" in tools.run("cancel_appointment", {"appointment_id": theirs.id})
    assert "error" in tools.run("book_appointment", {"service_id": service.id, "starts_at": _tomorrow(9).isoformat()})
    assert "error" in tools.run("drop_database", {})
    assert "error" in tools.run("book_appointment", {"service_id": service.id})  # missing argument
    assert "error" in tools.run("find_free_times", {"service_id": service.id, "date": "next week"})
    assert len(upcoming_for_contact(biz.id, someone.contact_id)) == 1


def test_a_customer_in_another_time_zone_sees_their_own_clock_too(db):
    biz, service = _clinic()
    identity = _confirmed(biz.slug, "+12025550146")
    assert portal.set_customer_timezone(identity.session_token, "Mars/Olympus") == ""  # ignored, not stored
    assert portal.set_customer_timezone(identity.session_token, "Europe/London") == "Europe/London"
    reply, _ = _say(identity.session_token, "Can I book a check-up tomorrow at 10am?")
    london = _tomorrow(10).astimezone(ZoneInfo("Europe/London"))
    assert f"({london:%H:%M} your time)" in reply.content
    reply, _ = _say(identity.session_token, "Yes, book it")
    assert f"({london:%H:%M} your time)" in reply.content and "booked" in reply.content


def test_an_ambiguous_day_is_asked_back_not_guessed(db):
    from backend.ai.dialogs import booking as booking_dialog
    from backend.ai.types import IntentResult
    from backend.ai.understanding.entities import extract_entities

    biz, service = _clinic()
    contact = portal.identify_customer(biz.slug, "+12025550147").contact_id
    wednesday = datetime(2026, 12, 2, 9, 0, tzinfo=ZoneInfo(TZ))
    ctx = booking_dialog.DialogContext(biz.id, None, contact, TZ, wednesday)
    book = IntentResult("book", 0.9)

    text = "Can I book a check-up next Thursday at 10am?"
    out = booking_dialog.handle(ctx, text, book, extract_entities(text, now=wednesday, timezone=TZ), {})
    assert out.choices == ["Thu 3 Dec", "Thu 10 Dec"] and out.action == ""
    state = booking_dialog.stamp(out.state, wednesday)

    text = "Thu 10 Dec"
    out = booking_dialog.handle(ctx, text, IntentResult("other", 0.3),
                                extract_entities(text, now=wednesday, timezone=TZ, requested=["date"]), state)
    assert out.choices == ["Yes, book it", "Other times"] and "Thu 10 Dec, 10:00" in out.text
    out = booking_dialog.handle(ctx, "yes", IntentResult("other", 0.3), [], booking_dialog.stamp(out.state, wednesday))
    assert out.action == "booked"
    (booked,) = upcoming_for_contact(biz.id, contact, now=wednesday)
    assert booked.starts_at == datetime(2026, 12, 10, 10, 0, tzinfo=ZoneInfo(TZ))


def test_next_week_offers_times_from_next_monday(db):
    biz, service = _clinic()
    token = portal.identify_customer(biz.slug, "+12025550148").session_token
    reply, _ = _say(token, "Can I book a check-up next week?")
    today = utcnow().astimezone(ZoneInfo(TZ)).date()
    monday = today + timedelta(days=7 - today.weekday())
    assert reply.choices and all(c.startswith(monday.strftime("%a ") + str(monday.day) + " ") for c in reply.choices)


def test_the_weekend_comes_from_the_entity_extractor(db):
    biz, service = _clinic()
    token = portal.identify_customer(biz.slug, "+12025550149").session_token
    from backend.ai.understanding.entities import extract_entities

    text = "Any time for a check-up next weekend?"
    (day,) = [e for e in extract_entities(text, now=utcnow(), timezone=TZ) if e.field == "date"]
    saturday = datetime.fromisoformat(day.value)
    assert saturday.weekday() == 5
    reply, _ = _say(token, text)
    assert reply.choices and reply.choices[0].startswith(saturday.strftime("%a ") + str(saturday.day) + " ")


def test_the_try_out_talks_through_a_booking_but_books_nothing(db):
    from backend.ai.playground import try_message

    biz, _service = _clinic()
    first = try_message(biz.id, "Can I book a check-up tomorrow at 10am?", use_llm=False)
    assert first["reply"]["kind"] == "booking" and first["choices"] == ["Yes, book it", "Other times"]
    assert first["assistant_state"]["booking"]["awaiting"] == "confirm" and first["booking_preview"] == ""

    # A question in between is answered by the composers and leaves the booking where it was.
    history = [{"sender": "customer", "text": first["text"]}, {"sender": "assistant", "text": first["reply"]["text"]}]
    aside = try_message(biz.id, "Do you accept my insurance?", history, use_llm=False,
                        assistant_state=first["assistant_state"])
    assert aside["reply"]["kind"] != "booking" and aside["assistant_state"] == first["assistant_state"]

    done = try_message(biz.id, "Yes, book it", history, use_llm=False, assistant_state=aside["assistant_state"])
    assert "booked" in done["reply"]["text"].lower() and done["assistant_state"] == {}
    assert done["booking_preview"].startswith("Would book Check-up, ")
    assert list_appointments(biz.id, utcnow() - timedelta(days=1), utcnow() + timedelta(days=3)) == []


def test_the_try_out_offers_real_free_times_and_says_when_the_owner_confirms(db):
    from backend.ai.playground import try_message

    biz, service = _clinic()
    update_booking_policy(biz.id, min_notice_minutes=0, max_advance_days=30, max_bookings_per_day=None,
                          require_confirmation=True, reminder_lead_minutes=0)
    book_appointment(biz.id, service_id=service.id, starts_at=_tomorrow(10), source="owner", title="Taken")
    offered = try_message(biz.id, "Can I book a check-up tomorrow at 10am?", use_llm=False)
    assert "isn't available" in offered["reply"]["text"] and offered["choices"]
    assert not any("10:00" in c and c.startswith(_tomorrow(10).strftime("%a")) for c in offered["choices"])
    picked = try_message(biz.id, offered["choices"][0], use_llm=False, assistant_state=offered["assistant_state"])
    assert "confirm" in picked["reply"]["text"]
    assert picked["booking_preview"].endswith("(waiting for your confirmation).")
    assert len(list_appointments(biz.id, utcnow() - timedelta(days=1), utcnow() + timedelta(days=3))) == 1


def test_a_part_of_the_day_narrows_the_offered_times(db):
    biz, service = _clinic()  # open 08:00-20:00 every day
    identity = portal.identify_customer(biz.slug, "+12025550141")
    reply, _ = _say(identity.session_token, "Can I book a check-up tomorrow afternoon?")
    hours = [int(c.split(", ")[-1][:2]) for c in reply.choices]
    assert reply.choices and all(12 <= h < 17 for h in hours), reply.choices

    # A busy afternoon: said so, and the day's other free times are offered instead.
    tomorrow = _tomorrow(12)
    for hour in range(12, 17):
        for minute in (0, 30):
            book_appointment(biz.id, service_id=service.id, starts_at=tomorrow.replace(hour=hour, minute=minute),
                             source="owner", title="Busy")
    other = portal.identify_customer(biz.slug, "+12025550142")
    reply, _ = _say(other.session_token, "Could I book a check-up tomorrow afternoon?")
    assert "nothing free in the afternoon" in reply.content and reply.choices
    assert all(not 12 <= int(c.split(", ")[-1][:2]) < 17 for c in reply.choices)

    third = portal.identify_customer(biz.slug, "+12025550149")
    reply, _ = _say(third.session_token, "can I come in at lunchtime the day after tomorrow for a check-up?")
    assert reply.choices and all("11:30" <= c.split(", ")[-1][:5] < "14:00" for c in reply.choices), reply.choices


def test_what_was_said_about_when_is_kept_while_the_service_is_asked(db):
    biz, _checkup = _clinic()
    save_service(biz.id, name="Teeth whitening", duration_minutes=60)
    identity = portal.identify_customer(biz.slug, "+12025550143")
    reply, _ = _say(identity.session_token, "Can I come in tomorrow at 10?")
    assert "Which service" in reply.content and set(reply.choices) == {"Check-up", "Teeth whitening"}
    reply, _ = _say(identity.session_token, "Teeth whitening")
    assert "is free for Teeth whitening" in reply.content and _tomorrow(10).strftime("%a") in reply.content

    # The service said in passing, written as one word, and a bound: "after 3pm" offers from 15:00 on.
    other = portal.identify_customer(biz.slug, "+12025550144")
    reply, _ = _say(other.session_token, "Is tomorrow after 3pm free for a checkup?")
    assert "Check-up" in reply.content and reply.choices
    assert all(int(c.split(", ")[-1][:2]) >= 15 for c in reply.choices), reply.choices


def test_a_customer_asks_when_their_appointment_is(db):
    biz, service = _clinic()
    identity = _confirmed(biz.slug, "+12025550145")
    reply, _ = _say(identity.session_token, "When is my appointment?")
    assert "don't see an upcoming appointment" in reply.content
    book_appointment(biz.id, service_id=service.id, starts_at=_tomorrow(9), contact_id=identity.contact_id,
                     source="owner")
    reply, _ = _say(identity.session_token, "what time is my appointment again?")
    label = _tomorrow(9).strftime("%a %-d %b, 09:00")
    assert reply.content == f"You're booked for Check-up on {label}." and reply.choices == []
    book_appointment(biz.id, service_id=service.id, starts_at=_tomorrow(15), contact_id=identity.contact_id,
                     source="owner")
    reply, _ = _say(identity.session_token, "Do I have any appointments?")
    assert reply.content.startswith("You have 2 upcoming appointments: Check-up on ") and "15:00" in reply.content


def test_moving_one_of_two_appointments_by_its_button_then_a_part_of_the_day(db):
    biz, service = _clinic()
    identity = _confirmed(biz.slug, "+12025550146")
    token = identity.session_token
    for hour in (10, 14):
        book_appointment(biz.id, service_id=service.id, starts_at=_tomorrow(hour), contact_id=identity.contact_id,
                         source="owner")
    reply, _ = _say(token, "I need to reschedule")
    assert reply.content == "Which appointment would you like to move?" and len(reply.choices) == 2
    reply, _ = _say(token, reply.choices[1])
    # The button named the appointment's own time: the assistant offers free times, it does not refuse that one.
    assert "isn't available" not in reply.content and reply.choices, reply.content

    # A thank-you in the middle is answered, and the question still stands.
    reply, _ = _say(token, "thanks!")
    assert reply.choices == [] and "Which" not in reply.content
    day_after = _tomorrow(9) + timedelta(days=1)
    reply, _ = _say(token, f"{day_after.strftime('%A')} morning")
    assert reply.choices and all(c.startswith(day_after.strftime("%a")) and int(c.split(", ")[-1][:2]) < 12
                                 for c in reply.choices), reply.choices
    reply, _ = _say(token, reply.choices[0])
    assert "moved" in reply.content
    starts = sorted(a.starts_at for a in upcoming_for_contact(biz.id, identity.contact_id))
    assert starts[0] == _tomorrow(10) and starts[1].date() == day_after.date()  # the 14:00 one moved


def test_naming_another_service_switches_and_a_bare_yes_to_several_times_is_asked_back(db):
    biz, checkup = _clinic()
    save_service(biz.id, name="Teeth whitening", duration_minutes=60)
    identity = portal.identify_customer(biz.slug, "+12025550147")
    token = identity.session_token
    book_appointment(biz.id, service_id=checkup.id, starts_at=_tomorrow(10), source="owner", title="Taken")
    reply, _ = _say(token, "Can I book a check-up tomorrow at 10?")
    assert "isn't available" in reply.content and len(reply.choices) > 1
    offered = reply.choices
    reply, _ = _say(token, "yes")
    assert reply.content == "Which of these times suits you?" and reply.choices == offered
    reply, _ = _say(token, "actually make it a teeth whitening tomorrow at 16:00")
    assert "is free for Teeth whitening" in reply.content, reply.content


def test_the_owner_sees_that_the_booking_dialog_answered(db):
    from backend.models import AIRun

    biz, _service = _clinic()
    identity = portal.identify_customer(biz.slug, "+12025550148")
    _say(identity.session_token, "Can I book a check-up tomorrow at 10am?")
    with session_scope() as s:
        run = s.exec(select(AIRun).where(AIRun.workspace_id == biz.id)).one()
    assert (run.action, run.reason, run.reply_kind) == ("send", "the booking dialog answered from the calendar",
                                                        "booking")


def test_tonight_in_the_small_hours_is_after_midnight(db):
    from backend.ai.dialogs import booking as booking_dialog
    from backend.ai.types import IntentResult
    from backend.ai.understanding.entities import extract_entities

    biz, service = _clinic()
    set_weekly_hours(biz.id, {day: [("18:00", "03:00")] for day in range(7)})  # a bar
    tz = ZoneInfo(TZ)
    now = (utcnow().astimezone(tz) + timedelta(days=1)).replace(hour=20, minute=0, second=0, microsecond=0)
    text = "Can I book a check-up tonight at 1am?"
    entities = extract_entities(text, now=now, timezone=TZ)
    ctx = booking_dialog.DialogContext(biz.id, None, None, TZ, now, dry_run=True)
    out = booking_dialog.handle(ctx, text, IntentResult("book", 0.9), entities, {})
    after_midnight = (now + timedelta(days=1)).replace(hour=1)
    assert out.text.startswith(f"{after_midnight.strftime('%a %-d %b')}, 01:00 is free"), out.text
