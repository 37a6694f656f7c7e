"""The JSON shapes of REST API v1: what the services' views look like on the wire, and what requests may carry.

Response models mirror the dataclass views of backend.messaging.views, so a view and its schema change
together; times go out as ISO-8601 UTC or null (the views say "" for "no time", which JSON clients should
not have to special-case).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Optional

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, GetJsonSchemaHandler

from backend.models.enums import ConversationStatus

MAX_ID = 2**31 - 1  # ids are 32-bit integer columns; a larger number is not an id of anything


def _refuse_unstorable(value: str) -> str:
    # PostgreSQL cannot store NUL characters and no keyboard types one: refuse it here rather than fail later.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    # JSON may spell half of a UTF-16 pair ("\ud800"); alone it is no character, and no database can store it.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must not contain unpaired UTF-16 surrogates") from None
    return value


class _SaysNoNul:
    """Puts the NUL refusal into the OpenAPI document (a pattern), so a client knows before sending. Unpaired
    surrogates cannot be said there: a JSON Schema pattern matches characters, and they are none."""

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        schema = handler(core_schema)
        schema["pattern"] = "^[^\\u0000]*$"
        return schema


Storable = (AfterValidator(_refuse_unstorable), _SaysNoNul())
PlainText = Annotated[str, *Storable]
Time = Annotated[Optional[datetime], BeforeValidator(lambda value: value or None)]


class ErrorBody(BaseModel):
    detail: str = Field(description="Why the request was refused, in words fit to show a person.")
    field: Optional[str] = Field(default=None, description="The request field the error is about, if any.")


# --- responses -------------------------------------------------------------------------------------------------


class FileInfo(BaseModel):
    id: int
    name: str
    content_type: str
    size_bytes: int
    url: str = Field(description="A signed link to the file's bytes; it expires after an hour. "
                                 "GET /api/v1/files/{id} hands out a fresh one.")
    kind: str = Field(description="image | audio | file")


class Message(BaseModel):
    id: int
    conversation_id: int
    sender: str = Field(description="customer | assistant | owner | system")
    sender_label: str = Field(description="The name shown beside the message.")
    type: str = Field(description="text | audio | file")
    content: str = Field(description="The text; for files and audio, the file name.")
    status: str = Field(description="sent | delivered | read")
    created_at: Time
    ai_generated: bool
    file: Optional[FileInfo] = None
    transcript: Optional[str] = Field(default=None, description="What was said in a voice message.")


class Conversation(BaseModel):
    id: int
    contact_id: int
    contact_name: str
    contact_phone: str = Field(description="E.164, e.g. +12125550147")
    status: str = Field(description="open | pending | resolved")
    title: str
    last_message_preview: str
    last_message_at: Time
    unread: int = Field(description="Customer messages the business has not read yet.")
    created_at: Time
    ai_paused: bool = Field(description="A person took over: the assistant only drafts replies.")
    resolved_at: Time
    opened_unverified: bool = Field(description="Started on the portal by a browser that did not enter the code "
                                                "texted to the phone: whoever wrote may not hold that number. "
                                                "False again once that browser enters the code.")


class Contact(BaseModel):
    id: int
    phone: str = Field(description="E.164, e.g. +12125550147")
    first_name: str
    last_name: str
    email: str
    notes: str
    display_name: str
    created_at: Time
    last_seen_at: Time
    conversation_count: int


class ConversationList(BaseModel):
    data: list[Conversation]


class MessageList(BaseModel):
    data: list[Message]


class ContactList(BaseModel):
    data: list[Contact]


# --- requests --------------------------------------------------------------------------------------------------


class _Request(BaseModel):
    # A misspelt field must not be silently ignored: the caller would think it was applied.
    model_config = ConfigDict(extra="forbid")


class ConversationChanges(_Request):
    status: Optional[ConversationStatus] = Field(default=None, description="Left as it is when absent.")
    title: Optional[PlainText] = Field(default=None, description="At most 200 characters; \"\" clears it.")


class NewReply(_Request):
    text: PlainText = Field(description="Sent to the customer as the business; at most 4,000 characters by default.")


class ContactChanges(_Request):
    first_name: Optional[PlainText] = Field(default=None, description="Left as it is when absent; \"\" clears it.")
    last_name: Optional[PlainText] = None
    email: Optional[PlainText] = None
    notes: Optional[PlainText] = None
