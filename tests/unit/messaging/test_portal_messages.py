"""Customers writing on the portal: the text rules, the rate limit, which conversation a message joins, who
sees what, and delivery/read receipts in both directions."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from backend.core.formatting import iso
from backend.db import session_scope
from backend.errors import AuthenticationError, NotFound, RateLimited, ServiceError
from backend.messaging import inbox, portal
from backend.messaging.files import file_url_for_customer, file_url_for_owner
from backend.models import Conversation, Message, StoredFile
from backend.models.types import utcnow
from backend.providers.storage import get_storage
from tests.unit.messaging_helpers import (
    SAMPLES,
    last_code,
    make_workspace,
    settings_override,
    settle_background,  # noqa: F401 - autouse fixture
)

PHONE = "+12125550147"


def _conversations() -> list[Conversation]:
    with session_scope() as s:
        return list(s.exec(select(Conversation).order_by(Conversation.id)).all())


def test_a_message_is_stored_as_typed_and_opens_a_conversation(db):
    biz = make_workspace()
    me = portal.identify_customer(biz.slug, PHONE, "Jordan")
    html = "  <b>Hi</b> <script>alert('x')</script> & thanks  "
    view = portal.send_customer_message(me.session_token, html)
    assert view.content == html.strip()  # HTML is data, kept exactly; pages render it as text
    # The portal labels the customer's own messages "You": it never sends the name on file to a browser.
    assert (view.sender, view.type, view.status, view.sender_label) == ("customer", "text", "sent", "You")
    assert inbox.list_messages(biz.id, view.conversation_id)[0].sender_label == "Jordan"  # the owner sees it
    assert view.created_at.endswith("Z") and view.file is None
    assert json.loads(json.dumps(view.as_dict()))["sender"] == "customer"
    assert {type(view.sender), type(view.type), type(view.status)} == {str}

    [conversation] = _conversations()
    assert view.conversation_id == conversation.id
    assert (conversation.status, conversation.unread_for_owner) == ("open", 1)
    assert conversation.last_message_preview.startswith("<b>Hi</b>")
    assert iso(conversation.last_message_at) == view.created_at
    assert portal.portal_conversation_id(me.session_token) == conversation.id
    assert portal.resume_portal_session(biz.slug, me.session_token).conversation_id == conversation.id


@pytest.mark.parametrize("text,fragment", [("", "Write a message"), ("   \n\t ", "Write a message"),
                                           ("x" * 4001, "at most 4,000 characters; this one has 4,001")])
def test_empty_and_overlong_messages_are_refused_and_store_nothing(db, text, fragment):
    biz = make_workspace()
    me = portal.identify_customer(biz.slug, PHONE)
    with pytest.raises(ServiceError) as err:
        portal.send_customer_message(me.session_token, text)
    assert err.value.field == "text" and fragment in err.value.message
    assert _conversations() == []
    assert portal.send_customer_message(me.session_token, "y" * 4000).content == "y" * 4000


def test_customers_sending_too_fast_are_slowed_down(db):
    biz = make_workspace()
    me = portal.identify_customer(biz.slug, PHONE)
    with settings_override(customer_messages_per_minute=3):
        for i in range(3):
            portal.send_customer_message(me.session_token, f"message {i}")
        with pytest.raises(RateLimited, match="too fast"):
            portal.send_customer_message(me.session_token, "one more")
        # The limit is per contact: another browser of the same phone shares it.
        other_browser = portal.identify_customer(biz.slug, PHONE)
        with pytest.raises(RateLimited):
            portal.send_customer_message(other_browser.session_token, "from the laptop")
        with pytest.raises(RateLimited):
            portal.send_customer_file(me.session_token, "photo.png", SAMPLES["png"][1])
        with session_scope() as s:
            for message in s.exec(select(Message)):
                message.created_at = utcnow() - timedelta(seconds=61)
        assert portal.send_customer_message(me.session_token, "after a minute").content == "after a minute"
    with session_scope() as s:
        assert len(s.exec(select(Message)).all()) == 4
        assert s.exec(select(StoredFile)).all() == []


def test_an_unverified_session_chats_in_a_new_conversation_and_sees_only_that(db):
    biz = make_workspace()
    first = portal.identify_customer(biz.slug, PHONE, "Jordan")
    portal.send_customer_message(first.session_token, "Old private matter")
    [old] = _conversations()

    stranger = portal.identify_customer(biz.slug, PHONE)
    assert stranger.needs_verification
    view = portal.send_customer_message(stranger.session_token, "Hello, new question")
    assert view.conversation_id != old.id
    assert [m.content for m in portal.list_portal_messages(stranger.session_token)] == ["Hello, new question"]
    assert portal.portal_conversation_id(stranger.session_token) == view.conversation_id
    # The owner's reply in the old conversation stays hidden from it too.
    inbox.send_owner_reply(biz.id, old.id, biz.owner_id, "About your private matter…")
    assert [m.content for m in portal.list_portal_messages(stranger.session_token)] == ["Hello, new question"]

    portal.send_verification_code(stranger.session_token)
    identity = portal.verify_code(stranger.session_token, last_code(PHONE))
    assert set(identity.visible_conversation_ids) == {old.id, view.conversation_id}
    assert identity.conversation_id == view.conversation_id  # it keeps talking where it was
    assert [m.content for m in portal.list_portal_messages(stranger.session_token)] == [
        "Old private matter", "Hello, new question", "About your private matter…"
    ]


def test_a_verified_session_writes_in_the_latest_open_conversation_and_reopens_its_own(db):
    biz = make_workspace()
    me = portal.identify_customer(biz.slug, PHONE)
    first = portal.send_customer_message(me.session_token, "First").conversation_id
    assert portal.send_customer_message(me.session_token, "Second").conversation_id == first

    inbox.set_conversation_status(biz.id, first, "resolved")
    reopened = portal.send_customer_message(me.session_token, "Actually, one more thing")
    assert reopened.conversation_id == first
    conversation = inbox.get_conversation(biz.id, first)
    assert conversation.status == "open" and conversation.resolved_at == ""

    # A new browser after the matter was resolved starts a new conversation…
    inbox.set_conversation_status(biz.id, first, "resolved")
    later = portal.identify_customer(biz.slug, PHONE)
    portal.send_verification_code(later.session_token)
    later = portal.verify_code(later.session_token, last_code(PHONE))
    assert later.conversation_id is None
    fresh = portal.send_customer_message(later.session_token, "New topic").conversation_id
    assert fresh != first and inbox.get_conversation(biz.id, first).status == "resolved"

    # …while one that is still open is picked up by the next verified browser.
    third = portal.identify_customer(biz.slug, PHONE)
    portal.send_verification_code(third.session_token)
    third = portal.verify_code(third.session_token, last_code(PHONE))
    assert third.conversation_id == fresh
    assert portal.send_customer_message(third.session_token, "Same topic").conversation_id == fresh


def test_the_portal_lists_messages_oldest_first_and_after_an_id(db):
    biz = make_workspace()
    me = portal.identify_customer(biz.slug, PHONE)
    ids = [portal.send_customer_message(me.session_token, f"m{i}").id for i in range(3)]
    reply = inbox.send_owner_reply(biz.id, portal.portal_conversation_id(me.session_token), biz.owner_id, "Hi!")
    assert [m.id for m in portal.list_portal_messages(me.session_token)] == ids + [reply.id]
    assert [m.id for m in portal.list_portal_messages(me.session_token, after_id=ids[1])] == [ids[2], reply.id]
    last = portal.list_portal_messages(me.session_token)[-1]
    assert (last.sender, last.sender_label) == ("owner", "Ana Ruiz")


def test_receipts_move_forward_only_and_only_for_the_other_side(db):
    biz = make_workspace()
    me = portal.identify_customer(biz.slug, PHONE)
    question = portal.send_customer_message(me.session_token, "Question")
    cid = question.conversation_id
    answer = inbox.send_owner_reply(biz.id, cid, biz.owner_id, "Answer")
    second = inbox.send_owner_reply(biz.id, cid, biz.owner_id, "More")

    # The customer's screen received the owner's messages; its own message is not theirs to mark.
    assert portal.mark_delivered_to_customer(me.session_token, [question.id, answer.id]) == [answer.id]
    assert portal.mark_delivered_to_customer(me.session_token, [answer.id]) == []
    assert portal.mark_read_by_customer(me.session_token, answer.id) == [answer.id]
    assert portal.mark_delivered_to_customer(me.session_token, [answer.id]) == []  # read never goes back
    assert portal.mark_read_by_customer(me.session_token, second.id) == [second.id]
    statuses = {m.id: m.status for m in portal.list_portal_messages(me.session_token)}
    assert statuses == {question.id: "sent", answer.id: "read", second.id: "read"}

    # The owner's side does the same for customer messages.
    assert inbox.mark_delivered_to_owner(biz.id, [question.id, answer.id]) == [question.id]
    assert inbox.get_conversation(biz.id, cid).unread == 1
    assert inbox.mark_conversation_read(biz.id, cid, biz.owner_id) == [question.id]
    assert inbox.get_conversation(biz.id, cid).unread == 0
    assert inbox.mark_conversation_read(biz.id, cid, biz.owner_id) == []
    with session_scope() as s:
        row = s.get(Message, question.id)
        assert row.status == "read" and row.read_at is not None and row.delivered_at is not None


def test_receipts_ignore_messages_the_session_may_not_see(db):
    biz = make_workspace()
    owner_of_phone = portal.identify_customer(biz.slug, PHONE)
    cid = portal.send_customer_message(owner_of_phone.session_token, "Private").conversation_id
    reply = inbox.send_owner_reply(biz.id, cid, biz.owner_id, "Private answer")
    stranger = portal.identify_customer(biz.slug, PHONE)
    assert portal.mark_read_by_customer(stranger.session_token, reply.id) == []
    assert portal.mark_delivered_to_customer(stranger.session_token, [reply.id]) == []


def test_customer_files_are_stored_and_linked_only_for_those_who_may_see_them(db):
    biz = make_workspace()
    me = portal.identify_customer(biz.slug, PHONE, "Jordan")
    photo = portal.send_customer_file(me.session_token, "photo.png", SAMPLES["png"][1])
    voice = portal.send_customer_file(me.session_token, "voice-message.webm", SAMPLES["webm"][1])
    assert photo.type == "file" and photo.file["kind"] == "image" and photo.file["name"] == "photo.png"
    assert voice.type == "audio" and voice.file["kind"] == "audio" and voice.file["content_type"] == "audio/webm"
    assert "/files/ws/" in photo.file["url"] and "sig=" in photo.file["url"]
    assert inbox.get_conversation(biz.id, photo.conversation_id).last_message_preview == "Voice message"

    file_id = photo.file["id"]
    assert "sig=" in file_url_for_customer(me.session_token, file_id)
    assert "sig=" in file_url_for_owner(biz.id, file_id)

    other = make_workspace("elm-salon", "Elm Salon")
    with pytest.raises(NotFound):
        file_url_for_owner(other.id, file_id)
    someone_else = portal.identify_customer(biz.slug, "+12125550199")
    portal.send_customer_message(someone_else.session_token, "hi")
    with pytest.raises(NotFound):
        file_url_for_customer(someone_else.session_token, file_id)
    stranger_same_phone = portal.identify_customer(biz.slug, PHONE)
    with pytest.raises(NotFound):
        file_url_for_customer(stranger_same_phone.session_token, file_id)
    with pytest.raises(AuthenticationError):
        file_url_for_customer("forged", file_id)


def _stored_paths() -> set[str]:
    root = get_storage().root
    return {p.as_posix() for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_a_refused_file_stores_nothing(db):
    biz = make_workspace()
    me = portal.identify_customer(biz.slug, PHONE)
    before = _stored_paths()
    with pytest.raises(ServiceError, match="does not match its name"):
        portal.send_customer_file(me.session_token, "invoice.pdf", SAMPLES["png"][1])
    with pytest.raises(AuthenticationError):
        portal.send_customer_file("forged", "photo.png", SAMPLES["png"][1])
    with session_scope() as s:
        assert s.exec(select(StoredFile)).all() == [] and s.exec(select(Message)).all() == []
    assert _stored_paths() == before
