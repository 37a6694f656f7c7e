"""A size limit on every HTTP request body, enforced before the body is read.

Anyone may POST to the portal's upload routes (the session token is checked by the handler, after the
framework has parsed the multipart body), so the limit must sit in front of everything: a declared
Content-Length over the limit is refused at once with 413, and a body without one (chunked) is counted as it
streams and cut off the moment it passes the limit. Nothing downstream ever sees more than the limit.

The limit depends on the route: file uploads get the upload limit, every other body (JSON, forms) a small one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MB = 1024 * 1024
# Multipart framing (boundaries, part headers) around a file of the maximum size.
MULTIPART_ALLOWANCE = 64 * 1024


@dataclass(frozen=True)
class BodyLimits:
    upload_bytes: int  # one file upload request (the portal's and the dashboard's)
    default_bytes: int  # any other body
    upload_paths: tuple[str, ...] = ("/_upload", "/api/portal/v1/files")

    def for_path(self, path: str) -> int:
        if any(path == p or path.startswith(p + "/") for p in self.upload_paths):
            return self.upload_bytes
        return self.default_bytes

    @classmethod
    def from_settings(cls, max_upload_mb: int, max_files_per_upload: int, max_body_kb: int) -> "BodyLimits":
        return cls(upload_bytes=max_upload_mb * MB * max(1, max_files_per_upload) + MULTIPART_ALLOWANCE,
                   default_bytes=max_body_kb * 1024)


def _describe(limit: int) -> str:
    return f"{limit / MB:.0f} MB" if limit >= MB else f"{max(1, limit // 1024)} KB"


class BodyLimitMiddleware:
    """ASGI middleware: 413 for a request body over its route's limit, before the app reads it."""

    def __init__(self, app: ASGIApp, limits: BodyLimits | Callable[[], BodyLimits]):
        self.app = app
        self._limits = limits

    def limits(self) -> BodyLimits:
        return self._limits() if callable(self._limits) else self._limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits().for_path(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return

        received = 0
        response_started = refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer now and tell the app the client went away: it stops reading, and whatever error
                    # page it then tries to send is dropped (the client already has its 413).
                    refused = True
                    if not response_started:
                        await _refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused:
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not refused:
                raise


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"The request is too large: at most {_describe(limit)}."}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
