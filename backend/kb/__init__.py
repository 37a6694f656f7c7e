"""The knowledge base: documents and FAQ entries the assistant answers from (ingestion, chunks, vectors).

Services live in backend.kb.documents; the background processing in backend.kb.processing.
"""

from backend.kb.documents import (
    KB_DOCUMENT_UPDATED,
    ChunkView,
    DocumentView,
    add_faq,
    delete_document,
    get_document,
    list_chunks,
    list_documents,
    reindex_workspace,
    retry_document,
    upload_document,
)

__all__ = [
    "KB_DOCUMENT_UPDATED", "ChunkView", "DocumentView", "add_faq", "delete_document", "get_document", "list_chunks",
    "list_documents", "reindex_workspace", "retry_document", "upload_document",
]
