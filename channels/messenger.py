"""Facebook Messenger's Send API and page webhooks (docs/channel-protocols.md, section 3).

Webhooks are JSON posts signed with `X-Hub-Signature-256`, `object: "page"`, each entry a page's `messaging`
events: a customer's message, a delivery (the page's messages that reached the customer, by mid) or a read
watermark. The page's own messages come back as echoes, which are ignored. Addresses: `messenger:<PSID>` for the
customer, `messenger:<page id>` for the business.

A Messenger message is text or one attachment, never both: a send with a body and media, or with more than one
attachment, is refused (ProviderRejected) and the caller sends them as separate messages (`limits()` says
`max_media=1`, `body_with_media=False`). Attachments go out as `image`, the kind the protocol contract names."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channels import meta
from channels.base import (
    ChannelAdapter,
    ChannelError,
    ChannelKind,
    InboundEvent,
    InboundMedia,
    InboundMessage,
    InboundRequest,
    OutboundMessage,
    ProviderConfig,
    ProviderLimits,
    ProviderRejected,
    ProviderUnavailable,
    ReadWatermark,
    SendResult,
    StatusUpdate,
    connection_credentials,
    parse_payload,
)
from domain.states import DeliveryStatus

MB = 1024 * 1024
PREFIX = "messenger:"
_INVALID_TO = 21211
_BODY_REQUIRED = 21602

_STATUSES: dict[str, DeliveryStatus] = {
    "delivery": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
}


def address(scoped_id: str) -> str:
    return f"{PREFIX}{scoped_id}"


# --- the webhook's shape -------------------------------------------------------------------------------------


class _Party(BaseModel):
    id: str = Field(min_length=1)


class _Payload(BaseModel):
    url: str | None = None


class _Attachment(BaseModel):
    type: str
    payload: _Payload | None = None


class _Message(BaseModel):
    mid: str | None = None
    text: str | None = None
    attachments: list[_Attachment] = Field(default_factory=list)
    is_echo: bool = False


class _Delivery(BaseModel):
    mids: list[str] = Field(default_factory=list)
    watermark: int | None = None


class _Read(BaseModel):
    watermark: int


class _Event(BaseModel):
    sender: _Party
    recipient: _Party
    timestamp: int | None = None
    message: _Message | None = None
    delivery: _Delivery | None = None
    read: _Read | None = None


class _Entry(BaseModel):
    id: str | None = None
    time: int | None = None
    messaging: list[_Event] = Field(default_factory=list)  # absent from `standby` / `changes` entries


class _Envelope(BaseModel):
    object: Literal["page"]
    entry: list[_Entry]


class _SendAnswer(BaseModel):
    recipient_id: str | None = None
    message_id: str = Field(min_length=1)


class Messenger(ChannelAdapter):
    name = "messenger"
    channels: ClassVar[frozenset[ChannelKind]] = frozenset({ChannelKind.MESSENGER})
    default_api_base_url = meta.DEFAULT_GRAPH_API

    class Credentials(BaseModel):
        model_config = ConfigDict(frozen=True)

        page_id: str = Field(min_length=1)
        page_access_token: str = Field(min_length=1)
        app_secret: str = Field(min_length=1)
        verify_token: str = Field(min_length=1)

    def _credentials(self, config: ProviderConfig) -> Messenger.Credentials:
        return connection_credentials(self.Credentials, config, provider=self.name)

    def _base(self, config: ProviderConfig) -> str:
        return (config.api_base_url or self.default_api_base_url).rstrip("/")

    def limits(self, channel: ChannelKind) -> ProviderLimits:
        if channel is not ChannelKind.MESSENGER:
            raise ChannelError(f"{self.name} does not carry {channel}")
        return ProviderLimits(
            body_limit=2000,
            max_media=1,
            media_size_limit=25 * MB,
            customer_service_window=timedelta(hours=24),
            body_with_media=False,
        )

    # --- webhooks --------------------------------------------------------------------------------------------

    def verify(self, request: InboundRequest, config: ProviderConfig) -> None:
        meta.verify_signature(request, self._credentials(config).app_secret)

    def handshake(self, request: InboundRequest, config: ProviderConfig) -> str:
        return meta.handshake(request, self._credentials(config).verify_token)

    def parse(self, request: InboundRequest, config: ProviderConfig) -> Sequence[InboundEvent]:
        envelope = parse_payload(_Envelope, request.body, what="Messenger webhook")
        events: list[InboundEvent] = []
        for entry in envelope.entry:
            for event in entry.messaging:
                events.extend(self._events(event))
        return events

    def _events(self, event: _Event) -> list[InboundEvent]:
        customer, page = address(event.sender.id), address(event.recipient.id)
        if event.message is not None:
            message = event.message
            if message.is_echo:
                return []  # the page's own message, sent by Parley or from the page inbox
            if not message.mid:
                raise ChannelError("not a Messenger message: no mid")
            media = [
                InboundMedia(url=a.payload.url) for a in message.attachments if a.payload is not None and a.payload.url
            ]
            if message.text is None and not media:
                return []  # a location, a template fallback: nothing Parley carries
            return [
                InboundMessage(
                    provider_message_id=message.mid,
                    channel=ChannelKind.MESSENGER,
                    from_address=customer,
                    to_address=page,
                    body=message.text,
                    media=media,
                    received_at=meta.from_epoch_ms(event.timestamp) if event.timestamp else None,
                )
            ]
        if event.delivery is not None:
            # A delivery without mids (older webhooks) only has a watermark, which says nothing per message.
            return [
                StatusUpdate(provider_message_id=mid, status=DeliveryStatus.DELIVERED, recipient=customer)
                for mid in event.delivery.mids
            ]
        if event.read is not None:
            return [
                ReadWatermark(
                    customer_address=customer,
                    business_address=page,
                    read_up_to=meta.from_epoch_ms(event.read.watermark),
                )
            ]
        return []  # postbacks, reactions, referrals, opt-ins: not for a conversation

    def map_status(self, provider_status: str) -> DeliveryStatus | None:
        return _STATUSES.get(provider_status.lower())

    # --- sending ---------------------------------------------------------------------------------------------

    async def send(self, http: httpx.AsyncClient, config: ProviderConfig, message: OutboundMessage) -> SendResult:
        creds = self._credentials(config)
        if not message.to_address.startswith(PREFIX) or not message.to_address.removeprefix(PREFIX):
            raise ProviderRejected(f"not a Messenger address: {message.to_address!r}", code=_INVALID_TO)
        payload = {
            "recipient": {"id": message.to_address.removeprefix(PREFIX)},
            "messaging_type": "RESPONSE",
            "message": _message_of(message),
        }
        what = f"sending to {message.to_address} through Messenger"
        response = await meta.graph_call(
            http,
            "POST",
            f"{self._base(config)}/me/messages",
            what=what,
            params={"access_token": creds.page_access_token},
            json=payload,
        )
        try:
            answer = _SendAnswer.model_validate_json(response.content)
        except ValidationError as exc:
            raise ProviderUnavailable(f"{what}: an answer without a message id: {response.text[:200]}") from exc
        return SendResult(provider_message_id=answer.message_id)

    # fetch_media: the base class's plain GET of the attachment's URL (Messenger's CDN URLs carry their own token).


def _message_of(message: OutboundMessage) -> dict[str, Any]:
    if message.template is not None:
        raise ProviderRejected("Messenger has no message templates")
    if message.media_urls:
        if len(message.media_urls) > 1 or message.body:
            raise ProviderRejected(
                "a Messenger message is text or one attachment: send the body and each attachment separately"
            )
        return {"attachment": {"type": "image", "payload": {"url": message.media_urls[0], "is_reusable": True}}}
    if not message.body:
        raise ProviderRejected("a message needs a body or an attachment", code=_BODY_REQUIRED)
    return {"text": message.body}
