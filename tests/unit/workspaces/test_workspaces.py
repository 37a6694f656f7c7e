"""The business profile, portal slugs and the public view of a workspace."""

from __future__ import annotations

import pytest
from sqlmodel import select

from backend.accounts import service as accounts
from backend.db import session_scope
from backend.demo import seed_demo
from backend.errors import NotFound, ServiceError
from backend.models import Contact, Conversation, Workspace
from backend.workspaces import service as workspaces
from backend.workspaces.overview import workspace_overview
from backend.workspaces.slugs import slugify

PROFILE = dict(name="Oak Dental", ai_role="medical", ai_personality="friendly", assistant_name="Ava",
               timezone="America/Chicago")


def _workspace_id() -> int:
    result = accounts.sign_up("owner@example.com", "sturdy-passphrase-42", "Ana Ruiz", "Oak Dental")
    return result.workspace_id


def test_update_profile_saves_and_marks_onboarded(db):
    ws_id = _workspace_id()
    profile = workspaces.update_profile(ws_id, **PROFILE, industry="Health", custom_instructions="Be brief.")
    assert profile.onboarded and profile.ai_role == "medical" and profile.timezone == "America/Chicago"
    assert profile.portal_url.endswith("/portal/oak-dental")
    assert workspaces.get_profile(ws_id).custom_instructions == "Be brief."


@pytest.mark.parametrize(
    "change,field",
    [
        ({"ai_role": "wizard"}, "ai_role"),
        ({"ai_personality": "grumpy"}, "ai_personality"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"name": ""}, "name"),
        ({"assistant_name": " "}, "assistant_name"),
        ({"custom_instructions": "x" * 4001}, "custom_instructions"),
    ],
)
def test_bad_profile_changes_nothing(db, change, field):
    ws_id = _workspace_id()
    with pytest.raises(ServiceError) as err:
        workspaces.update_profile(ws_id, **{**PROFILE, **change})
    assert err.value.field == field
    profile = workspaces.get_profile(ws_id)
    assert not profile.onboarded and profile.ai_role == "general" and profile.timezone == "UTC"


def test_regenerated_slug_retires_the_old_link(db):
    ws_id = _workspace_id()
    workspaces.update_profile(ws_id, **PROFILE)
    assert workspaces.get_public_workspace("oak-dental").name == "Oak Dental"
    new = workspaces.regenerate_slug(ws_id)
    assert new.slug != "oak-dental" and new.slug.startswith("oak-dental-")
    with pytest.raises(NotFound):
        workspaces.get_public_workspace("oak-dental")
    public = workspaces.get_public_workspace(new.slug.upper())
    assert public.assistant_name == "Ava" and "Ava" in public.welcome_message


def test_unknown_and_disabled_slugs_are_not_found(db):
    ws_id = _workspace_id()
    with pytest.raises(NotFound, match="couldn't find"):
        workspaces.get_public_workspace("nope")
    with pytest.raises(NotFound):
        workspaces.get_public_workspace("")
    with session_scope() as s:
        s.get(Workspace, ws_id).portal_enabled = False
    with pytest.raises(NotFound):
        workspaces.get_public_workspace("oak-dental")


def test_slugify():
    assert slugify("Café Déjà Vu & Co.") == "cafe-deja-vu-co"
    assert slugify("!!!") == "business"


def test_demo_seed_is_idempotent_and_overview_counts_only_its_workspace(db):
    first = seed_demo()
    again = seed_demo()
    assert first.created and not again.created and first.portal_url == again.portal_url
    with session_scope() as s:
        demo = s.exec(select(Workspace).where(Workspace.slug == "bright-smile-dental")).one()
        assert len(s.exec(select(Contact).where(Contact.workspace_id == demo.id)).all()) == 3
    other = _workspace_id()
    with session_scope() as s:
        contact = Contact(workspace_id=other, phone="+15550100")
        s.add(contact)
        s.flush()
        s.add(Conversation(workspace_id=other, contact_id=contact.id, unread_for_owner=7))
    demo_view = workspace_overview(demo.id)
    assert demo_view.open_conversations == 2 and demo_view.unread_messages == 2
    assert demo_view.opening_windows == 11
    assert demo_view.upcoming_appointments == 3 and demo_view.custom_intents == 1
    assert demo_view.knowledge_documents == 7
    other_view = workspace_overview(other)
    assert other_view.open_conversations == 1 and other_view.unread_messages == 7
    assert (other_view.upcoming_appointments, other_view.custom_intents, other_view.knowledge_documents) == (0, 0, 0)
