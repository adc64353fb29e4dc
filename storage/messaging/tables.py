"""Messaging Services (`MG…`), the senders in their pools, and each customer's sticky sender."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.columns import account_fk, created_at, sid_pk, updated_at


class MessagingServiceRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    friendly_name: str = Field(max_length=64)
    inbound_request_url: str | None = Field(default=None, max_length=2048)
    inbound_method: str = Field(default="POST", max_length=8)
    fallback_url: str | None = Field(default=None, max_length=2048)
    fallback_method: str = Field(default="POST", max_length=8)
    status_callback: str | None = Field(default=None, max_length=2048)
    sticky_sender: bool = True
    mms_converter: bool = True
    smart_encoding: bool = True
    scan_message_content: str = Field(default="inherit", max_length=16)
    fallback_to_long_code: bool = True
    area_code_geomatch: bool = True
    synchronous_validation: bool = False
    validity_period: int = 14400
    usecase: str = Field(default="undeclared", max_length=64)
    use_inbound_webhook_on_number: bool = False
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class MessagingService(MessagingServiceRow, table=True):
    __tablename__ = "messaging_services"


class ServiceSenderRow(SQLModel):
    """A sender (`PN…` or `XE…`, a row of channel_senders) in a service's pool; a sender is in one pool at most."""

    sender_sid: str = Field(primary_key=True, foreign_key="channel_senders.sid", ondelete="CASCADE", max_length=34)
    service_sid: str = Field(foreign_key="messaging_services.sid", ondelete="CASCADE", index=True, max_length=34)
    account_sid: str = account_fk()
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class ServiceSender(ServiceSenderRow, table=True):
    __tablename__ = "messaging_service_senders"


class StickySenderRow(SQLModel):
    """The sender a customer (by the blind index of their address) last heard from in a service."""

    service_sid: str = Field(primary_key=True, foreign_key="messaging_services.sid", ondelete="CASCADE", max_length=34)
    customer_hash: str = Field(primary_key=True, max_length=64)
    sender_sid: str = Field(foreign_key="channel_senders.sid", ondelete="CASCADE", max_length=34)
    date_updated: datetime | None = updated_at()


class StickySender(StickySenderRow, table=True):
    __tablename__ = "messaging_sticky_senders"
