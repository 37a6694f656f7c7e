"""Issue 15, findings 1 and 2: a browser that typed a customer's phone number but did not enter the texted code.

1. It may book new appointments, but never learns of, moves or cancels the ones made elsewhere (by chat, in the
   LLM's tool calls, or by the owner); it is offered the code instead. The name on file never reaches it.
2. A conversation it opens is marked; a session that proved the phone never writes into such a conversation, so
   the stranger never reads what the real customer writes later.

Everything goes through the service entry points a browser uses (identify, send, verify) and the real pipeline."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from backend.ai.dialogs.booking import SEND_CODE
from backend.calendar.availability import save_service, set_weekly_hours, update_booking_policy
from backend.calendar.booking import book_appointment, upcoming_for_contact
from backend.db import session_scope
from backend.messaging import inbox, portal
from backend.models import Conversation, Workspace
from backend.models.types import utcnow
from backend.providers.llm import LLMResult, ToolCall
from tests.unit.messaging_helpers import (
    last_code,
    make_workspace,
    settings_override,
    settle,
    settle_background,  # noqa: F401 - autouse fixture
)

TZ = "America/New_York"
PHONE = "+12125550147"


@pytest.fixture(autouse=True)
def codes_enough():
    """Several browsers of one number ask for codes here; the hourly limit is another test's subject."""
    with settings_override(verification_codes_per_hour=50, verification_codes_per_number_per_hour=50,
                           verification_codes_per_address_per_hour=50):
        yield


def _clinic():
    biz = make_workspace(slug="oak-dental", name="Oak Dental", ai=True)
    with session_scope() as s:
        ws = s.get(Workspace, biz.id)
        ws.timezone, ws.reply_policy = TZ, "auto_above_threshold"
    set_weekly_hours(biz.id, {day: [("08:00", "20:00")] for day in range(7)})
    update_booking_policy(biz.id, min_notice_minutes=0, max_advance_days=30, max_bookings_per_day=None,
                          require_confirmation=False, reminder_lead_minutes=0)
    return biz, save_service(biz.id, name="Check-up", duration_minutes=30)


def _tomorrow(hour: int) -> datetime:
    local = utcnow().astimezone(ZoneInfo(TZ)) + timedelta(days=1)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def _say(token: str, text: str):
    """The customer writes; the pipeline answers. Returns the assistant's latest reply as the portal shows it."""
    portal.send_customer_message(token, text)
    settle()
    return [v for v in portal.list_portal_messages(token) if v.sender == "assistant"][-1]


def _verified(slug: str, phone: str, first_name: str = "") -> portal.PortalIdentity:
    """A browser that proved it holds the phone."""
    identity = portal.identify_customer(slug, phone, first_name)
    portal.send_verification_code(identity.session_token)
    return portal.verify_code(identity.session_token, last_code(phone))


def _starts(contact_id: int, biz_id: int) -> list[datetime]:
    return [a.starts_at for a in upcoming_for_contact(biz_id, contact_id)]


def _reveals(text: str, hour: int) -> bool:
    return f"{hour:02d}:00" in text or "Check-up" in text or "Jordan" in text


# --- finding 1: appointments -----------------------------------------------------------------------------------


def test_a_stranger_who_skips_the_code_learns_nothing_of_the_appointment_and_cannot_change_it(db):
    biz, service = _clinic()
    jordan = _verified(biz.slug, PHONE, "Jordan")
    _say(jordan.session_token, "Hi, can I book a check-up tomorrow at 10am?")
    assert "booked" in _say(jordan.session_token, "Yes, book it").content.lower()
    assert _starts(jordan.contact_id, biz.id) == [_tomorrow(10)]

    stranger = portal.identify_customer(biz.slug, PHONE)
    assert stranger.needs_verification  # the page offers "Skip: start a new conversation"; they skip
    token = stranger.session_token
    for question in ("When is my appointment?", "Do I have an appointment?"):
        reply = _say(token, question)
        assert not _reveals(reply.content, 10), reply.content
        assert reply.choices == [SEND_CODE] and "code" in reply.content

    reply = _say(token, "I need to cancel my appointment")
    assert not _reveals(reply.content, 10) and reply.choices == [SEND_CODE], reply.content
    _say(token, "Yes, cancel it")
    reply = _say(token, "Could I reschedule my appointment to tomorrow at 3pm?")
    assert not _reveals(reply.content, 10) and SEND_CODE in reply.choices, reply.content
    assert _starts(jordan.contact_id, biz.id) == [_tomorrow(10)]  # nothing cancelled, nothing moved

    # Once this browser asks for the code and enters it, the same questions work.
    portal.send_verification_code(token)
    portal.verify_code(token, last_code(PHONE))
    reply = _say(token, "When is my appointment?")
    assert "Check-up" in reply.content and "10:00" in reply.content and reply.choices == []
    reply = _say(token, "I need to cancel my appointment")
    assert reply.content.startswith("Cancel your Check-up") and "10:00" in reply.content
    assert "cancelled" in _say(token, "Yes, cancel it").content
    assert _starts(jordan.contact_id, biz.id) == []


def test_an_unverified_browser_sees_and_cancels_what_it_booked_itself_and_nothing_else(db):
    biz, service = _clinic()
    first = portal.identify_customer(biz.slug, PHONE)
    # Booked by the owner on the phone: no conversation, nothing an unproven browser may see.
    book_appointment(biz.id, service_id=service.id, starts_at=_tomorrow(9), contact_id=first.contact_id,
                     source="owner")

    me = portal.identify_customer(biz.slug, PHONE)
    assert not me.needs_verification  # no conversation on file, so no code was texted
    _say(me.session_token, "Can I book a check-up tomorrow at 11am?")
    assert "booked" in _say(me.session_token, "Yes, book it").content.lower()

    reply = _say(me.session_token, "When is my appointment?")
    assert "11:00" in reply.content and "09:00" not in reply.content
    assert reply.choices == [SEND_CODE]  # others, if any, show after the code
    reply = _say(me.session_token, "Please cancel my appointment")
    assert reply.content.startswith("Cancel your Check-up") and "11:00" in reply.content, reply.content
    assert "cancelled" in _say(me.session_token, "Yes, cancel it").content
    assert _starts(me.contact_id, biz.id) == [_tomorrow(9)]


class _ScriptedLLM:
    """An OpenAI-compatible model that calls the given tools, one per round, then answers in words."""

    name = "scripted"

    def __init__(self, calls):
        self.calls = list(calls)
        self.tool_results: list[str] = []

    def complete(self, messages, tools=None, tool_choice=None, **_):
        self.tool_results += [m["content"] for m in messages if m.get("role") == "tool"][len(self.tool_results):]
        if self.calls and tools and tool_choice != "none":
            name, arguments = self.calls.pop(0)
            return LLMResult(text="", tool_calls=[ToolCall(id=f"call-{len(self.calls)}", name=name,
                                                           arguments=arguments)])
        return LLMResult(text="Let me know if there is anything else.")


def test_the_llm_tools_of_a_stranger_list_and_touch_nothing_booked_elsewhere(db, monkeypatch):
    biz, service = _clinic()
    jordan = _verified(biz.slug, PHONE, "Jordan")
    theirs = book_appointment(biz.id, service_id=service.id, starts_at=_tomorrow(10), contact_id=jordan.contact_id,
                              source="owner")
    stranger = portal.identify_customer(biz.slug, PHONE).session_token

    llm = _ScriptedLLM([("list_my_appointments", {}),
                        ("cancel_appointment", {"appointment_id": theirs.id}),
                        ("reschedule_appointment", {"appointment_id": theirs.id,
                                                    "starts_at": _tomorrow(15).isoformat()})])
    monkeypatch.setattr("backend.providers.llm.get_llm", lambda: llm)
    reply = _say(stranger, "Please cancel my appointment")
    listed, cancelled, moved = llm.tool_results
    assert '"appointments": []' in listed and "code" in listed and "10:00" not in listed
    assert '"error"' in cancelled and "code" in cancelled
    assert '"error"' in moved and "code" in moved
    assert reply.choices == [SEND_CODE]
    assert _starts(jordan.contact_id, biz.id) == [_tomorrow(10)]

    # The same calls from a browser that proved the phone act. (No code was texted on arrival: the number has
    # no conversation to hide, only an appointment the owner booked.)
    portal.send_verification_code(stranger)
    portal.verify_code(stranger, last_code(PHONE))
    llm = _ScriptedLLM([("list_my_appointments", {}), ("cancel_appointment", {"appointment_id": theirs.id})])
    monkeypatch.setattr("backend.providers.llm.get_llm", lambda: llm)
    _say(stranger, "Please cancel my appointment")
    listed, cancelled = llm.tool_results
    assert str(theirs.id) in listed and '"cancelled": true' in cancelled
    assert _starts(jordan.contact_id, biz.id) == []


def test_the_name_on_file_never_reaches_an_unverified_browser(db):
    biz, service = _clinic()
    jordan = _verified(biz.slug, PHONE, "Jordan")
    view = portal.send_customer_message(jordan.session_token, "Hello, it's me")
    assert view.sender_label == "You"  # the portal never labels a customer with the name on file
    # A contact the owner typed in, with no conversation yet: no code is asked, and still no name is told.
    book_appointment(biz.id, service_id=service.id, starts_at=_tomorrow(9), source="owner",
                     contact_id=portal.identify_customer(biz.slug, "+12125550148", "Jordan").contact_id)

    for phone in (PHONE, "+12125550148"):
        stranger = portal.identify_customer(biz.slug, phone)
        assert stranger.first_name == ""
        sent = portal.send_customer_message(stranger.session_token, "Hi, what's my name?")
        assert sent.sender_label == "You"
        settle()
        assert portal.resume_portal_session(biz.slug, stranger.session_token).first_name == ""
        seen = portal.list_portal_messages(stranger.session_token)
        assert seen and not any("Jordan" in (v.sender_label + v.content) for v in seen), seen


# --- finding 2: conversation planting ---------------------------------------------------------------------------


def test_a_conversation_opened_without_the_code_never_receives_what_a_verified_browser_writes(db):
    biz = make_workspace()
    jordan = _verified(biz.slug, PHONE, "Jordan")
    portal.send_customer_message(jordan.session_token, "An earlier question")
    earlier = portal.portal_conversation_id(jordan.session_token)

    stranger = portal.identify_customer(biz.slug, PHONE)
    planted = portal.send_customer_message(stranger.session_token, "Hi, it's me on a new phone").conversation_id
    assert planted != earlier

    # The real customer, on their own phone, proves the number and writes.
    phone = _verified(biz.slug, PHONE)
    assert phone.conversation_id == earlier  # the latest open conversation not opened by a stranger
    private = portal.send_customer_message(phone.session_token, "My test results, please")
    assert private.conversation_id == earlier

    assert [m.content for m in portal.list_portal_messages(stranger.session_token)] == ["Hi, it's me on a new phone"]
    assert portal.resume_portal_session(biz.slug, stranger.session_token).visible_conversation_ids == [planted]
    assert portal.portal_conversation_id(stranger.session_token) == planted

    # Even with nothing else open, a verified browser starts a conversation of its own rather than join that one.
    inbox.set_conversation_status(biz.id, earlier, "resolved")
    laptop = _verified(biz.slug, PHONE)
    assert laptop.conversation_id is None
    fresh = portal.send_customer_message(laptop.session_token, "Another private matter").conversation_id
    assert fresh not in (planted, earlier)
    assert "Another private matter" not in [m.content for m in portal.list_portal_messages(stranger.session_token)]

    by_id = {c.id: c for c in inbox.list_conversations(biz.id)}
    assert by_id[planted].opened_unverified and by_id[planted].as_dict()["opened_unverified"] is True
    assert not by_id[earlier].opened_unverified and not by_id[fresh].opened_unverified


def test_the_browser_that_opened_a_conversation_without_the_code_clears_the_mark_by_entering_it(db):
    biz = make_workspace()
    portal.send_customer_message(_verified(biz.slug, PHONE).session_token, "Earlier")
    me = portal.identify_customer(biz.slug, PHONE)
    mine = portal.send_customer_message(me.session_token, "From my new phone").conversation_id
    assert inbox.get_conversation(biz.id, mine).opened_unverified

    portal.send_verification_code(me.session_token)
    identity = portal.verify_code(me.session_token, last_code(PHONE))
    assert identity.conversation_id == mine  # it keeps talking where it was
    assert not inbox.get_conversation(biz.id, mine).opened_unverified
    with session_scope() as s:
        assert s.exec(select(Conversation.opened_unverified).where(Conversation.id == mine)).one() is False


@pytest.mark.parametrize("verified_first", [True, False])
def test_two_browsers_on_one_number_each_keep_their_own_thread(db, verified_first):
    """Whichever writes first, the unproven browser and the proven one never share a conversation."""
    biz = make_workspace()
    first = _verified(biz.slug, PHONE).session_token
    portal.send_customer_message(first, "Earlier")
    inbox.set_conversation_status(biz.id, portal.portal_conversation_id(first), "resolved")
    stranger = portal.identify_customer(biz.slug, PHONE).session_token
    owner_of_phone = _verified(biz.slug, PHONE).session_token
    order = [(owner_of_phone, "mine"), (stranger, "theirs")]
    for token, text in (order if verified_first else order[::-1]):
        portal.send_customer_message(token, text)
    for token, text in order:
        portal.send_customer_message(token, text + " again")
    assert [m.content for m in portal.list_portal_messages(stranger)] == ["theirs", "theirs again"]
    assert portal.portal_conversation_id(owner_of_phone) != portal.portal_conversation_id(stranger)
