"""What the AI tracks in each conversation: the owner's field schema, current values, and their history."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.models.base import created_at_field, json_dict_field, json_list_field, timestamp_field, workspace_fk


class ContextSchema(SQLModel, table=True):
    """A named set of fields plus a status workflow (e.g. new → qualified → booked → won/lost)."""

    __tablename__ = "context_schemas"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_context_schema_name"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    name: str = Field(max_length=80)
    is_default: bool = Field(default=True)
    statuses: list = json_list_field()  # [{"key", "label", "terminal": bool}]
    transitions: dict = json_dict_field()  # {"from_key": ["to_key", ...]}
    created_at: datetime = created_at_field()


class ContextField(SQLModel, table=True):
    __tablename__ = "context_fields"
    __table_args__ = (UniqueConstraint("schema_id", "key", name="uq_context_field_key"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    schema_id: int = Field(foreign_key="context_schemas.id", ondelete="CASCADE", index=True)
    key: str = Field(max_length=60)
    label: str = Field(max_length=120)
    field_type: str = Field(max_length=20)  # text, number, date, time, email, phone, choice, ...
    description: str = Field(default="", max_length=500)
    required: bool = Field(default=False)
    options: list = json_list_field()
    ordinal: int = Field(default=0)
    active: bool = Field(default=True)


class ConversationContext(SQLModel, table=True):
    __tablename__ = "conversation_contexts"

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    conversation_id: int = Field(foreign_key="conversations.id", ondelete="CASCADE", unique=True)
    schema_id: Optional[int] = Field(default=None, foreign_key="context_schemas.id", ondelete="SET NULL")
    values: dict = json_dict_field()  # {"key": {"value", "confidence", "evidence", "message_id"}}
    status: str = Field(default="", max_length=40)
    updated_at: Optional[datetime] = timestamp_field()


class ContextHistory(SQLModel, table=True):
    __tablename__ = "context_history"
    __table_args__ = (Index("ix_context_history_conversation", "conversation_id", "created_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    conversation_id: int = Field(foreign_key="conversations.id", ondelete="CASCADE")
    field_key: str = Field(max_length=60)  # or "__status__" for workflow moves
    old_value: Optional[str] = Field(default=None, sa_type=Text)
    new_value: Optional[str] = Field(default=None, sa_type=Text)
    confidence: Optional[float] = Field(default=None)
    evidence: str = Field(default="", max_length=1000)
    source: str = Field(default="ai", max_length=10)  # ai | owner | rule
    message_id: Optional[int] = Field(default=None, foreign_key="messages.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class BusinessRule(SQLModel, table=True):
    """When <trigger> and <conditions>, do <actions>. Conditions are a nested and/or tree checked on save."""

    __tablename__ = "business_rules"
    __table_args__ = (Index("ix_rules_workspace_trigger", "workspace_id", "trigger", "active"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    name: str = Field(max_length=120)
    description: str = Field(default="", sa_type=Text)
    trigger: str = Field(max_length=40)  # message_received, context_updated, appointment_booked, ...
    conditions: dict = json_dict_field()
    actions: list = json_list_field()
    active: bool = Field(default=True)
    priority: int = Field(default=100)
    stop_processing: bool = Field(default=False)
    created_at: datetime = created_at_field()
    updated_at: Optional[datetime] = timestamp_field()
    last_fired_at: Optional[datetime] = timestamp_field()


class RuleExecution(SQLModel, table=True):
    __tablename__ = "rule_executions"
    __table_args__ = (Index("ix_rule_exec_workspace_created", "workspace_id", "created_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    rule_id: int = Field(foreign_key="business_rules.id", ondelete="CASCADE", index=True)
    conversation_id: Optional[int] = Field(default=None, foreign_key="conversations.id", ondelete="CASCADE")
    trigger: str = Field(max_length=40)
    matched: bool = Field(default=False)
    results: list = json_list_field()
    error: str = Field(default="", max_length=1000)
    created_at: datetime = created_at_field()
