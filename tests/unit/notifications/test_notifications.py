"""Telling the team about customer messages: in-app and by e-mail, per member and per their preferences."""

from __future__ import annotations

import pytest
from sqlmodel import select

from backend.db import session_scope
from backend.errors import PermissionDenied, ServiceError
from backend.messaging import inbox, portal
from backend.models import Notification, OutboxMessage
from backend.notifications import service as notifications
from tests.unit.messaging_helpers import (
    add_member,
    make_workspace,
    settle,
    settle_background,  # noqa: F401 - autouse fixture
)

PHONE = "+12125550147"


def _emails() -> list[OutboxMessage]:
    settle()
    with session_scope() as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.channel == "email")
                           .order_by(OutboxMessage.id)).all())


def test_a_new_conversation_notifies_every_member_in_app_and_by_email(db):
    biz = make_workspace()
    colleague = add_member(biz.id, "sam@oak-dental.example", "Sam Lee")
    me = portal.identify_customer(biz.slug, PHONE, "Jordan")
    cid = portal.send_customer_message(me.session_token, "Is there parking nearby?").conversation_id

    for user_id in (biz.owner_id, colleague):
        [notice] = notifications.list_notifications(biz.id, user_id)
        assert (notice.kind, notice.title, notice.conversation_id, notice.read) == (
            "new_conversation", "New conversation with Jordan", cid, False)
        assert notice.body == "Is there parking nearby?" and notice.link == f"/dashboard/inbox?c={cid}"
    emails = _emails()
    assert {e.to_address for e in emails} == {biz.owner_email, "sam@oak-dental.example"}
    assert all(e.subject == "Oak Dental: New conversation with Jordan" for e in emails)
    assert f"/dashboard/inbox?c={cid}" in emails[0].body and emails[0].workspace_id == biz.id


def test_new_message_notices_come_once_per_burst_and_in_app_only_by_default(db):
    biz = make_workspace()
    me = portal.identify_customer(biz.slug, PHONE, "Jordan")
    cid = portal.send_customer_message(me.session_token, "First").conversation_id
    portal.send_customer_message(me.session_token, "Second, while the first is unread")
    assert [n.kind for n in notifications.list_notifications(biz.id, biz.owner_id)] == ["new_conversation"]

    inbox.mark_conversation_read(biz.id, cid, biz.owner_id)
    portal.send_customer_message(me.session_token, "Third, after the owner read")
    portal.send_customer_message(me.session_token, "Fourth")
    kinds = [n.kind for n in notifications.list_notifications(biz.id, biz.owner_id)]
    assert kinds == ["new_message", "new_conversation"]
    assert len(_emails()) == 1  # only the new conversation was e-mailed


def test_preferences_decide_per_member_and_kind(db):
    biz = make_workspace()
    colleague = add_member(biz.id, "sam@oak-dental.example")
    defaults = notifications.get_notification_preferences(biz.id, colleague)
    assert [(p["kind"], p["in_app"], p["email"]) for p in defaults] == [
        ("new_conversation", True, True), ("new_message", True, False), ("handoff", True, True),
        ("draft", True, False), ("ai_failed", True, True)]
    assert all(p["label"] for p in defaults)

    notifications.set_notification_preference(biz.id, colleague, "new_conversation", in_app=False, email=False)
    notifications.set_notification_preference(biz.id, colleague, "new_message", in_app=False, email=True)
    notifications.set_notification_preference(biz.id, colleague, "new_message", in_app=False, email=True)  # again
    with pytest.raises(ServiceError) as err:
        notifications.set_notification_preference(biz.id, colleague, "birthday", True, True)
    assert err.value.field == "kind"

    me = portal.identify_customer(biz.slug, PHONE, "Jordan")
    cid = portal.send_customer_message(me.session_token, "Hi").conversation_id
    inbox.mark_conversation_read(biz.id, cid, biz.owner_id)
    portal.send_customer_message(me.session_token, "Hello again")

    assert notifications.list_notifications(biz.id, colleague) == []
    assert [n.kind for n in notifications.list_notifications(biz.id, biz.owner_id)] == [
        "new_message", "new_conversation"]
    emails = [(e.to_address, e.subject) for e in _emails()]
    assert emails == [(biz.owner_email, "Oak Dental: New conversation with Jordan"),
                      ("sam@oak-dental.example", "Oak Dental: New message from Jordan")]


def test_each_user_sees_and_marks_only_their_own_notifications(db):
    oak = make_workspace("oak-dental", "Oak Dental")
    elm = make_workspace("elm-salon", "Elm Salon")
    colleague = add_member(oak.id, "sam@oak-dental.example")
    ids = notifications.notify(oak.id, "handoff", "Jordan asked for a person", "Crown came off", "/dashboard/inbox")
    assert len(ids) == 2
    mine = notifications.list_notifications(oak.id, oak.owner_id)
    theirs = notifications.list_notifications(oak.id, colleague)
    assert len(mine) == len(theirs) == 1 and mine[0].id != theirs[0].id

    assert notifications.mark_notifications_read(oak.id, oak.owner_id, ids=[theirs[0].id]) == 0
    assert notifications.unread_notification_count(oak.id, colleague) == 1
    assert notifications.list_notifications(elm.id, oak.owner_id) == []
    assert notifications.mark_notifications_read(elm.id, oak.owner_id) == 0

    assert notifications.unread_notification_count(oak.id, oak.owner_id) == 1
    assert notifications.mark_notifications_read(oak.id, oak.owner_id) == 1
    assert notifications.unread_notification_count(oak.id, oak.owner_id) == 0
    assert notifications.list_notifications(oak.id, oak.owner_id)[0].read
    assert notifications.unread_notification_count(oak.id, colleague) == 1
    with session_scope() as s:
        assert len(s.exec(select(Notification)).all()) == 2

    with pytest.raises(PermissionDenied):
        notifications.get_notification_preferences(elm.id, colleague)
    with pytest.raises(PermissionDenied):
        notifications.set_notification_preference(elm.id, colleague, "handoff", True, True)
    with pytest.raises(ValueError):
        notifications.notify(oak.id, "no-such-kind", "x")
