"""Notices and reminders: the conversation message, e-mail with an .ics and a text through the outbox, reminders
sent once at the lead time (never for cancelled or pending bookings), and the in-process scheduler."""

from __future__ import annotations

import threading
import time as clock
from datetime import timedelta

from sqlmodel import select

from backend.calendar.booking import book_appointment, cancel_appointment, reschedule_appointment
from backend.calendar.reminders import send_due_reminders, send_reminder
from backend.db import session_scope
from backend.models import Appointment, Conversation, Message, OutboxMessage
from backend.providers.background import background_task, start_scheduler, stop_scheduler
from backend.providers.storage import get_storage
from tests.unit.calendar.test_booking import NOW, at, business, contact
from tests.unit.messaging_helpers import settle, settle_background  # noqa: F401


def conversation(ws: int, contact_id: int) -> int:
    with session_scope() as s:
        c = Conversation(workspace_id=ws, contact_id=contact_id)
        s.add(c)
        s.flush()
        return c.id


def outbox(ws: int) -> list[OutboxMessage]:
    settle()
    with session_scope() as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.workspace_id == ws)
                           .order_by(OutboxMessage.id)).all())


def system_messages(conversation_id: int) -> list[Message]:
    with session_scope() as s:
        return list(s.exec(select(Message).where(Message.conversation_id == conversation_id)
                           .order_by(Message.id)).all())


def test_a_chat_booking_is_confirmed_in_the_conversation_by_mail_with_ics_and_by_text(db):
    ws, service = business()
    jordan = contact(ws, first_name="Jordan", email="jordan@example.com")
    conv = conversation(ws, jordan)
    view = book_appointment(ws, service_id=service, starts_at=at(3, 9), conversation_id=conv, now=NOW)
    assert view.contact_id == jordan  # taken from the conversation

    [message] = system_messages(conv)
    assert message.sender == "system" and message.meta["appointment_id"] == view.id
    assert message.content == "Your appointment is booked: Check-up at Oak Dental, Thu 3 Dec, 09:00."
    with session_scope() as s:
        assert s.get(Conversation, conv).last_message_preview.startswith("Your appointment is booked")

    mail, sms = outbox(ws)
    assert (mail.channel, mail.to_address, sms.channel, sms.to_address) == ("email", "jordan@example.com", "sms",
                                                                            "+4915112345678")
    assert mail.subject == "Booked: Check-up, Thu 3 Dec, 09:00 (Oak Dental)" and "Hello Jordan," in mail.body
    [attachment] = mail.attachments
    assert (attachment["filename"], attachment["content_type"]) == ("appointment.ics", "text/calendar")
    ics = get_storage().get(attachment["storage_key"]).decode()
    assert "BEGIN:VEVENT" in ics and "METHOD:REQUEST" in ics and "DTSTART:20261203T080000Z" in ics
    assert f"appointment-{view.id}@" in ics
    assert sms.body.startswith("Oak Dental: Your appointment is booked")

    cancel_appointment(ws, view.id, by="customer", now=NOW)
    assert system_messages(conv)[-1].content.endswith("is cancelled.")
    cancel_mail = [m for m in outbox(ws) if m.channel == "email"][-1]
    assert "METHOD:CANCEL" in get_storage().get(cancel_mail.attachments[0]["storage_key"]).decode()


def test_no_contact_no_outbox_and_pending_requests_say_so(db):
    ws, service = business(require_confirmation=True)
    book_appointment(ws, service_id=service, starts_at=at(3, 9), now=NOW)
    assert outbox(ws) == []
    phone_only = contact(ws, phone="+4915199999999")
    conv = conversation(ws, phone_only)
    book_appointment(ws, service_id=service, starts_at=at(3, 10), conversation_id=conv, now=NOW)
    assert "We'll confirm it shortly" in system_messages(conv)[0].content
    assert [m.channel for m in outbox(ws)] == ["sms"]


def test_reminders_are_sent_once_at_the_lead_time(db):
    ws, service = business(reminder_lead_minutes=1440)
    who = contact(ws, email="a@example.com")
    conv = conversation(ws, who)
    due = book_appointment(ws, service_id=service, starts_at=at(3, 9), conversation_id=conv, now=NOW)
    gone = book_appointment(ws, service_id=service, starts_at=at(3, 10), contact_id=who, now=NOW)
    cancel_appointment(ws, gone.id, by="customer", now=NOW)
    sent_before = len(outbox(ws))

    assert send_due_reminders(now=(due.starts_at - timedelta(hours=25)).isoformat()) == 0
    assert send_due_reminders(now=(due.starts_at - timedelta(hours=23)).isoformat()) == 1
    assert send_due_reminders(now=(due.starts_at - timedelta(hours=22)).isoformat()) == 0  # once
    assert send_reminder(due.id, due.starts_at - timedelta(hours=1)) is False
    assert system_messages(conv)[-1].content == \
        "Reminder: your appointment for Check-up at Oak Dental is Thu 3 Dec, 09:00."
    new = outbox(ws)[sent_before:]
    assert [(m.channel, m.subject.split(":")[0]) for m in new] == [("email", "Reminder"), ("sms", "Reminder")]

    # moved: reminded again for the new time
    reschedule_appointment(ws, due.id, at(4, 9), by="owner", now=NOW)
    assert send_due_reminders(now=(at(4, 9) - timedelta(hours=2)).isoformat()) == 1


def test_no_reminder_for_pending_for_bookings_inside_the_lead_time_or_when_off(db):
    ws, service = business(require_confirmation=True, reminder_lead_minutes=1440 * 3)
    pending = book_appointment(ws, service_id=service, starts_at=at(7, 9), now=NOW)
    inside = book_appointment(ws, service_id=service, starts_at=at(1, 9), now=NOW, source="owner")
    with session_scope() as s:
        assert s.get(Appointment, inside.id).reminder_sent_at is not None  # its confirmation was the reminder
    assert send_due_reminders(now=(pending.starts_at - timedelta(hours=1)).isoformat()) == 0
    off_ws, off_service = business(slug="no-reminders", reminder_lead_minutes=0)
    booked = book_appointment(off_ws, service_id=off_service, starts_at=at(3, 9), now=NOW)
    assert send_due_reminders(now=(booked.starts_at - timedelta(minutes=5)).isoformat()) == 0


def test_two_runners_never_send_the_same_reminder_twice(db):
    ws, service = business()
    view = book_appointment(ws, service_id=service, starts_at=at(3, 9), contact_id=contact(ws), now=NOW)
    moment = view.starts_at - timedelta(hours=2)
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def run() -> None:
        barrier.wait()
        results.append(send_reminder(view.id, moment))

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False] * 5 + [True]


_ticks: list[float] = []


@background_task("test_calendar_tick")
def _tick() -> None:
    _ticks.append(clock.monotonic())


def test_scheduler_enqueues_periodic_tasks_and_starts_once():
    _ticks.clear()
    try:
        assert start_scheduler({"test_calendar_tick": 0.1}, tick_seconds=0.02) is True
        assert start_scheduler({"test_calendar_tick": 0.1}, tick_seconds=0.02) is False
        clock.sleep(0.45)
    finally:
        stop_scheduler()
    settle()
    count = len(_ticks)
    assert 3 <= count <= 6
    clock.sleep(0.2)
    assert len(_ticks) == count  # stopped
