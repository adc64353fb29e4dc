"""Request bodies of the channel admin API (Parley's `/parley/v1/ChannelProviders`) and of Messaging v1's
Services, PhoneNumbers and ChannelSenders (Twilio's names)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from api.forms.fields import Bool, CallbackUrl, FormModel, one_of, sid_of
from domain.sids import SidPrefix
from storage.messaging.pools import ServiceFields


class HttpMethod(StrEnum):
    GET = "GET"
    POST = "POST"


class ScanMessageContent(StrEnum):
    INHERIT = "inherit"
    ENABLE = "enable"
    DISABLE = "disable"


Method = Annotated[HttpMethod, BeforeValidator(one_of(HttpMethod))]
ServiceName = Annotated[str, Field(min_length=1, max_length=64)]
JsonCredentials = Annotated[str, Field(max_length=8192)]


class CreateChannelProvider(FormModel):
    kind: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        alias="Kind", description="The channel adapter: `twilio`, `whatsapp_cloud`, `messenger`, or an installed one."
    )
    friendly_name: Annotated[str, Field(max_length=256)] | None = Field(None, alias="FriendlyName")
    api_base_url: CallbackUrl | None = Field(
        None, alias="ApiBaseUrl", description="Where the provider's API is (default: the provider's own)."
    )
    credentials: JsonCredentials = Field(
        alias="Credentials", description="A JSON object with the adapter's credentials (never answered back)."
    )


class UpdateChannelProvider(FormModel):
    friendly_name: Annotated[str, Field(max_length=256)] | None = Field(None, alias="FriendlyName")
    api_base_url: CallbackUrl | None = Field(None, alias="ApiBaseUrl")
    credentials: JsonCredentials | None = Field(None, alias="Credentials")


class CreateChannelSender(FormModel):
    address: Annotated[str, Field(min_length=2, max_length=256)] = Field(
        alias="Address", description="`+15550001111` (SMS), `whatsapp:+15550001111` or `messenger:<page id>`."
    )
    friendly_name: Annotated[str, Field(max_length=256)] | None = Field(None, alias="FriendlyName")
    country_code: Annotated[str, Field(min_length=2, max_length=2)] | None = Field(None, alias="CountryCode")


class _ServiceForm(FormModel):
    inbound_request_url: CallbackUrl | None = Field(None, alias="InboundRequestUrl")
    inbound_method: Method | None = Field(None, alias="InboundMethod")
    fallback_url: CallbackUrl | None = Field(None, alias="FallbackUrl")
    fallback_method: Method | None = Field(None, alias="FallbackMethod")
    status_callback: CallbackUrl | None = Field(None, alias="StatusCallback")
    sticky_sender: Bool | None = Field(None, alias="StickySender")
    mms_converter: Bool | None = Field(None, alias="MmsConverter")
    smart_encoding: Bool | None = Field(None, alias="SmartEncoding")
    scan_message_content: Annotated[ScanMessageContent, BeforeValidator(one_of(ScanMessageContent))] | None = Field(
        None, alias="ScanMessageContent"
    )
    fallback_to_long_code: Bool | None = Field(None, alias="FallbackToLongCode")
    area_code_geomatch: Bool | None = Field(None, alias="AreaCodeGeomatch")
    validity_period: Annotated[int, Field(ge=1, le=36000)] | None = Field(None, alias="ValidityPeriod")
    synchronous_validation: Bool | None = Field(None, alias="SynchronousValidation")
    usecase: Annotated[str, Field(max_length=64)] | None = Field(None, alias="Usecase")
    use_inbound_webhook_on_number: Bool | None = Field(None, alias="UseInboundWebhookOnNumber")

    def values(self) -> ServiceFields:
        given = self.model_dump(exclude_none=True)
        for key in ("inbound_method", "fallback_method", "scan_message_content"):
            if key in given:
                given[key] = str(given[key].value if hasattr(given[key], "value") else given[key])
        return ServiceFields(**given)


class CreateMessagingService(_ServiceForm):
    friendly_name: ServiceName = Field(alias="FriendlyName")


class UpdateMessagingService(_ServiceForm):
    friendly_name: ServiceName | None = Field(None, alias="FriendlyName")


class AddPhoneNumber(FormModel):
    phone_number_sid: Annotated[str, AfterValidator(sid_of(SidPrefix.PHONE_NUMBER))] = Field(
        alias="PhoneNumberSid", description="A phone number (`PN…`) of one of the account's provider connections."
    )


class AddChannelSender(FormModel):
    sid: Annotated[str, AfterValidator(sid_of(SidPrefix.CHANNEL_SENDER))] = Field(
        alias="Sid", description="A WhatsApp or Messenger sender (`XE…`) of one of the account's connections."
    )
