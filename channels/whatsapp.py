"""Meta's WhatsApp Cloud API (docs/channel-protocols.md, section 2).

Webhooks are JSON posts signed with `X-Hub-Signature-256`, one envelope carrying messages and statuses of one
or more business numbers. Addresses: the customer's `wa_id` "15551234567" is `whatsapp:+15551234567`, the
business number is its `display_phone_number` written the same way.

One attachment per message: a send with more than one media URL is refused (ProviderRejected) rather than split
here, because one send answers with one message id and a retry of a half-sent split would duplicate the part
that went; the caller sends one message per attachment (`limits().max_media` is 1). Media go out as `image`
messages, the only kind the protocol contract names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
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
    OutsideWindow,
    ProviderConfig,
    ProviderLimits,
    ProviderRejected,
    ProviderUnavailable,
    SendResult,
    StatusUpdate,
    connection_credentials,
    download,
    parse_payload,
)
from domain.states import DeliveryStatus

MB = 1024 * 1024
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
_INVALID_TO = 21211
_BODY_REQUIRED = 21602

_STATUSES: dict[str, DeliveryStatus] = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}


def address(wa_id: str) -> str:
    """`whatsapp:+<digits>` of a WhatsApp number as Meta writes it ("15551234567", "+1 555-123-4567")."""
    digits = re.sub(r"\D", "", wa_id)
    if not digits:
        raise ChannelError(f"not a WhatsApp number: {wa_id!r}")
    return f"whatsapp:+{digits}"


# --- the webhook's shape -------------------------------------------------------------------------------------


class _Metadata(BaseModel):
    display_phone_number: str
    phone_number_id: str | None = None


class _Profile(BaseModel):
    name: str | None = None


class _Contact(BaseModel):
    wa_id: str | None = None
    profile: _Profile | None = None


class _Text(BaseModel):
    body: str


class _Media(BaseModel):
    id: str
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None


class _Button(BaseModel):  # a tap on a template's quick-reply button
    text: str


class _Reply(BaseModel):
    title: str


class _Interactive(BaseModel):  # a tap on an interactive message's button or list row
    button_reply: _Reply | None = None
    list_reply: _Reply | None = None


class _Message(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    id: str
    timestamp: int | None = None
    type: str
    text: _Text | None = None
    image: _Media | None = None
    audio: _Media | None = None
    video: _Media | None = None
    document: _Media | None = None
    sticker: _Media | None = None
    button: _Button | None = None
    interactive: _Interactive | None = None


class _Error(BaseModel):
    code: int
    title: str | None = None
    message: str | None = None


class _Status(BaseModel):
    id: str
    status: str
    timestamp: int | None = None
    recipient_id: str | None = None
    biz_opaque_callback_data: str | None = None
    errors: list[_Error] = Field(default_factory=list)


class _Value(BaseModel):
    metadata: _Metadata | None = None
    contacts: list[_Contact] = Field(default_factory=list)
    messages: list[_Message] = Field(default_factory=list)
    statuses: list[_Status] = Field(default_factory=list)


class _Change(BaseModel):
    field: str
    value: dict[str, Any]


class _Entry(BaseModel):
    id: str | None = None
    changes: list[_Change] = Field(default_factory=list)


class _Envelope(BaseModel):
    object: Literal["whatsapp_business_account"]
    entry: list[_Entry]


# --- the send API's answer -----------------------------------------------------------------------------------


class _SentMessage(BaseModel):
    id: str = Field(min_length=1)


class _SendAnswer(BaseModel):
    messages: list[_SentMessage] = Field(min_length=1)


class _MediaInfo(BaseModel):
    url: str
    mime_type: str | None = None


class WhatsAppCloud(ChannelAdapter):
    name = "whatsapp_cloud"
    channels: ClassVar[frozenset[ChannelKind]] = frozenset({ChannelKind.WHATSAPP})
    default_api_base_url = meta.DEFAULT_GRAPH_API

    class Credentials(BaseModel):
        model_config = ConfigDict(frozen=True)

        phone_number_id: str = Field(min_length=1)
        access_token: str = Field(min_length=1)
        app_secret: str = Field(min_length=1)
        verify_token: str = Field(min_length=1)

    def _credentials(self, config: ProviderConfig) -> WhatsAppCloud.Credentials:
        return connection_credentials(self.Credentials, config, provider=self.name)

    def _base(self, config: ProviderConfig) -> str:
        return (config.api_base_url or self.default_api_base_url).rstrip("/")

    def limits(self, channel: ChannelKind) -> ProviderLimits:
        if channel is not ChannelKind.WHATSAPP:
            raise ChannelError(f"{self.name} does not carry {channel}")
        return ProviderLimits(
            body_limit=4096,
            max_media=1,
            media_size_limit=16 * MB,
            customer_service_window=timedelta(hours=24),
            templates=True,
        )

    # --- webhooks --------------------------------------------------------------------------------------------

    def verify(self, request: InboundRequest, config: ProviderConfig) -> None:
        meta.verify_signature(request, self._credentials(config).app_secret)

    def handshake(self, request: InboundRequest, config: ProviderConfig) -> str:
        return meta.handshake(request, self._credentials(config).verify_token)

    def parse(self, request: InboundRequest, config: ProviderConfig) -> Sequence[InboundEvent]:
        envelope = parse_payload(_Envelope, request.body, what="WhatsApp Cloud webhook")
        events: list[InboundEvent] = []
        for entry in envelope.entry:
            for change in entry.changes:
                if change.field != "messages":
                    continue  # account, template and quality updates: nothing for a conversation
                value = parse_payload(_Value, change.value, what="WhatsApp Cloud messages webhook")
                events.extend(self._messages(value))
                events.extend(self._statuses(value))
        return events

    def _messages(self, value: _Value) -> list[InboundMessage]:
        if not value.messages:
            return []
        if value.metadata is None:
            raise ChannelError("not a WhatsApp Cloud messages webhook: messages without metadata")
        business = address(value.metadata.display_phone_number)
        names = {c.wa_id: c.profile.name for c in value.contacts if c.wa_id and c.profile}
        found = []
        for message in value.messages:
            body, media = _content(message)
            if body is None and not media:
                continue  # reactions, locations, contacts cards, unsupported: nothing Parley carries
            found.append(
                InboundMessage(
                    provider_message_id=message.id,
                    channel=ChannelKind.WHATSAPP,
                    from_address=address(message.from_),
                    to_address=business,
                    body=body,
                    media=media,
                    profile_name=names.get(message.from_),
                    received_at=datetime.fromtimestamp(message.timestamp, UTC) if message.timestamp else None,
                )
            )
        return found

    def _statuses(self, value: _Value) -> list[StatusUpdate]:
        found = []
        for item in value.statuses:
            status = self.map_status(item.status)
            if status is None:
                continue
            error = item.errors[0] if item.errors else None
            found.append(
                StatusUpdate(
                    provider_message_id=item.id,
                    status=status,
                    error_code=_twilio_code(error.code) if error else None,
                    error_message=(error.message or error.title) if error else None,
                    recipient=address(item.recipient_id) if item.recipient_id else None,
                    callback_data=item.biz_opaque_callback_data,
                )
            )
        return found

    def map_status(self, provider_status: str) -> DeliveryStatus | None:
        # "deleted", "warning" and statuses Meta adds later say nothing about a delivery: ignored.
        return _STATUSES.get(provider_status.lower())

    # --- sending ---------------------------------------------------------------------------------------------

    async def send(self, http: httpx.AsyncClient, config: ProviderConfig, message: OutboundMessage) -> SendResult:
        creds = self._credentials(config)
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": _wa_id(message.to_address),
        }
        payload.update(_content_of(message))
        if message.callback_data is not None:
            payload["biz_opaque_callback_data"] = message.callback_data
        url = f"{self._base(config)}/{creds.phone_number_id}/messages"
        what = f"sending to {message.to_address} through WhatsApp Cloud"
        response = await meta.graph_call(
            http, "POST", url, what=what, json=payload, headers={"Authorization": f"Bearer {creds.access_token}"}
        )
        try:
            answer = _SendAnswer.model_validate_json(response.content)
        except ValidationError as exc:
            raise ProviderUnavailable(f"{what}: an answer without a message id: {response.text[:200]}") from exc
        return SendResult(provider_message_id=answer.messages[0].id)

    async def fetch_media(
        self, http: httpx.AsyncClient, config: ProviderConfig, media: InboundMedia
    ) -> tuple[bytes, str]:
        creds = self._credentials(config)
        auth = {"Authorization": f"Bearer {creds.access_token}"}
        url, content_type = media.url, media.content_type
        if media.provider_media_id is not None:
            what = f"resolving WhatsApp media {media.provider_media_id}"
            try:
                response = await meta.graph_call(
                    http, "GET", f"{self._base(config)}/{media.provider_media_id}", what=what, headers=auth
                )
                info = _MediaInfo.model_validate_json(response.content)
            except ValidationError as exc:
                raise ProviderUnavailable(f"{what}: an answer without a url") from exc
            except ChannelError as exc:
                raise ProviderUnavailable(str(exc)) from exc
            url, content_type = info.url, content_type or info.mime_type
        if url is None:
            raise ChannelError("this attachment has neither a media id nor a URL")
        return await download(http, url, content_type=content_type, headers=auth)


def _twilio_code(meta_code: int) -> int:
    """The error code a receipt records: Twilio's where Twilio Conversations names the same failure (a WhatsApp
    message outside the customer-service window is 63016 however it was carried), else Meta's own."""
    return OutsideWindow.code if meta_code == meta.OUTSIDE_WINDOW_CODE else meta_code


def _content(message: _Message) -> tuple[str | None, list[InboundMedia]]:
    """An inbound message's text and attachments."""
    if message.type == "text" and message.text is not None:
        return message.text.body, []
    if message.type in MEDIA_TYPES:
        item: _Media | None = getattr(message, message.type)
        if item is None:
            raise ChannelError(f"not a WhatsApp Cloud message: type {message.type!r} without that object")
        return item.caption, [
            InboundMedia(provider_media_id=item.id, content_type=item.mime_type, filename=item.filename)
        ]
    if message.type == "button" and message.button is not None:
        return message.button.text, []
    if message.type == "interactive" and message.interactive is not None:
        reply = message.interactive.button_reply or message.interactive.list_reply
        return (reply.title if reply else None), []
    return None, []


def _wa_id(to_address: str) -> str:
    """The `to` of a send: the digits of `whatsapp:+15551234567`."""
    number = to_address.removeprefix("whatsapp:")
    digits = number.removeprefix("+")
    if not digits.isdigit():
        raise ProviderRejected(f"not a WhatsApp address: {to_address!r}", code=_INVALID_TO)
    return digits


def _content_of(message: OutboundMessage) -> dict[str, Any]:
    """The `type` and its object: a template, an image (with the body as its caption) or text."""
    if message.template is not None:
        template: dict[str, Any] = {"name": message.template.name, "language": {"code": message.template.language}}
        if message.template.parameters:
            parameters = [{"type": "text", "text": p} for p in message.template.parameters]
            template["components"] = [{"type": "body", "parameters": parameters}]
        return {"type": "template", "template": template}
    if len(message.media_urls) > 1:
        raise ProviderRejected(
            f"WhatsApp takes one attachment per message, this one has {len(message.media_urls)}: send one each"
        )
    if message.media_urls:
        image: dict[str, Any] = {"link": message.media_urls[0]}
        if message.body:
            image["caption"] = message.body
        return {"type": "image", "image": image}
    if not message.body:
        raise ProviderRejected("a message needs a body, an attachment or a template", code=_BODY_REQUIRED)
    return {"type": "text", "text": {"body": message.body}}
