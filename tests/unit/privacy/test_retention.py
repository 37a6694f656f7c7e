"""Data retention (backend.privacy.retention): the setting, and the nightly task run with an injected clock:
which conversations go (resolved and quiet for longer than the setting), what goes with them, batches, the log
entry, and a workspace that keeps everything left alone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from backend.db import session_scope
from backend.errors import ServiceError
from backend.messaging import inbox, portal
from backend.models import AIRun, Appointment, AuditEvent, Contact, Conversation, Draft, Message, StoredFile
from backend.privacy.retention import apply_retention, get_retention, months_before, set_retention
from backend.providers.storage import get_storage
from tests.unit.messaging_helpers import (
    SAMPLES,
    make_workspace,
    settle_background,  # noqa: F401 - autouse fixture
)

NOW = datetime(2026, 9, 15, 3, 0, tzinfo=timezone.utc)


def test_the_setting_takes_the_listed_choices_and_says_what_happens(db):
    biz = make_workspace()
    assert get_retention(biz.id).months == 0 and "kept until you delete them" in get_retention(biz.id).explanation
    for bad in (1, 5, -3, "six", None):
        with pytest.raises(ServiceError) as refused:
            set_retention(biz.id, bad, user_id=biz.owner_id)
        assert refused.value.field == "retention_months"
    assert get_retention(biz.id).months == 0
    view = set_retention(biz.id, "6", user_id=biz.owner_id)
    assert view.months == 6
    assert view.explanation.startswith("Conversations resolved more than 6 months ago are deleted every night")
    set_retention(biz.id, 6, user_id=biz.owner_id)  # no change: not logged twice
    with session_scope() as s:
        [entry] = s.exec(select(AuditEvent).where(AuditEvent.action == "retention.updated")).all()
    assert (entry.user_id, entry.detail) == (biz.owner_id, "Forever → 6 months")


def test_months_before_counts_calendar_months():
    assert months_before(NOW, 6) == datetime(2026, 3, 15, 3, 0, tzinfo=timezone.utc)
    assert months_before(datetime(2026, 8, 31, tzinfo=timezone.utc), 6) == datetime(2026, 2, 28, tzinfo=timezone.utc)
    assert months_before(datetime(2026, 1, 10, tzinfo=timezone.utc), 24) == datetime(2024, 1, 10, tzinfo=timezone.utc)


def _conversation(biz, phone: str, *, status: str, last: datetime, resolved: datetime | None = None,
                  with_file: bool = False) -> int:
    me = portal.identify_customer(biz.slug, phone)
    sent = portal.send_customer_message(me.session_token, f"Hello from {phone}")
    if with_file:
        portal.send_customer_file(me.session_token, "photo.png", SAMPLES["png"][1])
    cid = sent.conversation_id
    with session_scope() as s:
        conversation = s.get(Conversation, cid)
        conversation.status, conversation.last_message_at, conversation.resolved_at = status, last, resolved
        conversation.created_at = last - timedelta(days=1)
        s.add(Draft(workspace_id=biz.id, conversation_id=cid, content="A draft"))
        s.add(AIRun(workspace_id=biz.id, conversation_id=cid, status="done", question="Hello"))
        s.add(Appointment(workspace_id=biz.id, contact_id=me.contact_id, conversation_id=cid, status="completed",
                          starts_at=last, ends_at=last + timedelta(hours=1)))
    return cid


def _ids(workspace_id: int) -> set[int]:
    with session_scope() as s:
        return set(s.exec(select(Conversation.id).where(Conversation.workspace_id == workspace_id)))


def test_the_nightly_task_deletes_old_resolved_conversations_in_batches_and_nothing_else(db):
    oak = make_workspace("oak-dental", "Oak Dental")
    elm = make_workspace("elm-salon", "Elm Salon")  # keeps everything forever
    set_retention(oak.id, 6)
    long_ago, recently = NOW - timedelta(days=400), NOW - timedelta(days=30)
    old = [_conversation(oak, f"+1212555010{i}", status="resolved", last=long_ago, resolved=long_ago,
                         with_file=i == 0) for i in range(5)]
    kept = {
        _conversation(oak, "+12125550190", status="open", last=long_ago),  # still open, however old
        _conversation(oak, "+12125550191", status="resolved", last=recently, resolved=recently),
        # Quiet for long, but resolved only last month: the resolution is activity too.
        _conversation(oak, "+12125550192", status="resolved", last=long_ago, resolved=recently),
    }
    elsewhere = {_conversation(elm, "+12125550100", status="resolved", last=long_ago, resolved=long_ago)}
    with session_scope() as s:
        old_keys = list(s.exec(select(StoredFile.storage_key).where(StoredFile.workspace_id == oak.id)))
    assert len(old_keys) == 1 and get_storage().exists(old_keys[0])

    assert apply_retention(now=NOW.isoformat(), batch_size=2) == {str(oak.id): 5}

    assert _ids(oak.id) == kept and _ids(elm.id) == elsewhere
    assert not get_storage().exists(old_keys[0])
    with session_scope() as s:
        for model in (Message, Draft, AIRun):
            assert s.exec(select(model).where(model.conversation_id.in_(old))).all() == [], model.__name__
        assert s.exec(select(StoredFile).where(StoredFile.workspace_id == oak.id)).all() == []
        # The people and their appointments stay; the appointments just no longer point at a conversation.
        assert len(s.exec(select(Contact).where(Contact.workspace_id == oak.id)).all()) == 8
        appointments = s.exec(select(Appointment).where(Appointment.workspace_id == oak.id)).all()
        assert len(appointments) == 8 and sum(a.conversation_id is None for a in appointments) == 5
        [entry] = s.exec(select(AuditEvent).where(AuditEvent.action == "retention.applied")).all()
    assert entry.workspace_id == oak.id and entry.user_id is None and entry.actor == "Data retention"
    assert entry.detail.startswith("5 conversation(s) resolved before 2026-03-15 deleted, with 6 message(s)")
    assert "1 file(s)" in entry.detail

    # Run again: nothing left to delete, nothing more logged.
    assert apply_retention(now=NOW) == {}
    with session_scope() as s:
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "retention.applied")).all()) == 1

    # Back to "forever": the old open conversation stays however long.
    set_retention(oak.id, 0)
    assert apply_retention(now=NOW + timedelta(days=3000)) == {}
    assert _ids(oak.id) == kept


def test_the_inbox_no_longer_lists_what_retention_deleted(db):
    biz = make_workspace()
    set_retention(biz.id, 3)
    cid = _conversation(biz, "+12125550101", status="resolved", last=NOW - timedelta(days=120),
                        resolved=NOW - timedelta(days=120))
    apply_retention(now=NOW)
    assert cid not in {c.id for c in inbox.list_conversations(biz.id)}
