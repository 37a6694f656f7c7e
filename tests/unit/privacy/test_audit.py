"""The owner's activity log (backend.privacy.audit): sign-ins, failed sign-ins, sign-outs, password resets and
ended sessions are written to the right workspace; the log reads in words, filters by kind, person and days (in the
workspace's time zone), pages, exports as CSV, and never shows another workspace's rows."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from backend.accounts import service as accounts
from backend.db import session_scope
from backend.errors import AuthenticationError, ServiceError
from backend.models import AuditEvent, PasswordResetToken, Workspace
from backend.models.types import utcnow
from backend.privacy.audit import (
    SYSTEM,
    Filters,
    activity_csv,
    activity_people,
    describe_user_agent,
    list_activity,
)
from backend.security import token_hash
from tests.unit.messaging_helpers import (
    settle,
    settle_background,  # noqa: F401 - autouse fixture
)

PASSWORD = "correct-horse-battery-9"
CHROME_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0 Safari/537.36")


def _owner(email: str, business: str):
    return accounts.sign_up(email, PASSWORD, "Ana Ruiz", business)


def _actions(workspace_id: int) -> list[tuple[str, int | None, str, str]]:
    with session_scope() as s:
        return [(e.action, e.user_id, e.detail, e.client_address) for e in s.exec(
            select(AuditEvent).where(AuditEvent.workspace_id == workspace_id).order_by(AuditEvent.id))]


def test_sign_ins_failures_sign_outs_resets_and_ended_sessions_are_logged_in_the_owners_workspace(db):
    oak = _owner("ana@oak.example", "Oak Dental")
    elm = _owner("bo@elm.example", "Elm Salon")
    token = accounts.log_in("ana@oak.example", PASSWORD, user_agent=CHROME_MAC, client_address="203.0.113.5")
    with pytest.raises(AuthenticationError):
        accounts.log_in("ana@oak.example", "not-my-password", client_address="198.51.100.66")
    with pytest.raises(AuthenticationError):
        accounts.log_in("nobody@oak.example", PASSWORD, client_address="198.51.100.66")  # no account: no row
    assert accounts.sign_out_other_sessions(token, client_address="203.0.113.5") == 1  # the sign-up's session
    accounts.log_out(token, client_address="203.0.113.5")

    accounts.request_password_reset("ana@oak.example")
    reset = "reset-token-for-test"
    with session_scope() as s:
        row = s.exec(select(PasswordResetToken)).one()
        row.token_hash = token_hash(reset)
    fresh = accounts.log_in("ana@oak.example", PASSWORD)
    accounts.reset_password(reset, "another-horse-battery-7", client_address="203.0.113.5")
    settle()

    assert _actions(oak.workspace_id) == [
        ("account.signed_up", oak.user_id, "", ""),
        ("account.signed_in", oak.user_id, "Chrome on macOS", "203.0.113.5"),
        ("account.sign_in_failed", oak.user_id, "", "198.51.100.66"),
        ("account.sessions_revoked", oak.user_id, "1 other session(s)", "203.0.113.5"),
        ("account.signed_out", oak.user_id, "Chrome on macOS", "203.0.113.5"),
        ("account.signed_in", oak.user_id, "", ""),
        ("account.password_reset", oak.user_id, "1 session(s) signed out", "203.0.113.5"),
    ]
    with pytest.raises(AuthenticationError):
        accounts.validate_session(fresh)
    assert [a[0] for a in _actions(elm.workspace_id)] == ["account.signed_up"]


def test_the_log_reads_in_words_filters_pages_and_stays_in_its_workspace(db):
    oak = _owner("ana@oak.example", "Oak Dental")
    elm = _owner("bo@elm.example", "Elm Salon")
    with session_scope() as s:
        s.get(Workspace, oak.workspace_id).timezone = "America/New_York"
        signed_up = s.exec(select(AuditEvent).where(AuditEvent.workspace_id == oak.workspace_id)).one()
        signed_up.created_at = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)  # the log must not depend on today
        # 23:30 in New York on 9 March is already the 10th in UTC: the day filter follows the workspace's clock.
        late = datetime(2026, 3, 10, 3, 30, tzinfo=timezone.utc)
        s.add(AuditEvent(workspace_id=oak.workspace_id, user_id=oak.user_id, action="api_token.created",
                         detail="API token 1 (abcd): Zapier", created_at=late))
        s.add(AuditEvent(workspace_id=oak.workspace_id, actor="API token “Zapier”", action="contact.exported",
                         detail="contact 7: 1 conversation(s)", created_at=late + timedelta(days=2)))
        s.add(AuditEvent(workspace_id=oak.workspace_id, action="something.new", created_at=late + timedelta(days=3)))
        for i in range(60):
            s.add(AuditEvent(workspace_id=oak.workspace_id, user_id=oak.user_id, action="profile.updated",
                             created_at=late + timedelta(days=10, minutes=i)))
        s.add(AuditEvent(workspace_id=elm.workspace_id, user_id=elm.user_id, action="api_token.created",
                         detail="Elm's secret token", created_at=late))

    first = list_activity(oak.workspace_id)
    assert (first.total, first.pages, len(first.rows)) == (64, 2, 50)
    assert first.rows[0].summary == "Updated the business profile" and first.rows[0].who == "Ana Ruiz"
    last = list_activity(oak.workspace_id, page=2)
    assert [r.action for r in last.rows[-4:]] == ["something.new", "contact.exported", "api_token.created",
                                                  "account.signed_up"]
    token_row = last.rows[-2]
    assert (token_row.summary, token_row.category_label, token_row.at) == (
        "Created an API token", "API tokens", "9 Mar 2026, 23:30")
    assert last.rows[-3].who == "API token “Zapier”" and last.rows[-3].summary == "Downloaded a contact's data"
    assert last.rows[-4].summary == "Something: new" and last.rows[-4].who == "System"
    assert list_activity(oak.workspace_id, page=99).page == 2

    def actions(**filters) -> list[str]:
        return [r.action for r in list_activity(oak.workspace_id, Filters(**filters), page_size=200).rows]

    assert actions(category="api_tokens") == ["api_token.created"]
    assert actions(category="privacy") == ["contact.exported"]
    assert actions(category="other") == ["something.new"]
    assert actions(person=SYSTEM) == ["something.new", "contact.exported"]
    assert set(actions(person=str(oak.user_id))) == {"profile.updated", "api_token.created", "account.signed_up"}
    assert actions(date_from="2026-03-09", date_to="2026-03-09") == ["api_token.created"]
    assert actions(date_from="2026-03-10", date_to="2026-03-12") == ["something.new", "contact.exported"]
    assert "Elm's secret token" not in repr(list_activity(oak.workspace_id, page_size=200))
    assert actions(person=str(elm.user_id)) == []

    for bad, field in ((dict(date_from="9 March"), "date_from"), (dict(category="gossip"), "category"),
                       (dict(person="everyone"), "person"),
                       (dict(date_from="2026-03-12", date_to="2026-03-10"), "date_to")):
        with pytest.raises(ServiceError) as refused:
            list_activity(oak.workspace_id, Filters(**bad))
        assert refused.value.field == field

    assert activity_people(oak.workspace_id) == [(str(oak.user_id), "Ana Ruiz"), (SYSTEM, "System and integrations")]


def test_the_csv_download_holds_the_filtered_log_and_is_itself_logged(db):
    oak = _owner("ana@oak.example", "Oak Dental")
    with session_scope() as s:
        s.add(AuditEvent(workspace_id=oak.workspace_id, user_id=oak.user_id, action="kb.faq.added",
                         detail="=HYPERLINK(\"http://evil.example\")", created_at=utcnow()))
    rows = list(csv.reader(io.StringIO(activity_csv(oak.workspace_id, Filters(category="knowledge"),
                                                    user_id=oak.user_id))))
    assert rows[0] == ["time", "person", "email", "kind", "what", "detail", "address", "code"]
    assert len(rows) == 2
    assert rows[1][1:5] == ["Ana Ruiz", "ana@oak.example", "Knowledge", "Added an FAQ entry"]
    assert rows[1][5].startswith("'=HYPERLINK")  # a spreadsheet shows it as text instead of running it
    assert list_activity(oak.workspace_id, Filters(category="privacy")).rows[0].summary == \
        "Downloaded the activity log"


def test_browsers_are_named_plainly():
    assert describe_user_agent(CHROME_MAC) == "Chrome on macOS"
    assert describe_user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                               "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1") == "Safari on iPhone"
    assert describe_user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0") == \
        "Firefox on Linux"
    assert describe_user_agent("curl/8.5") == "Another app" and describe_user_agent("") == ""
