"""Exporting everything about one person (backend.privacy.export): what the zip holds, that it is logged, that
another workspace's contact is not found, and the dashboard's short-lived signed link."""

from __future__ import annotations

import io
import json
import time
import zipfile
from datetime import timedelta

import pytest
from sqlmodel import select

from backend.db import session_scope
from backend.errors import NotFound, PermissionDenied
from backend.messaging import inbox, portal
from backend.models import Appointment, AuditEvent, ConversationContext, Draft, Message
from backend.models.types import utcnow
from backend.privacy.export import contact_export_link, export_contact, export_from_link
from tests.unit.messaging_helpers import (
    SAMPLES,
    add_member,
    make_workspace,
    settle_background,  # noqa: F401 - autouse fixture
)

PHONE = "+12125550147"


def _open(export) -> tuple[dict, zipfile.ZipFile]:
    archive = zipfile.ZipFile(io.BytesIO(export.read()))
    return json.loads(archive.read("contact.json")), archive


def _customer_with_history(biz):
    me = portal.identify_customer(biz.slug, PHONE, "Jordan")
    first = portal.send_customer_message(me.session_token, "Do you whiten teeth?")
    photo = portal.send_customer_file(me.session_token, "smile.png", SAMPLES["png"][1])
    voice = portal.send_customer_file(me.session_token, "voice-message.webm", SAMPLES["webm"][1])
    cid = first.conversation_id
    inbox.send_owner_file(biz.id, cid, biz.owner_id, "price list.pdf", SAMPLES["pdf"][1])
    with session_scope() as s:
        s.get(Message, voice.id).transcript = "I would like to come on Friday"
        s.add(Draft(workspace_id=biz.id, conversation_id=cid, content="Yes, we do: $300."))
        s.add(ConversationContext(workspace_id=biz.id, conversation_id=cid,
                                  values={"reason": {"value": "whitening", "confidence": 0.9}}))
        s.add(Appointment(workspace_id=biz.id, contact_id=me.contact_id, conversation_id=cid, title="Whitening",
                          starts_at=utcnow() + timedelta(days=2), ends_at=utcnow() + timedelta(days=2, hours=1)))
    return me, cid, photo


def test_the_export_holds_the_contact_conversations_transcripts_files_and_appointments(db):
    biz = make_workspace()
    me, cid, photo = _customer_with_history(biz)
    bystander = portal.identify_customer(biz.slug, "+12125550199", "Sam")
    portal.send_customer_message(bystander.session_token, "Sam's own question")

    export = export_contact(biz.id, me.contact_id, user_id=biz.owner_id, client_address="203.0.113.9")
    data, archive = _open(export)

    assert export.filename.startswith(f"contact-{me.contact_id}-jordan-") and export.filename.endswith(".zip")
    assert data["contact"]["phone"] == PHONE and data["contact"]["first_name"] == "Jordan"
    [conversation] = data["conversations"]
    assert conversation["id"] == cid
    texts = [m["text"] for m in conversation["messages"]]
    assert "Do you whiten teeth?" in texts and "Sam's own question" not in json.dumps(data)
    voice = next(m for m in conversation["messages"] if m["type"] == "audio")
    assert voice["transcript"] == "I would like to come on Friday"
    assert conversation["drafts"][0]["text"] == "Yes, we do: $300."
    assert conversation["tracked_details"] == {"reason": "whitening"}
    assert [a["title"] for a in data["appointments"]] == ["Whitening"]
    assert data["portal_sessions"] and "token" not in json.dumps(data["portal_sessions"])

    paths = {m["file"]["path"]: m["file"]["name"] for m in conversation["messages"] if m["file"]}
    assert sorted(paths.values()) == ["price list.pdf", "smile.png", "voice-message.webm"]
    for path in paths:
        assert path in archive.namelist()
    photo_path = next(p for p, name in paths.items() if name == "smile.png")
    assert archive.read(photo_path) == SAMPLES["png"][1]
    assert "README.txt" in archive.namelist() and data["files_missing_from_storage"] == 0

    with session_scope() as s:
        audit = s.exec(select(AuditEvent).where(AuditEvent.action == "contact.exported")).one()
    assert (audit.workspace_id, audit.user_id, audit.client_address) == (biz.id, biz.owner_id, "203.0.113.9")
    assert "3 file(s)" in audit.detail and PHONE not in audit.detail and "Jordan" not in audit.detail


def test_another_workspaces_contact_is_not_found_and_nothing_is_logged(db):
    oak = make_workspace("oak-dental", "Oak Dental")
    elm = make_workspace("elm-salon", "Elm Salon")
    theirs = portal.identify_customer(elm.slug, PHONE, "Bella")
    with pytest.raises(NotFound):
        export_contact(oak.id, theirs.contact_id, user_id=oak.owner_id)
    with pytest.raises(NotFound):
        contact_export_link(oak.id, theirs.contact_id, oak.owner_id)
    with pytest.raises(PermissionDenied):  # a member of another workspace
        export_contact(elm.id, theirs.contact_id, user_id=oak.owner_id)
    with session_scope() as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "contact.exported")).all() == []


def test_the_signed_link_works_for_minutes_and_only_as_signed(db):
    biz = make_workspace()
    me, _, _ = _customer_with_history(biz)
    other = portal.identify_customer(biz.slug, "+12125550199", "Sam")
    now = time.time()
    link = contact_export_link(biz.id, me.contact_id, biz.owner_id, now=now)
    assert link.startswith("/privacy/contact-export?")
    params = dict(pair.split("=", 1) for pair in link.split("?", 1)[1].split("&"))

    data, _ = _open(export_from_link(**params, now=now + 60))
    assert data["contact"]["id"] == me.contact_id

    with pytest.raises(NotFound, match="expired"):
        export_from_link(**params, now=now + 301)
    with pytest.raises(NotFound):
        export_from_link(**{**params, "contact": str(other.contact_id)}, now=now)
    with pytest.raises(NotFound):
        export_from_link(**{**params, "sig": "0" * 64}, now=now)
    with pytest.raises(NotFound):
        export_from_link(**{**params, "exp": "soon"}, now=now)

    # Someone removed from the workspace since the link was made cannot use it.
    agent = add_member(biz.id, "agent@oak-dental.example")
    agent_link = contact_export_link(biz.id, me.contact_id, agent, now=now)
    with session_scope() as s:
        from backend.models import Membership

        s.delete(s.exec(select(Membership).where(Membership.user_id == agent)).one())
    agent_params = dict(pair.split("=", 1) for pair in agent_link.split("?", 1)[1].split("&"))
    with pytest.raises(PermissionDenied):
        export_from_link(**agent_params, now=now)


def test_a_file_missing_from_storage_is_noted_not_fatal(db):
    from backend.models import StoredFile
    from backend.providers.storage import get_storage

    biz = make_workspace()
    me, _, photo = _customer_with_history(biz)
    with session_scope() as s:
        key = s.get(StoredFile, photo.file["id"]).storage_key
    get_storage().delete(key)
    data, archive = _open(export_contact(biz.id, me.contact_id))
    assert data["files_missing_from_storage"] == 1
    assert len([n for n in archive.namelist() if n.startswith("files/")]) == 2
