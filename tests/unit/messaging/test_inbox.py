"""The owner's inbox: listing and searching conversations, replying, status and title, and refusing every id
that belongs to another workspace."""

from __future__ import annotations

import pytest
from sqlmodel import select

from backend.db import session_scope
from backend.errors import NotFound, PermissionDenied, ServiceError
from backend.messaging import contacts, inbox, portal
from backend.messaging.files import file_url_for_owner
from backend.models import AuditEvent, Message
from tests.unit.messaging_helpers import (
    SAMPLES,
    make_workspace,
    settle_background,  # noqa: F401 - autouse fixture
)

PHONE = "+12125550147"


def _chat(slug: str, phone: str, text: str, first_name: str = "") -> int:
    me = portal.identify_customer(slug, phone, first_name)
    return portal.send_customer_message(me.session_token, text).conversation_id


def test_conversations_are_listed_newest_activity_first_with_unread_counts(db):
    biz = make_workspace()
    a = _chat(biz.slug, "+12125550101", "Hello from A", "Alice")
    b = _chat(biz.slug, "+12125550102", "Hello from B", "Bob")
    assert [c.id for c in inbox.list_conversations(biz.id)] == [b, a]
    inbox.send_owner_reply(biz.id, a, biz.owner_id, "Hi Alice")
    rows = inbox.list_conversations(biz.id)
    assert [c.id for c in rows] == [a, b]
    assert (rows[0].contact_name, rows[0].contact_phone, rows[0].last_message_preview) == (
        "Alice", "+12125550101", "Hi Alice")
    assert rows[0].unread == 1  # replying does not mark the customer's message read; opening it does
    assert inbox.unread_conversation_count(biz.id) == 2
    inbox.mark_conversation_read(biz.id, a, biz.owner_id)
    assert inbox.unread_conversation_count(biz.id) == 1


def test_search_covers_names_phones_titles_and_message_text_case_insensitively(db):
    biz = make_workspace()
    a = _chat(biz.slug, "+12125550101", "Do you take DELTA dental?", "Alice")
    b = _chat(biz.slug, "+16465550123", "Crown came off", "Bob")
    inbox.set_conversation_title(biz.id, b, "Emergency crown")
    contacts.update_contact(biz.id, inbox.get_conversation(biz.id, b).contact_id, first_name="Bob",
                            last_name="O'Connor", email="bob@example.com", notes="")

    def found(term):
        return {c.id for c in inbox.list_conversations(biz.id, search=term)}

    assert found("delta") == {a}
    assert found("ALICE") == {a}
    assert found("bob o'connor") == {b}
    assert found("emergency") == {b}
    assert found("(646) 555") == {b}
    assert found("BOB@EXAMPLE") == {b}
    assert found("100%") == set()  # wildcards are matched literally
    assert found("") == {a, b}
    assert {c.id for c in inbox.list_conversations(biz.id, status="open")} == {a, b}
    with pytest.raises(ServiceError):
        inbox.list_conversations(biz.id, status="archived")


def test_owner_replies_follow_the_text_rules_and_carry_the_owner_name(db):
    biz = make_workspace()
    cid = _chat(biz.slug, PHONE, "Hi")
    with pytest.raises(ServiceError, match="Write a message"):
        inbox.send_owner_reply(biz.id, cid, biz.owner_id, "   ")
    with pytest.raises(ServiceError, match="at most 4,000"):
        inbox.send_owner_reply(biz.id, cid, biz.owner_id, "x" * 4001)
    reply = inbox.send_owner_reply(biz.id, cid, biz.owner_id, "  <i>Welcome</i>  ")
    assert (reply.sender, reply.sender_label, reply.content, reply.ai_generated) == (
        "owner", "Ana Ruiz", "<i>Welcome</i>", False)
    assert [m.content for m in inbox.list_messages(biz.id, cid)] == ["Hi", "<i>Welcome</i>"]
    assert [m.id for m in inbox.list_messages(biz.id, cid, after_id=reply.id - 1)] == [reply.id]


def test_owner_files_are_checked_and_linked(db):
    biz = make_workspace()
    cid = _chat(biz.slug, PHONE, "Can you send the form?")
    sent = inbox.send_owner_file(biz.id, cid, biz.owner_id, "form.pdf", SAMPLES["pdf"][1])
    assert (sent.type, sent.file["kind"], sent.file["content_type"]) == ("file", "file", "application/pdf")
    assert "sig=" in file_url_for_owner(biz.id, sent.file["id"])
    with pytest.raises(ServiceError, match="Programs"):
        inbox.send_owner_file(biz.id, cid, biz.owner_id, "virus.exe", b"MZ\x90\x00" + b"\x00" * 100)
    assert inbox.get_conversation(biz.id, cid).last_message_preview == "File: form.pdf"


def test_status_and_title_changes(db):
    biz = make_workspace()
    cid = _chat(biz.slug, PHONE, "Hi")
    resolved = inbox.set_conversation_status(biz.id, cid, "resolved", user_id=biz.owner_id)
    assert resolved.status == "resolved" and resolved.resolved_at
    pending = inbox.set_conversation_status(biz.id, cid, "pending")
    assert pending.status == "pending" and pending.resolved_at == ""
    with pytest.raises(ServiceError) as err:
        inbox.set_conversation_status(biz.id, cid, "closed")
    assert err.value.field == "status"

    assert inbox.set_conversation_title(biz.id, cid, "  Crown   repair ").title == "Crown repair"
    with pytest.raises(ServiceError, match="at most 200"):
        inbox.set_conversation_title(biz.id, cid, "x" * 201)
    assert inbox.get_conversation(biz.id, cid).title == "Crown repair"
    with session_scope() as s:
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "conversation.status")).all()) == 2


def test_another_workspaces_ids_are_not_found(db):
    oak = make_workspace("oak-dental", "Oak Dental")
    elm = make_workspace("elm-salon", "Elm Salon")
    cid = _chat(oak.slug, PHONE, "Private to Oak")
    photo = portal.send_customer_file(portal.identify_customer(oak.slug, "+12125550199").session_token,
                                      "photo.png", SAMPLES["png"][1])
    contact_id = inbox.get_conversation(oak.id, cid).contact_id
    message_id = inbox.list_messages(oak.id, cid)[0].id

    elm_owner = elm.owner_id
    refused = [
        lambda: inbox.get_conversation(elm.id, cid),
        lambda: inbox.list_messages(elm.id, cid),
        lambda: inbox.set_conversation_status(elm.id, cid, "resolved"),
        lambda: inbox.set_conversation_title(elm.id, cid, "mine now"),
        lambda: inbox.mark_conversation_read(elm.id, cid, elm_owner),
        lambda: inbox.owner_typing(elm.id, cid, elm_owner),
        lambda: inbox.send_owner_reply(elm.id, cid, elm_owner, "hello"),
        lambda: inbox.send_owner_file(elm.id, cid, elm_owner, "form.pdf", SAMPLES["pdf"][1]),
        lambda: file_url_for_owner(elm.id, photo.file["id"]),
        lambda: contacts.get_contact(elm.id, contact_id),
        lambda: contacts.update_contact(elm.id, contact_id, first_name="X", last_name="", email="", notes=""),
        lambda: contacts.delete_contact(elm.id, contact_id),
        lambda: contacts.list_contact_conversations(elm.id, contact_id),
    ]
    for attempt in refused:
        with pytest.raises(NotFound):
            attempt()
    assert inbox.mark_delivered_to_owner(elm.id, [message_id]) == []
    assert inbox.list_conversations(elm.id) == [] and inbox.unread_conversation_count(elm.id) == 0
    assert contacts.list_contacts(elm.id) == []
    with session_scope() as s:
        assert [m.content for m in s.exec(select(Message).where(Message.conversation_id == cid))] == [
            "Private to Oak"]


def test_a_user_who_is_not_a_member_cannot_act_in_the_workspace(db):
    oak = make_workspace("oak-dental", "Oak Dental")
    elm = make_workspace("elm-salon", "Elm Salon")
    cid = _chat(oak.slug, PHONE, "Hi")
    with pytest.raises(PermissionDenied):
        inbox.send_owner_reply(oak.id, cid, elm.owner_id, "I am not from here")
    with pytest.raises(PermissionDenied):
        inbox.mark_conversation_read(oak.id, cid, elm.owner_id)
    assert [m.content for m in inbox.list_messages(oak.id, cid)] == ["Hi"]


def test_status_and_title_change_together_or_not_at_all(db):
    biz = make_workspace()
    cid = _chat(biz.slug, PHONE, "Hi")
    both = inbox.update_conversation(biz.id, cid, status="resolved", title="  Crown  ")
    assert (both.status, both.title) == ("resolved", "Crown") and both.resolved_at
    with pytest.raises(ServiceError) as err:
        inbox.update_conversation(biz.id, cid, status="pending", title="x" * 201)
    assert err.value.field == "title"
    with pytest.raises(ServiceError) as err:
        inbox.update_conversation(biz.id, cid, status="closed", title="New title")
    assert err.value.field == "status"
    unchanged = inbox.get_conversation(biz.id, cid)
    assert (unchanged.status, unchanged.title) == ("resolved", "Crown")
    assert inbox.update_conversation(biz.id, cid) == unchanged  # nothing asked, nothing changed
    with session_scope() as s:
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "conversation.status")).all()) == 1


def test_a_reply_through_the_api_is_sent_as_the_business_and_labelled_with_the_token(db):
    biz = make_workspace()
    me = portal.identify_customer(biz.slug, PHONE)
    cid = portal.send_customer_message(me.session_token, "Hi").conversation_id
    with pytest.raises(ServiceError, match="Write a message"):
        inbox.send_api_reply(biz.id, cid, "  ", api_token_id=7, api_token_name="Zapier")
    reply = inbox.send_api_reply(biz.id, cid, " Thanks! ", api_token_id=7, api_token_name="Zapier")
    assert (reply.sender, reply.sender_label, reply.content) == ("owner", "Zapier (API)", "Thanks!")
    assert [m.sender_label for m in inbox.list_messages(biz.id, cid)][-1] == "Zapier (API)"
    assert portal.list_portal_messages(me.session_token)[-1].sender_label == "Zapier (API)"
    with session_scope() as s:
        row = s.get(Message, reply.id)
        assert (row.sender_user_id, row.meta) == (None, {"api_token_id": 7, "api_token_name": "Zapier"})
    assert inbox.get_conversation(biz.id, cid).last_message_preview == "Thanks!"
