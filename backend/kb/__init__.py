"""The knowledge base: documents and FAQ entries the assistant answers from (ingestion, chunks, vectors).

Services live in backend.kb.documents; the background processing in backend.kb.processing.

The services below are imported on first use, not with the package: the process that reads an uploaded file
(backend.kb.reader) imports only the parsers, not the database layer, so that a fresh one starts quickly.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "KB_DOCUMENT_UPDATED", "ChunkView", "DocumentView", "add_faq", "delete_document", "get_document", "list_chunks",
    "list_documents", "reindex_workspace", "retry_document", "upload_document",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("backend.kb.documents"), name)
    raise AttributeError(f"module 'backend.kb' has no attribute {name!r}")
