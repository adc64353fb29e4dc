"""Flex Interactions v1: an interaction, its long-lived channel (one Temporal workflow each) and participants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import field_validator
from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from domain.states import (
    InteractionChannelStatus,
    InteractionParticipantStatus,
    InteractionParticipantType,
    TransferStatus,
    TransferType,
)
from storage import crypto
from storage.columns import (
    account_fk,
    created_at,
    default,
    enum_column,
    enum_column_required,
    jsonb,
    sid_pk,
    updated_at,
)


class InteractionRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    channel: dict[str, Any] = jsonb()
    routing: dict[str, Any] = jsonb()  # sealed: it carries the task's attributes (storage/crypto.py)
    interaction_context_sid: str | None = Field(default=None, max_length=34)
    webhook_ttid: str | None = Field(default=None, max_length=128)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()

    _open = field_validator("routing", mode="before")(crypto.opened_document)


class Interaction(InteractionRow, table=True):
    __tablename__ = "interactions"


class InteractionChannelRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    interaction_sid: str = Field(foreign_key="interactions.sid", index=True, max_length=34)
    type: str = Field(max_length=16)
    status: InteractionChannelStatus = enum_column(InteractionChannelStatus.SETUP)
    conversation_sid: str = Field(foreign_key="conversations.sid", max_length=34)
    # Routing properties for every task routed on this channel (workspace, workflow, task channel, attributes).
    routing: dict[str, Any] = jsonb()
    active_task_sid: str | None = Field(default=None, max_length=34)
    task_count: int = default(0)
    error_code: int | None = None
    error_message: str | None = None
    date_created: datetime | None = created_at()

    _open = field_validator("routing", mode="before")(crypto.opened_document)
    date_updated: datetime | None = updated_at()


class InteractionChannel(InteractionChannelRow, table=True):
    __tablename__ = "interaction_channels"
    __table_args__ = (
        # A conversation is bound to at most one open channel: inbound messages must find exactly one.
        Index(
            "uq_interaction_channels_open_conversation",
            "conversation_sid",
            unique=True,
            postgresql_where=text("status NOT IN ('closed', 'failed')"),
        ),
    )


class InteractionParticipantRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    interaction_sid: str = Field(foreign_key="interactions.sid", max_length=34)
    channel_sid: str = Field(foreign_key="interaction_channels.sid", index=True, max_length=34)
    type: InteractionParticipantType = enum_column_required()
    status: InteractionParticipantStatus = enum_column(InteractionParticipantStatus.ACTIVE)
    media_properties: dict[str, Any] = jsonb()
    routing_properties: dict[str, Any] | None = jsonb(nullable=True)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()

    @field_validator("media_properties", mode="before")
    @classmethod
    def _open_binding(cls, value: Any) -> Any:
        """A customer's messaging binding is copied here sealed, as the participant keeps it."""
        if isinstance(value, dict) and isinstance(value.get("messaging_binding"), str):
            return {**value, "messaging_binding": crypto.opened_json(value["messaging_binding"])}
        return value


class InteractionParticipant(InteractionParticipantRow, table=True):
    __tablename__ = "interaction_participants"


class InteractionInviteRow(SQLModel):
    """An invite (KG…): a new task on the same channel, to a queue or a worker; when its agent accepts, the agent
    joins the same conversation."""

    sid: str = sid_pk()
    account_sid: str = account_fk()
    interaction_sid: str = Field(foreign_key="interactions.sid", max_length=34)
    channel_sid: str = Field(foreign_key="interaction_channels.sid", index=True, max_length=34)
    routing: dict[str, Any] = jsonb()
    task_sid: str | None = Field(default=None, max_length=34)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()

    _open = field_validator("routing", mode="before")(crypto.opened_document)


class InteractionInvite(InteractionInviteRow, table=True):
    __tablename__ = "interaction_invites"


class InteractionTransferRow(SQLModel):
    """A transfer (UX…) of the channel from one agent participant to a worker or a queue, cold or warm. It rides
    on an invite: the invite's task is what the receiver accepts."""

    sid: str = sid_pk()
    account_sid: str = account_fk()
    interaction_sid: str = Field(foreign_key="interactions.sid", max_length=34)
    channel_sid: str = Field(foreign_key="interaction_channels.sid", index=True, max_length=34)
    type: TransferType = enum_column_required()
    status: TransferStatus = enum_column(TransferStatus.ACTIVE)
    from_participant_sid: str = Field(max_length=34)
    # The worker (WK…) or queue (WQ…) the customer is handed to.
    to: str = Field(max_length=34)
    from_task_sid: str | None = Field(default=None, max_length=34)
    invite_sid: str | None = Field(default=None, max_length=34)
    task_sid: str | None = Field(default=None, max_length=34)
    note_sid: str | None = Field(default=None, max_length=34)
    note: str | None = None
    # Why a failed transfer failed (declined, timed out, canceled by the sender, channel closed).
    reason: str | None = None
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class InteractionTransfer(InteractionTransferRow, table=True):
    __tablename__ = "interaction_transfers"
    __table_args__ = (
        # One transfer in flight per channel: a second would race the first for the customer.
        Index(
            "uq_interaction_transfers_active_channel",
            "channel_sid",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )
