"""The owner's contacts: listing, editing, merging two records of one person, and erasing a person."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from backend.db import session_scope
from backend.errors import AuthenticationError, NotFound, ServiceError
from backend.messaging import contacts, inbox, portal
from backend.models import (
    Appointment,
    AuditEvent,
    Contact,
    Conversation,
    Draft,
    Message,
    Notification,
    OutboxMessage,
    PortalSession,
    StoredFile,
    VerificationCode,
)
from backend.models.types import utcnow
from backend.providers.storage import get_storage
from tests.unit.messaging_helpers import (
    SAMPLES,
    make_workspace,
    settle,
    settle_background,  # noqa: F401 - autouse fixture
)

PHONE = "+12125550147"


def _customer(slug: str, phone: str, first_name: str = "", text: str | None = "Hello"):
    me = portal.identify_customer(slug, phone, first_name)
    if text:
        portal.send_customer_message(me.session_token, text)
    return me


def test_list_search_and_sort(db):
    biz = make_workspace()
    alice = _customer(biz.slug, "+12125550101", "alice")
    zed = _customer(biz.slug, "+16465550123", "Zed", text=None)
    nameless = _customer(biz.slug, "+12125550199", text=None)
    contacts.update_contact(biz.id, zed.contact_id, first_name="Zed", last_name="Young", email="ZED@Example.com",
                            notes="")
    with session_scope() as s:
        s.get(Contact, alice.contact_id).last_seen_at = utcnow() + timedelta(minutes=5)

    assert [c.id for c in contacts.list_contacts(biz.id)][0] == alice.contact_id
    assert [c.id for c in contacts.list_contacts(biz.id, sort="name")] == [
        alice.contact_id, zed.contact_id, nameless.contact_id]
    assert [c.id for c in contacts.list_contacts(biz.id, sort="created")] == [
        nameless.contact_id, zed.contact_id, alice.contact_id]
    assert [c.id for c in contacts.list_contacts(biz.id, sort="name", limit=1, offset=1)] == [zed.contact_id]

    def found(term):
        return {c.id for c in contacts.list_contacts(biz.id, search=term)}

    assert found("ALICE") == {alice.contact_id}
    assert found("zed young") == {zed.contact_id}
    assert found("zed@example") == {zed.contact_id}
    assert found("646-555") == {zed.contact_id}
    assert found("555") == {alice.contact_id, zed.contact_id, nameless.contact_id}
    with pytest.raises(ServiceError):
        contacts.list_contacts(biz.id, sort="shoe size")

    view = contacts.get_contact(biz.id, alice.contact_id)
    assert (view.display_name, view.conversation_count, view.phone) == ("alice", 1, "+12125550101")
    assert contacts.get_contact(biz.id, nameless.contact_id).display_name == "+12125550199"


def test_update_contact_validates_and_writes_nothing_on_bad_input(db):
    biz = make_workspace()
    me = _customer(biz.slug, PHONE, "Jordan")
    bad = [
        dict(first_name="x" * 81, last_name="", email="", notes=""),
        dict(first_name="Jo", last_name="x" * 81, email="", notes=""),
        dict(first_name="Jo", last_name="", email="not-an-email", notes=""),
        dict(first_name="Jo", last_name="", email="", notes="n" * 5001),
    ]
    for fields in bad:
        with pytest.raises(ServiceError):
            contacts.update_contact(biz.id, me.contact_id, **fields)
    assert contacts.get_contact(biz.id, me.contact_id).first_name == "Jordan"

    view = contacts.update_contact(biz.id, me.contact_id, first_name=" Jordan ", last_name="Reyes",
                                   email="Jordan@Example.com", notes="Prefers mornings", user_id=biz.owner_id)
    assert (view.display_name, view.email, view.notes) == ("Jordan Reyes", "jordan@example.com", "Prefers mornings")


def test_merge_moves_everything_fills_blanks_and_deletes_the_other(db):
    biz = make_workspace()
    keep = _customer(biz.slug, PHONE, text="From the mobile")
    other = _customer(biz.slug, "+12125550199", "Jordan", text="From the office phone")
    contacts.update_contact(biz.id, other.contact_id, first_name="Jordan", last_name="Reyes",
                            email="jordan@example.com", notes="VIP")
    returning = portal.identify_customer(biz.slug, "+12125550199")
    portal.send_verification_code(returning.session_token)  # a returning visit asked for a code
    with session_scope() as s:
        s.add(Appointment(workspace_id=biz.id, contact_id=other.contact_id, starts_at=utcnow(),
                          ends_at=utcnow() + timedelta(minutes=30)))

    merged = contacts.merge_contacts(biz.id, keep.contact_id, other.contact_id, user_id=biz.owner_id)
    assert (merged.id, merged.phone, merged.first_name, merged.last_name, merged.email) == (
        keep.contact_id, PHONE, "Jordan", "Reyes", "jordan@example.com")
    assert "VIP" in merged.notes and "+1 212-555-0199" in merged.notes
    assert merged.conversation_count == 2
    with session_scope() as s:
        assert s.get(Contact, other.contact_id) is None
        for model in (Conversation, PortalSession, Appointment, VerificationCode):
            assert {row.contact_id for row in s.exec(select(model))} == {keep.contact_id}, model.__name__
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "contact.merged")).one()
    # A browser of the merged contact that never passed a code keeps seeing only its own conversation.
    assert [m.content for m in portal.list_portal_messages(other.session_token)] == ["From the office phone"]
    assert portal.resume_portal_session(biz.slug, other.session_token).needs_verification

    with pytest.raises(ServiceError, match="two different contacts"):
        contacts.merge_contacts(biz.id, keep.contact_id, keep.contact_id)
    with pytest.raises(NotFound):
        contacts.merge_contacts(biz.id, keep.contact_id, other.contact_id)


def test_merge_refuses_a_contact_of_another_workspace(db):
    oak = make_workspace("oak-dental", "Oak Dental")
    elm = make_workspace("elm-salon", "Elm Salon")
    mine = _customer(oak.slug, PHONE)
    theirs = _customer(elm.slug, PHONE)
    with pytest.raises(NotFound):
        contacts.merge_contacts(oak.id, mine.contact_id, theirs.contact_id)
    with pytest.raises(NotFound):
        contacts.merge_contacts(elm.id, mine.contact_id, theirs.contact_id)
    assert contacts.get_contact(elm.id, theirs.contact_id).conversation_count == 1


def test_delete_contact_erases_the_person_and_their_files(db):
    biz = make_workspace()
    me = _customer(biz.slug, PHONE, "Jordan", text="Please delete me later")
    photo = portal.send_customer_file(me.session_token, "photo.png", SAMPLES["png"][1])
    cid = photo.conversation_id
    reply = inbox.send_owner_file(biz.id, cid, biz.owner_id, "form.pdf", SAMPLES["pdf"][1])
    with session_scope() as s:
        s.add(Draft(workspace_id=biz.id, conversation_id=cid, content="A draft reply"))
        keys = [f.storage_key for f in s.exec(select(StoredFile))]
    portal.identify_customer(biz.slug, PHONE)  # texts a code: an outbox row with the phone number
    bystander = _customer(biz.slug, "+12125550199", "Sam", text="I stay")
    storage = get_storage()
    assert len(keys) == 2 and all(storage.exists(k) for k in keys)

    contacts.delete_contact(biz.id, me.contact_id, user_id=biz.owner_id)

    assert not any(storage.exists(k) for k in keys)
    with session_scope() as s:
        assert s.get(Contact, me.contact_id) is None
        assert s.exec(select(Conversation).where(Conversation.id == cid)).all() == []
        assert s.exec(select(Message).where(Message.conversation_id == cid)).all() == []
        assert s.exec(select(Draft)).all() == [] and s.exec(select(StoredFile)).all() == []
        assert s.exec(select(Notification).where(Notification.conversation_id == cid)).all() == []
        assert s.exec(select(PortalSession).where(PortalSession.contact_id == me.contact_id)).all() == []
        assert s.exec(select(VerificationCode)).all() == []
        assert s.exec(select(OutboxMessage).where(OutboxMessage.to_address == PHONE)).all() == []
        audit = s.exec(select(AuditEvent).where(AuditEvent.action == "contact.deleted")).one()
    assert PHONE not in audit.detail and "Jordan" not in audit.detail and "2 file(s)" in audit.detail
    with pytest.raises(AuthenticationError):
        portal.list_portal_messages(me.session_token)
    with pytest.raises(NotFound):
        inbox.list_messages(biz.id, cid)
    assert reply.id not in {m.id for m in portal.list_portal_messages(bystander.session_token)}
    assert [c.contact_id for c in inbox.list_conversations(biz.id)] == [bystander.contact_id]


def test_list_contact_conversations(db):
    biz = make_workspace()
    me = _customer(biz.slug, PHONE, "Jordan", text="First")
    first = portal.portal_conversation_id(me.session_token)
    settle()  # the assistant's answer to "First" lands before the second conversation starts
    inbox.set_conversation_status(biz.id, first, "resolved")
    again = portal.identify_customer(biz.slug, PHONE)
    portal.send_customer_message(again.session_token, "Second")  # unverified: a conversation of its own
    rows = contacts.list_contact_conversations(biz.id, me.contact_id)
    assert len(rows) == 2 and rows[-1].id == first and {r.contact_id for r in rows} == {me.contact_id}
