"""How REST API v1 refuses a request, and the OpenAPI entries that say so. Two kinds of refusal, never mixed:

- 422: the request does not match the OpenAPI document: a body that is not JSON, a missing, malformed or
  out-of-range field or parameter, a field or query parameter the document does not name (a misspelt one must not
  be silently ignored), text with a NUL or an unpaired surrogate. Body: FastAPI's
  `{"detail": [{"loc", "msg", "type"}]}`, without echoing the values (an echoed lone surrogate or infinite number
  is not JSON: the refusal itself used to fail with a 500).
- 400: the request matches the document but a rule of the business refuses it (a blank reply, a time that is not
  free, an end before the start). Body `{"detail", "field"}`, `field` naming what to correct.

And 401 (token), 404 (no such object in this workspace), 413 (body over the size limit, backend.api.body_limits).
Each operation documents exactly the codes it can answer with; tests/integration/test_api_schemathesis.py holds
the running app to it.

The mapping lives in a route class rather than app-wide exception handlers so it applies to the documented
routes alone: the file links and calendar feed beside them keep their own answers (and the portal's upload route,
documented too, maps the portal's refusals itself).
"""

from __future__ import annotations

from typing import Any, Callable, Coroutine

from fastapi import Request, Response
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.params import Query
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException

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


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    detail: list[ValidationIssue]


def _text(value: Any) -> str:
    # A lone surrogate cannot be written as UTF-8: shown as U+FFFD, the refusal stays a valid JSON answer.
    return str(value).encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def error_response(exc: ServiceError) -> JSONResponse:
    status = next(code for kind, code in _STATUS if isinstance(exc, kind))
    body = ErrorBody(detail=_text(exc.message), field=exc.field if status == 400 else None)
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = INVALID_TOKEN
    elif status == 429:
        headers["Retry-After"] = "60"  # every limit the services apply counts over a minute
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def validation_response(errors: list[dict[str, Any]]) -> JSONResponse:
    issues = [
        ValidationIssue(loc=[part if isinstance(part, int) else _text(part) for part in error.get("loc", ())],
                        msg=_text(error.get("msg", "")), type=_text(error.get("type", "")))
        for error in errors
    ]
    return JSONResponse(ValidationErrorBody(detail=issues).model_dump(), status_code=422)


class ServiceErrorRoute(APIRoute):
    """Refuses unknown query parameters, and answers a validation error (422) or a ServiceError raised by the
    endpoint or its dependencies (the token check) as the module docstring says."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        known = {field.alias for field in get_flat_params(self.dependant) if isinstance(field.field_info, Query)}

        async def handle_refusals(request: Request) -> Response:
            unknown = [name for name in request.query_params if name not in known]
            if unknown:
                return validation_response([{"loc": ("query", name), "msg": "Unknown query parameter.",
                                             "type": "extra_forbidden"} for name in dict.fromkeys(unknown)])
            try:
                return await handle(request)
            except RequestValidationError as exc:
                return validation_response(list(exc.errors()))
            except HTTPException as exc:
                if exc.status_code != 400:
                    raise
                # FastAPI's answer to a body it could not even decode (bytes that are not UTF-8, a number of
                # thousands of digits): malformed like any other JSON error, so 422 like them.
                return validation_response([{"loc": ("body",), "msg": "The body is not valid JSON.",
                                             "type": "json_invalid"}])
            except ServiceError as exc:
                return error_response(exc)

        return handle_refusals


_REASONS = {
    400: ("A rule refused the request (it matches this document otherwise); `field` names what to correct.",
          ErrorBody),
    401: ("The API token is missing, malformed, unknown or revoked.", ErrorBody),
    404: ("No such object in this workspace.", ErrorBody),
    413: ("The request body is over the size limit.", ErrorBody),
    422: ("The request does not match this document: a missing, malformed or out-of-range field or parameter, "
          "or one it does not name.", ValidationErrorBody),
    429: ("Too many requests; wait a minute.", ErrorBody),
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers an endpoint can give."""
    return {status: {"model": _REASONS[status][1], "description": _REASONS[status][0]} for status in statuses}


# Every v1 operation checks the token and refuses query parameters it does not name.
EVERY_OPERATION = documented(401, 422)
