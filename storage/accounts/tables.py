"""Accounts and API keys: the tenants, and the credentials that authenticate REST and sign access tokens."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.columns import created_at, default, sid_pk, updated_at


class AccountRow(SQLModel):
    sid: str = sid_pk()
    friendly_name: str = Field(max_length=256)
    auth_token: str = Field(max_length=64)
    status: str = default("active", max_length=16)
    default_chat_service_sid: str | None = Field(default=None, max_length=34)
    # Conversations' account configuration (`/conversations/v1/Configuration`).
    default_messaging_service_sid: str | None = Field(default=None, max_length=34)
    default_inactive_timer: str | None = Field(default=None, max_length=32)
    default_closed_timer: str | None = Field(default=None, max_length=32)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class Account(AccountRow, table=True):
    __tablename__ = "accounts"


class ApiKeyRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = Field(foreign_key="accounts.sid", index=True, max_length=34)
    friendly_name: str = default("", max_length=256)
    secret: str = Field(max_length=64)
    date_created: datetime | None = created_at()


class ApiKey(ApiKeyRow, table=True):
    __tablename__ = "api_keys"
