"""Typed FastAPI dependencies: the database, the Temporal client, settings, the caller and its form."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from temporalio.client import Client

from api.auth import Authenticator, Principal
from api.wire import Params
from core.settings import Settings
from domain.errors import AuthenticationFailed
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


async def form_params(request: Request) -> Params:
    return Params(await request.form())


def query_params(request: Request) -> Params:
    return Params(request.query_params)


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
FormDep = Annotated[Params, Depends(form_params)]
QueryDep = Annotated[Params, Depends(query_params)]
