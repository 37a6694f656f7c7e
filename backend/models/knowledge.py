"""Knowledge documents and the chunks the assistant retrieves and cites."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from backend.models.base import created_at_field, json_list_field, timestamp_field, workspace_fk
from backend.models.types import EmbeddingType
from backend.settings import get_settings


class KnowledgeDocument(SQLModel, table=True):
    __tablename__ = "knowledge_documents"
    __table_args__ = (Index("ix_kdocs_workspace_hash", "workspace_id", "content_hash"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    title: str = Field(max_length=255)
    source_type: str = Field(default="file", max_length=12)  # file | faq
    file_id: Optional[int] = Field(default=None, foreign_key="stored_files.id", ondelete="SET NULL")
    mime_type: str = Field(default="", max_length=120)
    size_bytes: int = Field(default=0)
    content_hash: str = Field(default="", max_length=64)
    faq_question: Optional[str] = Field(default=None, sa_type=Text)
    faq_answer: Optional[str] = Field(default=None, sa_type=Text)
    tags: list = json_list_field()
    status: str = Field(default="queued", max_length=12)
    progress: float = Field(default=0.0)  # 0..1 for the live progress bar
    error: str = Field(default="", max_length=1000)
    attempts: int = Field(default=0)  # claims since the last upload, Retry or re-index
    # Runs that died with their worker (or their process). Never reset while the document exists: a file that
    # kills its reader must not get another chance by being retried.
    crash_count: int = Field(default=0)
    page_count: Optional[int] = Field(default=None)
    chunk_count: int = Field(default=0)
    created_at: datetime = created_at_field()
    updated_at: Optional[datetime] = timestamp_field()
    # A worker that dies mid-way leaves this behind; a sweeper re-queues stale ones.
    processing_heartbeat_at: Optional[datetime] = timestamp_field()


class KnowledgeChunk(SQLModel, table=True):
    __tablename__ = "knowledge_chunks"
    __table_args__ = (Index("ix_kchunks_workspace_document", "workspace_id", "document_id", "ordinal"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = workspace_fk()
    document_id: int = Field(foreign_key="knowledge_documents.id", ondelete="CASCADE")
    ordinal: int = Field(default=0)
    content: str = Field(sa_type=Text)
    heading: str = Field(default="", max_length=300)
    page: Optional[int] = Field(default=None)
    token_count: int = Field(default=0)
    embedding: Optional[Any] = Field(
        default=None, sa_column=Column("embedding", EmbeddingType(get_settings().embedding_dim), nullable=True)
    )
    created_at: datetime = created_at_field()
