"""REST API v1: a workspace's conversations, messages, contacts and files, for integrations.

Every endpoint authenticates the token, then calls one service with the token's workspace; the services scope
every query to it, so another workspace's id is answered exactly like an id that never existed (404).
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from backend.api import schemas
from backend.api.auth import Caller
from backend.api.error_responses import EVERY_OPERATION, ServiceErrorRoute, documented
from backend.api.schemas import MAX_ID, Storable
from backend.messaging import contacts, files, inbox
from backend.messaging.contacts import SORTS
from backend.messaging.search import MAX_SEARCH_CHARS
from backend.models.enums import ConversationStatus
from backend.privacy.export import export_contact
from backend.providers.storage import attachment_disposition

router = APIRouter(prefix="/api/v1", route_class=ServiceErrorRoute, responses=EVERY_OPERATION)

ConversationId = Annotated[int, Path(ge=1, le=MAX_ID, description="A conversation of your workspace.")]
ContactId = Annotated[int, Path(ge=1, le=MAX_ID, description="A contact of your workspace.")]
FileId = Annotated[int, Path(ge=1, le=MAX_ID, description="A file of your workspace (`file.id` of a message).")]
Search = Annotated[str, Query(max_length=MAX_SEARCH_CHARS), *Storable]

READ = documented(404)


def _actor(caller) -> str:
    """Who the activity log names for what a token did."""
    return f"API token “{caller.token_name}”"
WRITE = documented(400, 404, 413)


# --- conversations -----------------------------------------------------------------------------------------------


@router.get("/conversations", tags=["conversations"], response_model=schemas.ConversationList)
def list_conversations(
    caller: Caller,
    status: Annotated[Optional[ConversationStatus], Query(description="Only conversations in this status.")] = None,
    search: Annotated[Search, Query(description="Matches the contact's name, phone and e-mail, the title and "
                                                "any message, case-insensitively.")] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict:
    """The workspace's conversations, newest activity first."""
    rows = inbox.list_conversations(caller.workspace_id, status=status, search=search, limit=limit)
    return {"data": [row.as_dict() for row in rows]}


@router.get("/conversations/{conversation_id}", tags=["conversations"], response_model=schemas.Conversation,
            responses=READ)
def get_conversation(caller: Caller, conversation_id: ConversationId) -> dict:
    return inbox.get_conversation(caller.workspace_id, conversation_id).as_dict()


@router.patch("/conversations/{conversation_id}", tags=["conversations"], response_model=schemas.Conversation,
              responses=WRITE)
def update_conversation(caller: Caller, conversation_id: ConversationId, changes: schemas.ConversationChanges
                        ) -> dict:
    """Change the status, the title, or both; fields left out stay as they are. Nothing changes if either is
    refused."""
    return inbox.update_conversation(
        caller.workspace_id, conversation_id, status=changes.status, title=changes.title
    ).as_dict()


@router.get("/conversations/{conversation_id}/messages", tags=["messages"], response_model=schemas.MessageList,
            responses=READ)
def list_messages(
    caller: Caller,
    conversation_id: ConversationId,
    after_id: Annotated[int, Query(ge=0, le=MAX_ID, description="Only messages newer than this message id: "
                                                                 "pass the last id you have to get what is new.")] = 0,
    limit: Annotated[int, Query(ge=1, le=inbox.MAX_MESSAGES_PER_LOAD)] = inbox.MAX_MESSAGES_PER_LOAD,
) -> dict:
    """The conversation's messages, oldest first."""
    rows = inbox.list_messages(caller.workspace_id, conversation_id, after_id=after_id, limit=limit)
    return {"data": [row.as_dict() for row in rows]}


@router.post("/conversations/{conversation_id}/messages", tags=["messages"], response_model=schemas.Message,
             status_code=201, responses=WRITE)
def send_reply(caller: Caller, conversation_id: ConversationId, reply: schemas.NewReply) -> dict:
    """Reply to the customer as the business. The message is labelled with the token's name."""
    return inbox.send_api_reply(
        caller.workspace_id, conversation_id, reply.text,
        api_token_id=caller.token_id, api_token_name=caller.token_name,
    ).as_dict()


# --- contacts ----------------------------------------------------------------------------------------------------


@router.get("/contacts", tags=["contacts"], response_model=schemas.ContactList)
def list_contacts(
    caller: Caller,
    search: Annotated[Search, Query(description="Matches name, phone digits and e-mail, case-insensitively.")] = "",
    sort: Annotated[Literal[SORTS],  # type: ignore[valid-type] - the services' own list of sorts
                    Query(description="recent (last seen), name, or created (newest first).")] = "recent",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> dict:
    rows = contacts.list_contacts(caller.workspace_id, search=search, sort=sort, limit=limit, offset=offset)
    return {"data": [row.as_dict() for row in rows]}


@router.get("/contacts/{contact_id}", tags=["contacts"], response_model=schemas.Contact, responses=READ)
def get_contact(caller: Caller, contact_id: ContactId) -> dict:
    return contacts.get_contact(caller.workspace_id, contact_id).as_dict()


@router.patch("/contacts/{contact_id}", tags=["contacts"], response_model=schemas.Contact, responses=WRITE)
def update_contact(caller: Caller, contact_id: ContactId, changes: schemas.ContactChanges) -> dict:
    """Change some of first_name, last_name, email and notes; fields left out stay as they are."""
    current = contacts.get_contact(caller.workspace_id, contact_id)
    given = changes.model_dump(exclude_none=True)
    fields = {name: given.get(name, getattr(current, name)) for name in ("first_name", "last_name", "email", "notes")}
    return contacts.update_contact(caller.workspace_id, contact_id, **fields, actor=_actor(caller)).as_dict()


@router.delete("/contacts/{contact_id}", tags=["contacts"], status_code=204, response_class=Response,
               responses=READ)
def delete_contact(caller: Caller, contact_id: ContactId) -> Response:
    """Erase the person: the contact with all their conversations, messages and files. This cannot be undone."""
    contacts.delete_contact(caller.workspace_id, contact_id, actor=_actor(caller))
    return Response(status_code=204)


@router.get("/contacts/{contact_id}/conversations", tags=["contacts"], response_model=schemas.ConversationList,
            responses=READ)
def list_contact_conversations(caller: Caller, contact_id: ContactId) -> dict:
    """The contact's conversations, newest activity first (at most 200)."""
    rows = contacts.list_contact_conversations(caller.workspace_id, contact_id)
    return {"data": [row.as_dict() for row in rows]}


# response_class=Response: the zip is documented below; errors stay JSON (a zip class would document them as zips).
@router.get("/contacts/{contact_id}/export", tags=["contacts"], response_class=Response,
            responses={200: {"description": "A zip: contact.json (the contact, every conversation with its "
                                            "messages and transcripts, drafts, tracked details, appointments, portal "
                                            "sign-ins, texts and e-mails sent to them), the files under files/, and "
                                            "README.txt.",
                             "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
                       **READ})
def export_contact_data(caller: Caller, contact_id: ContactId) -> StreamingResponse:
    """Everything the workspace holds about the person, for a data access request. Each export is written to the
    workspace's activity log."""
    export = export_contact(caller.workspace_id, contact_id, actor=_actor(caller))
    headers = {"Content-Disposition": attachment_disposition(export.filename), "Content-Length": str(export.size),
               "Cache-Control": "no-store"}
    return StreamingResponse(export.stream(), media_type="application/zip", headers=headers)


# --- files -------------------------------------------------------------------------------------------------------


@router.get("/files/{file_id}", tags=["files"], status_code=307, response_class=RedirectResponse,
            responses={307: {"description": "Redirects to a signed link to the file's bytes, valid for an hour."},
                       **READ})
def download_file(caller: Caller, file_id: FileId) -> RedirectResponse:
    url = files.file_url_for_owner(caller.workspace_id, file_id)
    # The link expires: a cached redirect would later lead nowhere.
    return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
