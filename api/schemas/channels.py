"""Responses of the channel admin API and of Messaging v1 (Services, PhoneNumbers, ChannelSenders), in the
fields of Twilio's published spec."""

from __future__ import annotations

from typing import Any

from api.schemas.common import PageMeta, Public, TwilioDate
from storage.channels.tables import ChannelProviderRow, ChannelSenderRow
from storage.messaging.tables import MessagingServiceRow

MESSAGING = "/messaging/v1/Services"


def provider_url(base: str, sid: str) -> str:
    return f"{base}/parley/v1/ChannelProviders/{sid}"


class ChannelProviderPublic(Public):
    sid: str
    account_sid: str
    kind: str
    friendly_name: str | None
    api_base_url: str
    # The names of the credentials set; their values are never answered.
    credentials: list[str]
    webhook_url: str
    date_created: TwilioDate
    date_updated: TwilioDate
    url: str
    links: dict[str, str]

    @classmethod
    def of(cls, row: ChannelProviderRow, base: str) -> ChannelProviderPublic:
        url = provider_url(base, row.sid)
        return cls.from_row(
            row,
            credentials=sorted(row.credentials_dict()),
            webhook_url=f"{url}/Webhook",
            url=url,
            links={"senders": f"{url}/Senders"},
        )


class ChannelProviderList(Public):
    channel_providers: list[ChannelProviderPublic]
    meta: PageMeta


class ChannelSenderPublic(Public):
    sid: str
    account_sid: str
    provider_sid: str
    channel: str
    address: str
    friendly_name: str | None
    country_code: str | None
    date_created: TwilioDate
    date_updated: TwilioDate
    url: str

    @classmethod
    def of(cls, row: ChannelSenderRow, base: str) -> ChannelSenderPublic:
        return cls.from_row(row, url=f"{provider_url(base, row.provider_sid)}/Senders/{row.sid}")


class ChannelSenderList(Public):
    senders: list[ChannelSenderPublic]
    meta: PageMeta


class MessagingServicePublic(Public):
    sid: str
    account_sid: str
    friendly_name: str
    date_created: TwilioDate
    date_updated: TwilioDate
    inbound_request_url: str | None
    inbound_method: str
    fallback_url: str | None
    fallback_method: str
    status_callback: str | None
    sticky_sender: bool
    mms_converter: bool
    smart_encoding: bool
    scan_message_content: str
    fallback_to_long_code: bool
    area_code_geomatch: bool
    synchronous_validation: bool
    validity_period: int
    url: str
    links: dict[str, str]
    usecase: str
    us_app_to_person_registered: bool = False
    use_inbound_webhook_on_number: bool

    @classmethod
    def of(cls, row: MessagingServiceRow, base: str) -> MessagingServicePublic:
        url = f"{base}{MESSAGING}/{row.sid}"
        return cls.from_row(
            row,
            url=url,
            links={
                name: f"{url}/{path}"
                for name, path in (
                    ("channel_senders", "ChannelSenders"),
                    ("phone_numbers", "PhoneNumbers"),
                    ("short_codes", "ShortCodes"),
                    ("alpha_senders", "AlphaSenders"),
                    ("messages", "Messages"),
                    ("us_app_to_person", "Compliance/Usa2p"),
                    ("us_app_to_person_usecases", "Compliance/Usa2p/Usecases"),
                    ("destination_alpha_senders", "DestinationAlphaSenders"),
                )
            },
        )


class MessagingServiceList(Public):
    services: list[MessagingServicePublic]
    meta: PageMeta


class PhoneNumberPublic(Public):
    sid: str
    account_sid: str
    service_sid: str
    date_created: TwilioDate
    date_updated: TwilioDate
    phone_number: str
    country_code: str | None
    capabilities: list[str]
    url: str

    @classmethod
    def of(cls, row: ChannelSenderRow, service_sid: str, base: str) -> PhoneNumberPublic:
        return cls.from_row(
            row,
            service_sid=service_sid,
            phone_number=row.address,
            capabilities=["SMS", "MMS"],
            url=f"{base}{MESSAGING}/{service_sid}/PhoneNumbers/{row.sid}",
        )


class PhoneNumberList(Public):
    phone_numbers: list[PhoneNumberPublic]
    meta: PageMeta


class ChannelSenderOfServicePublic(Public):
    account_sid: str
    messaging_service_sid: str
    sid: str
    sender: str
    sender_type: str
    country_code: str | None
    date_created: TwilioDate
    date_updated: TwilioDate
    url: str

    @classmethod
    def of(cls, row: ChannelSenderRow, service_sid: str, base: str) -> ChannelSenderOfServicePublic:
        kinds: dict[str, Any] = {"whatsapp": "WhatsApp", "messenger": "Messenger"}
        return cls.from_row(
            row,
            messaging_service_sid=service_sid,
            sender=row.address,
            sender_type=kinds.get(row.channel, row.channel),
            url=f"{base}{MESSAGING}/{service_sid}/ChannelSenders/{row.sid}",
        )


class ChannelSenderOfServiceList(Public):
    senders: list[ChannelSenderOfServicePublic]
    meta: PageMeta
