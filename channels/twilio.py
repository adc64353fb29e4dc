"""Twilio Programmable Messaging: SMS/MMS, and WhatsApp through Twilio (docs/channel-protocols.md, section 1).

Inbound messages and status callbacks both arrive as form posts signed with `X-Twilio-Signature`; a status
callback is told apart by its `MessageStatus` field. Parley's receipt key rides in the StatusCallback URL's
query as `ParleyReceipt`, which Twilio keeps when it calls back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

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
    ProviderThrottled,
    ProviderUnavailable,
    SendResult,
    SignatureInvalid,
    StatusUpdate,
    channel_of,
    connection_credentials,
    download,
    parse_payload,
    provider_request,
    retry_after_of,
)
from domain.states import DeliveryStatus
from domain.webhooks import signature_valid

SIGNATURE_HEADER = "x-twilio-signature"
RECEIPT_PARAMETER = "ParleyReceipt"
MB = 1024 * 1024

_STATUSES: dict[str, DeliveryStatus | None] = {
    # Steps before the message left Twilio, and an inbound message's own statuses: nothing for a receipt.
    "queued": None,
    "accepted": None,
    "scheduled": None,
    "sending": None,
    "receiving": None,
    "received": None,
    "partially_delivered": None,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "canceled": DeliveryStatus.FAILED,  # a scheduled message that will never go
}


def _none_if_blank(value: object) -> object:
    return None if value == "" else value


_Text = Annotated[str | None, BeforeValidator(_none_if_blank)]  # Twilio sends absent values as empty fields
_Int = Annotated[int | None, BeforeValidator(_none_if_blank)]


class _StatusCallback(BaseModel):
    message_sid: str = Field(validation_alias=AliasChoices("MessageSid", "SmsSid"))
    message_status: str = Field(validation_alias="MessageStatus")
    to: _Text = Field(default=None, validation_alias="To")
    error_code: _Int = Field(default=None, validation_alias="ErrorCode")
    error_message: _Text = Field(default=None, validation_alias="ErrorMessage")


class _InboundForm(BaseModel):
    message_sid: str = Field(validation_alias=AliasChoices("MessageSid", "SmsMessageSid", "SmsSid"))
    from_: str = Field(validation_alias="From", min_length=1)
    to: str = Field(validation_alias="To", min_length=1)
    body: _Text = Field(default=None, validation_alias="Body")
    num_media: int = Field(default=0, ge=0, le=100, validation_alias="NumMedia")
    profile_name: _Text = Field(default=None, validation_alias="ProfileName")
    messaging_service_sid: _Text = Field(default=None, validation_alias="MessagingServiceSid")


class _MessageResource(BaseModel):
    sid: str = Field(min_length=1)
    status: str | None = None


class _TwilioError(BaseModel):
    code: int | None = None
    message: str = ""
    more_info: str | None = None


# Twilio error codes the delivery activity acts on differently from a plain rejection.
_THROTTLED = 20429
_OUTSIDE_WINDOW = 63016
_AUTHENTICATION_FAILED = 20003
_BODY_REQUIRED = 21602


def status_callback_url(url: str, callback_data: str | None) -> str:
    """The StatusCallback to give Twilio: `url` with `ParleyReceipt=<callback_data>` in its query (its own
    parameters kept, an earlier ParleyReceipt replaced)."""
    if callback_data is None:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != RECEIPT_PARAMETER]
    query.append((RECEIPT_PARAMETER, callback_data))
    return urlunsplit(parts._replace(query=urlencode(query)))


class TwilioMessaging(ChannelAdapter):
    name = "twilio"
    channels: ClassVar[frozenset[ChannelKind]] = frozenset({ChannelKind.SMS, ChannelKind.WHATSAPP})
    default_api_base_url = "https://api.twilio.com"

    class Credentials(BaseModel):
        model_config = ConfigDict(frozen=True)

        account_sid: str = Field(min_length=1)
        auth_token: str = Field(min_length=1)

    def _credentials(self, config: ProviderConfig) -> TwilioMessaging.Credentials:
        return connection_credentials(self.Credentials, config, provider=self.name)

    def _base(self, config: ProviderConfig) -> str:
        return (config.api_base_url or self.default_api_base_url).rstrip("/")

    def limits(self, channel: ChannelKind) -> ProviderLimits:
        if channel is ChannelKind.SMS:
            return ProviderLimits(body_limit=1600, max_media=10, media_size_limit=5 * MB)
        if channel is ChannelKind.WHATSAPP:
            # Twilio carries WhatsApp templates as Content API items; Parley does not send those (yet).
            return ProviderLimits(
                body_limit=4096,
                max_media=1,
                media_size_limit=16 * MB,
                customer_service_window=timedelta(hours=24),
                templates=False,
            )
        raise ChannelError(f"{self.name} does not carry {channel}")

    # --- webhooks --------------------------------------------------------------------------------------------

    def verify(self, request: InboundRequest, config: ProviderConfig) -> None:
        given = request.header(SIGNATURE_HEADER)
        if not given:
            raise SignatureInvalid("no X-Twilio-Signature header")
        token = self._credentials(config).auth_token
        # The URL as called, query included, with and without its default port (as twilio-python accepts).
        if not given.isascii() or not signature_valid(token, request.url, request.form_fields(), given):
            raise SignatureInvalid("X-Twilio-Signature does not match the URL and parameters")

    def parse(self, request: InboundRequest, config: ProviderConfig) -> Sequence[InboundEvent]:
        fields: dict[str, str] = {}
        for key, value in request.form_fields():
            fields.setdefault(key, value)
        if not fields:
            raise ChannelError("not a Twilio webhook: no form fields")
        if "MessageStatus" in fields:
            return self._status(fields, request)
        return [self._message(fields)]

    def _status(self, fields: dict[str, str], request: InboundRequest) -> list[InboundEvent]:
        callback = parse_payload(_StatusCallback, fields, what="Twilio status callback")
        status = self.map_status(callback.message_status)
        if status is None:
            return []
        return [
            StatusUpdate(
                provider_message_id=callback.message_sid,
                status=status,
                error_code=callback.error_code,
                error_message=callback.error_message,
                recipient=callback.to,
                callback_data=request.query_value(RECEIPT_PARAMETER),
            )
        ]

    def _message(self, fields: dict[str, str]) -> InboundMessage:
        form = parse_payload(_InboundForm, fields, what="Twilio inbound message")
        channel = channel_of(form.from_)
        if channel not in self.channels:
            raise ChannelError(f"not a Twilio inbound message: {form.from_!r} is not an SMS or WhatsApp address")
        media = []
        for i in range(form.num_media):
            url = fields.get(f"MediaUrl{i}")
            if not url:
                raise ChannelError(f"not a Twilio inbound message: NumMedia {form.num_media} but no MediaUrl{i}")
            media.append(InboundMedia(url=url, content_type=fields.get(f"MediaContentType{i}") or None))
        return InboundMessage(
            provider_message_id=form.message_sid,
            channel=channel,
            from_address=form.from_,
            to_address=form.to,
            body=form.body,
            media=media,
            profile_name=form.profile_name,
            messaging_service_sid=form.messaging_service_sid,
        )

    def map_status(self, provider_status: str) -> DeliveryStatus | None:
        # A status Twilio adds later says nothing Parley knows: ignored rather than failing the callback.
        return _STATUSES.get(provider_status.lower())

    # --- sending ---------------------------------------------------------------------------------------------

    async def send(self, http: httpx.AsyncClient, config: ProviderConfig, message: OutboundMessage) -> SendResult:
        creds = self._credentials(config)
        if message.template is not None:
            raise ProviderRejected("Parley does not send WhatsApp templates through Twilio (its Content API)")
        if not message.body and not message.media_urls:
            raise ProviderRejected("a message needs a body or media", code=_BODY_REQUIRED)
        form: dict[str, str | list[str]] = {"To": message.to_address}
        if message.messaging_service_sid:
            form["MessagingServiceSid"] = message.messaging_service_sid
        else:
            form["From"] = message.from_address
        if message.body:
            form["Body"] = message.body
        if message.media_urls:
            form["MediaUrl"] = list(message.media_urls)
        if message.status_callback_url:
            form["StatusCallback"] = status_callback_url(message.status_callback_url, message.callback_data)
        url = f"{self._base(config)}/2010-04-01/Accounts/{creds.account_sid}/Messages.json"
        what = f"sending to {message.to_address} through Twilio"
        response = await provider_request(
            http, "POST", url, what=what, data=form, auth=(creds.account_sid, creds.auth_token)
        )
        _raise_for_twilio(response, what=what)
        try:
            resource = _MessageResource.model_validate_json(response.content)
        except ValidationError as exc:
            # The message may have gone; the caller retries (a duplicate is better than a message lost).
            raise ProviderUnavailable(f"{what}: an answer without a message sid: {response.text[:200]}") from exc
        return SendResult(
            provider_message_id=resource.sid,
            status=self.map_status(resource.status) if resource.status else None,
        )

    async def fetch_media(
        self, http: httpx.AsyncClient, config: ProviderConfig, media: InboundMedia
    ) -> tuple[bytes, str]:
        if media.url is None:
            raise ChannelError("this attachment has no URL")
        creds = self._credentials(config)
        # Twilio answers with a redirect to the file's storage; httpx drops the credentials on the way there.
        return await download(
            http, media.url, content_type=media.content_type, auth=(creds.account_sid, creds.auth_token)
        )


def _raise_for_twilio(response: httpx.Response, *, what: str) -> None:
    status = response.status_code
    if status < 300:
        return
    try:
        error: _TwilioError | None = _TwilioError.model_validate_json(response.content)
    except ValidationError:
        error = None
    code = error.code if error else None
    detail = f"{what}: HTTP {status}" + (f", Twilio error {error.code}: {error.message}" if error else "")
    if status == 429 or code == _THROTTLED:
        raise ProviderThrottled(f"{detail} (throttled)", retry_after=retry_after_of(response.headers))
    if status >= 500:
        raise ProviderUnavailable(detail)
    if code == _OUTSIDE_WINDOW:
        raise OutsideWindow(detail)
    if code is None and status == 401:
        code = _AUTHENTICATION_FAILED
    raise ProviderRejected(detail if error else f"{detail}: {response.text[:300]}", code=code)
