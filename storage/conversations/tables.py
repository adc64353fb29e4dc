"""Conversations v1: services, conversations, participants, messages, address configurations. Each table's
row model (`…Row`) is what the service functions return."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import field_validator
from sqlalchemy import Column, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from domain.states import ConversationState, DeliveryStatus
from domain.webhooks import ScopedWebhookTarget, WebhookMethod, WebhookTarget
from storage import crypto
from storage.columns import account_fk, created_at, default, enum_column, jsonb, sid_pk, tstz, updated_at


class ConversationServiceRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    friendly_name: str = Field(max_length=256)
    # The service's Configuration: the roles new users, participants and conversation creators get.
    default_conversation_creator_role_sid: str | None = Field(default=None, max_length=34)
    default_conversation_role_sid: str | None = Field(default=None, max_length=34)
    default_chat_service_role_sid: str | None = Field(default=None, max_length=34)
    reachability_enabled: bool = default(False)
    # Configuration/Notifications, as Twilio shapes it (new_message, added_to_conversation, ...).
    notifications: dict[str, Any] = jsonb()
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class ConversationService(ConversationServiceRow, table=True):
    __tablename__ = "conversation_services"


class ConversationRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    chat_service_sid: str = Field(foreign_key="conversation_services.sid", max_length=34)
    messaging_service_sid: str | None = Field(default=None, max_length=34)
    # Sealed (a web chat's conversation is named after its customer), as text: sealed values outgrow the
    # 256 characters the plaintext is limited to.
    friendly_name: str | None = Field(default=None, max_length=256, sa_type=Text, nullable=True)
    # Sealed too, and found by its blind index (`unique_name_index`), which is what is unique in the service.
    unique_name: str | None = Field(default=None, max_length=256, sa_type=Text, nullable=True)
    unique_name_index: str | None = Field(default=None, max_length=64)
    attributes: str = default("{}")
    state: ConversationState = enum_column(ConversationState.ACTIVE)
    timers_inactive: str | None = Field(default=None, max_length=32)
    timers_closed: str | None = Field(default=None, max_length=32)
    # The timers' deadlines, moved on by every message (ARCHITECTURE §3: in the message's own UPDATE).
    timers_date_inactive: datetime | None = tstz()
    timers_date_closed: datetime | None = tstz()
    # Counters allocated under the row lock taken by every message insert (ARCHITECTURE §3).
    last_message_index: int = Field(default=-1, sa_column=Column(Integer, nullable=False, server_default=text("-1")))
    last_event_seq: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Participants with a messaging binding (SMS, WhatsApp, Messenger): a message is delivered to them by the
    # channel's provider. Kept as a count so a chat-only conversation's messages cost no lookup for it.
    bound_participants: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    last_message_at: datetime | None = tstz()
    # The address configuration that auto-created this conversation; its routing applies to customer messages.
    address_sid: str | None = Field(default=None, max_length=34)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()

    _open = field_validator("friendly_name", "unique_name", "attributes", mode="before")(crypto.opened)


class Conversation(ConversationRow, table=True):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("chat_service_sid", "unique_name_index"),)


class ParticipantRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    conversation_sid: str = Field(foreign_key="conversations.sid", index=True, max_length=34)
    chat_service_sid: str = Field(max_length=34)
    identity: str | None = Field(default=None, max_length=256)
    attributes: str = default("{}")
    # Sealed JSON (storage/crypto.py); found by the blind indexes of its address and proxy address.
    messaging_binding: dict[str, Any] | None = Field(default=None, sa_type=Text, nullable=True)
    binding_address_hash: str | None = Field(default=None, max_length=64)
    binding_proxy_hash: str | None = Field(default=None, max_length=64)
    role_sid: str | None = Field(default=None, max_length=34)
    last_read_message_index: int | None = None
    last_read_timestamp: datetime | None = tstz()
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()

    _open = field_validator("attributes", mode="before")(crypto.opened)
    _open_binding = field_validator("messaging_binding", mode="before")(crypto.opened_json)


class Participant(ParticipantRow, table=True):
    __tablename__ = "participants"
    __table_args__ = (
        Index(
            "uq_participants_identity",
            "conversation_sid",
            "identity",
            unique=True,
            postgresql_where=text("identity IS NOT NULL"),
        ),
    )


class MessageRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    conversation_sid: str = Field(foreign_key="conversations.sid", max_length=34)
    chat_service_sid: str = Field(max_length=34)
    index: int
    author: str = Field(max_length=256)
    body: str | None = None  # sealed, like attributes (storage/crypto.py); the row model opens both
    attributes: str = default("{}")
    participant_sid: str | None = Field(default=None, max_length=34)
    # The attachments ({sid, category, filename, content_type, size}): sealed JSON, file names can name people.
    media: list[dict[str, Any]] | None = Field(default=None, sa_type=Text, nullable=True)
    idempotency_key: str | None = Field(default=None, max_length=128)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()

    _open = field_validator("body", "attributes", mode="before")(crypto.opened)
    _open_media = field_validator("media", mode="before")(crypto.opened_json)


class Message(MessageRow, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_sid", "index"),
        Index(
            "uq_messages_idempotency_key",
            "conversation_sid",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )


class AddressConfigurationRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    type: str = Field(max_length=16)
    address: str = Field(max_length=256)
    friendly_name: str | None = Field(default=None, max_length=256)
    auto_creation: dict[str, Any] = jsonb()
    address_country: str | None = Field(default=None, max_length=2)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class AddressConfiguration(AddressConfigurationRow, table=True):
    __tablename__ = "address_configurations"
    __table_args__ = (UniqueConstraint("account_sid", "type", "address"),)


class WebhookConfigurationRow(SQLModel):
    """The account-level (`chat_service_sid` NULL: `/Configuration/Webhooks`) or a service's
    (`/Services/{IS}/Configuration/Webhooks`) pre- and post-event targets."""

    id: int | None = Field(default=None, primary_key=True)
    account_sid: str = account_fk()
    chat_service_sid: str | None = Field(default=None, max_length=34)
    method: WebhookMethod = enum_column(WebhookMethod.POST, max_length=8)
    filters: list[str] = jsonb("'[]'::jsonb")
    pre_webhook_url: str | None = Field(default=None, max_length=2048)
    post_webhook_url: str | None = Field(default=None, max_length=2048)
    target: WebhookTarget = enum_column(WebhookTarget.WEBHOOK, max_length=16)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class WebhookConfiguration(WebhookConfigurationRow, table=True):
    __tablename__ = "conversation_webhook_configurations"
    __table_args__ = (
        Index(
            "uq_conversation_webhook_configurations_scope",
            "account_sid",
            text("COALESCE(chat_service_sid, '')"),
            unique=True,
        ),
    )


class ConversationWebhookRow(SQLModel):
    """A conversation-scoped webhook (`WH…`): post-events of one conversation, at most five of them."""

    sid: str = sid_pk()
    account_sid: str = account_fk()
    chat_service_sid: str = Field(max_length=34)
    conversation_sid: str = Field(foreign_key="conversations.sid", ondelete="CASCADE", index=True, max_length=34)
    target: ScopedWebhookTarget = enum_column(ScopedWebhookTarget.WEBHOOK, max_length=16)
    url: str | None = Field(default=None, max_length=2048)
    method: WebhookMethod = enum_column(WebhookMethod.POST, max_length=8)
    filters: list[str] = jsonb("'[]'::jsonb")
    triggers: list[str] = jsonb("'[]'::jsonb")
    flow_sid: str | None = Field(default=None, max_length=34)
    replay_after: int | None = None
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class ConversationWebhook(ConversationWebhookRow, table=True):
    __tablename__ = "conversation_webhooks"


class BindingRow(SQLModel):
    """A push registration (`BS…`) of a user's device: Twilio's SDKs create them; REST reads and deletes them."""

    sid: str = sid_pk()
    account_sid: str = account_fk()
    chat_service_sid: str = Field(
        foreign_key="conversation_services.sid", ondelete="CASCADE", index=True, max_length=34
    )
    credential_sid: str | None = Field(default=None, max_length=34)
    endpoint: str = Field(max_length=512)
    identity: str = Field(max_length=256)
    binding_type: str = Field(max_length=16)
    message_types: list[str] = jsonb("'[]'::jsonb")
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class Binding(BindingRow, table=True):
    __tablename__ = "conversation_bindings"


class ReceiptRow(SQLModel):
    """A delivery receipt (`DY…`): how one message reached one non-chat participant, as its channel reported."""

    sid: str = sid_pk()
    account_sid: str = account_fk()
    chat_service_sid: str = Field(max_length=34)
    conversation_sid: str = Field(max_length=34)
    message_sid: str = Field(foreign_key="messages.sid", ondelete="CASCADE", index=True, max_length=34)
    participant_sid: str = Field(max_length=34)
    channel_message_sid: str | None = Field(default=None, max_length=64)
    status: DeliveryStatus = enum_column(DeliveryStatus.SENT)
    error_code: int | None = None
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class Receipt(ReceiptRow, table=True):
    __tablename__ = "message_receipts"
    __table_args__ = (UniqueConstraint("message_sid", "participant_sid"),)


class MediaRow(SQLModel):
    """An uploaded file (`ME…`, the Media Content Service): its bytes are in the media store under its SID;
    a message that carries it names it, once."""

    sid: str = sid_pk()
    account_sid: str = account_fk()
    chat_service_sid: str = Field(max_length=34)
    content_type: str = Field(max_length=128)
    filename: str | None = Field(default=None, max_length=256, sa_type=Text, nullable=True)  # sealed
    size: int
    author: str = Field(max_length=256)
    message_sid: str | None = Field(default=None, max_length=34, index=True)
    conversation_sid: str | None = Field(default=None, max_length=34)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()

    _open = field_validator("filename", mode="before")(crypto.opened)


class Media(MediaRow, table=True):
    __tablename__ = "media"
