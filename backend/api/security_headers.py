"""Security headers on every HTTP response of the app (pages, API, files).

- A Content-Security-Policy the app actually works under: scripts and styles from the app itself only (Reflex's
  compiled pages need inline bootstrap scripts and `rx.call_script` evaluates strings, hence 'unsafe-inline'
  and 'unsafe-eval'; what the policy buys is no script, frame, form post or connection to anywhere else, and
  no plugin content), images and audio also from the file store (S3 presigned links) and `blob:` (recordings).
- frame-ancestors: the dashboard cannot be framed (clickjacking); the portal may be embedded by the sites the
  owner lists in `ASSISTANT_PORTAL_FRAME_ANCESTORS` (default: none but the app itself).
- HSTS once the public address is https; nosniff, a referrer policy and a permissions policy (the portal may
  use the microphone for voice messages, nothing may use the camera or location).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]

PORTAL_PREFIXES = ("/portal/", "/api/portal/")


def origin_of(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@dataclass(frozen=True)
class HeaderPolicy:
    https: bool
    file_origins: tuple[str, ...] = ()
    portal_frame_ancestors: tuple[str, ...] = ()

    def csp(self, portal: bool) -> str:
        files = " ".join(self.file_origins)
        ancestors = " ".join(("'self'", *self.portal_frame_ancestors)) if portal else "'none'"
        directives = [
            "default-src 'self'",
            "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob: {files}".strip(),
            f"media-src 'self' blob: {files}".strip(),
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {ancestors}",
        ]
        if self.https:
            directives.append("upgrade-insecure-requests")
        return "; ".join(directives)

    def headers(self, path: str) -> list[tuple[bytes, bytes]]:
        portal = path.startswith(PORTAL_PREFIXES)
        out = [
            (b"content-security-policy", self.csp(portal).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"permissions-policy", b"camera=(), geolocation=(), microphone=(self)"),
        ]
        if not portal:
            out.append((b"x-frame-options", b"DENY"))
        if self.https:
            out.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        return out


class SecurityHeadersMiddleware:
    """ASGI middleware adding the policy's headers to every HTTP response (a header the app set itself wins)."""

    def __init__(self, app: ASGIApp, policy: HeaderPolicy):
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.policy.headers(scope.get("path", ""))

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers") or ()}
                message = {**message, "headers": [*(message.get("headers") or ()),
                                                  *((n, v) for n, v in extra if n not in present)]}
            await send(message)

        await self.app(scope, receive, with_headers)
