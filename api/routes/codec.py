"""/codec/encode and /codec/decode (Parley extension): Temporal's remote codec protocol, so the Temporal UI and
CLI can show Parley's sealed workflow payloads (core/codec.py) to people allowed to read them and to nobody
else (docs/security/temporal-codec.md).

Account credentials are required, except from the Temporal UI that `make dev` starts: the browser calls this
endpoint itself and cannot send them. Such a request is trusted only when its Origin is the configured UI origin,
the api listens on loopback only and Parley is not in production. The namespace (X-Namespace) must be Parley's."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, Security
from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payload

from api.auth import Principal
from api.deps import SettingsDep, authenticate, basic_scheme, bearer_scheme, get_settings, twilio_token_scheme
from core.codec import EncryptionCodec, PayloadDecryptionError
from core.keys import keyring
from core.settings import Environment, Settings
from domain.errors import InvalidParameter, PermissionDenied

router = APIRouter(prefix="/codec", tags=["Parley: Temporal codec"])

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_CORS_HEADERS = "Content-Type, X-Namespace, Authorization"


class CodecPayload(BaseModel):
    """A Temporal Payload in the remote codec's JSON: metadata values and data base64-encoded."""

    metadata: dict[str, str] = Field(default_factory=dict, description="Metadata, each value base64.")
    data: str = Field("", description="The payload's bytes, base64.")


class CodecPayloads(BaseModel):
    payloads: list[CodecPayload] = Field(description="The payloads to encode or decode, in order.")


def _is_ui_origin(request: Request, settings: Settings) -> bool:
    origin = request.headers.get("origin", "").rstrip("/")
    return bool(origin) and origin == settings.temporal_ui_origin.rstrip("/")


def _from_local_ui(request: Request, settings: Settings) -> bool:
    return (
        settings.env is not Environment.PRODUCTION
        and settings.host in _LOOPBACK_HOSTS
        and _is_ui_origin(request, settings)
    )


async def codec_caller(
    request: Request,
    basic: Annotated[str | None, Security(basic_scheme)],
    bearer: Annotated[str | None, Security(bearer_scheme)],
    twilio_token: Annotated[str | None, Security(twilio_token_scheme)],
) -> None:
    """Who may use the codec: an admin (account credentials), or the local Temporal UI of `make dev`; and only
    for Parley's namespace (the UI names it in X-Namespace; the CLI sends none)."""
    settings = get_settings(request)
    if not (_from_local_ui(request, settings) and basic is None and bearer is None and not twilio_token):
        principal: Principal = await authenticate(request, basic, bearer, twilio_token)
        if not principal.is_admin:
            raise PermissionDenied("Reading workflow payloads requires account credentials")
    namespace = request.headers.get("x-namespace")
    if namespace is not None and namespace != settings.temporal_namespace:
        raise PermissionDenied(f"This codec serves namespace {settings.temporal_namespace!r}, not {namespace!r}")


def _allow_origin(request: Request, response: Response, settings: Settings) -> None:
    if _is_ui_origin(request, settings):
        response.headers["Access-Control-Allow-Origin"] = settings.temporal_ui_origin.rstrip("/")
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Vary"] = "Origin"


def _payload(sent: CodecPayload) -> Payload:
    try:
        return Payload(
            metadata={k: base64.b64decode(v, validate=True) for k, v in sent.metadata.items()},
            data=base64.b64decode(sent.data, validate=True),
        )
    except (binascii.Error, ValueError):
        raise InvalidParameter("Payload metadata and data must be base64") from None


def _json(payload: Payload) -> CodecPayload:
    return CodecPayload(
        metadata={k: base64.b64encode(v).decode() for k, v in payload.metadata.items()},
        data=base64.b64encode(payload.data).decode(),
    )


# The process's key ring, as the api's Temporal client seals with (core/temporal.py), read on first use.
_CODEC = EncryptionCodec(keyring)


async def _apply(body: CodecPayloads, transform: Callable[[list[Payload]], Awaitable[list[Payload]]]) -> CodecPayloads:
    try:
        done = await transform([_payload(p) for p in body.payloads])
    except PayloadDecryptionError as exc:
        raise InvalidParameter(str(exc)) from None
    return CodecPayloads(payloads=[_json(p) for p in done])


@router.post("/encode", response_model=CodecPayloads, dependencies=[Depends(codec_caller)])
async def encode(body: CodecPayloads, request: Request, response: Response, settings: SettingsDep) -> CodecPayloads:
    """Seal payloads as Parley's workers do (what the UI needs to send a signal or start a workflow)."""
    _allow_origin(request, response, settings)
    return await _apply(body, _CODEC.encode)


@router.post("/decode", response_model=CodecPayloads, dependencies=[Depends(codec_caller)])
async def decode(body: CodecPayloads, request: Request, response: Response, settings: SettingsDep) -> CodecPayloads:
    """Open sealed payloads; payloads that are not sealed come back unchanged."""
    _allow_origin(request, response, settings)
    return await _apply(body, _CODEC.decode)


@router.options("/{action}", include_in_schema=False)
async def preflight(action: str, request: Request, settings: SettingsDep) -> Response:
    """CORS preflight for the Temporal UI's origin (others get no CORS headers, so browsers refuse them)."""
    response = Response(status_code=204)
    if action in ("encode", "decode"):
        _allow_origin(request, response, settings)
        if "Access-Control-Allow-Origin" in response.headers:
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = _CORS_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
    return response
