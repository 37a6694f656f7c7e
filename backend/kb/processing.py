"""Turning a queued knowledge document into searchable chunks, in the background.

    queued → extracting → embedding → ready      (or → failed, with a reason the owner can act on;
                                                 or → quarantined, when it keeps crashing its worker)

`process_document` claims a document, extracts its text and cuts it into chunks in a separate, memory- and
time-limited process (backend.kb.worker: the file is untrusted), then embeds the chunks in batches here, writing
progress (0..1) and a heartbeat as it goes and announcing it at most a few times a second. The chunks replace
the document's previous ones in the same transaction that marks it ready, so a document is never half-indexed.
Every claim counts an attempt.

The heartbeat doubles as the run's claim: each write is conditional on the heartbeat the run itself wrote last.
A retry, a re-index, a delete or the sweeper changes it, and the run that lost its claim stops quietly.

`sweep_stale_documents` re-queues documents whose run stopped sending heartbeats (a worker that died) and
fails them after MAX_ATTEMPTS; it also re-sends documents still queued after a while (a lost task).

A run that died, whether its reading process did (out of memory, out of time, killed) or the whole process
running it did (the sweep finds its heartbeat stale), counts a crash against the document; crashes survive
Retry. At `kb_max_crashes` the document is quarantined: no sweep, Retry or re-index processes it again, so a
file that kills what reads it cannot do so on every restart.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import case, func, insert, or_, update
from sqlalchemy import delete as sa_delete
from sqlmodel import select

from backend.db import session_scope
from backend.errors import ServiceError
from backend.kb.chunk import Chunk, chunk_faq
from backend.kb.documents import SOURCE_FAQ, document_source, publish_document_event
from backend.kb.worker import WorkerCrashed, WorkerError, read_document, run_isolated
from backend.models import KnowledgeChunk, KnowledgeDocument
from backend.models.enums import DocumentStatus
from backend.models.types import utcnow
from backend.providers.background import EnqueueError, background_task, enqueue
from backend.providers.embeddings import EmbeddingError, get_embedder
from backend.providers.storage import get_storage
from backend.settings import get_settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
STALE_AFTER_SECONDS = 300  # a run that wrote no heartbeat for this long is presumed dead
EMBED_BATCH = 16  # chunks per embed() call: the progress bar moves about once a second
EVENT_INTERVAL_SECONDS = 0.3  # live progress: at most ~3 events a second per document
EXTRACTION_SHARE = 0.3  # of the progress bar; embedding takes the rest
MAX_ERROR_CHARS = 1000
_IN_PROGRESS = (DocumentStatus.EXTRACTING, DocumentStatus.EMBEDDING)


def _still_claimed(document_id: int, token):
    """An UPDATE only this run's claim may make: a retry, re-index, delete or sweep has not taken it since."""
    return update(KnowledgeDocument).where(
        KnowledgeDocument.id == document_id,
        KnowledgeDocument.processing_heartbeat_at == token,
        KnowledgeDocument.status.in_(_IN_PROGRESS),
    )


class _Superseded(Exception):
    """This run lost its claim (document deleted, retried, re-indexed or swept); stop without writing."""


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def quarantine_message(crashes: int, worker: bool) -> str:
    what = "crashed the worker" if worker else "stopped the app or its worker"
    return (f"Quarantined: processing this file {what} {_times(crashes)}; it will not be processed again. "
            "Delete it or upload a fixed file.")


class _Run:
    """One claimed processing run: conditional progress writes and throttled events."""

    def __init__(self, document_id: int, workspace_id: int, token: datetime, crashes: int = 0):
        self.document_id = document_id
        self.workspace_id = workspace_id
        self.token = token
        self.crashes = crashes  # as claimed; only a run holding the claim (or the sweep, taking it) changes it
        self.status = DocumentStatus.EXTRACTING
        self.progress = 0.0
        self._last_event = 0.0
        self._last_write = time.monotonic()

    def update(self, status: str, progress: float, force: bool = False) -> None:
        progress = max(0.0, min(1.0, progress))
        now = time.monotonic()
        changed = status != self.status
        if not (force or changed or now - self._last_write >= EVENT_INTERVAL_SECONDS):
            self.progress = progress
            return
        stamp = utcnow()
        with session_scope() as session:
            result = session.execute(
                _still_claimed(self.document_id, self.token)
                .values(status=status, progress=progress, processing_heartbeat_at=stamp, updated_at=stamp)
            )
            if result.rowcount != 1:
                raise _Superseded()
        self.token, self.status, self.progress, self._last_write = stamp, status, progress, now
        if force or changed or now - self._last_event >= EVENT_INTERVAL_SECONDS:
            self._last_event = now
            publish_document_event(self.workspace_id, self.document_id, status, progress)


def _claim(document_id: int) -> tuple[_Run, dict] | str:
    now = utcnow()
    with session_scope() as session:
        row = session.exec(
            select(KnowledgeDocument).where(KnowledgeDocument.id == document_id).with_for_update(skip_locked=True)
        ).first()
        if row is None:
            return "missing" if session.get(KnowledgeDocument, document_id) is None else "busy"
        if row.status in (DocumentStatus.READY, DocumentStatus.FAILED, DocumentStatus.QUARANTINED):
            return str(row.status)  # already done: a duplicate delivery of the task
        heartbeat = row.processing_heartbeat_at
        if row.status in _IN_PROGRESS and heartbeat is not None and \
                now - heartbeat < timedelta(seconds=STALE_AFTER_SECONDS):
            return "busy"  # another run is alive and working on it
        row.status = DocumentStatus.EXTRACTING
        row.progress = 0.0
        row.error = ""
        row.attempts = (row.attempts or 0) + 1
        row.processing_heartbeat_at = now
        row.updated_at = now
        session.add(row)
        source = document_source(session, row)
        source.update(mime_type=row.mime_type, title=row.title, source_type=row.source_type)
        run = _Run(row.id, row.workspace_id, now, crashes=row.crash_count or 0)
    publish_document_event(run.workspace_id, run.document_id, DocumentStatus.EXTRACTING, 0.0)
    return run, source


def _chunks_for(run: _Run, source: dict) -> tuple[list[Chunk], int | None]:
    if source["source_type"] == SOURCE_FAQ:
        return chunk_faq(source["question"], source["answer"]), None
    key = source.get("storage_key")
    if not key:
        raise ServiceError("The original file is missing. Delete this document and upload the file again.")
    try:
        data = get_storage().get(key)
    except FileNotFoundError:
        raise ServiceError("The original file is missing from storage. Delete this document and upload the file "
                           "again.") from None
    except Exception as exc:
        raise ServiceError(f"The stored file could not be read ({exc}). Try again in a moment.") from exc
    read = run_isolated(read_document, data, source["mime_type"],
                        progress=lambda share: run.update(DocumentStatus.EXTRACTING, share * EXTRACTION_SHARE))
    chunks = [Chunk(**chunk) for chunk in read["chunks"]]
    if not chunks:
        raise ServiceError("This document has no text to learn from.")
    return chunks, read["pages"]


def _embed(run: _Run, chunks: list[Chunk]) -> list[list[float]]:
    embedder = get_embedder()
    expected = get_settings().embedding_dim
    problems = embedder.validate_config()
    if problems:
        raise EmbeddingError("; ".join(problems))
    if embedder.dim != expected:
        raise EmbeddingError(f"the embedder {embedder.name} makes {embedder.dim}-dimensional vectors but the "
                             f"knowledge base stores {expected}")
    run.update(DocumentStatus.EMBEDDING, EXTRACTION_SHARE, force=True)
    vectors: list[list[float]] = []
    for start in range(0, len(chunks), EMBED_BATCH):
        batch = chunks[start:start + EMBED_BATCH]
        vectors.extend(embedder.embed([chunk.embedding_text for chunk in batch]))
        done = len(vectors) / len(chunks)
        run.update(DocumentStatus.EMBEDDING, EXTRACTION_SHARE + (1 - EXTRACTION_SHARE) * done)
    if len(vectors) != len(chunks):
        raise EmbeddingError(f"got {len(vectors)} vectors for {len(chunks)} chunks")
    return vectors


def _store(run: _Run, chunks: list[Chunk], vectors: list[list[float]], page_count: int | None) -> None:
    """Swap in the new chunks and mark the document ready, in one transaction, if the claim still holds."""
    now = utcnow()
    with session_scope() as session:
        result = session.execute(
            _still_claimed(run.document_id, run.token)
            .values(status=DocumentStatus.READY, progress=1.0, error="", chunk_count=len(chunks),
                    page_count=page_count, processing_heartbeat_at=None, updated_at=now)
        )
        if result.rowcount != 1:
            raise _Superseded()
        session.execute(sa_delete(KnowledgeChunk).where(KnowledgeChunk.document_id == run.document_id))
        session.execute(insert(KnowledgeChunk), [
            {"workspace_id": run.workspace_id, "document_id": run.document_id, "ordinal": chunk.ordinal,
             "content": chunk.content, "heading": chunk.heading, "page": chunk.page,
             "token_count": chunk.token_count, "embedding": vector, "created_at": now}
            for chunk, vector in zip(chunks, vectors)
        ])


def _fail(run: _Run, reason: str, crash: WorkerCrashed | None = None) -> str:
    """Mark the document failed (or quarantined, at its last allowed crash); the status written, or
    "superseded" when the run had lost its claim."""
    now = utcnow()
    status, crashes = DocumentStatus.FAILED, run.crashes
    if crash is not None:
        crashes += 1
        left = get_settings().kb_max_crashes - crashes
        if left <= 0:
            status = DocumentStatus.QUARANTINED
            reason = f"{quarantine_message(crashes, worker=True)} (Last time {crash.detail}.)"
        else:
            reason = (f"Processing this file crashed the worker: {crash.detail}. If it crashes "
                      f"{'again' if left == 1 else f'{left} more times'}, it will be quarantined.")
    with session_scope() as session:
        result = session.execute(
            _still_claimed(run.document_id, run.token)
            .where(KnowledgeDocument.crash_count == run.crashes)
            .values(status=status, progress=0.0, error=reason[:MAX_ERROR_CHARS], chunk_count=0,
                    crash_count=crashes, processing_heartbeat_at=None, updated_at=now)
        )
        if result.rowcount != 1:
            return "superseded"
        # A failed document is not searchable: its chunks (of an earlier version) go with the failure.
        session.execute(sa_delete(KnowledgeChunk).where(KnowledgeChunk.document_id == run.document_id))
    publish_document_event(run.workspace_id, run.document_id, status, 0.0)
    return str(status)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ServiceError):
        return exc.message
    if isinstance(exc, EmbeddingError):
        return f"The text could not be indexed: {exc}. Fix the embeddings settings or try again later."
    kind = exc.kind if isinstance(exc, WorkerError) else type(exc).__name__
    return (f"Something went wrong while processing this document ({kind}). Try again; if it "
            "keeps failing, save the file again or split it into smaller files.")


def _whose_turn(document_id: int) -> int:
    """The queued document to read now, whichever task runs: the oldest of the workspace with the fewest documents
    in progress and served longest ago. One business's stack of 400-page PDFs then takes turns with the others'
    uploads instead of going first, and each business's own documents keep their order. A task may so read
    another document than the one it was sent for; that document's own task later finds it done and takes the
    next turn, so as many documents are read as tasks were sent (the sweeper re-sends a lost one)."""
    with session_scope() as session:
        per_workspace = (
            select(KnowledgeDocument.workspace_id.label("workspace_id"),
                   # When its documents were last worked on: queued ones have not been, yet.
                   func.max(case((KnowledgeDocument.status != DocumentStatus.QUEUED, KnowledgeDocument.updated_at),
                                 else_=None)).label("served_at"),
                   func.sum(case((KnowledgeDocument.status.in_(_IN_PROGRESS), 1), else_=0)).label("busy"))
            .group_by(KnowledgeDocument.workspace_id)
            .subquery()
        )
        waiting = session.exec(
            select(KnowledgeDocument.id)
            .join(per_workspace, per_workspace.c.workspace_id == KnowledgeDocument.workspace_id)
            .where(KnowledgeDocument.status == DocumentStatus.QUEUED)
            .order_by(per_workspace.c.busy, per_workspace.c.served_at.asc().nulls_first(), KnowledgeDocument.id)
            .limit(1)
        ).first()
    return document_id if waiting is None else waiting


@background_task("process_document", queue="ingest")
def process_document(document_id: int) -> str:
    """Process one document; returns its status afterwards ("busy"/"missing"/"superseded" when not ours).

    Safe to run more than once for the same document (at-least-once delivery): a finished document is left
    alone, one being processed by a live run is skipped, and a re-run replaces the chunks in one transaction.
    """
    turn = _whose_turn(document_id)
    claimed = _claim(turn)
    if isinstance(claimed, str) and turn != document_id:
        claimed = _claim(document_id)  # the one whose turn it was got taken meanwhile: try our own
    if isinstance(claimed, str):
        return claimed
    run, source = claimed
    document_id = run.document_id
    started = time.monotonic()
    try:
        chunks, page_count = _chunks_for(run, source)
        vectors = _embed(run, chunks)
        _store(run, chunks, vectors, page_count)
    except _Superseded:
        log.info("document %s changed while it was processed; this run stops", document_id)
        return "superseded"
    except WorkerCrashed as crash:
        log.warning("reading document %s crashed its worker: %s", document_id, crash.detail)
        return _fail(run, "", crash)
    except Exception as exc:
        if not isinstance(exc, (ServiceError, EmbeddingError, WorkerError)):
            log.exception("processing document %s failed", document_id)
        else:
            log.info("document %s failed: %s", document_id, exc)
        return _fail(run, _reason(exc))
    log.info("document %s ready: %d chunks in %.1fs", document_id, len(chunks), time.monotonic() - started)
    publish_document_event(run.workspace_id, run.document_id, DocumentStatus.READY, 1.0)
    return str(DocumentStatus.READY)


@background_task("sweep_stale_documents")
def sweep_stale_documents(older_than_seconds: int = STALE_AFTER_SECONDS, limit: int = 200) -> int:
    """Re-queue documents whose processing stopped (no heartbeat for `older_than_seconds`), counting a crash
    against each and quarantining those at `kb_max_crashes`, failing those that already used MAX_ATTEMPTS; and
    re-send documents still queued after that long. Returns how many it touched."""
    now = utcnow()
    cutoff = now - timedelta(seconds=older_than_seconds)
    max_crashes = get_settings().kb_max_crashes
    requeued: list[tuple[int, int]] = []
    failed: list[tuple[int, int, str]] = []
    with session_scope() as session:
        stale = session.exec(
            select(KnowledgeDocument)
            .where(or_(
                KnowledgeDocument.status.in_(_IN_PROGRESS)
                & or_(KnowledgeDocument.processing_heartbeat_at.is_(None),
                      KnowledgeDocument.processing_heartbeat_at <= cutoff),
                (KnowledgeDocument.status == DocumentStatus.QUEUED)
                & or_(KnowledgeDocument.updated_at.is_(None), KnowledgeDocument.updated_at <= cutoff),
            ))
            .order_by(KnowledgeDocument.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for row in stale:
            if row.status in _IN_PROGRESS:
                # Whatever ran it died without a word: maybe a deploy, maybe this very file. Either way it counts.
                row.crash_count = (row.crash_count or 0) + 1
            gave_up = None
            if row.status in _IN_PROGRESS and row.crash_count >= max_crashes:
                gave_up = DocumentStatus.QUARANTINED
                row.error = quarantine_message(row.crash_count, worker=False)
            elif row.status in _IN_PROGRESS and (row.attempts or 0) >= MAX_ATTEMPTS:
                gave_up = DocumentStatus.FAILED
                row.error = (f"Processing stopped {row.attempts} times without finishing (the file may be too large "
                             "or too complex). Try again, or split it into smaller files.")
            if gave_up is not None:
                row.status = gave_up
                row.progress = 0.0
                row.chunk_count = 0
                session.execute(sa_delete(KnowledgeChunk).where(KnowledgeChunk.document_id == row.id))
                failed.append((row.workspace_id, row.id, gave_up))
            else:
                if row.status in _IN_PROGRESS:
                    log.warning("document %s stopped during %s (attempt %d); queueing it again", row.id, row.status,
                                row.attempts)
                row.status = DocumentStatus.QUEUED
                row.progress = 0.0
                requeued.append((row.workspace_id, row.id))
            row.processing_heartbeat_at = None
            row.updated_at = now
            session.add(row)
    for workspace_id, document_id, status in failed:
        publish_document_event(workspace_id, document_id, status, 0.0)
    for workspace_id, document_id in requeued:
        publish_document_event(workspace_id, document_id, DocumentStatus.QUEUED, 0.0)
        try:
            enqueue("process_document", document_id=document_id)
        except EnqueueError:
            log.exception("document %s stays queued until the next sweep", document_id)
    return len(requeued) + len(failed)
