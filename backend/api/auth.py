"""Bearer-token authentication of REST API v1, as a FastAPI dependency that yields the calling token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.accounts.api_tokens import ApiCaller, authenticate_api_caller
from backend.api.error_responses import REALM

NO_TOKEN = "Send an API token of your workspace in the Authorization header: 'Authorization: Bearer fd_…'."

# auto_error off: FastAPI's own refusal says only "Not authenticated"; ours says what to send.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    description="An API token of your workspace, created in its settings: `Authorization: Bearer fd_…`.",
)


def api_caller(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> ApiCaller:
    if credentials is None:
        raise HTTPException(status_code=401, detail=NO_TOKEN, headers={"WWW-Authenticate": REALM})
    # A bad token raises AuthenticationError, answered with 401 by the v1 route class.
    return authenticate_api_caller(credentials.credentials)


Caller = Annotated[ApiCaller, Depends(api_caller)]
