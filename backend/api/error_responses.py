"""How a refusal from a service becomes an HTTP answer of REST API v1: a status and {"detail", "field"}.

The mapping lives in a route class rather than app-wide exception handlers so it applies to v1 alone: the
portal and file endpoints beside it keep their own answers.
"""

from __future__ import annotations

from typing import Any, Callable, Coroutine

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from backend.api.schemas import ErrorBody
from backend.errors import AuthenticationError, NotFound, PermissionDenied, RateLimited, ServiceError

REALM = 'Bearer realm="Front Desk API"'
INVALID_TOKEN = f'{REALM}, error="invalid_token"'

_STATUS = [  # most specific first: every one of these is a ServiceError
    (AuthenticationError, 401),
    (NotFound, 404),
    (PermissionDenied, 403),
    (RateLimited, 429),
    (ServiceError, 400),
]


def error_response(exc: ServiceError) -> JSONResponse:
    status = next(code for kind, code in _STATUS if isinstance(exc, kind))
    body = ErrorBody(detail=exc.message, field=exc.field if status == 400 else None)
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = INVALID_TOKEN
    elif status == 429:
        headers["Retry-After"] = "60"  # every limit the services apply counts over a minute
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


class ServiceErrorRoute(APIRoute):
    """Answers a ServiceError raised by the endpoint or its dependencies (the token check) with its status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_service_errors(request: Request) -> Response:
            try:
                return await handle(request)
            except ServiceError as exc:
                return error_response(exc)

        return handle_service_errors


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers an endpoint can give."""
    reasons = {
        400: "The request was refused; `field` names the offending field.",
        401: "The API token is missing, malformed, unknown or revoked.",
        404: "No such object in this workspace.",
        429: "Too many requests; wait a minute.",
    }
    return {status: {"model": ErrorBody, "description": reasons[status]} for status in statuses}
