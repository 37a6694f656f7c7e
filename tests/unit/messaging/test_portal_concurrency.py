"""Browsers act at the same moment: the database, not luck, keeps one contact per phone and one conversation per
browser."""

from __future__ import annotations

import threading

from sqlmodel import select

from backend.db import session_scope
from backend.messaging import portal
from backend.models import Contact, Conversation, Message
from tests.unit.messaging_helpers import (
    make_workspace,
    settle_background,  # noqa: F401 - autouse fixture
)

PHONE = "+12125550147"
THREADS = 6


def _all_at_once(func, count: int = THREADS) -> tuple[list, list[BaseException]]:
    barrier = threading.Barrier(count)
    results, errors = [], []
    lock = threading.Lock()

    def run(i):
        barrier.wait()
        try:
            value = func(i)
            with lock:
                results.append(value)
        except BaseException as exc:  # collected and asserted by the test
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results, errors


def test_simultaneous_first_visits_with_one_phone_make_one_contact(db):
    biz = make_workspace()
    results, errors = _all_at_once(lambda i: portal.identify_customer(biz.slug, PHONE, f"Name{i}"))
    assert errors == []
    assert len({identity.contact_id for identity in results}) == 1
    assert len({identity.session_token for identity in results}) == THREADS
    with session_scope() as s:
        assert len(s.exec(select(Contact)).all()) == 1


def test_simultaneous_sends_from_one_browser_share_one_new_conversation(db):
    biz = make_workspace()
    me = portal.identify_customer(biz.slug, PHONE)
    results, errors = _all_at_once(lambda i: portal.send_customer_message(me.session_token, f"message {i}"))
    assert errors == []
    assert len({view.conversation_id for view in results}) == 1
    with session_scope() as s:
        [conversation] = s.exec(select(Conversation)).all()
        assert conversation.unread_for_owner == THREADS
        assert len(s.exec(select(Message)).all()) == THREADS
