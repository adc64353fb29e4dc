"""Accounts and API keys: the tenants, and the credentials that authenticate REST and sign access tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from storage import crypto
from storage.columns import created_at, default, sid_pk, updated_at


class AccountRow(SQLModel):
    sid: str = sid_pk()
    friendly_name: str = Field(max_length=256)
    auth_token: str  # sealed (storage/crypto.py); the row model opens it
    status: str = default("active", max_length=16)
    default_chat_service_sid: str | None = Field(default=None, max_length=34)
    # Conversations' account configuration (`/conversations/v1/Configuration`).
    default_messaging_service_sid: str | None = Field(default=None, max_length=34)
    default_inactive_timer: str | None = Field(default=None, max_length=32)
    default_closed_timer: str | None = Field(default=None, max_length=32)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()

    _open = field_validator("auth_token", mode="before")(crypto.opened)


class Account(AccountRow, table=True):
    __tablename__ = "accounts"


class ApiKeyRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = Field(foreign_key="accounts.sid", index=True, max_length=34)
    friendly_name: str = default("", max_length=256)
    secret: str  # sealed (storage/crypto.py); the row model opens it
    date_created: datetime | None = created_at()

    _open = field_validator("secret", mode="before")(crypto.opened)


class ApiKey(ApiKeyRow, table=True):
    __tablename__ = "api_keys"


class DataKeyRow(SQLModel):
    """An account's data key (storage/crypto.py), wrapped by the key-encryption key `kek_id`. No foreign key to
    accounts: a key is created on its own committed connection, possibly before its account commits."""

    kid: str = Field(primary_key=True, max_length=34)
    account_sid: str = Field(index=True, max_length=34)
    purpose: str = Field(max_length=8)
    status: str = default("active", max_length=8)
    kek_id: str = Field(max_length=32)
    wrapped: bytes
    date_created: datetime | None = created_at()


class DataKeyRecord(DataKeyRow, table=True):
    __tablename__ = "data_keys"
