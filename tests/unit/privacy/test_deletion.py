"""Deleting a workspace with a grace period (backend.privacy.deletion): asking (name and password, refusals that
change nothing), what happens at once (portal closed, other sessions ended, e-mail), cancelling, and the purge
task with an injected clock: every row and file of the workspace gone, another workspace untouched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, select

from backend.accounts import service as accounts
from backend.accounts.api_tokens import create_api_token
from backend.calendar.availability import save_service
from backend.db import session_scope
from backend.errors import AuthenticationError, NotFound, PermissionDenied, PortalClosed, ServiceError
from backend.kb.documents import add_faq
from backend.messaging import inbox, portal
from backend.models import (
    Appointment,
    AuditEvent,
    LoginAttempt,
    Membership,
    OutboxMessage,
    OwnerSession,
    StoredFile,
    User,
    Workspace,
    WorkspaceTombstone,
)
from backend.models.types import utcnow
from backend.privacy.deletion import (
    cancel_workspace_deletion,
    deletion_status,
    purge_deleted_workspaces,
    schedule_workspace_deletion,
)
from backend.providers.storage import get_storage
from backend.workspaces.service import get_public_workspace
from tests.unit.messaging_helpers import (
    SAMPLES,
    settle,
    settle_background,  # noqa: F401 - autouse fixture
)

PASSWORD = "correct-horse-battery-9"


def _business(name: str, email: str, phone: str):
    """A signed-up owner with a second browser, and a workspace with something in most tables."""
    signed = accounts.sign_up(email, PASSWORD, "Ana Ruiz", name)
    other_browser = accounts.log_in(email, PASSWORD, client_address="198.51.100.7")
    slug = get_public_workspace_slug(signed.workspace_id)
    me = portal.identify_customer(slug, phone, "Jordan")
    sent = portal.send_customer_message(me.session_token, "Hello, my email is jordan@example.com")
    portal.send_customer_file(me.session_token, "photo.png", SAMPLES["png"][1])
    inbox.send_owner_file(signed.workspace_id, sent.conversation_id, signed.user_id, "form.pdf", SAMPLES["pdf"][1])
    add_faq(signed.workspace_id, "Do you park?", "Free parking behind the building.")
    service = save_service(signed.workspace_id, name="Check-up", duration_minutes=30)
    with session_scope() as s:
        s.add(Appointment(workspace_id=signed.workspace_id, contact_id=me.contact_id, service_id=service.id,
                          starts_at=utcnow() + timedelta(days=3), ends_at=utcnow() + timedelta(days=3, hours=1)))
    create_api_token(signed.workspace_id, "Zapier", user_id=signed.user_id)
    settle()
    return signed, other_browser, slug, me


def get_public_workspace_slug(workspace_id: int) -> str:
    with session_scope() as s:
        return s.get(Workspace, workspace_id).slug


def _rows_per_table(workspace_id: int) -> dict[str, int]:
    with session_scope() as s:
        return {table.name: int(s.exec(select(func.count()).select_from(table)
                                       .where(table.c.workspace_id == workspace_id)).one())
                for table in SQLModel.metadata.sorted_tables if "workspace_id" in table.c
                and table.name != "workspace_tombstones"}


def _keys(workspace_id: int) -> list[str]:
    with session_scope() as s:
        return list(s.exec(select(StoredFile.storage_key).where(StoredFile.workspace_id == workspace_id)))


def test_the_purge_and_retention_run_on_their_own_schedules():
    from backend.providers.background import PERIODIC_TASKS
    from backend.tasks import celery_app

    beat = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}
    for task in ("purge_deleted_workspaces", "apply_retention"):
        assert task in PERIODIC_TASKS and task in beat


def test_asking_needs_the_exact_name_and_the_password_and_a_refusal_changes_nothing(db):
    signed, other_browser, slug, _ = _business("Oak Dental", "ana@oak.example", "+12125550147")
    for name, password, field in (("oak dental", PASSWORD, "confirm_name"), ("Oak", PASSWORD, "confirm_name"),
                                  ("Oak Dental", "wrong-password-1", "password")):
        with pytest.raises(ServiceError) as refused:
            schedule_workspace_deletion(signed.workspace_id, signed.user_id, confirm_name=name, password=password,
                                        session_token=signed.session_token)
        assert refused.value.field == field
    assert deletion_status(signed.workspace_id).scheduled is False
    assert get_public_workspace(slug).name == "Oak Dental"
    accounts.validate_session(other_browser)  # still signed in
    with session_scope() as s:
        assert not s.exec(select(AuditEvent).where(AuditEvent.action.like("workspace.%"))).all()
        # The wrong password counts against the login limits, as one typed at the login form would.
        assert s.exec(select(LoginAttempt).where(LoginAttempt.succeeded.is_(False))).one().email == "ana@oak.example"

    agent_id = _add_agent(signed.workspace_id)
    with pytest.raises(PermissionDenied):
        schedule_workspace_deletion(signed.workspace_id, agent_id, confirm_name="Oak Dental", password=PASSWORD)


def _add_agent(workspace_id: int) -> int:
    from backend.security import hash_password

    with session_scope() as s:
        user = User(email="agent@oak.example", password_hash=hash_password(PASSWORD), full_name="Agent")
        s.add(user)
        s.flush()
        s.add(Membership(workspace_id=workspace_id, user_id=user.id, role="agent"))
        return user.id


def test_scheduling_closes_the_portal_signs_out_other_browsers_and_mails_the_owner_then_cancel(db):
    signed, other_browser, slug, me = _business("Oak Dental", "ana@oak.example", "+12125550147")
    now = utcnow()
    status = schedule_workspace_deletion(signed.workspace_id, signed.user_id, confirm_name="  Oak   Dental ",
                                         password=PASSWORD, session_token=signed.session_token,
                                         client_address="203.0.113.5", now=now)
    assert status.scheduled and status.due_at == now + timedelta(days=14)
    assert deletion_status(signed.workspace_id).due_label == status.due_label

    for attempt in (lambda: get_public_workspace(slug), lambda: portal.identify_customer(slug, "+12125550199"),
                    lambda: portal.send_customer_message(me.session_token, "Still there?")):
        with pytest.raises(PortalClosed, match="no longer taking messages"):
            attempt()
    accounts.validate_session(signed.session_token)  # this browser stays signed in, to cancel
    with pytest.raises(AuthenticationError):
        accounts.validate_session(other_browser)
    with pytest.raises(ServiceError, match="already scheduled"):
        schedule_workspace_deletion(signed.workspace_id, signed.user_id, confirm_name="Oak Dental",
                                    password=PASSWORD)
    settle()
    with session_scope() as s:
        mail = s.exec(select(OutboxMessage).where(OutboxMessage.to_address == "ana@oak.example")).all()[-1]
        actions = [e.action for e in s.exec(select(AuditEvent).where(AuditEvent.workspace_id == signed.workspace_id)
                                            .order_by(AuditEvent.id))]
    assert status.due_label in mail.subject and "Cancel deletion" in mail.body and "/login" in mail.body
    assert actions[-2:] == ["workspace.deletion_scheduled", "account.sessions_revoked"]

    # Nothing is purged before its day; after cancelling, nothing is purged at all.
    assert purge_deleted_workspaces(now=now + timedelta(days=13)) == []
    cancel_workspace_deletion(signed.workspace_id, signed.user_id)
    assert get_public_workspace(slug).name == "Oak Dental"
    assert portal.send_customer_message(me.session_token, "Back again").content == "Back again"
    assert purge_deleted_workspaces(now=now + timedelta(days=30)) == []
    with session_scope() as s:
        assert s.get(Workspace, signed.workspace_id) is not None
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "workspace.deletion_cancelled")).one()


def test_the_purge_removes_every_row_file_and_member_and_leaves_other_workspaces_alone(db):
    doomed, _, _, _ = _business("Oak Dental", "ana@oak.example", "+12125550147")
    kept, _, kept_slug, kept_customer = _business("Elm Salon", "bo@elm.example", "+12125550147")
    # Someone in both: stays, as a member of the other.
    shared_id = _add_agent(doomed.workspace_id)
    with session_scope() as s:
        s.add(Membership(workspace_id=kept.workspace_id, user_id=shared_id, role="agent"))
    doomed_keys, kept_keys = _keys(doomed.workspace_id), _keys(kept.workspace_id)
    kept_rows = _rows_per_table(kept.workspace_id)
    storage = get_storage()
    assert len(doomed_keys) == 2 and all(storage.exists(k) for k in doomed_keys + kept_keys)
    doomed_rows = _rows_per_table(doomed.workspace_id)
    assert sum(doomed_rows.values()) > 20

    now = utcnow()
    schedule_workspace_deletion(doomed.workspace_id, doomed.user_id, confirm_name="Oak Dental", password=PASSWORD,
                                session_token=doomed.session_token, now=now)
    settle()
    assert purge_deleted_workspaces(now=(now + timedelta(days=14, minutes=1)).isoformat()) == [doomed.workspace_id]

    assert {name: n for name, n in _rows_per_table(doomed.workspace_id).items() if n} == {}
    assert not any(storage.exists(k) for k in doomed_keys)
    assert all(storage.exists(k) for k in kept_keys)
    assert _rows_per_table(kept.workspace_id) == kept_rows
    with session_scope() as s:
        assert s.get(Workspace, doomed.workspace_id) is None
        assert s.get(User, doomed.user_id) is None  # the owner belonged nowhere else
        assert s.exec(select(OwnerSession).where(OwnerSession.user_id == doomed.user_id)).all() == []
        assert s.exec(select(LoginAttempt).where(LoginAttempt.email == "ana@oak.example")).all() == []
        assert s.exec(select(OutboxMessage).where(OutboxMessage.to_address == "ana@oak.example")).all() == []
        assert s.get(User, shared_id) is not None and s.get(User, kept.user_id) is not None
        tombstone = s.exec(select(WorkspaceTombstone)).one()
    assert tombstone.workspace_id == doomed.workspace_id
    assert tombstone.counts == {"contacts": 1, "conversations": 1, "messages": doomed_rows["messages"],
                                "documents": 1, "files": 2, "users": 1}
    assert "Oak" not in repr(tombstone) and "ana@" not in repr(tombstone)

    # The other business works as before.
    assert portal.send_customer_message(kept_customer.session_token, "Hi").content == "Hi"
    assert get_public_workspace(kept_slug).name == "Elm Salon"
    assert purge_deleted_workspaces(now=now + timedelta(days=20)) == []  # nothing left to purge
    with pytest.raises(NotFound):
        deletion_status(doomed.workspace_id)
