"""HTTP endpoints beside the Reflex app: health, and access-checked file downloads for local storage.

The REST API v1 grows here (FastAPI, OpenAPI at /api/v1/openapi.json).
"""

from __future__ import annotations

import mimetypes

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from backend.db import get_engine


def create_api() -> FastAPI:
    api = FastAPI(title="Front Desk API", version="1", docs_url="/api/v1/docs", openapi_url="/api/v1/openapi.json")

    @api.get("/api/v1/health", tags=["system"])
    def health() -> JSONResponse:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok", "database": get_engine().dialect.name})

    @api.get("/files/{key:path}", include_in_schema=False)
    def local_file(key: str, exp: int = Query(...), sig: str = Query(...), filename: str | None = None) -> Response:
        """Signed, expiring links to files in local storage (S3 serves its own presigned URLs)."""
        from backend.providers.storage import LocalStorage, attachment_disposition, get_storage, verify_local_url

        storage = get_storage()
        if not isinstance(storage, LocalStorage) or not verify_local_url(key, exp, sig, filename):
            raise HTTPException(status_code=403, detail="This link is invalid or has expired.")
        try:
            data = storage.get(key)
        except (FileNotFoundError, ValueError):
            raise HTTPException(status_code=404, detail="File not found.") from None
        content_type = mimetypes.guess_type(filename or key)[0] or "application/octet-stream"
        headers = {"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"}
        if filename:
            headers["Content-Disposition"] = attachment_disposition(filename)
        return Response(content=data, media_type=content_type, headers=headers)

    return api
