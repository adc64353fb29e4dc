"""Typed FastAPI dependencies: the database, the Temporal client, settings, the caller (any, or an admin), its
form and query parameters, and the If-Match precondition."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from temporalio.client import Client

from api.auth import Authenticator, Principal
from api.wire import Params
from core.settings import Settings
from domain.errors import AuthenticationFailed, Conflict, PermissionDenied
from storage.db import Database


def get_db(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_temporal(request: Request) -> Client:
    return request.app.state.temporal  # type: ignore[no-any-return]


async def authenticate(request: Request) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        return await authenticator.basic(header)
    if header[:7].lower() == "bearer ":
        return await authenticator.token(header[7:].strip())
    token = request.headers.get("x-twilio-token")
    if token:
        return await authenticator.token(token.strip())
    raise AuthenticationFailed("Authentication required: HTTP Basic credentials or an access token")


async def require_admin(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    """Account credentials (Basic auth): what creating and configuring resources needs."""
    if not principal.is_admin:
        raise PermissionDenied("This action requires account credentials")
    return principal


async def form_params(request: Request) -> Params:
    return Params(await request.form())


def query_params(request: Request) -> Params:
    return Params(request.query_params)


def if_match(request: Request) -> int | None:
    """The version an `If-Match` header expects (Twilio sends the ETag back quoted, maybe weak); `*` or none
    means "whatever it is". A value that is no version of ours can never match: 412."""
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    try:
        return int(raw.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise Conflict(f"If-Match '{raw}' does not match the resource's current ETag", status=412) from None


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = str(version)


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
AdminPrincipal = Annotated[Principal, Depends(require_admin)]
FormDep = Annotated[Params, Depends(form_params)]
QueryDep = Annotated[Params, Depends(query_params)]
IfMatchDep = Annotated[int | None, Depends(if_match)]
