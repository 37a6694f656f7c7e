"""HTTP endpoints beside the Reflex app: health, access-checked file downloads for local storage, the dashboard's
contact exports (signed links), the portal's file uploads, and REST API v1 (backend.api.v1; OpenAPI at
/api/v1/openapi.json, docs at /api/v1/docs).
"""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, FastAPI, File, Header, HTTPException, Query, Request, UploadFile
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from backend.api import v1, v1_scheduling
from backend.api.body_limits import BodyLimitMiddleware, BodyLimits
from backend.api.error_responses import ServiceErrorRoute, documented
from backend.api.schemas import ErrorBody
from backend.api.security_headers import HeaderPolicy, SecurityHeadersMiddleware, origin_of
from backend.calendar import connections
from backend.calendar.feed import FeedNotFound, feed_for_token
from backend.db import get_engine
from backend.errors import AuthenticationError, RateLimited, ServiceError
from backend.messaging import portal
from backend.privacy.export import export_from_link
from backend.providers.storage import LocalStorage, attachment_disposition, get_storage, verify_local_url
from backend.security import client_address
from backend.settings import get_settings


def secure_headers(app):
    """Wraps the whole ASGI app: see backend.api.security_headers."""
    settings = get_settings()
    files = ()
    if settings.s3_endpoint_url:
        files = (origin_of(settings.s3_endpoint_url),)
    elif settings.s3_bucket:
        files = ("https://*.amazonaws.com",)
    ancestors = tuple(o for o in (origin_of(a) for a in settings.portal_frame_ancestors.replace(",", " ").split()) if o)
    policy = HeaderPolicy(https=settings.public_url.startswith("https://"), file_origins=files,
                          portal_frame_ancestors=ancestors)
    return SecurityHeadersMiddleware(app, policy)


def limit_bodies(app):
    """Wraps the whole ASGI app (Reflex's own upload route included): see backend.api.body_limits."""
    settings = get_settings()
    return BodyLimitMiddleware(app, BodyLimits.from_settings(settings.max_upload_mb, settings.max_files_per_upload,
                                                             settings.max_api_body_kb))


def _documented_methods(api: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI document lists for the paths that match `path`."""
    methods: set[str] = set()
    for template, operations in api.openapi()["paths"].items():
        if compile_path(template)[0].match(path):
            methods |= {method.upper() for method in operations}
    return sorted(methods)


def create_api() -> FastAPI:
    api = FastAPI(title="Front Desk API", version="1", docs_url="/api/v1/docs", openapi_url="/api/v1/openapi.json")
    api.include_router(v1.router)
    api.include_router(v1_scheduling.router)
    # Routes outside the token-protected v1 routers that are in the document follow its refusal rules too.
    public = APIRouter(route_class=ServiceErrorRoute)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        methods = _documented_methods(api, request.url.path) if exc.status_code == 405 else []
        if methods:
            # Starlette names only the methods of the first route on the path; GET and PATCH of one path are two.
            exc = StarletteHTTPException(405, exc.detail, {**(exc.headers or {}), "Allow": ", ".join(methods)})
        return await http_exception_handler(request, exc)

    @public.get("/api/v1/health", tags=["system"], responses=documented(422))
    def health() -> JSONResponse:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok", "database": get_engine().dialect.name})

    @api.get("/files/{key:path}", include_in_schema=False)
    def local_file(key: str, exp: int = Query(...), sig: str = Query(...), filename: str | None = None) -> Response:
        """Signed, expiring links to files in local storage (S3 serves its own presigned URLs)."""

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

    @api.get("/privacy/contact-export", include_in_schema=False)
    def contact_export(request: Request, ws: str = "", contact: str = "", user: str = "", exp: str = "",
                       sig: str = "") -> Response:
        """The dashboard's "Download data": a signed link valid for minutes (backend.privacy.export)."""
        from fastapi.responses import StreamingResponse


        address = client_address(request.client.host if request.client else "",
                                 request.headers.get("x-forwarded-for", ""))
        try:
            export = export_from_link(ws, contact, user, exp, sig, client_address=address)
        except ServiceError as exc:
            raise HTTPException(status_code=404, detail=exc.message) from None
        return StreamingResponse(export.stream(), media_type="application/zip", headers={
            "Content-Disposition": attachment_disposition(export.filename), "Content-Length": str(export.size),
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    @public.post("/api/portal/v1/files", tags=["portal"], status_code=201,
                 responses={**documented(400, 413, 422, 429),
                            401: {"model": ErrorBody, "description": "The portal session token is missing, ended "
                                                                     "or unknown."}})
    async def portal_file(file: UploadFile = File(...), authorization: str = Header("")) -> JSONResponse:
        """A customer's file or recorded voice message, sent with their portal session token."""

        token = authorization.removeprefix("Bearer ").strip()
        if not token:
            raise HTTPException(status_code=401, detail="Your session has ended. Reload the page to continue.")
        limit = get_settings().max_upload_mb * 1024 * 1024
        try:
            # The database work runs on a worker thread: an async route runs on the app's event loop.
            await run_in_threadpool(portal.check_portal_session, token)
            data = await file.read(limit + 1)
            if len(data) > limit:
                raise HTTPException(status_code=413, detail=f"Files can be at most {get_settings().max_upload_mb} MB.")
            view = await run_in_threadpool(portal.send_customer_file, token, file.filename or "file", data)
        except AuthenticationError as exc:
            raise HTTPException(status_code=401, detail=exc.message) from None
        except RateLimited as exc:
            raise HTTPException(status_code=429, detail=exc.message) from None
        except ServiceError as exc:
            raise HTTPException(status_code=400, detail=exc.message) from None
        return JSONResponse({"id": view.id, "type": view.type, "conversation_id": view.conversation_id}, 201)

    api.include_router(public)

    @api.get("/calendar/feed/{token}.ics", include_in_schema=False)
    def calendar_feed(token: str) -> Response:
        """A workspace's appointments for calendar apps; the secret token in the URL is the only key."""

        try:
            body = feed_for_token(token)
        except FeedNotFound:
            raise HTTPException(status_code=404, detail="Not found.") from None
        headers = {"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff",
                   "Content-Disposition": 'inline; filename="appointments.ics"'}
        return Response(content=body, media_type="text/calendar; charset=utf-8", headers=headers)

    @api.get("/api/calendar/google/callback", include_in_schema=False)
    def google_calendar_callback(request: Request, state: str = "", code: str = "", error: str = "") -> Response:
        """Google sends the owner back here; the state says which workspace started it, and the browser's
        cookie that this browser started it."""
        from urllib.parse import urlencode


        def back(**query: str) -> RedirectResponse:
            response = RedirectResponse("/dashboard/calendar?" + urlencode({"tab": "sync", **query}), status_code=303)
            response.delete_cookie(connections.GOOGLE_BROWSER_COOKIE, path=connections.GOOGLE_CALLBACK_PATH)
            return response

        if error:
            return back(calendar_error="Google sign-in was cancelled." if error == "access_denied" else error[:200])
        redirect_uri = connections.google_redirect_uri()
        try:
            workspace_id = connections.workspace_for_google_state(state)
            connections.complete_google_authorization(workspace_id, code, state, redirect_uri,
                                                      request.cookies.get(connections.GOOGLE_BROWSER_COOKIE, ""))
        except ServiceError as exc:
            return back(calendar_error=exc.message)
        return back(calendar="connected")

    return api
