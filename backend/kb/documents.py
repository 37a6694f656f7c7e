"""The knowledge base: the documents and FAQ entries a business's assistant answers from.

Each service owns its transaction and announces changes on the workspace channel only after it committed:

    {"type": "kb.document.updated", "document_id", "status", "progress"}

`status` is a DocumentStatus value, or "deleted" once a document is gone; `progress` runs 0..1 while a
document is processed (see backend.kb.processing), so the dashboard can draw a live progress bar.

A document's chunks exist only as a complete set: processing swaps the old set for the new one in one
transaction when it reaches `ready`, and a `failed` or `quarantined` document has none. A quarantined document
(its processing crashed the worker too often) is never processed again: not by Retry, not by a re-index.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import delete as sa_delete
from sqlmodel import Session, select

from backend.db import session_scope, tenant_get, tenant_select
from backend.errors import NotFound, ServiceError
from backend.kb.extract import KB_TYPES, TYPE_LABELS, ExtractionError, detect_type
from backend.models import AuditEvent, KnowledgeChunk, KnowledgeDocument, StoredFile, Workspace
from backend.models.enums import DocumentStatus
from backend.models.types import utcnow
from backend.providers.background import EnqueueError, enqueue
from backend.providers.events import get_event_bus, workspace_channel
from backend.providers.storage import get_storage

log = logging.getLogger(__name__)

KB_DOCUMENT_UPDATED = "kb.document.updated"
DELETED = "deleted"
SOURCE_FILE = "file"
SOURCE_FAQ = "faq"

MAX_TITLE_CHARS = 255
MAX_TAGS = 20
MAX_TAG_CHARS = 40
MAX_QUESTION_CHARS = 500
MAX_ANSWER_CHARS = 5000
MAX_CHUNKS_LISTED = 1000
_UNSAFE_NAME_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')

_EXTENSION_FOR = {"application/pdf": "pdf", "text/plain": "txt", "text/markdown": "md",
                  "text/html": "html", "text/csv": "csv",
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx"}


@dataclass(frozen=True)
class DocumentView:
    id: int
    title: str
    source_type: str  # file | faq
    mime_type: str
    size_bytes: int
    status: str
    progress: float
    error: str
    chunk_count: int
    page_count: int | None
    tags: list[str]
    created_at: str  # ISO 8601, UTC
    updated_at: str | None = None
    attempts: int = 0
    crashes: int = 0  # runs that died with their worker, across retries (see backend.kb.processing)
    faq_question: str | None = None
    faq_answer: str | None = None

    @property
    def type_label(self) -> str:
        return "FAQ" if self.source_type == SOURCE_FAQ else TYPE_LABELS.get(self.mime_type, self.mime_type)

    @classmethod
    def of(cls, row: KnowledgeDocument) -> "DocumentView":
        return cls(
            id=row.id,
            title=row.title,
            source_type=row.source_type,
            mime_type=row.mime_type,
            size_bytes=row.size_bytes,
            status=str(row.status),
            progress=float(row.progress or 0.0),
            error=row.error or "",
            chunk_count=row.chunk_count or 0,
            page_count=row.page_count,
            tags=list(row.tags or []),
            created_at=_iso(row.created_at),
            updated_at=_iso(row.updated_at) if row.updated_at else None,
            attempts=row.attempts or 0,
            crashes=row.crash_count or 0,
            faq_question=row.faq_question,
            faq_answer=row.faq_answer,
        )


@dataclass(frozen=True)
class ChunkView:
    id: int
    ordinal: int
    heading: str
    page: int | None
    content: str
    token_count: int


def _iso(value: datetime) -> str:
    return value.isoformat()


# --- events ------------------------------------------------------------------------------------------------


def publish_document_event(workspace_id: int, document_id: int, status: str, progress: float) -> None:
    """Tell the workspace's open pages a document changed; call only after the change committed."""
    event = {"type": KB_DOCUMENT_UPDATED, "document_id": int(document_id), "status": str(status),
             "progress": round(float(progress), 3)}
    try:
        get_event_bus().publish(workspace_channel(workspace_id), event)
    except Exception:  # the write is done; a lost hint only means a page refreshes later
        log.warning("could not publish %s for document %s", KB_DOCUMENT_UPDATED, document_id, exc_info=True)


def _schedule(workspace_id: int, document_id: int, status: str = DocumentStatus.QUEUED) -> None:
    publish_document_event(workspace_id, document_id, status, 0.0)
    try:
        enqueue("process_document", document_id=document_id)
    except EnqueueError:
        log.exception("knowledge document %s stays queued until sweep_stale_documents runs", document_id)


# --- validation --------------------------------------------------------------------------------------------


def clean_tags(tags: Iterable[str] | str | None) -> list[str]:
    """Trimmed, de-duplicated tags (case-insensitively); a comma-separated string is accepted too."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = tags.split(",")
    cleaned: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        if not isinstance(tag, str):
            raise ServiceError("Tags must be words or short phrases.", field="tags")
        tag = " ".join(unicodedata.normalize("NFC", tag).split()).strip("#, ")
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise ServiceError(f"Tags can be at most {MAX_TAG_CHARS} characters: {tag[:MAX_TAG_CHARS]}…", field="tags")
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise ServiceError(f"A document can have at most {MAX_TAGS} tags.", field="tags")
    return cleaned


def _title_from(filename: str, mime_type: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(unicodedata.normalize("NFC", _UNSAFE_NAME_CHARS.sub("_", name)).split()).strip(" .")
    if not name:
        name = f"Document.{_EXTENSION_FOR.get(mime_type, 'txt')}"
    if len(name) > MAX_TITLE_CHARS:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_TITLE_CHARS - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else \
            name[:MAX_TITLE_CHARS]
    return name


def _storage_key(workspace_id: int, title: str, mime_type: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", title).strip("._")[:80]
    return f"ws/{int(workspace_id)}/kb/{uuid.uuid4().hex}/{ascii_name or 'document.' + _EXTENSION_FOR[mime_type]}"


def _lock_workspace(session: Session, workspace_id: int) -> None:
    """Serialise knowledge-base writes of one workspace (PostgreSQL row lock; SQLite writes are serial anyway),
    so two uploads of the same file at the same moment cannot both pass the duplicate check."""
    found = session.exec(select(Workspace.id).where(Workspace.id == workspace_id).with_for_update()).first()
    if found is None:
        raise NotFound("This workspace no longer exists.")


def _duplicate_of(session: Session, workspace_id: int, content_hash: str) -> KnowledgeDocument | None:
    return session.exec(
        tenant_select(KnowledgeDocument, workspace_id).where(KnowledgeDocument.content_hash == content_hash)
    ).first()


# --- adding ------------------------------------------------------------------------------------------------


def upload_document(workspace_id: int, filename: str, data: bytes, tags: Iterable[str] | str | None = None,
                    user_id: int | None = None) -> DocumentView:
    """Keep a document for the knowledge base and queue its processing.

    The file's kind comes from its content (PDF, Word .docx, text, Markdown, HTML, CSV); the same file twice in
    one workspace is refused. On any failure nothing is left behind: no row, no stored object.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ServiceError("The file could not be read. Try again.", field="file")
    data = bytes(data)
    mime_type = detect_type(data, filename)  # empty, too large and unreadable kinds are refused here
    if mime_type not in KB_TYPES:  # pragma: no cover - detect_type only returns these
        raise ExtractionError("This kind of file can't be added to the knowledge base.")
    tag_list = clean_tags(tags)
    title = _title_from(filename, mime_type)
    content_hash = hashlib.sha256(data).hexdigest()

    with session_scope() as session:  # a cheap early answer, before anything is stored
        if session.get(Workspace, workspace_id) is None:
            raise NotFound("This workspace no longer exists.")
        existing = _duplicate_of(session, workspace_id, content_hash)
        if existing is not None:
            raise ServiceError(f"This file is already in your knowledge base as '{existing.title}'.", field="file")

    storage = get_storage()
    key = _storage_key(workspace_id, title, mime_type)
    try:
        storage.put(key, data, mime_type)
    except Exception as exc:
        log.exception("could not store knowledge document %s", key)
        try:
            storage.delete(key)
        except Exception:
            pass
        raise ServiceError("The file could not be saved right now. Try again in a moment.", field="file") from exc
    try:
        with session_scope() as session:
            _lock_workspace(session, workspace_id)
            existing = _duplicate_of(session, workspace_id, content_hash)
            if existing is not None:
                raise ServiceError(f"This file is already in your knowledge base as '{existing.title}'.",
                                   field="file")
            stored = StoredFile(workspace_id=workspace_id, storage_key=key, filename=title, content_type=mime_type,
                                size_bytes=len(data), sha256=content_hash)
            session.add(stored)
            session.flush()
            row = KnowledgeDocument(
                workspace_id=workspace_id, title=title, source_type=SOURCE_FILE, file_id=stored.id,
                mime_type=mime_type, size_bytes=len(data), content_hash=content_hash, tags=tag_list,
                status=DocumentStatus.QUEUED, progress=0.0, updated_at=utcnow(),
            )
            session.add(row)
            session.flush()
            session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="kb.document.added",
                                   detail=title))
            view = DocumentView.of(row)
    except BaseException:
        try:
            storage.delete(key)
        except Exception:
            log.warning("could not remove the stored copy %s of a refused document", key, exc_info=True)
        raise

    _schedule(workspace_id, view.id)
    return view


def _faq_hash(question: str) -> str:
    normalised = " ".join(question.casefold().split()).rstrip("?!. ")
    return hashlib.sha256(f"faq\n{normalised}".encode("utf-8")).hexdigest()


def add_faq(workspace_id: int, question: str, answer: str, user_id: int | None = None,
            tags: Iterable[str] | str | None = None) -> DocumentView:
    """One question and its answer, indexed as a single chunk "Q: … A: …". A question asked twice is refused."""
    question = " ".join((question or "").split()) if isinstance(question, str) else ""
    answer = (answer or "").strip() if isinstance(answer, str) else ""
    answer = "\n".join(" ".join(line.split()) for line in answer.splitlines()).strip()
    if len(question) < 3:
        raise ServiceError("Write the question a customer would ask.", field="question")
    if len(question) > MAX_QUESTION_CHARS:
        raise ServiceError(f"The question can be at most {MAX_QUESTION_CHARS} characters.", field="question")
    if not answer:
        raise ServiceError("Write the answer the assistant should give.", field="answer")
    if len(answer) > MAX_ANSWER_CHARS:
        raise ServiceError(f"The answer can be at most {MAX_ANSWER_CHARS} characters; add longer texts as a "
                           "document.", field="answer")
    tag_list = clean_tags(tags)
    content_hash = _faq_hash(question)
    title = question if len(question) <= MAX_TITLE_CHARS else question[: MAX_TITLE_CHARS - 1] + "…"

    with session_scope() as session:
        _lock_workspace(session, workspace_id)
        existing = _duplicate_of(session, workspace_id, content_hash)
        if existing is not None:
            raise ServiceError(f"This question is already in your knowledge base as '{existing.title}'. "
                               "Delete that entry first to change its answer.", field="question")
        row = KnowledgeDocument(
            workspace_id=workspace_id, title=title, source_type=SOURCE_FAQ, mime_type="text/plain",
            size_bytes=len(question.encode("utf-8")) + len(answer.encode("utf-8")), content_hash=content_hash,
            faq_question=question, faq_answer=answer, tags=tag_list, status=DocumentStatus.QUEUED,
            progress=0.0, updated_at=utcnow(),
        )
        session.add(row)
        session.flush()
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="kb.faq.added", detail=title))
        view = DocumentView.of(row)

    _schedule(workspace_id, view.id)
    return view


# --- reading -----------------------------------------------------------------------------------------------


def _get(session: Session, workspace_id: int, document_id: int) -> KnowledgeDocument:
    row = tenant_get(session, KnowledgeDocument, workspace_id, document_id)
    if row is None:
        raise NotFound("This document is no longer in the knowledge base.")
    return row


def list_documents(workspace_id: int) -> list[DocumentView]:
    """Newest first."""
    with session_scope() as session:
        rows = session.exec(
            tenant_select(KnowledgeDocument, workspace_id)
            .order_by(KnowledgeDocument.created_at.desc(), KnowledgeDocument.id.desc())
        ).all()
        return [DocumentView.of(row) for row in rows]


def get_document(workspace_id: int, document_id: int) -> DocumentView:
    with session_scope() as session:
        return DocumentView.of(_get(session, workspace_id, document_id))


def list_chunks(workspace_id: int, document_id: int, limit: int = 200) -> list[ChunkView]:
    """A document's chunks in reading order (without their vectors)."""
    limit = max(1, min(int(limit), MAX_CHUNKS_LISTED))
    with session_scope() as session:
        _get(session, workspace_id, document_id)
        rows = session.exec(
            select(KnowledgeChunk.id, KnowledgeChunk.ordinal, KnowledgeChunk.heading, KnowledgeChunk.page,
                   KnowledgeChunk.content, KnowledgeChunk.token_count)
            .where(KnowledgeChunk.workspace_id == workspace_id, KnowledgeChunk.document_id == document_id)
            .order_by(KnowledgeChunk.ordinal)
            .limit(limit)
        ).all()
        return [ChunkView(id=r[0], ordinal=r[1], heading=r[2] or "", page=r[3], content=r[4], token_count=r[5] or 0)
                for r in rows]


# --- changing ----------------------------------------------------------------------------------------------


def _requeue(row: KnowledgeDocument) -> None:
    now = utcnow()
    row.status = DocumentStatus.QUEUED
    row.progress = 0.0
    row.error = ""
    row.attempts = 0  # crash_count stays: a file that crashed its worker keeps that on its record
    # Clearing the heartbeat tells a run still busy with the old version to stop (backend.kb.processing).
    row.processing_heartbeat_at = None
    row.updated_at = now


def retry_document(workspace_id: int, document_id: int, user_id: int | None = None) -> DocumentView:
    """Process a failed document again (e.g. after fixing the embeddings settings)."""
    with session_scope() as session:
        row = _get(session, workspace_id, document_id)
        if row.status == DocumentStatus.QUARANTINED:
            raise ServiceError(row.error or "Quarantined: processing this file crashed the worker too often; it "
                               "will not be processed again. Delete it or upload a fixed file.")
        if row.status != DocumentStatus.FAILED:
            raise ServiceError("Only documents that failed can be retried.")
        _requeue(row)
        session.add(row)
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="kb.document.retried",
                               detail=row.title))
        view = DocumentView.of(row)
    _schedule(workspace_id, view.id)
    return view


def reindex_workspace(workspace_id: int, user_id: int | None = None) -> int:
    """Queue every document of the workspace for processing again (e.g. after changing the embeddings
    provider), except quarantined ones. Each keeps its current chunks until its new ones replace them. Returns
    how many were queued."""
    with session_scope() as session:
        if session.get(Workspace, workspace_id) is None:
            raise NotFound("This workspace no longer exists.")
        rows = session.exec(
            tenant_select(KnowledgeDocument, workspace_id)
            .where(KnowledgeDocument.status != DocumentStatus.QUARANTINED)
            .order_by(KnowledgeDocument.id)
        ).all()
        for row in rows:
            _requeue(row)
            session.add(row)
        if rows:
            session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="kb.reindexed",
                                   detail=f"{len(rows)} documents"))
        ids = [row.id for row in rows]
    for document_id in ids:
        _schedule(workspace_id, document_id)
    return len(ids)


def delete_document(workspace_id: int, document_id: int, user_id: int | None = None) -> None:
    """Remove a document with its chunks and vectors; its stored original goes once the rows are gone."""
    key: str | None = None
    with session_scope() as session:
        row = _get(session, workspace_id, document_id)
        stored = session.get(StoredFile, row.file_id) if row.file_id else None
        session.execute(sa_delete(KnowledgeChunk).where(KnowledgeChunk.workspace_id == workspace_id,
                                                        KnowledgeChunk.document_id == document_id))
        session.delete(row)
        if stored is not None and stored.workspace_id == workspace_id:
            key = stored.storage_key
            session.flush()
            session.delete(stored)
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="kb.document.deleted",
                               detail=row.title))
    if key:
        try:
            get_storage().delete(key)
        except Exception:  # the rows (and every way to reach the file) are gone; a leftover object is harmless
            log.warning("could not delete the stored original %s of document %s", key, document_id, exc_info=True)
    publish_document_event(workspace_id, document_id, DELETED, 0.0)


def document_source(session: Session, row: KnowledgeDocument) -> dict[str, Any]:
    """Where a document's content comes from: the stored file's key, or the FAQ text."""
    if row.source_type == SOURCE_FAQ:
        return {"question": row.faq_question or "", "answer": row.faq_answer or ""}
    stored = session.get(StoredFile, row.file_id) if row.file_id else None
    return {"storage_key": stored.storage_key if stored is not None else None}
