"""The channel adapter interface: what Parley needs from a messaging provider, and nothing more.

An adapter speaks one provider's wire protocol (Twilio Programmable Messaging for SMS/MMS and WhatsApp, Meta's
WhatsApp Cloud API, Facebook Messenger's Send API, or a third party's): it verifies and parses the provider's
inbound webhooks, sends a message with media, maps the provider's delivery statuses onto Conversations' receipt
statuses and says what the provider allows. It holds no state and touches no database: `storage/channels` decides
what an inbound message means (which conversation, which participant), `activities/channels.py` decides when to
send and what to do with an error. Adapters are found through the `parley.channels` entry point group
(`channels/registry.py`), so a third party adds one by installing a package, without forking Parley.

Addresses are normalized the way Twilio Conversations writes them in a messaging binding: `+15551234567` for
SMS, `whatsapp:+15551234567` for WhatsApp, `messenger:<page-scoped id>` for Messenger.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.states import DeliveryStatus


class ChannelKind(StrEnum):
    """The conversation channels an adapter carries (a messaging binding's `type`)."""

    SMS = "sms"
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"


def channel_of(address: str) -> ChannelKind:
    """The channel an address is on, from its prefix."""
    if address.startswith("whatsapp:"):
        return ChannelKind.WHATSAPP
    if address.startswith("messenger:"):
        return ChannelKind.MESSENGER
    return ChannelKind.SMS


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class ProviderConfig(_Model):
    """One provider connection of an account: where its API is and the adapter's credentials (validated by the
    adapter's own `Credentials` model)."""

    api_base_url: str
    credentials: dict[str, str] = Field(default_factory=dict)


class InboundRequest(_Model):
    """A provider's webhook request as it arrived: the URL it was sent to (what signatures cover), the headers
    (lower-case names), the raw body and, for form posts, the parsed fields in order."""

    method: str
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    query: list[tuple[str, str]] = Field(default_factory=list)
    body: bytes = b""
    form: list[tuple[str, str]] = Field(default_factory=list)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def query_value(self, name: str) -> str | None:
        """A query parameter's first value: from `query`, or from the URL's query when `query` was not given."""
        query = self.query or parse_qsl(urlsplit(self.url).query, keep_blank_values=True)
        return next((v for k, v in query if k == name), None)

    def form_fields(self) -> list[tuple[str, str]]:
        """The form fields: `form`, or the body parsed when it is a form post and `form` was not given."""
        if self.form or not (self.header("content-type") or "").startswith("application/x-www-form-urlencoded"):
            return list(self.form)
        return parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)


class InboundMedia(_Model):
    """One attachment of an inbound message: a URL to fetch (Twilio, Messenger) or a provider media id to resolve
    first (WhatsApp Cloud)."""

    url: str | None = None
    provider_media_id: str | None = None
    content_type: str | None = None
    filename: str | None = None


class InboundMessage(_Model):
    """A customer's message, as a provider reported it."""

    provider_message_id: str
    channel: ChannelKind
    from_address: str  # the customer, normalized (see the module's docstring)
    to_address: str  # the business address it was sent to, normalized
    body: str | None = None
    media: list[InboundMedia] = Field(default_factory=list)
    profile_name: str | None = None  # the name the customer's app shows, where the provider gives one
    messaging_service_sid: str | None = None  # Twilio: the Messaging Service the number is in
    received_at: datetime | None = None


class StatusUpdate(_Model):
    """A delivery status of a message Parley sent. `callback_data` is what Parley gave the provider to echo back
    (Twilio: the StatusCallback's query; WhatsApp: `biz_opaque_callback_data`), when the provider echoes it."""

    provider_message_id: str
    status: DeliveryStatus
    error_code: int | None = None
    error_message: str | None = None
    recipient: str | None = None
    callback_data: str | None = None


class ReadWatermark(_Model):
    """Messenger's `read` event: everything sent to `customer_address` from `business_address` before `read_up_to`
    has been read."""

    customer_address: str
    business_address: str
    read_up_to: datetime


InboundEvent = InboundMessage | StatusUpdate | ReadWatermark


class Template(_Model):
    """A pre-approved message template (WhatsApp), the only thing that may go out of the customer-service window."""

    name: str
    language: str = "en_US"
    parameters: list[str] = Field(default_factory=list)


class OutboundMessage(_Model):
    to_address: str
    from_address: str
    body: str | None = None
    media_urls: list[str] = Field(default_factory=list)
    template: Template | None = None
    messaging_service_sid: str | None = None
    # Where the provider posts statuses for this message, and what it should echo back with them.
    status_callback_url: str | None = None
    callback_data: str | None = None


class SendResult(_Model):
    provider_message_id: str
    status: DeliveryStatus | None = None  # a status the send answer already gives, if any


class ProviderLimits(_Model):
    """What a provider allows, per channel, so Parley can refuse before sending (and document it)."""

    body_limit: int
    max_media: int
    media_size_limit: int  # bytes
    # Free-form replies only this long after the customer's last message (WhatsApp, Messenger); None: always.
    customer_service_window: timedelta | None = None
    templates: bool = False
    # Whether a message may carry a body and an attachment together (False: Messenger, which takes text or one
    # attachment; the caller sends them as separate messages).
    body_with_media: bool = True


# --- what can go wrong, in the terms the delivery activity acts on -----------------------------------------


class ChannelError(Exception):
    """Base of the adapter errors. `code` is the Twilio error code Parley records on a failed receipt."""

    code: int = 30008  # Twilio: unknown error

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class SignatureInvalid(ChannelError):
    """The request is not from the provider (bad or missing signature, wrong verify token): answered 403."""

    code = 11200


class ProviderThrottled(ChannelError):
    """The provider said slow down (429): try again after `retry_after` seconds (None: back off as usual)."""

    code = 20429

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderUnavailable(ChannelError):
    """The provider could not be reached or failed (5xx, timeout): a transient error, retried."""

    code = 30001  # Twilio: queue overflow / temporarily unavailable


class ProviderRejected(ChannelError):
    """The provider refused the message for good (a bad number, a blocked recipient, bad credentials)."""


class OutsideWindow(ChannelError):
    """A free-form message to a customer whose last message is older than the customer-service window."""

    code = 63016  # Twilio: "Failed to send freeform message because you are outside the allowed window"


class ChannelAdapter(ABC):
    """One provider's protocol. Subclasses set the class variables and implement the abstract methods; they are
    instantiated once, with no arguments, by the registry."""

    name: ClassVar[str]  # the entry point name and the provider connection's `kind`
    channels: ClassVar[frozenset[ChannelKind]]
    Credentials: ClassVar[type[BaseModel]]  # validates ProviderConfig.credentials
    default_api_base_url: ClassVar[str]

    def credentials(self, config: ProviderConfig) -> Any:
        """The connection's credentials as this adapter's model (raises pydantic.ValidationError)."""
        return self.Credentials.model_validate(config.credentials)

    @abstractmethod
    def limits(self, channel: ChannelKind) -> ProviderLimits: ...

    @abstractmethod
    def verify(self, request: InboundRequest, config: ProviderConfig) -> None:
        """Raise SignatureInvalid unless the request is signed by the provider with this connection's secret."""

    def handshake(self, request: InboundRequest, config: ProviderConfig) -> str:
        """Answer the provider's subscription check (Meta's GET `hub.challenge`): the body to echo. Raise
        SignatureInvalid for a wrong verify token. Providers without one raise ChannelError."""
        raise ChannelError(f"{self.name} has no webhook verification handshake")

    @abstractmethod
    def parse(self, request: InboundRequest, config: ProviderConfig) -> Sequence[InboundEvent]:
        """The messages and statuses a (verified) webhook request carries; raise ChannelError if it is not one."""

    @abstractmethod
    async def send(self, http: httpx.AsyncClient, config: ProviderConfig, message: OutboundMessage) -> SendResult:
        """Send one message. Raise ProviderThrottled, ProviderUnavailable, ProviderRejected (never a bare
        httpx error)."""

    @abstractmethod
    def map_status(self, provider_status: str) -> DeliveryStatus | None:
        """The receipt status of a provider status; None for statuses that say nothing new (queued, accepted)."""

    async def fetch_media(
        self, http: httpx.AsyncClient, config: ProviderConfig, media: InboundMedia
    ) -> tuple[bytes, str]:
        """Download an inbound attachment: its bytes and content type. Raise ProviderUnavailable on failure."""
        if media.url is None:
            raise ChannelError("this attachment has no URL")
        return await download(http, media.url, content_type=media.content_type)


async def provider_request(
    http: httpx.AsyncClient, method: str, url: str, *, what: str, **kwargs: Any
) -> httpx.Response:
    """One call to a provider's API; a transport failure (connection refused, timeout, a broken answer) becomes
    ProviderUnavailable, so no bare httpx error leaves an adapter. The answer's status is the caller's to map."""
    try:
        return await http.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc
    except httpx.InvalidURL as exc:
        raise ProviderRejected(f"{what}: invalid URL {url!r}: {exc}") from exc


async def download(
    http: httpx.AsyncClient, url: str, *, content_type: str | None = None, **kwargs: Any
) -> tuple[bytes, str]:
    """GET an attachment (following redirects): its bytes and content type (`content_type` if given, else the
    answer's). Any failure, an error status included, is ProviderUnavailable."""
    try:
        response = await provider_request(http, "GET", url, what=f"fetching {url}", follow_redirects=True, **kwargs)
    except ProviderRejected as exc:
        raise ProviderUnavailable(str(exc)) from exc
    if response.status_code >= 400:
        raise ProviderUnavailable(f"fetching {url}: HTTP {response.status_code}")
    return response.content, content_type or response.headers.get("content-type", "application/octet-stream")


M = TypeVar("M", bound=BaseModel)


def connection_credentials(model: type[M], config: ProviderConfig, *, provider: str) -> M:
    """A connection's credentials as the adapter's model, for the adapter's own use: incomplete credentials are
    ProviderRejected with Twilio's "authentication failed" (a send cannot succeed until they are fixed)."""
    try:
        return model.model_validate(config.credentials)
    except ValidationError as exc:
        missing = ", ".join(".".join(str(p) for p in error["loc"]) for error in exc.errors())
        raise ProviderRejected(f"the {provider} connection's credentials are invalid: {missing}", code=20003) from None


def parse_payload(model: type[M], data: Any, *, what: str) -> M:
    """Validate a provider payload (JSON bytes, or an already decoded object) against its model; a payload that
    is not the provider's shape is a ChannelError naming what is wrong."""
    try:
        if isinstance(data, bytes | str):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(payload)'}: {error['msg']}" for error in exc.errors()[:5]
        )
        raise ChannelError(f"not a {what}: {problems}") from None


def raise_for_status(response: httpx.Response, *, what: str) -> None:
    """The common mapping of a provider's HTTP answer onto the adapter errors (each adapter may refine the code)."""
    status = response.status_code
    if status < 300:
        return
    if status == 429:
        raise ProviderThrottled(f"{what}: throttled (429)", retry_after=retry_after_of(response.headers))
    if status >= 500:
        raise ProviderUnavailable(f"{what}: HTTP {status}")
    raise ProviderRejected(f"{what}: HTTP {status}: {response.text[:300]}")


def retry_after_of(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None
