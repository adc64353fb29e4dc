"""A `chat` address's web chat settings (Parley extension): one row per address that has any, its identity
secret sealed under the account's data key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from storage import crypto
from storage.columns import account_fk, created_at, jsonb, updated_at


class WebChatSettingsRow(SQLModel):
    address_sid: str = Field(primary_key=True, foreign_key="address_configurations.sid", max_length=34)
    account_sid: str = account_fk()
    # domain.webchat.WebChatSettings as JSON.
    settings: dict[str, Any] = jsonb()
    # The HMAC secret the site's backend signs identity tokens with (sealed; never answered).
    identity_secret: str | None = Field(default=None)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()

    _open_secret = field_validator("identity_secret", mode="before")(crypto.opened)


class WebChatSettingsTable(WebChatSettingsRow, table=True):
    __tablename__ = "webchat_settings"
