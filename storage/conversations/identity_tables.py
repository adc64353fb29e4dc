"""Conversations identity tables: a service's users (`US…`) and roles (`RL…`), a user's per-conversation settings,
and the account's push credentials (`CR…`). Each table's row model (`…Row`) is what the use cases return."""

from __future__ import annotations

from datetime import datetime

from pydantic import field_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from domain.limits import CONVERSATIONS_NAME_LIMIT
from domain.permissions import (
    CREDENTIAL_FRIENDLY_NAME_LIMIT,
    ROLE_FRIENDLY_NAME_LIMIT,
    CredentialType,
    NotificationLevel,
    RoleType,
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


class UserRow(SQLModel):
    """A chat identity of a service: created by REST, or implicitly when the identity joins a conversation."""

    sid: str = sid_pk()
    account_sid: str = account_fk()
    chat_service_sid: str = Field(
        foreign_key="conversation_services.sid", ondelete="CASCADE", index=True, max_length=34
    )
    identity: str = Field(max_length=CONVERSATIONS_NAME_LIMIT)
    friendly_name: str | None = Field(default=None, max_length=CONVERSATIONS_NAME_LIMIT)
    attributes: str = default("{}")
    # A `service` role of the same service (its Configuration's default_chat_service_role_sid when not given).
    role_sid: str | None = Field(default=None, max_length=34)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()

    _open = field_validator("attributes", mode="before")(crypto.opened)  # sealed (storage/crypto.py)


class User(UserRow, table=True):
    __tablename__ = "conversation_users"
    __table_args__ = (UniqueConstraint("chat_service_sid", "identity"),)


class RoleRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    chat_service_sid: str = Field(
        foreign_key="conversation_services.sid", ondelete="CASCADE", index=True, max_length=34
    )
    friendly_name: str = Field(max_length=ROLE_FRIENDLY_NAME_LIMIT)
    type: RoleType = enum_column_required(max_length=16)
    # Permission names, in the order they were given (each one the type may hold: domain/permissions.py).
    permissions: list[str] = jsonb("'[]'::jsonb")
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class Role(RoleRow, table=True):
    __tablename__ = "conversation_roles"


class UserConversationSettingRow(SQLModel):
    """What a user set for one conversation that is not the participant's (the read horizon is): its push
    notification level. No row means `default`; the row goes with the user or the conversation."""

    user_sid: str = Field(foreign_key="conversation_users.sid", ondelete="CASCADE", primary_key=True, max_length=34)
    conversation_sid: str = Field(
        foreign_key="conversations.sid", ondelete="CASCADE", primary_key=True, index=True, max_length=34
    )
    notification_level: NotificationLevel = enum_column(NotificationLevel.DEFAULT, max_length=16)


class UserConversationSetting(UserConversationSettingRow, table=True):
    __tablename__ = "conversation_user_settings"


class CredentialRow(SQLModel):
    """A push credential of the account. The secrets are stored (a push sender would need them) and never
    returned: the public model has no field for them."""

    sid: str = sid_pk()
    account_sid: str = account_fk()
    type: CredentialType = enum_column_required(max_length=16)
    friendly_name: str | None = Field(default=None, max_length=CREDENTIAL_FRIENDLY_NAME_LIMIT)
    sandbox: bool = default(False)
    certificate: str | None = None
    private_key: str | None = None
    api_key: str | None = None
    secret: str | None = None
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()

    # The certificate, private key and secrets are sealed (storage/crypto.py).
    _open = field_validator("certificate", "private_key", "api_key", "secret", mode="before")(crypto.opened)


class Credential(CredentialRow, table=True):
    __tablename__ = "conversation_credentials"
