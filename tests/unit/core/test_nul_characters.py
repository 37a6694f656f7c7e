"""A NUL character (U+0000) typed or pasted into the dashboard is dropped, never a database error: PostgreSQL
refuses it in text, SQLite would store it. Through each service that takes free text from the owner."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlmodel import select

from backend.calendar.availability import list_services, save_service
from backend.calendar.booking import block_time
from backend.db import session_scope
from backend.messaging import contacts, inbox, portal
from backend.models import Appointment, Contact, Conversation
from tests.unit.messaging_helpers import (
    make_workspace,
    settle_background,  # noqa: F401 - autouse fixture
)


def test_nul_in_search_titles_names_and_services_is_dropped(db):
    biz = make_workspace()
    me = portal.identify_customer(biz.slug, "+12125550147", "Ana")
    conversation_id = portal.send_customer_message(me.session_token, "Hello").conversation_id

    assert [c.id for c in inbox.list_conversations(biz.id, search="An\x00a")] == [conversation_id]
    assert [c.id for c in inbox.list_conversations(biz.id, search="\x00")] == [conversation_id]
    inbox.set_conversation_title(biz.id, conversation_id, "Tooth\x00ache")
    contacts.update_contact(biz.id, me.contact_id, first_name="An\x00a", last_name="Lee", email="", notes="x\x00y")
    save_service(biz.id, name="Clean\x00ing", duration_minutes=30)
    block_time(biz.id, "2026-12-01T10:00:00+00:00", "2026-12-01T11:00:00+00:00", title="Lunch\x00",
               now=datetime(2026, 11, 30, tzinfo=timezone.utc))

    with session_scope() as s:
        assert s.get(Conversation, conversation_id).title == "Toothache"
        contact = s.get(Contact, me.contact_id)
        assert (contact.first_name, contact.notes) == ("Ana", "xy")
        assert s.exec(select(Appointment.title).where(Appointment.workspace_id == biz.id)).one() == "Lunch"
    assert [v.name for v in list_services(biz.id)] == ["Cleaning"]
    assert [c.id for c in contacts.list_contacts(biz.id, search="An\x00a")] == [me.contact_id]
