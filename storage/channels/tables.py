"""Provider connections (`XP…`, Parley's extension), the business addresses they carry (`PN…` phone numbers for
SMS and WhatsApp, `XE…` channel senders for Messenger pages), and the inbound de-duplication log that gives a
provider's retried webhook exactly-once effect."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import field_validator
from sqlmodel import Field, SQLModel, UniqueConstraint

from storage import crypto
from storage.columns import account_fk, created_at, sid_pk, updated_at


class ChannelProviderRow(SQLModel):
    """One account's connection to a messaging provider: which adapter speaks to it (`kind`), where its API is,
    and the adapter's credentials (sealed: auth tokens, access tokens, app secrets)."""

    sid: str = sid_pk()
    account_sid: str = account_fk()
    kind: str = Field(max_length=64)
    friendly_name: str | None = Field(default=None, max_length=256)
    api_base_url: str = Field(max_length=2048)
    credentials: str = Field(default="{}")
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()

    _open_credentials = field_validator("credentials", mode="before")(crypto.opened)

    def credentials_dict(self) -> dict[str, Any]:
        value = json.loads(self.credentials or "{}")
        return value if isinstance(value, dict) else {}


class ChannelProvider(ChannelProviderRow, table=True):
    __tablename__ = "channel_providers"


class ChannelSenderRow(SQLModel):
    """A business address a provider carries (a phone number, a WhatsApp number, a Messenger page): what inbound
    messages are addressed to and outbound ones leave from. Business addresses are not customer data: clear."""

    sid: str = sid_pk()
    account_sid: str = account_fk()
    provider_sid: str = Field(foreign_key="channel_providers.sid", ondelete="CASCADE", index=True, max_length=34)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=256)
    friendly_name: str | None = Field(default=None, max_length=256)
    country_code: str | None = Field(default=None, max_length=2)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class ChannelSender(ChannelSenderRow, table=True):
    __tablename__ = "channel_senders"
    __table_args__ = (UniqueConstraint("account_sid", "address"),)


class InboundReceiptRow(SQLModel):
    """A provider message Parley has taken in: a retried webhook finds it and changes nothing."""

    provider_sid: str = Field(primary_key=True, max_length=34)
    provider_message_id: str = Field(primary_key=True, max_length=128)
    account_sid: str = account_fk()
    conversation_sid: str | None = Field(default=None, max_length=34)
    message_sid: str | None = Field(default=None, max_length=34)
    date_created: datetime | None = created_at()


class InboundReceipt(InboundReceiptRow, table=True):
    __tablename__ = "channel_inbound"
