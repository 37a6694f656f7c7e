"""API tokens: created with a name and shown once, stored only as a hash, listed without the secret, revoked
within their workspace only, and recognised (or refused with a reason) by their secret."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from backend.accounts.api_tokens import (
    NOT_A_TOKEN,
    REVOKED_TOKEN,
    UNKNOWN_TOKEN,
    authenticate_api_caller,
    authenticate_api_token,
    create_api_token,
    list_api_tokens,
    revoke_api_token,
)
from backend.db import session_scope
from backend.errors import AuthenticationError, NotFound, PermissionDenied, ServiceError
from backend.models import ApiToken, AuditEvent
from tests.unit.messaging_helpers import make_workspace

SECRET_SHAPE = re.compile(r"^fd_([a-z0-9]{8})_[A-Za-z0-9_-]{40,}$")


def _token_row(token_id: int) -> ApiToken:
    with session_scope() as s:
        return s.get(ApiToken, token_id)


def _audit(workspace_id: int) -> list[tuple[str, int | None]]:
    with session_scope() as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.workspace_id == workspace_id).order_by(AuditEvent.id))
        return [(row.action, row.user_id) for row in rows if row.action.startswith("api_token.")]


def test_a_new_token_is_shown_once_and_only_its_hash_is_kept(db):
    biz = make_workspace()
    view, secret = create_api_token(biz.id, "  Zapier   sync ", user_id=biz.owner_id)
    shape = SECRET_SHAPE.match(secret)
    assert shape, secret
    assert (view.name, view.prefix, view.revoked, view.last_used_at) == ("Zapier sync", shape.group(1), False, "")
    assert view.created_at.endswith("Z")
    row = _token_row(view.id)
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {row.name, row.prefix, row.token_hash}
    assert "secret" not in view.as_dict() and secret not in str(view.as_dict())
    _, other = create_api_token(biz.id, "Second")
    assert other != secret and SECRET_SHAPE.match(other)
    assert _audit(biz.id) == [("api_token.created", biz.owner_id), ("api_token.created", None)]


@pytest.mark.parametrize("name, reason", [("", "Enter a name"), ("   ", "Enter a name"),
                                          ("x" * 81, "at most 80 characters")])
def test_a_token_needs_a_name_of_at_most_80_characters(db, name, reason):
    biz = make_workspace()
    with pytest.raises(ServiceError, match=reason) as err:
        create_api_token(biz.id, name)
    assert err.value.field == "name"
    assert list_api_tokens(biz.id) == [] and _audit(biz.id) == []
    assert create_api_token(biz.id, "x" * 80)[0].name == "x" * 80


def test_only_members_create_and_revoke_tokens(db):
    oak = make_workspace("oak-dental", "Oak Dental")
    elm = make_workspace("elm-salon", "Elm Salon")
    with pytest.raises(PermissionDenied):
        create_api_token(oak.id, "Sneaky", user_id=elm.owner_id)
    view, secret = create_api_token(oak.id, "Zapier")
    with pytest.raises(PermissionDenied):
        revoke_api_token(oak.id, view.id, user_id=elm.owner_id)
    assert [t.name for t in list_api_tokens(oak.id)] == ["Zapier"]
    assert authenticate_api_token(secret) == oak.id


def test_tokens_are_listed_newest_first_per_workspace(db):
    oak = make_workspace("oak-dental", "Oak Dental")
    elm = make_workspace("elm-salon", "Elm Salon")
    first, _ = create_api_token(oak.id, "First")
    second, _ = create_api_token(oak.id, "Second")
    create_api_token(elm.id, "Elm's")
    revoke_api_token(oak.id, first.id)
    listed = list_api_tokens(oak.id)
    assert [(t.id, t.revoked) for t in listed] == [(second.id, False), (first.id, True)]
    assert [t.name for t in list_api_tokens(elm.id)] == ["Elm's"]


def test_a_revoked_token_is_refused_and_revoking_is_recorded_once(db):
    biz = make_workspace()
    view, secret = create_api_token(biz.id, "Zapier")
    assert authenticate_api_token(secret) == biz.id
    revoke_api_token(biz.id, view.id, user_id=biz.owner_id)
    revoke_api_token(biz.id, view.id)
    with pytest.raises(AuthenticationError, match=re.escape(REVOKED_TOKEN)):
        authenticate_api_token(secret)
    assert _audit(biz.id) == [("api_token.created", None), ("api_token.revoked", biz.owner_id)]


def test_another_workspaces_token_cannot_be_revoked(db):
    oak = make_workspace("oak-dental", "Oak Dental")
    elm = make_workspace("elm-salon", "Elm Salon")
    view, secret = create_api_token(oak.id, "Zapier")
    for token_id in (view.id, view.id + 1000):
        with pytest.raises(NotFound):
            revoke_api_token(elm.id, token_id)
    assert authenticate_api_token(secret) == oak.id
    assert _token_row(view.id).revoked_at is None and _audit(elm.id) == []


def test_unknown_and_malformed_secrets_are_refused_with_a_reason(db):
    biz = make_workspace()
    view, secret = create_api_token(biz.id, "Zapier")
    prefix = view.prefix
    malformed = ["", "   ", "Bearer " + secret, secret[3:], "fd_" + prefix, f"fd_{prefix}_", f"fd_{prefix}_short",
                 secret.upper(), secret + "\x00", f"sk_{prefix}_{secret[12:]}", None, 42]
    for candidate in malformed:
        with pytest.raises(AuthenticationError, match=re.escape(NOT_A_TOKEN)):
            authenticate_api_token(candidate)
    other_prefix = "a" * 8 if prefix != "a" * 8 else "b" * 8
    well_formed_but_unknown = [secret[:-1] + ("A" if secret[-1] != "A" else "B"), f"fd_{other_prefix}_{secret[12:]}"]
    for candidate in well_formed_but_unknown:
        with pytest.raises(AuthenticationError, match=re.escape(UNKNOWN_TOKEN)):
            authenticate_api_token(candidate)
    assert _token_row(view.id).last_used_at is None


def test_last_used_is_written_at_most_once_a_minute(db):
    biz = make_workspace()
    view, secret = create_api_token(biz.id, "Zapier")
    caller = authenticate_api_caller(secret)
    assert (caller.workspace_id, caller.token_id, caller.token_name) == (biz.id, view.id, "Zapier")
    first_use = _token_row(view.id).last_used_at
    assert first_use is not None
    authenticate_api_token(secret)
    assert _token_row(view.id).last_used_at == first_use
    assert list_api_tokens(biz.id)[0].last_used_at != ""

    with session_scope() as s:
        s.get(ApiToken, view.id).last_used_at = first_use - timedelta(seconds=61)
    authenticate_api_token(secret)
    assert _token_row(view.id).last_used_at > first_use
