"""Conversations v1 and Flex Interactions v1 resources as Twilio serializes them."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.schemas.common import PageMeta, Public, TwilioDate, iso
from domain.states import (
    ConversationState,
    InteractionChannelStatus,
    InteractionParticipantStatus,
    TransferStatus,
    TransferType,
)
from storage.accounts.tables import AccountRow
from storage.conversations.receipts import DeliverySummary
from storage.conversations.tables import (
    AddressConfigurationRow,
    BindingRow,
    ConversationRow,
    ConversationServiceRow,
    ConversationWebhookRow,
    MessageRow,
    ParticipantRow,
    ReceiptRow,
    WebhookConfigurationRow,
)
from storage.interactions.tables import (
    InteractionChannelRow,
    InteractionInviteRow,
    InteractionParticipantRow,
    InteractionRow,
    InteractionTransferRow,
)


def conversations_root(base: str, service_sid: str | None = None) -> str:
    """Where Conversations resources live: the short default-service paths, or a service's own."""
    root = f"{base}/conversations/v1"
    return f"{root}/Services/{service_sid}" if service_sid else root


def conversation_url(base: str, sid: str, service_sid: str | None = None) -> str:
    return f"{conversations_root(base, service_sid)}/Conversations/{sid}"


class ConversationPublic(Public):
    account_sid: str
    chat_service_sid: str
    messaging_service_sid: str | None
    sid: str
    friendly_name: str | None
    unique_name: str | None
    attributes: str
    state: ConversationState
    date_created: TwilioDate
    date_updated: TwilioDate
    timers: dict[str, Any] = {}
    url: str
    links: dict[str, str]
    bindings: dict[str, Any] = {}

    @classmethod
    def of(cls, row: ConversationRow, base: str, *, scoped: bool = False) -> ConversationPublic:
        url = conversation_url(base, row.sid, row.chat_service_sid if scoped else None)
        timers = {
            name: iso(value)
            for name, value in (("date_inactive", row.timers_date_inactive), ("date_closed", row.timers_date_closed))
            if value is not None
        }
        return cls.from_row(
            row,
            url=url,
            timers=timers,
            links={
                "participants": f"{url}/Participants",
                "messages": f"{url}/Messages",
                "webhooks": f"{url}/Webhooks",
                "export": f"{url}/Export",
            },
        )


class ConversationList(Public):
    conversations: list[ConversationPublic]
    meta: PageMeta


class ParticipantPublic(Public):
    account_sid: str
    chat_service_sid: str
    conversation_sid: str
    sid: str
    identity: str | None
    attributes: str
    messaging_binding: dict[str, Any] | None
    role_sid: str | None
    date_created: TwilioDate
    date_updated: TwilioDate
    url: str
    last_read_message_index: int | None
    last_read_timestamp: TwilioDate

    @classmethod
    def of(cls, row: ParticipantRow, base: str, *, scoped: bool = False) -> ParticipantPublic:
        conversation = conversation_url(base, row.conversation_sid, row.chat_service_sid if scoped else None)
        return cls.from_row(row, url=f"{conversation}/Participants/{row.sid}")


class ParticipantList(Public):
    participants: list[ParticipantPublic]
    meta: PageMeta


class MessagePublic(Public):
    account_sid: str
    chat_service_sid: str
    conversation_sid: str
    sid: str
    index: int
    author: str
    body: str | None
    media: list[dict[str, Any]] | None
    attributes: str
    participant_sid: str | None
    date_created: TwilioDate
    date_updated: TwilioDate
    url: str
    delivery: dict[str, Any] | None = None
    links: dict[str, str]
    content_sid: str | None = None

    @classmethod
    def of(
        cls, row: MessageRow, base: str, *, scoped: bool = False, delivery: DeliverySummary | None = None
    ) -> MessagePublic:
        conversation = conversation_url(base, row.conversation_sid, row.chat_service_sid if scoped else None)
        url = f"{conversation}/Messages/{row.sid}"
        return cls.from_row(
            row,
            url=url,
            delivery=delivery.wire() if delivery is not None else None,
            links={"delivery_receipts": f"{url}/Receipts", "channel_metadata": f"{url}/ChannelMetadata"},
        )


class ReceiptPublic(Public):
    account_sid: str
    chat_service_sid: str
    conversation_sid: str
    message_sid: str
    sid: str
    channel_message_sid: str | None
    participant_sid: str
    status: str
    error_code: int | None
    date_created: TwilioDate
    date_updated: TwilioDate
    url: str

    @classmethod
    def of(cls, row: ReceiptRow, base: str, *, scoped: bool = False) -> ReceiptPublic:
        conversation = conversation_url(base, row.conversation_sid, row.chat_service_sid if scoped else None)
        return cls.from_row(
            row,
            status=row.status.value,
            error_code=row.error_code or 0,
            url=f"{conversation}/Messages/{row.message_sid}/Receipts/{row.sid}",
        )


class ReceiptList(Public):
    delivery_receipts: list[ReceiptPublic]
    meta: PageMeta


class MessageList(Public):
    messages: list[MessagePublic]
    meta: PageMeta


class AddressPublic(Public):
    sid: str
    account_sid: str
    type: str
    address: str
    friendly_name: str | None
    auto_creation: dict[str, Any]
    date_created: TwilioDate
    date_updated: TwilioDate
    url: str
    address_country: str | None

    @classmethod
    def of(cls, row: AddressConfigurationRow, base: str) -> AddressPublic:
        return cls.from_row(row, url=f"{base}/conversations/v1/Configuration/Addresses/{row.sid}")


class AddressList(Public):
    address_configurations: list[AddressPublic]
    meta: PageMeta


class ConfigurationPublic(Public):
    """`/conversations/v1/Configuration`: the account's default service, messaging service and timers."""

    account_sid: str
    default_chat_service_sid: str | None
    default_messaging_service_sid: str | None
    default_inactive_timer: str | None
    default_closed_timer: str | None
    url: str
    links: dict[str, str]

    @classmethod
    def of(cls, row: AccountRow, base: str) -> ConfigurationPublic:
        url = f"{base}/conversations/v1/Configuration"
        return cls.from_row(
            row,
            account_sid=row.sid,
            url=url,
            links={
                "service": f"{base}/conversations/v1/Services/{row.default_chat_service_sid}",
                "webhooks": f"{url}/Webhooks",
            },
        )


class ServicePublic(Public):
    account_sid: str
    sid: str
    friendly_name: str
    date_created: TwilioDate
    date_updated: TwilioDate
    url: str
    links: dict[str, str]

    @classmethod
    def of(cls, row: ConversationServiceRow, base: str) -> ServicePublic:
        url = conversations_root(base, row.sid)
        names = ("Conversations", "Users", "Roles", "Bindings", "Configuration", "ParticipantConversations")
        links = {_snake(name): f"{url}/{name}" for name in names}
        links["conversation_with_participants"] = f"{url}/ConversationWithParticipants"
        return cls.from_row(row, url=url, links=links)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


class ServiceList(Public):
    services: list[ServicePublic]
    meta: PageMeta


class ServiceConfigurationPublic(Public):
    chat_service_sid: str
    default_conversation_creator_role_sid: str | None
    default_conversation_role_sid: str | None
    default_chat_service_role_sid: str | None
    reachability_enabled: bool
    url: str
    links: dict[str, str]

    @classmethod
    def of(cls, row: ConversationServiceRow, base: str) -> ServiceConfigurationPublic:
        url = f"{conversations_root(base, row.sid)}/Configuration"
        return cls.from_row(
            row,
            chat_service_sid=row.sid,
            url=url,
            links={"notifications": f"{url}/Notifications", "webhooks": f"{url}/Webhooks"},
        )


class ServiceNotificationsPublic(Public):
    account_sid: str
    chat_service_sid: str
    new_message: dict[str, Any]
    added_to_conversation: dict[str, Any]
    removed_from_conversation: dict[str, Any]
    log_enabled: bool
    url: str

    @classmethod
    def of(cls, row: ConversationServiceRow, settings: dict[str, Any], base: str) -> ServiceNotificationsPublic:
        return cls(
            account_sid=row.account_sid,
            chat_service_sid=row.sid,
            new_message=settings["new_message"],
            added_to_conversation=settings["added_to_conversation"],
            removed_from_conversation=settings["removed_from_conversation"],
            log_enabled=settings["log_enabled"],
            url=f"{conversations_root(base, row.sid)}/Configuration/Notifications",
        )


class BindingPublic(Public):
    sid: str
    account_sid: str
    chat_service_sid: str
    credential_sid: str | None
    date_created: TwilioDate
    date_updated: TwilioDate
    endpoint: str
    identity: str
    binding_type: str
    message_types: list[str]
    url: str

    @classmethod
    def of(cls, row: BindingRow, base: str) -> BindingPublic:
        return cls.from_row(row, url=f"{conversations_root(base, row.chat_service_sid)}/Bindings/{row.sid}")


class BindingList(Public):
    bindings: list[BindingPublic]
    meta: PageMeta


class WebhookConfigurationPublic(Public):
    """`/Configuration/Webhooks`: the account's pre- and post-event targets."""

    account_sid: str
    method: str
    filters: list[str]
    pre_webhook_url: str | None
    post_webhook_url: str | None
    target: str
    url: str

    @classmethod
    def of(cls, row: WebhookConfigurationRow, base: str) -> WebhookConfigurationPublic:
        return cls.from_row(row, url=f"{base}/conversations/v1/Configuration/Webhooks")


class ServiceWebhookConfigurationPublic(Public):
    """`/Services/{IS}/Configuration/Webhooks`: a service's targets (no `target`)."""

    account_sid: str
    chat_service_sid: str
    pre_webhook_url: str | None
    post_webhook_url: str | None
    filters: list[str]
    method: str
    url: str

    @classmethod
    def of(cls, row: WebhookConfigurationRow, base: str) -> ServiceWebhookConfigurationPublic:
        service = row.chat_service_sid or ""
        return cls.from_row(
            row, chat_service_sid=service, url=f"{base}/conversations/v1/Services/{service}/Configuration/Webhooks"
        )


class ScopedWebhookPublic(Public):
    sid: str
    account_sid: str
    chat_service_sid: str
    conversation_sid: str
    target: str
    url: str
    configuration: dict[str, Any]
    date_created: TwilioDate
    date_updated: TwilioDate

    @classmethod
    def of(cls, row: ConversationWebhookRow, base: str, *, scoped: bool = False) -> ScopedWebhookPublic:
        configuration: dict[str, Any] = {"url": row.url, "method": row.method.value.lower(), "filters": row.filters}
        if row.triggers:
            configuration["triggers"] = row.triggers
        if row.flow_sid:
            configuration["flow_sid"] = row.flow_sid
        if row.replay_after is not None:
            configuration["replay_after"] = row.replay_after
        return cls.from_row(
            row,
            url=f"{conversation_url(base, row.conversation_sid, row.chat_service_sid if scoped else None)}"
            f"/Webhooks/{row.sid}",
            configuration=configuration,
        )


class ScopedWebhookList(Public):
    webhooks: list[ScopedWebhookPublic]
    meta: PageMeta


# --- Flex Interactions -------------------------------------------------------------------------------


class InteractionPublic(Public):
    sid: str
    channel: dict[str, Any]
    routing: dict[str, Any]
    url: str
    links: dict[str, str]
    interaction_context_sid: str | None
    webhook_ttid: str | None

    @classmethod
    def of(cls, row: InteractionRow, base: str) -> InteractionPublic:
        url = f"{base}/flex-api/v1/Interactions/{row.sid}"
        return cls.from_row(row, url=url, links={"channels": f"{url}/Channels"})


class InteractionChannelPublic(Public):
    sid: str
    interaction_sid: str
    type: str
    status: InteractionChannelStatus
    error_code: int | None
    error_message: str | None
    url: str
    links: dict[str, str]
    # Parley extensions, handy for the desktop: the conversation and the task currently routed.
    conversation_sid: str
    active_task_sid: str | None

    @classmethod
    def of(cls, row: InteractionChannelRow, base: str) -> InteractionChannelPublic:
        url = f"{base}/flex-api/v1/Interactions/{row.interaction_sid}/Channels/{row.sid}"
        return cls.from_row(
            row,
            url=url,
            links={
                "participants": f"{url}/Participants",
                "invites": f"{url}/Invites",
                "transfers": f"{url}/Transfers",
            },
        )


class InteractionChannelList(Public):
    channels: list[InteractionChannelPublic]
    meta: PageMeta


class InteractionParticipantPublic(Public):
    sid: str
    type: str
    interaction_sid: str
    channel_sid: str
    url: str
    routing_properties: dict[str, Any] | None
    media_properties: dict[str, Any]
    status: InteractionParticipantStatus

    @classmethod
    def of(cls, row: InteractionParticipantRow, base: str) -> InteractionParticipantPublic:
        return cls.from_row(
            row,
            url=f"{base}/flex-api/v1/Interactions/{row.interaction_sid}/Channels/{row.channel_sid}"
            f"/Participants/{row.sid}",
        )


class InteractionInvitePublic(Public):
    sid: str
    interaction_sid: str
    channel_sid: str
    routing: dict[str, Any]
    url: str

    @classmethod
    def of(cls, row: InteractionInviteRow, base: str) -> InteractionInvitePublic:
        return cls.from_row(
            row,
            url=f"{base}/flex-api/v1/Interactions/{row.interaction_sid}/Channels/{row.channel_sid}/Invites/{row.sid}",
        )


class InteractionInviteList(Public):
    invites: list[InteractionInvitePublic]
    meta: PageMeta


class InteractionTransferPublic(Public):
    sid: str
    instance_sid: str | None = None
    account_sid: str
    interaction_sid: str
    channel_sid: str
    execution_sid: str | None = None
    type: TransferType
    status: TransferStatus
    from_: str = Field(serialization_alias="from")
    to: str
    note_sid: str | None
    summary_sid: str | None = None
    date_created: TwilioDate
    date_updated: TwilioDate
    url: str
    # Parley extensions: the receiver's task, the note's text and, for a failed transfer, why.
    task_sid: str | None
    note: str | None
    reason: str | None

    @classmethod
    def of(cls, row: InteractionTransferRow, base: str) -> InteractionTransferPublic:
        return cls.from_row(
            row,
            from_=row.from_participant_sid,
            url=f"{base}/flex-api/v1/Interactions/{row.interaction_sid}/Channels/{row.channel_sid}/Transfers/{row.sid}",
        )


class InteractionParticipantList(Public):
    participants: list[InteractionParticipantPublic]
    meta: PageMeta
