"""Channels use cases: what a provider's webhook means (an inbound message joins or opens a conversation; a
status moves a receipt on) and what a delivery needs (who to send to, from which sender, through which
provider). Every entry point calls these: the provider webhook route, the delivery activity, and tests.

Exactly once: an inbound message is recorded under (provider, provider message id) in the same transaction as
everything it causes, so a provider's retry of the same webhook finds it and changes nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from channels.base import ChannelKind, InboundMessage, ProviderConfig, ReadWatermark, StatusUpdate, Template, channel_of
from domain.errors import NotFound
from domain.states import ConversationState, DeliveryStatus
from storage import crypto
from storage.attributes import attributes_of
from storage.channels.tables import ChannelProviderRow, ChannelSenderRow
from storage.conversations import media, receipts
from storage.conversations import service as conversations
from storage.conversations.tables import AddressConfigurationRow, ConversationRow, MessageRow, ParticipantRow
from storage.db import UnitOfWork
from storage.messaging import pools as messaging


def config_of(provider: ChannelProviderRow) -> ProviderConfig:
    return ProviderConfig(api_base_url=provider.api_base_url, credentials=provider.credentials_dict())


async def webhook_provider(uow: UnitOfWork, provider_sid: str) -> ChannelProviderRow:
    """The provider connection a webhook URL names (any account: providers call without Parley credentials;
    the request's signature, checked with this connection's secret, is what authenticates it)."""
    return await uow.found(
        ChannelProviderRow,
        "SELECT * FROM channel_providers WHERE sid = %s",
        (provider_sid,),
        resource=f"/ChannelProviders/{provider_sid}",
    )


async def sender_at(uow: UnitOfWork, *, account_sid: str, address: str) -> ChannelSenderRow | None:
    return await uow.one(
        ChannelSenderRow,
        "SELECT * FROM channel_senders WHERE account_sid = %s AND address = %s",
        (account_sid, address),
    )


# --- inbound -------------------------------------------------------------------------------------------------


class InboundOutcome(StrEnum):
    ADDED = "added"  # joined the customer's open conversation
    CREATED = "created"  # opened a new conversation (AutoCreation)
    DUPLICATE = "duplicate"  # a provider's retry of a message already taken in
    IGNORED = "ignored"  # no open conversation and no enabled address: nothing to do (logged)


@dataclass(frozen=True, slots=True)
class InboundResult:
    outcome: InboundOutcome
    conversation_sid: str | None = None
    message_sid: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class InboundFile:
    """An inbound attachment already fetched from the provider and in the media store under `media_sid`."""

    media_sid: str
    content_type: str
    size: int
    filename: str | None = None


async def already_received(uow: UnitOfWork, *, provider_sid: str, provider_message_id: str) -> InboundResult | None:
    row = await uow.fetchone(
        "SELECT conversation_sid, message_sid FROM channel_inbound "
        "WHERE provider_sid = %s AND provider_message_id = %s",
        (provider_sid, provider_message_id),
    )
    if row is None:
        return None
    return InboundResult(InboundOutcome.DUPLICATE, row["conversation_sid"], row["message_sid"])


async def receive_message(
    uow: UnitOfWork,
    *,
    provider: ChannelProviderRow,
    message: InboundMessage,
    files: list[InboundFile] | None = None,
) -> InboundResult:
    """A customer's message from a provider webhook: into the customer's open conversation on that business
    address, or a new one when the address has AutoCreation enabled (routed to an agent per its settings)."""
    claimed = await uow.fetchone(
        "INSERT INTO channel_inbound (provider_sid, provider_message_id, account_sid) VALUES (%s, %s, %s) "
        "ON CONFLICT DO NOTHING RETURNING provider_sid",
        (provider.sid, message.provider_message_id, provider.account_sid),
    )
    if claimed is None:
        found = await already_received(uow, provider_sid=provider.sid, provider_message_id=message.provider_message_id)
        assert found is not None
        return found
    account_sid = provider.account_sid
    sender = await sender_at(uow, account_sid=account_sid, address=message.to_address)
    if sender is None or sender.provider_sid != provider.sid:
        raise NotFound(f"{message.to_address} is not a sender of provider connection {provider.sid}")
    service = await messaging.service_of_sender(uow, sender_sid=sender.sid)
    if service is not None and service.sticky_sender:
        await messaging.remember_sender(
            uow, service_sid=service.sid, customer_address=message.from_address, sender_sid=sender.sid
        )
    bound = await open_binding(
        uow, account_sid=account_sid, customer_address=message.from_address, business_address=message.to_address
    )
    outcome = InboundOutcome.ADDED
    if bound is None:
        address = await _address_for(uow, account_sid=account_sid, message=message)
        if address is None:
            return InboundResult(
                InboundOutcome.IGNORED,
                reason=f"no open conversation for this customer and no enabled address configuration for "
                f"{message.to_address}",
            )
        customer_name = message.profile_name or message.from_address
        conversation = await conversations.auto_create_conversation(
            uow,
            address=address,
            friendly_name=f"{_CHANNEL_NAMES[message.channel]} with {customer_name}",
            attributes=json.dumps({"customer_name": customer_name, "channel": message.channel.value}),
            messaging_service_sid=service.sid if service is not None else None,
        )
        participant = await conversations.add_participant(
            uow,
            conversation_sid=conversation.sid,
            identity=None,
            attributes=json.dumps({"role": "customer", "friendly_name": customer_name}),
            messaging_binding={
                "type": message.channel.value,
                "address": message.from_address,
                "proxy_address": message.to_address,
            },
        )
        outcome = InboundOutcome.CREATED
    else:
        conversation, participant = bound
    for file in files or ():
        await media.create_media(
            uow,
            sid=file.media_sid,
            account_sid=account_sid,
            chat_service_sid=conversation.chat_service_sid,
            content_type=file.content_type,
            filename=file.filename,
            size=file.size,
            author=message.from_address,
        )
    row = await conversations.create_message(
        uow,
        conversation_sid=conversation.sid,
        author=message.from_address,
        body=message.body or None,
        participant_sid=participant.sid,
        media_sids=[file.media_sid for file in files or ()],
    )
    await uow.execute(
        "UPDATE channel_inbound SET conversation_sid = %s, message_sid = %s "
        "WHERE provider_sid = %s AND provider_message_id = %s",
        (conversation.sid, row.sid, provider.sid, message.provider_message_id),
    )
    return InboundResult(outcome, conversation.sid, row.sid)


_CHANNEL_NAMES = {ChannelKind.SMS: "SMS", ChannelKind.WHATSAPP: "WhatsApp", ChannelKind.MESSENGER: "Messenger"}


async def open_binding(
    uow: UnitOfWork, *, account_sid: str, customer_address: str, business_address: str
) -> tuple[ConversationRow, ParticipantRow] | None:
    """The customer's open conversation on a business address (at most one: Twilio's 50416 rule), locked."""
    row = await uow.fetchone(
        "SELECT p.sid AS participant_sid, p.conversation_sid FROM participants p "
        "JOIN conversations c ON c.sid = p.conversation_sid "
        "WHERE p.account_sid = %s AND p.binding_address_hash = %s AND p.binding_proxy_hash = %s "
        "AND c.state <> %s ORDER BY c.date_created DESC LIMIT 1 FOR UPDATE OF c",
        (
            account_sid,
            await crypto.blind_index(uow, account_sid, customer_address),
            await crypto.blind_index(uow, account_sid, business_address),
            ConversationState.CLOSED.value,
        ),
    )
    if row is None:
        return None
    conversation = await uow.one(
        ConversationRow, "SELECT * FROM conversations WHERE sid = %s", (row["conversation_sid"],)
    )
    participant = await uow.one(ParticipantRow, "SELECT * FROM participants WHERE sid = %s", (row["participant_sid"],))
    assert conversation is not None and participant is not None
    return conversation, participant


async def _address_for(uow: UnitOfWork, *, account_sid: str, message: InboundMessage) -> AddressConfigurationRow | None:
    row = await uow.one(
        AddressConfigurationRow,
        "SELECT * FROM address_configurations WHERE account_sid = %s AND type = %s AND address = %s",
        (account_sid, message.channel.value, message.to_address),
    )
    if row is None or not conversations.auto_creation_of(row).enabled:
        return None
    return row


# --- statuses ------------------------------------------------------------------------------------------------


def callback_data(message_sid: str, participant_sid: str) -> str:
    """What Parley gives a provider to echo with a message's statuses: the receipt's message and participant."""
    return f"{message_sid}.{participant_sid}"


async def record_status(uow: UnitOfWork, *, provider: ChannelProviderRow, update: StatusUpdate) -> bool:
    """A provider's status for a message Parley sent moves its receipt on (never back). False when no receipt
    of this account matches (a status for a message Parley does not know)."""
    target = await _receipt_target(uow, provider=provider, update=update)
    if target is None:
        return False
    message, participant_sid = target
    await receipts.record_receipt(
        uow,
        message=message,
        participant_sid=participant_sid,
        status=update.status,
        channel_message_sid=update.provider_message_id,
        error_code=update.error_code,
    )
    return True


async def _receipt_target(
    uow: UnitOfWork, *, provider: ChannelProviderRow, update: StatusUpdate
) -> tuple[MessageRow, str] | None:
    if update.callback_data and "." in update.callback_data:
        message_sid, participant_sid = update.callback_data.split(".", 1)
    else:
        row = await uow.fetchone(
            "SELECT message_sid, participant_sid FROM message_receipts "
            "WHERE channel_message_sid = %s AND account_sid = %s",
            (update.provider_message_id, provider.account_sid),
        )
        if row is None:
            return None
        message_sid, participant_sid = row["message_sid"], row["participant_sid"]
    message = await uow.one(
        MessageRow,
        "SELECT * FROM messages WHERE sid = %s AND account_sid = %s",
        (message_sid, provider.account_sid),
    )
    if message is None:
        return None
    return message, participant_sid


async def record_read(uow: UnitOfWork, *, provider: ChannelProviderRow, read: ReadWatermark) -> int:
    """Messenger's read watermark: every message sent to the customer before it is read. Returns how many
    receipts moved."""
    found = await open_binding(
        uow,
        account_sid=provider.account_sid,
        customer_address=read.customer_address,
        business_address=read.business_address,
    )
    if found is None:
        return 0
    _, participant = found
    rows = await uow.fetchall(
        "SELECT r.message_sid FROM message_receipts r JOIN messages m ON m.sid = r.message_sid "
        "WHERE r.participant_sid = %s AND r.status = ANY(%s) AND r.date_created <= %s",
        (participant.sid, [DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value], read.read_up_to),
    )
    for row in rows:
        message = await uow.one(MessageRow, "SELECT * FROM messages WHERE sid = %s", (row["message_sid"],))
        assert message is not None
        await receipts.record_receipt(uow, message=message, participant_sid=participant.sid, status=DeliveryStatus.READ)
    return len(rows)


# --- outbound ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboundMedia:
    chat_service_sid: str
    media_sid: str


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    """Everything one send needs, read in one transaction: the provider, its adapter's kind and connection, the
    sender and recipient, what to send, and when the customer last wrote (for the customer-service window).
    A conversation's Messaging Service is Parley's own sender pool: it picked `from_address` and is not named to
    the provider (whose account has no such service)."""

    provider_sid: str
    provider_kind: str
    config: ProviderConfig
    channel: ChannelKind
    to_address: str
    from_address: str
    body: str | None
    media: list[OutboundMedia] = field(default_factory=list)
    template: Template | None = None
    customer_last_wrote: datetime | None = None

    def outside_window(self, window: timedelta | None, now: datetime) -> bool:
        """A free-form message to a customer who has not written within the window (or never)."""
        if window is None or self.template is not None:
            return False
        return self.customer_last_wrote is None or now - self.customer_last_wrote > window


class NoSender(LookupError):
    """The participant's proxy address is not carried by any provider connection of the account."""


async def delivery_plan(uow: UnitOfWork, *, message_sid: str, participant_sid: str) -> DeliveryPlan | None:
    """What delivering a message to a participant takes, or None when there is nothing to do: already sent
    (its receipt has the provider's id: a retried delivery sends nothing twice), or the message or participant
    is gone. Raises NoSender when no provider carries the participant's proxy address."""
    message = await uow.one(MessageRow, "SELECT * FROM messages WHERE sid = %s", (message_sid,))
    participant = await uow.one(ParticipantRow, "SELECT * FROM participants WHERE sid = %s", (participant_sid,))
    if message is None or participant is None or not participant.messaging_binding:
        return None
    sent = await uow.fetchone(
        "SELECT 1 FROM message_receipts WHERE message_sid = %s AND participant_sid = %s "
        "AND channel_message_sid IS NOT NULL",
        (message_sid, participant_sid),
    )
    if sent is not None:
        return None
    conversation = await uow.one(
        ConversationRow, "SELECT * FROM conversations WHERE sid = %s", (message.conversation_sid,)
    )
    assert conversation is not None
    binding = participant.messaging_binding
    to_address = str(binding.get("address") or "")
    sender = await _sender_for(uow, conversation=conversation, binding=binding)
    if sender is None:
        raise NoSender(
            f"no provider connection of account {conversation.account_sid} carries "
            f"{binding.get('proxy_address') or 'a sender for this conversation'}"
        )
    provider = await uow.one(
        ChannelProviderRow, "SELECT * FROM channel_providers WHERE sid = %s", (sender.provider_sid,)
    )
    assert provider is not None
    last = await uow.fetchone(
        "SELECT max(date_created) AS at FROM messages WHERE conversation_sid = %s AND participant_sid = %s",
        (conversation.sid, participant.sid),
    )
    return DeliveryPlan(
        provider_sid=provider.sid,
        provider_kind=provider.kind,
        config=config_of(provider),
        channel=ChannelKind(sender.channel),
        to_address=to_address,
        from_address=sender.address,
        body=message.body,
        media=[
            OutboundMedia(chat_service_sid=message.chat_service_sid, media_sid=item["sid"])
            for item in (message.media or [])
        ],
        template=_template_of(message),
        customer_last_wrote=(last or {}).get("at"),
    )


async def _sender_for(
    uow: UnitOfWork, *, conversation: ConversationRow, binding: dict[str, Any]
) -> ChannelSenderRow | None:
    """The participant's proxy address when a provider carries it (replies leave from the address the customer
    wrote to); else, in a conversation with a Messaging Service, the service's sender for this customer."""
    proxy = binding.get("proxy_address")
    if proxy:
        sender = await sender_at(uow, account_sid=conversation.account_sid, address=str(proxy))
        if sender is not None:
            return sender
    if conversation.messaging_service_sid:
        address = str(binding.get("address") or "")
        pooled = await messaging.pick_sender(
            uow,
            service_sid=conversation.messaging_service_sid,
            customer_address=address,
            channel=channel_of(address),
        )
        # Never another account's number, whatever a conversation row says.
        return pooled if pooled is not None and pooled.account_sid == conversation.account_sid else None
    return None


def _template_of(message: MessageRow) -> Template | None:
    """A message whose attributes carry `{"template": {"name": …, "language": …, "parameters": [...]}}` goes
    out as that pre-approved template (WhatsApp: the only thing allowed outside the 24-hour window)."""
    given = attributes_of(message.attributes).get("template")
    if not isinstance(given, dict) or not isinstance(given.get("name"), str):
        return None
    return Template.model_validate(given)


async def record_sent(uow: UnitOfWork, *, message_sid: str, participant_sid: str, provider_message_id: str) -> None:
    message = await uow.one(MessageRow, "SELECT * FROM messages WHERE sid = %s", (message_sid,))
    if message is None:
        return
    await receipts.record_receipt(
        uow,
        message=message,
        participant_sid=participant_sid,
        status=DeliveryStatus.SENT,
        channel_message_sid=provider_message_id,
    )


async def record_failed(uow: UnitOfWork, *, message_sid: str, participant_sid: str, error_code: int) -> None:
    message = await uow.one(MessageRow, "SELECT * FROM messages WHERE sid = %s", (message_sid,))
    if message is None:
        return
    await receipts.record_receipt(
        uow, message=message, participant_sid=participant_sid, status=DeliveryStatus.FAILED, error_code=error_code
    )


def utcnow() -> datetime:
    return datetime.now(UTC)
