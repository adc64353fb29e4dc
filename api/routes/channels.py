"""Provider webhooks: `/parley/v1/ChannelProviders/{Sid}/Webhook` is the one URL a provider connection's
provider calls (Twilio's inbound-message and status-callback URL; the Meta app's webhook for WhatsApp and
Messenger). Public like the providers need it to be: the request's signature, checked with the connection's
secret by its adapter, is what authenticates it, and one that fails gets 403 and writes nothing.

The route parses → calls → answers: `storage/channels/service.py` decides what a message or status means."""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import parse_qsl

import httpx
from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import PlainTextResponse

from api.deps import DbDep, SettingsDep
from api.errors import twilio_error
from channels import registry
from channels.base import (
    ChannelAdapter,
    ChannelError,
    InboundMessage,
    InboundRequest,
    ProviderConfig,
    ProviderUnavailable,
    ReadWatermark,
    SignatureInvalid,
    StatusUpdate,
)
from core.media import MediaStore
from core.settings import Settings
from domain.limits import CHANNEL_INBOUND_MEDIA_TIMEOUT
from domain.sids import SidPrefix, new_sid
from storage import crypto
from storage.channels import service as channels
from storage.channels.tables import ChannelProviderRow
from storage.db import Database

log = logging.getLogger(__name__)

router = APIRouter(prefix="/parley/v1/ChannelProviders", tags=["Channel webhooks"])
ProviderSid = Annotated[str, Path(alias="Sid", description="The provider connection (`XP…`).")]
# Twilio reads TwiML from the answer to an inbound message; an empty <Response/> says "no automatic reply".
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _inbound_request(request: Request, body: bytes, settings: Settings) -> InboundRequest:
    """The request as the provider sent it. Signatures cover the URL the provider called, which behind a proxy
    is the public one: rebuilt from the configured base URL."""
    query = request.url.query
    url = f"{settings.base_url}{request.url.path}" + (f"?{query}" if query else "")
    is_form = request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    return InboundRequest(
        method=request.method,
        url=url,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=list(request.query_params.multi_items()),
        body=body,
        form=parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True) if is_form else [],
    )


async def _connection(db: Database, provider_sid: str) -> tuple[ChannelProviderRow, ChannelAdapter, ProviderConfig]:
    async with db.read() as q:
        provider = await channels.webhook_provider(q, provider_sid)
    return provider, registry.adapter(provider.kind), channels.config_of(provider)


@router.get(
    "/{Sid}/Webhook",
    response_class=PlainTextResponse,
    include_in_schema=True,
    responses={403: {"description": "The verify token is not the connection's."}},
)
async def verify_subscription(
    provider_sid: ProviderSid, request: Request, db: DbDep, settings: SettingsDep
) -> Response:
    """The provider's subscription check (Meta's `hub.challenge`): the challenge echoed for the connection's
    verify token, 403 otherwise."""
    _, adapter, config = await _connection(db, provider_sid)
    try:
        challenge = adapter.handshake(_inbound_request(request, b"", settings), config)
    except SignatureInvalid as exc:
        return twilio_error(exc.code, str(exc), 403)
    except ChannelError as exc:
        return twilio_error(exc.code, str(exc), 400)
    return PlainTextResponse(challenge)


@router.post(
    "/{Sid}/Webhook",
    responses={
        403: {"description": "The request's signature does not verify with the connection's secret."},
        503: {"description": "A message's media could not be fetched from the provider: nothing was written."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The provider's own webhook body: Twilio's form fields, or Meta's JSON (WhatsApp Cloud "
            "API, Messenger); see docs/channel-protocols.md.",
            "content": {
                "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": True}},
                "application/json": {"schema": {"type": "object", "additionalProperties": True}},
            },
        }
    },
)
async def provider_webhook(provider_sid: ProviderSid, request: Request, db: DbDep, settings: SettingsDep) -> Response:
    """An inbound message, a delivery status or a read event from the provider. A message the provider sends
    again (a retry after a timeout) has no further effect."""
    provider, adapter, config = await _connection(db, provider_sid)
    inbound = _inbound_request(request, await request.body(), settings)
    try:
        adapter.verify(inbound, config)
    except SignatureInvalid as exc:
        log.warning("provider webhook for %s refused: %s", provider.sid, exc)
        return twilio_error(exc.code, f"The request's signature does not verify: {exc}", 403)
    try:
        events = adapter.parse(inbound, config)
    except ChannelError as exc:
        return twilio_error(20001, f"Not a {provider.kind} webhook: {exc}", 400)
    store: MediaStore = request.app.state.media
    for event in events:
        if isinstance(event, InboundMessage):
            try:
                await _take_in(db, store, provider, adapter, config, event)
            except ProviderUnavailable as exc:
                # An attachment could not be fetched: nothing was written; the provider's retry takes it in.
                return twilio_error(exc.code, f"Could not fetch the message's media: {exc}", 503)
        elif isinstance(event, StatusUpdate):
            async with db.unit() as uow:
                if not await channels.record_status(uow, provider=provider, update=event):
                    log.info("status %s for unknown message %s", event.status, event.provider_message_id)
        elif isinstance(event, ReadWatermark):
            async with db.unit() as uow:
                await channels.record_read(uow, provider=provider, read=event)
    if inbound.form:
        return Response(EMPTY_TWIML, media_type="text/xml")
    return PlainTextResponse("EVENT_RECEIVED")


async def _take_in(
    db: Database,
    store: MediaStore,
    provider: ChannelProviderRow,
    adapter: ChannelAdapter,
    config: ProviderConfig,
    message: InboundMessage,
) -> None:
    async with db.read() as q:
        if await channels.already_received(
            q, provider_sid=provider.sid, provider_message_id=message.provider_message_id
        ):
            return
        key = await crypto.sealer(q, provider.account_sid)
    # Attachments are fetched before the transaction (a provider's media URL may be slow) and stored sealed;
    # the transaction then records them with the message. Files of a message that turns out a duplicate (two
    # retries racing) or fails are deleted again.
    files: list[channels.InboundFile] = []
    try:
        async with httpx.AsyncClient(timeout=CHANNEL_INBOUND_MEDIA_TIMEOUT) as http:
            for item in message.media:
                data, content_type = await adapter.fetch_media(http, config, item)
                sid = new_sid(SidPrefix.MEDIA)
                await store.put(sid, key.seal_bytes(data))
                files.append(
                    channels.InboundFile(
                        media_sid=sid, content_type=content_type, size=len(data), filename=item.filename
                    )
                )
        async with db.unit() as uow:
            result = await channels.receive_message(uow, provider=provider, message=message, files=files)
    except BaseException:
        for file in files:
            await store.delete(file.media_sid)
        raise
    if result.outcome in (channels.InboundOutcome.DUPLICATE, channels.InboundOutcome.IGNORED):
        for file in files:
            await store.delete(file.media_sid)
    if result.outcome is channels.InboundOutcome.IGNORED:
        log.info("inbound %s on %s ignored: %s", message.provider_message_id, provider.sid, result.reason)
