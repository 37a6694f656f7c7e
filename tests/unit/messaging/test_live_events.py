"""Live events: the right hints on the right channels, and only once the change they announce is committed."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session, select

from backend.db import get_engine
from backend.errors import NotFound, ServiceError
from backend.messaging import contacts, inbox, portal
from backend.models import Contact, Conversation, Message, Notification
from backend.providers.events import get_event_bus
from tests.unit.messaging_helpers import (
    make_workspace,
    recording_bus,
    settle_background,  # noqa: F401 - autouse fixture
)

PHONE = "+12125550147"


def _committed(channel: str, event: dict) -> bool:
    """Looks from a separate connection, which sees only what was committed."""
    with Session(get_engine()) as fresh:
        kind = event["type"]
        if kind == "message.created":
            return fresh.get(Message, event["message_id"]) is not None
        if kind == "message.status":
            return all(fresh.get(Message, i).status == event["status"] for i in event["message_ids"])
        if kind == "conversation.updated":
            return fresh.get(Conversation, event["conversation_id"]) is not None
        if kind == "notification.created":
            return fresh.exec(select(Notification).where(Notification.user_id == event["user_id"])).first() is not None
        if kind == "contact.updated":
            return fresh.get(Contact, event["contact_id"]) is not None
        return kind == "outbox.updated"  # the outbox's own event (notification e-mails), checked in its tests


def test_every_event_is_published_after_its_commit(db):
    biz = make_workspace()
    with recording_bus(_committed) as bus:
        me = portal.identify_customer(biz.slug, PHONE, "Jordan")
        sent = portal.send_customer_message(me.session_token, "Hello")
        cid = sent.conversation_id
        reply = inbox.send_owner_reply(biz.id, cid, biz.owner_id, "Hi Jordan")
        portal.mark_read_by_customer(me.session_token, reply.id)
        inbox.mark_conversation_read(biz.id, cid, biz.owner_id)
        inbox.set_conversation_status(biz.id, cid, "resolved")

    published = [(channel, event["type"]) for channel, event, _ in bus.published]
    conversation, workspace = f"conversation:{cid}", f"workspace:{biz.id}"
    assert (conversation, "message.created") in published
    assert (workspace, "conversation.updated") in published
    assert (workspace, "notification.created") in published
    assert (workspace, "contact.updated") in published
    assert (conversation, "message.status") in published
    assert (conversation, "conversation.updated") in published  # the status change reaches the thread too
    assert all(committed for _, _, committed in bus.published), [
        (c, e) for c, e, ok in bus.published if not ok]

    created = [e for c, e, _ in bus.published if e["type"] == "message.created"]
    assert created == [
        {"type": "message.created", "conversation_id": cid, "message_id": sent.id, "sender": "customer"},
        {"type": "message.created", "conversation_id": cid, "message_id": reply.id, "sender": "owner"},
    ]
    statuses = [e for c, e, _ in bus.published if e["type"] == "message.status"]
    assert statuses == [
        {"type": "message.status", "conversation_id": cid, "message_ids": [reply.id], "status": "read"},
        {"type": "message.status", "conversation_id": cid, "message_ids": [sent.id], "status": "read"},
    ]


def test_refused_writes_publish_nothing(db):
    biz = make_workspace()
    me = portal.identify_customer(biz.slug, PHONE)
    with recording_bus() as bus:
        with pytest.raises(ServiceError):
            portal.send_customer_message(me.session_token, "")
        with pytest.raises(NotFound):
            inbox.set_conversation_title(biz.id, 12345, "nope")
        with pytest.raises(ServiceError):
            contacts.merge_contacts(biz.id, me.contact_id, me.contact_id)
    assert bus.published == []


def test_a_subscriber_hears_messages_and_typing_on_the_conversation_channel(db):
    biz = make_workspace()
    me = portal.identify_customer(biz.slug, PHONE, "Jordan")
    cid = portal.send_customer_message(me.session_token, "First").conversation_id

    async def scenario():
        async with get_event_bus().subscribe("conversation:*") as events:
            sent = await asyncio.to_thread(portal.send_customer_message, me.session_token, "Second")
            await asyncio.to_thread(portal.customer_typing, me.session_token)
            await asyncio.to_thread(inbox.owner_typing, biz.id, cid, biz.owner_id)
            heard = [await asyncio.wait_for(events.__anext__(), 5) for _ in range(3)]
            return sent, heard

    sent, heard = asyncio.run(scenario())
    assert heard == [
        (f"conversation:{cid}", {"type": "message.created", "conversation_id": cid, "message_id": sent.id,
                                 "sender": "customer"}),
        (f"conversation:{cid}", {"type": "typing", "conversation_id": cid, "who": "customer"}),
        (f"conversation:{cid}", {"type": "typing", "conversation_id": cid, "who": "owner"}),
    ]


def test_contact_changes_are_announced_to_the_workspace(db):
    biz = make_workspace()
    me = portal.identify_customer(biz.slug, PHONE)
    def contact_committed(channel, event):
        with Session(get_engine()) as fresh:
            return fresh.get(Contact, event["contact_id"]).first_name == "Jordan"

    with recording_bus(contact_committed) as bus:
        contacts.update_contact(biz.id, me.contact_id, first_name="Jordan", last_name="", email="", notes="")
    assert [(c, e) for c, e, _ in bus.published] == [
        (f"workspace:{biz.id}", {"type": "contact.updated", "contact_id": me.contact_id})]
    assert bus.published[0][2]
