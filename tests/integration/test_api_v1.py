"""REST API v1 through HTTP, on the real app object `create_api()` returns: token authentication, every
endpoint, refusals that change nothing, and one workspace's token never reaching another workspace's data."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from backend.accounts.api_tokens import NOT_A_TOKEN, REVOKED_TOKEN, UNKNOWN_TOKEN, create_api_token, revoke_api_token
from backend.api.app import create_api
from backend.api.auth import NO_TOKEN
from backend.db import session_scope
from backend.errors import RateLimited
from backend.messaging import contacts, inbox, portal
from backend.models import ApiToken, AuditEvent, Contact, Conversation, Message, StoredFile
from tests.unit.messaging_helpers import (
    SAMPLES,
    make_workspace,
    settle_background,  # noqa: F401 - autouse fixture
)

ABSENT_ID = 999_999


@dataclass(frozen=True)
class Business:
    id: int
    owner_id: int
    token_id: int
    secret: str
    conversation_id: int
    contact_id: int
    message_id: int
    file_id: int
    file_bytes: bytes

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


def _business(slug: str, name: str, phone: str, customer: str, text: str) -> Business:
    biz = make_workspace(slug, name)
    me = portal.identify_customer(slug, phone, customer)
    first = portal.send_customer_message(me.session_token, text)
    photo = portal.send_customer_file(me.session_token, "photo.png", SAMPLES["png"][1])
    token, secret = create_api_token(biz.id, f"{name} sync")
    return Business(
        id=biz.id, owner_id=biz.owner_id, token_id=token.id, secret=secret,
        conversation_id=first.conversation_id,
        contact_id=inbox.get_conversation(biz.id, first.conversation_id).contact_id,
        message_id=first.id, file_id=photo.file["id"], file_bytes=SAMPLES["png"][1],
    )


@pytest.fixture
def client(db) -> TestClient:
    return TestClient(create_api())


@pytest.fixture
def oak(db) -> Business:
    return _business("oak-dental", "Oak Dental", "+12125550101", "Alice", "Do you take Delta Dental?")


@pytest.fixture
def elm(db, oak) -> Business:
    return _business("elm-salon", "Elm Salon", "+16465550123", "Bella", "Secret haircut plans")


def _snapshot(workspace_id: int) -> dict:
    """Everything of a workspace an API call could change, to compare before and after."""
    with session_scope() as s:
        def rows(model, *columns):
            query = select(*columns).where(model.workspace_id == workspace_id).order_by(model.id)
            return [tuple(row) for row in s.exec(query).all()]

        return {
            "conversations": rows(Conversation, Conversation.id, Conversation.status, Conversation.title,
                                  Conversation.last_message_preview, Conversation.resolved_at),
            "messages": rows(Message, Message.id, Message.content, Message.sender),
            "contacts": rows(Contact, Contact.id, Contact.first_name, Contact.last_name, Contact.email,
                             Contact.notes),
            "files": rows(StoredFile, StoredFile.id, StoredFile.storage_key),
            "audit": rows(AuditEvent, AuditEvent.id, AuditEvent.action),
        }


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["data"]]


def _endpoints_by_id(conversation_id: int, contact_id: int, file_id: int) -> list[tuple[str, str, dict | None]]:
    c, k, f = conversation_id, contact_id, file_id
    return [
        ("GET", f"/api/v1/conversations/{c}", None),
        ("PATCH", f"/api/v1/conversations/{c}", {"status": "resolved", "title": "Taken over"}),
        ("GET", f"/api/v1/conversations/{c}/messages", None),
        ("POST", f"/api/v1/conversations/{c}/messages", {"text": "Hello"}),
        ("GET", f"/api/v1/contacts/{k}", None),
        ("PATCH", f"/api/v1/contacts/{k}", {"first_name": "Mallory", "notes": "was here"}),
        ("DELETE", f"/api/v1/contacts/{k}", None),
        ("GET", f"/api/v1/contacts/{k}/conversations", None),
        ("GET", f"/api/v1/contacts/{k}/export", None),
        ("GET", f"/api/v1/files/{f}", None),
    ]


def _every_endpoint(biz: Business) -> list[tuple[str, str, dict | None]]:
    lists = [("GET", "/api/v1/conversations", None), ("GET", "/api/v1/contacts", None)]
    return lists + _endpoints_by_id(biz.conversation_id, biz.contact_id, biz.file_id)


# --- tokens --------------------------------------------------------------------------------------------------------


def test_every_endpoint_refuses_a_request_without_a_usable_token(client, oak):
    revoked, revoked_secret = create_api_token(oak.id, "Old integration")
    revoke_api_token(oak.id, revoked.id)
    unknown = oak.secret[:-2] + ("xy" if not oak.secret.endswith("xy") else "zz")
    attempts = [
        ({}, NO_TOKEN, "Bearer"),
        ({"Authorization": f"Basic {oak.secret}"}, NO_TOKEN, "Bearer"),
        ({"Authorization": "Bearer"}, NO_TOKEN, "Bearer"),
        ({"Authorization": "Bearer not-a-token"}, NOT_A_TOKEN, 'error="invalid_token"'),
        ({"Authorization": f"Bearer {unknown}"}, UNKNOWN_TOKEN, 'error="invalid_token"'),
        ({"Authorization": f"Bearer {revoked_secret}"}, REVOKED_TOKEN, 'error="invalid_token"'),
    ]
    before = _snapshot(oak.id)
    for method, path, body in _every_endpoint(oak):
        for headers, reason, challenge in attempts:
            response = client.request(method, path, json=body, headers=headers, follow_redirects=False)
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.json() == {"detail": reason}
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert challenge in response.headers["WWW-Authenticate"]
    assert _snapshot(oak.id) == before


def test_token_lifecycle_create_use_last_used_revoke(client, oak):
    token, secret = create_api_token(oak.id, "Zapier", user_id=oak.owner_id)
    headers = {"Authorization": f"Bearer {secret}"}
    with session_scope() as s:
        row = s.get(ApiToken, token.id)
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() and row.last_used_at is None

    assert _ids(client.get("/api/v1/conversations", headers=headers)) == [oak.conversation_id]
    with session_scope() as s:
        first_use = s.get(ApiToken, token.id).last_used_at
    assert first_use is not None
    client.get("/api/v1/contacts", headers=headers)
    with session_scope() as s:
        assert s.get(ApiToken, token.id).last_used_at == first_use  # not rewritten within the minute
        s.get(ApiToken, token.id).last_used_at = first_use - timedelta(minutes=2)
    client.get("/api/v1/contacts", headers=headers)
    with session_scope() as s:
        assert s.get(ApiToken, token.id).last_used_at > first_use

    revoke_api_token(oak.id, token.id, user_id=oak.owner_id)
    refused = client.get("/api/v1/conversations", headers=headers)
    assert (refused.status_code, refused.json()) == (401, {"detail": REVOKED_TOKEN})
    assert client.get("/api/v1/conversations", headers=oak.headers).status_code == 200  # other tokens still work


# --- conversations and messages ------------------------------------------------------------------------------


def test_conversations_are_listed_filtered_searched_and_read(client, oak):
    second = portal.send_customer_message(portal.identify_customer("oak-dental", "+12125550102", "Bob").session_token,
                                          "Crown came off").conversation_id
    inbox.set_conversation_status(oak.id, oak.conversation_id, "pending")
    listed = client.get("/api/v1/conversations", headers=oak.headers).json()["data"]
    assert [c["id"] for c in listed] == [second, oak.conversation_id]
    assert listed[1]["contact_name"] == "Alice" and listed[1]["contact_phone"] == "+12125550101"
    assert listed[1]["last_message_at"].endswith("Z") and listed[1]["resolved_at"] is None
    assert listed[1]["opened_unverified"] is True  # Alice's browser never entered the texted code

    def ids(**params) -> list[int]:
        return _ids(client.get("/api/v1/conversations", params=params, headers=oak.headers))

    assert ids(status="pending") == [oak.conversation_id]
    assert ids(status="open") == [second]
    assert ids(search="DELTA") == [oak.conversation_id]
    assert ids(search="(212) 555-0102") == [second]
    assert ids(limit=1) == [second]

    one = client.get(f"/api/v1/conversations/{oak.conversation_id}", headers=oak.headers)
    assert one.status_code == 200
    assert (one.json()["id"], one.json()["status"], one.json()["unread"]) == (oak.conversation_id, "pending", 2)


def test_status_and_title_are_changed_by_patch(client, oak):
    path = f"/api/v1/conversations/{oak.conversation_id}"
    changed = client.patch(path, json={"status": "resolved", "title": "  Insurance   question "}, headers=oak.headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["status"], changed.json()["title"]) == ("resolved", "Insurance question")
    assert changed.json()["resolved_at"]
    only_title = client.patch(path, json={"title": "Delta"}, headers=oak.headers).json()
    assert (only_title["status"], only_title["title"]) == ("resolved", "Delta")
    with session_scope() as s:
        row = s.get(Conversation, oak.conversation_id)
        assert (row.status, row.title) == ("resolved", "Delta")


def test_messages_are_listed_and_a_reply_is_sent_in_the_tokens_name(client, oak):
    path = f"/api/v1/conversations/{oak.conversation_id}/messages"
    listed = client.get(path, headers=oak.headers).json()["data"]
    assert [(m["sender"], m["type"]) for m in listed] == [("customer", "text"), ("customer", "file")]
    assert listed[1]["file"]["id"] == oak.file_id and "sig=" in listed[1]["file"]["url"]
    assert listed[0]["file"] is None and listed[0]["created_at"].endswith("Z")

    sent = client.post(path, json={"text": " We do! "}, headers=oak.headers)
    assert sent.status_code == 201, sent.text
    reply = sent.json()
    assert (reply["sender"], reply["sender_label"], reply["content"], reply["conversation_id"]) == (
        "owner", "Oak Dental sync (API)", "We do!", oak.conversation_id)
    newer = client.get(path, params={"after_id": listed[-1]["id"]}, headers=oak.headers).json()["data"]
    assert [m["id"] for m in newer] == [reply["id"]]
    with session_scope() as s:
        row = s.get(Message, reply["id"])
        assert (row.content, row.sender_user_id, row.meta["api_token_id"]) == ("We do!", None, oak.token_id)
    assert inbox.get_conversation(oak.id, oak.conversation_id).last_message_preview == "We do!"


# --- contacts ----------------------------------------------------------------------------------------------------


def test_contacts_are_listed_searched_sorted_and_paged(client, oak):
    bob = portal.identify_customer("oak-dental", "+12125550102", "Bob")
    portal.send_customer_message(bob.session_token, "Hi")

    def ids(**params) -> list[int]:
        return _ids(client.get("/api/v1/contacts", params=params, headers=oak.headers))

    assert ids() == [bob.contact_id, oak.contact_id]  # last seen first
    assert ids(sort="name") == [oak.contact_id, bob.contact_id]
    assert ids(sort="name", limit=1, offset=1) == [bob.contact_id]
    assert ids(search="alice") == [oak.contact_id]
    assert ids(search="555-0102") == [bob.contact_id]
    contact = client.get("/api/v1/contacts", params={"search": "alice"}, headers=oak.headers).json()["data"][0]
    assert (contact["display_name"], contact["phone"], contact["conversation_count"]) == ("Alice", "+12125550101", 1)


def test_a_contact_is_read_patched_in_part_and_its_conversations_listed(client, oak):
    path = f"/api/v1/contacts/{oak.contact_id}"
    assert client.get(path, headers=oak.headers).json()["first_name"] == "Alice"
    patched = client.patch(path, json={"last_name": "Ng", "email": " Alice@Example.COM "}, headers=oak.headers)
    assert patched.status_code == 200, patched.text
    assert {k: patched.json()[k] for k in ("first_name", "last_name", "email", "display_name")} == {
        "first_name": "Alice", "last_name": "Ng", "email": "alice@example.com", "display_name": "Alice Ng"}
    cleared = client.patch(path, json={"email": ""}, headers=oak.headers).json()
    assert (cleared["email"], cleared["last_name"]) == ("", "Ng")
    with session_scope() as s:
        row = s.get(Contact, oak.contact_id)
        assert (row.first_name, row.last_name, row.email) == ("Alice", "Ng", "")
    listed = client.get(f"{path}/conversations", headers=oak.headers)
    assert _ids(listed) == [oak.conversation_id]


def test_deleting_a_contact_erases_them_with_their_conversations(client, oak):
    response = client.delete(f"/api/v1/contacts/{oak.contact_id}", headers=oak.headers)
    assert (response.status_code, response.content) == (204, b"")
    with session_scope() as s:
        assert s.get(Contact, oak.contact_id) is None
        assert s.get(Conversation, oak.conversation_id) is None
        assert s.exec(select(func.count(Message.id)).where(Message.workspace_id == oak.id)).one() == 0
    assert client.get(f"/api/v1/contacts/{oak.contact_id}", headers=oak.headers).status_code == 404
    assert client.delete(f"/api/v1/contacts/{oak.contact_id}", headers=oak.headers).status_code == 404


def test_a_contacts_data_is_exported_as_a_zip_and_the_export_is_logged(client, oak, elm):
    response = client.get(f"/api/v1/contacts/{oak.contact_id}/export", headers=oak.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith(f'attachment; filename="contact-{oak.contact_id}-alice-')
    assert response.headers["cache-control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("contact.json"))
    assert data["contact"]["phone"] == "+12125550101"
    [conversation] = data["conversations"]
    assert [m["text"] for m in conversation["messages"]][:1] == ["Do you take Delta Dental?"]
    photo = next(m["file"] for m in conversation["messages"] if m["file"])
    assert archive.read(photo["path"]) == oak.file_bytes
    assert "Secret haircut plans" not in response.content.decode("latin-1")  # nothing of the other workspace
    with session_scope() as s:
        logged = s.exec(select(AuditEvent).where(AuditEvent.action == "contact.exported")).one()
    assert (logged.workspace_id, logged.user_id, logged.actor) == (oak.id, None, "API token “Oak Dental sync”")


def test_the_dashboards_signed_export_link_downloads_the_zip_and_nothing_else(client, oak):
    from backend.privacy.export import contact_export_link

    link = contact_export_link(oak.id, oak.contact_id, oak.owner_id)
    response = client.get(link)  # no token: the signature is the key, for five minutes
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert json.loads(zipfile.ZipFile(io.BytesIO(response.content)).read("contact.json"))["contact"]["id"] == \
        oak.contact_id
    for forged in (link.replace("sig=", "sig=0"), link.replace(f"contact={oak.contact_id}&", "contact=999&"),
                   link.split("&sig=")[0]):
        refused = client.get(forged)
        assert refused.status_code == 404 and "expired" in refused.json()["detail"], forged
    with session_scope() as s:
        logged = s.exec(select(AuditEvent).where(AuditEvent.action == "contact.exported")).one()
    assert (logged.workspace_id, logged.user_id) == (oak.id, oak.owner_id)


# --- files -------------------------------------------------------------------------------------------------------


def test_a_file_redirects_to_a_signed_link_that_serves_its_bytes(client, oak):
    response = client.get(f"/api/v1/files/{oak.file_id}", headers=oak.headers, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["Cache-Control"] == "no-store"
    link = urlsplit(response.headers["Location"])
    assert "sig=" in link.query and "exp=" in link.query
    downloaded = client.get(f"{link.path}?{link.query}")  # the link itself needs no token
    assert (downloaded.status_code, downloaded.content) == (200, oak.file_bytes)


# --- refusals that change nothing ------------------------------------------------------------------------------


def test_bad_replies_are_refused_with_the_field_and_send_nothing(client, oak):
    path = f"/api/v1/conversations/{oak.conversation_id}/messages"
    before = _snapshot(oak.id)
    for text, reason in [("", "Write a message"), ("   \n ", "Write a message"), ("x" * 4001, "at most 4,000")]:
        response = client.post(path, json={"text": text}, headers=oak.headers)
        assert response.status_code == 400, response.text
        assert response.json()["field"] == "text" and reason in response.json()["detail"]
    for body in [{}, {"text": None}, {"text": 5}, {"text": "hi", "sender": "customer"}, {"text": "a\x00b"}]:
        assert client.post(path, json=body, headers=oak.headers).status_code == 422, body
    assert client.post(path, content=b"not json", headers={**oak.headers, "Content-Type": "application/json"}
                       ).status_code == 422
    assert _snapshot(oak.id) == before


def test_bad_conversation_changes_are_refused_and_change_nothing(client, oak):
    path = f"/api/v1/conversations/{oak.conversation_id}"
    before = _snapshot(oak.id)
    too_long = client.patch(path, json={"status": "resolved", "title": "x" * 201}, headers=oak.headers)
    assert too_long.status_code == 400
    assert too_long.json() == {"detail": "Titles can be at most 200 characters.", "field": "title"}
    for body in [{"status": "closed"}, {"status": "closed", "title": "Fine"}, {"stauts": "resolved"},
                 {"title": "a\x00b"}, {"status": 3}]:
        response = client.patch(path, json=body, headers=oak.headers)
        assert response.status_code == 422, (body, response.text)
    assert _snapshot(oak.id) == before


def test_bad_contact_changes_are_refused_and_change_nothing(client, oak):
    path = f"/api/v1/contacts/{oak.contact_id}"
    before = _snapshot(oak.id)
    bad_email = client.patch(path, json={"first_name": "Alicia", "email": "alice at example"}, headers=oak.headers)
    assert bad_email.status_code == 400
    assert bad_email.json()["field"] == "email" and "not valid" in bad_email.json()["detail"]
    too_long = client.patch(path, json={"first_name": "x" * 81}, headers=oak.headers)
    assert (too_long.status_code, too_long.json()["field"]) == (400, "first_name")
    for body in [{"phone": "+15550000000"}, {"first_name": "A\x00"}, {"notes": ["a"]}]:
        assert client.patch(path, json=body, headers=oak.headers).status_code == 422, body
    assert _snapshot(oak.id) == before


def test_bad_parameters_are_refused_with_422_not_a_server_error(client, oak):
    refused = [
        "/api/v1/conversations?status=archived",
        "/api/v1/conversations?limit=0",
        "/api/v1/conversations?limit=201",
        f"/api/v1/conversations?search={'x' * 101}",
        "/api/v1/conversations?search=a%00b",
        "/api/v1/contacts?sort=oldest",
        "/api/v1/contacts?offset=-1",
        "/api/v1/contacts?offset=99999999999999999999999",
        "/api/v1/contacts?search=a%00b",
        "/api/v1/conversations/0",
        "/api/v1/conversations/abc",
        f"/api/v1/conversations/{2**31}",
        f"/api/v1/conversations/{oak.conversation_id}/messages?after_id=-1",
        f"/api/v1/conversations/{oak.conversation_id}/messages?after_id={2**63}",
        f"/api/v1/contacts/{2**40}",
        f"/api/v1/files/{2**31}",
    ]
    for path in refused:
        response = client.get(path, headers=oak.headers, follow_redirects=False)
        assert response.status_code == 422, (path, response.status_code, response.text)


def test_rate_limits_from_a_service_are_answered_with_429(client, oak, monkeypatch):
    def too_fast(*args, **kwargs):
        raise RateLimited("You're sending messages too fast. Wait a minute, then try again.")

    monkeypatch.setattr(inbox, "send_api_reply", too_fast)
    response = client.post(f"/api/v1/conversations/{oak.conversation_id}/messages", json={"text": "Hi"},
                           headers=oak.headers)
    assert response.status_code == 429
    assert response.json() == {"detail": "You're sending messages too fast. Wait a minute, then try again."}
    assert response.headers["Retry-After"] == "60"


# --- isolation between workspaces --------------------------------------------------------------------------------


def test_a_token_never_reaches_another_workspaces_ids(client, oak, elm):
    elm_before = _snapshot(elm.id)
    oak_before = _snapshot(oak.id)
    theirs = _endpoints_by_id(elm.conversation_id, elm.contact_id, elm.file_id)
    never_existed = _endpoints_by_id(ABSENT_ID, ABSENT_ID, ABSENT_ID)
    for (method, path, body), (_, absent_path, _) in zip(theirs, never_existed):
        refused = client.request(method, path, json=body, headers=oak.headers, follow_redirects=False)
        absent = client.request(method, absent_path, json=body, headers=oak.headers, follow_redirects=False)
        assert refused.status_code == 404, (method, path, refused.status_code, refused.text)
        # Exactly what an id that never existed gets: nothing tells that the object exists elsewhere.
        assert refused.json() == absent.json(), (method, path)
        assert "Location" not in refused.headers
    # Message ids only select within a conversation: another workspace's id as a cursor reveals nothing of it.
    after_their_message = client.get(f"/api/v1/conversations/{oak.conversation_id}/messages",
                                     params={"after_id": elm.message_id}, headers=oak.headers).json()["data"]
    assert {m["conversation_id"] for m in after_their_message} <= {oak.conversation_id}

    assert _snapshot(elm.id) == elm_before
    assert _snapshot(oak.id) == oak_before
    with session_scope() as s:
        elm_row = s.get(Conversation, elm.conversation_id)
        assert (elm_row.status, elm_row.title) == ("open", "")
        assert s.get(Contact, elm.contact_id).first_name == "Bella"
        assert [m.content for m in s.exec(select(Message).where(Message.conversation_id == elm.conversation_id))
                ] == ["Secret haircut plans", "photo.png"]


def test_lists_hold_only_the_tokens_own_workspace(client, oak, elm):
    assert _ids(client.get("/api/v1/conversations", headers=oak.headers)) == [oak.conversation_id]
    assert _ids(client.get("/api/v1/conversations", headers=elm.headers)) == [elm.conversation_id]
    assert _ids(client.get("/api/v1/conversations", params={"search": "haircut"}, headers=oak.headers)) == []
    assert _ids(client.get("/api/v1/conversations", params={"search": "Bella"}, headers=oak.headers)) == []
    assert _ids(client.get("/api/v1/contacts", headers=oak.headers)) == [oak.contact_id]
    assert _ids(client.get("/api/v1/contacts", params={"search": "646555"}, headers=oak.headers)) == []
    assert _ids(client.get("/api/v1/contacts", headers=elm.headers)) == [elm.contact_id]
    messages = client.get(f"/api/v1/conversations/{elm.conversation_id}/messages", headers=elm.headers).json()
    assert {m["conversation_id"] for m in messages["data"]} == {elm.conversation_id}


def test_the_same_phone_in_two_workspaces_is_two_separate_contacts(client, oak, elm):
    twin = portal.identify_customer("elm-salon", "+12125550101", "Alice at Elm")
    portal.send_customer_message(twin.session_token, "Haircut for Alice")
    assert client.get(f"/api/v1/contacts/{twin.contact_id}", headers=oak.headers).status_code == 404
    found = client.get("/api/v1/contacts", params={"search": "2125550101"}, headers=oak.headers)
    assert _ids(found) == [oak.contact_id]
    contacts_of_elm = {c.id for c in contacts.list_contacts(elm.id)}
    assert twin.contact_id in contacts_of_elm and oak.contact_id not in contacts_of_elm


# --- the OpenAPI document --------------------------------------------------------------------------------------


def test_the_openapi_document_lists_and_describes_every_endpoint(client, oak):
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    spec = document.json()
    paths = spec["paths"]
    expected = {
        ("get", "/api/v1/conversations"), ("get", "/api/v1/conversations/{conversation_id}"),
        ("patch", "/api/v1/conversations/{conversation_id}"),
        ("get", "/api/v1/conversations/{conversation_id}/messages"),
        ("post", "/api/v1/conversations/{conversation_id}/messages"),
        ("get", "/api/v1/contacts"), ("get", "/api/v1/contacts/{contact_id}"),
        ("patch", "/api/v1/contacts/{contact_id}"), ("delete", "/api/v1/contacts/{contact_id}"),
        ("get", "/api/v1/contacts/{contact_id}/conversations"), ("get", "/api/v1/files/{file_id}"),
        ("get", "/api/v1/contacts/{contact_id}/export"),
    }
    listed = {(method, path) for path, operations in paths.items() for method in operations}
    assert expected <= listed, expected - listed
    assert spec["components"]["securitySchemes"]["ApiToken"] == {
        "type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"]["ApiToken"][
            "description"]}
    for method, path in expected:
        operation = paths[path][method]
        assert operation["security"] == [{"ApiToken": []}], (method, path)
        assert operation["tags"], (method, path)
        assert "401" in operation["responses"], (method, path)
    schemas = spec["components"]["schemas"]
    assert {"Conversation", "Message", "Contact", "FileInfo", "ErrorBody", "NewReply"} <= set(schemas)
    assert schemas["Conversation"]["properties"]["opened_unverified"]["type"] == "boolean"

    def ref(method, path, status):
        return paths[path][method]["responses"][status]["content"]["application/json"]["schema"]["$ref"]

    assert ref("post", "/api/v1/conversations/{conversation_id}/messages", "201") == "#/components/schemas/Message"
    assert ref("get", "/api/v1/contacts/{contact_id}", "200") == "#/components/schemas/Contact"
    assert ref("patch", "/api/v1/contacts/{contact_id}", "400") == "#/components/schemas/ErrorBody"
    export = paths["/api/v1/contacts/{contact_id}/export"]["get"]["responses"]
    assert export["200"]["content"] == {"application/zip": {"schema": {"type": "string", "format": "binary"}}}
    assert ref("get", "/api/v1/contacts/{contact_id}/export", "404") == "#/components/schemas/ErrorBody"
    assert set(schemas["ConversationStatus"]["enum"]) == {"open", "pending", "resolved"}
    sort = next(p for p in paths["/api/v1/contacts"]["get"]["parameters"] if p["name"] == "sort")
    assert sort["schema"]["enum"] == ["recent", "name", "created"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and "/api/v1/openapi.json" in docs.text


# --- issue 15, finding 11: what JSON can spell but no database can store, and what the document does not name -------


def test_a_lone_surrogate_in_any_text_field_is_refused_with_422_and_changes_nothing(client, oak):
    before = _snapshot(oak.id)
    c, k = oak.conversation_id, oak.contact_id
    writes = [("POST", f"/api/v1/conversations/{c}/messages", "text", {}),
              ("PATCH", f"/api/v1/conversations/{c}", "title", {}),
              *[("PATCH", f"/api/v1/contacts/{k}", name, {}) for name in ("first_name", "last_name", "email", "notes")]]
    for half in ('"\\ud800"', '"ok \\udfff"', '"\\udc00\\ud800"'):
        for method, path, field, _ in writes:
            raw = '{"%s": %s}' % (field, half)
            response = client.request(method, path, content=raw,
                                      headers={**oak.headers, "Content-Type": "application/json"})
            assert response.status_code == 422, (method, path, raw, response.text)
            assert response.json()["detail"][0]["loc"] == ["body", field]
            assert "surrogate" in response.json()["detail"][0]["msg"]
    # Even as a field's name, or beside an unknown field: the refusal never echoes what cannot be written.
    for raw in ('{"\\ud800": "x"}', '{"text": "hi", "x": "\\ud800"}'):
        response = client.post(f"/api/v1/conversations/{c}/messages", content=raw,
                                headers={**oak.headers, "Content-Type": "application/json"})
        assert response.status_code == 422, (raw, response.text)
    # A valid pair is one character (an emoji), and welcome.
    sent = client.post(f"/api/v1/conversations/{c}/messages", content='{"text": "Thanks \\ud83d\\ude00"}',
                       headers={**oak.headers, "Content-Type": "application/json"})
    assert sent.status_code == 201 and sent.json()["content"] == "Thanks \U0001F600"
    after = _snapshot(oak.id)
    assert after["contacts"] == before["contacts"] and after["conversations"][0][:3] == before["conversations"][0][:3]


def test_a_query_parameter_the_document_does_not_name_is_refused_like_an_unknown_body_field(client, oak):
    for path in ["/api/v1/conversations?stauts=resolved", "/api/v1/contacts?offset=0&x=1",
                 f"/api/v1/conversations/{oak.conversation_id}/messages?after=3", "/api/v1/services?page=2"]:
        response = client.get(path, headers=oak.headers)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"][0]["type"] == "extra_forbidden"
    assert client.get("/api/v1/conversations?status=open&limit=5", headers=oak.headers).status_code == 200


def test_a_method_a_path_does_not_take_is_answered_with_every_method_it_does(client, oak):
    for path, methods in [("/api/v1/appointments", "GET, POST"),
                          (f"/api/v1/contacts/{oak.contact_id}", "DELETE, GET, PATCH"),
                          (f"/api/v1/conversations/{oak.conversation_id}/messages", "GET, POST")]:
        response = client.options(path, headers=oak.headers)
        assert response.status_code == 405 and response.headers["Allow"] == methods, (path, response.headers)
