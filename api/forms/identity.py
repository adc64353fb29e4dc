"""Conversations identity request bodies (form-encoded, Twilio's names): Users, UserConversations, Roles and
push Credentials."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from api.forms.fields import Bool, ConversationAttributes, ConversationsName, DateTime, FormModel, NonBlank, one_of
from domain.limits import CONVERSATIONS_NAME_LIMIT
from domain.permissions import (
    CREDENTIAL_FRIENDLY_NAME_LIMIT,
    CREDENTIAL_SECRET_LIMIT,
    ROLE_FRIENDLY_NAME_LIMIT,
    CredentialType,
    NotificationLevel,
    RoleType,
)
from storage.conversations.users import CredentialFields, UserChanges, UserConversationChanges

Identity = Annotated[NonBlank, Field(max_length=CONVERSATIONS_NAME_LIMIT)]
RoleName = Annotated[NonBlank, Field(max_length=ROLE_FRIENDLY_NAME_LIMIT)]
CredentialName = Annotated[str, Field(max_length=CREDENTIAL_FRIENDLY_NAME_LIMIT)]
Secret = Annotated[str, Field(max_length=CREDENTIAL_SECRET_LIMIT)]
Type = Annotated[RoleType, BeforeValidator(one_of(RoleType))]
PushType = Annotated[CredentialType, BeforeValidator(one_of(CredentialType))]
Level = Annotated[NotificationLevel, BeforeValidator(one_of(NotificationLevel))]
ReadIndex = Annotated[int, Field(ge=0, le=2**31 - 1)]


class CreateUser(FormModel):
    identity: Identity = Field(alias="Identity", description="Unique in the service; usable in place of the SID.")
    friendly_name: ConversationsName | None = Field(None, alias="FriendlyName")
    attributes: ConversationAttributes | None = Field(None, alias="Attributes", description="A JSON object.")
    role_sid: str | None = Field(
        None, alias="RoleSid", description="A `service` role of the service (default: its default service role)."
    )


class UpdateUser(FormModel):
    friendly_name: ConversationsName | None = Field(None, alias="FriendlyName")
    attributes: ConversationAttributes | None = Field(None, alias="Attributes", description="A JSON object.")
    role_sid: str | None = Field(None, alias="RoleSid", description="A `service` role of the service.")

    def changes(self) -> UserChanges:
        return UserChanges(friendly_name=self.friendly_name, attributes=self.attributes, role_sid=self.role_sid)


class UpdateUserConversation(FormModel):
    notification_level: Level | None = Field(None, alias="NotificationLevel", description="`default` or `muted`.")
    last_read_timestamp: DateTime | None = Field(None, alias="LastReadTimestamp")
    last_read_message_index: ReadIndex | None = Field(
        None, alias="LastReadMessageIndex", description="The participant's read horizon (a message index)."
    )

    def changes(self) -> UserConversationChanges:
        return UserConversationChanges(
            notification_level=self.notification_level,
            last_read_message_index=self.last_read_message_index,
            last_read_timestamp=self.last_read_timestamp,
        )


class CreateRole(FormModel):
    friendly_name: RoleName = Field(alias="FriendlyName", description="Up to 64 characters.")
    type: Type = Field(alias="Type", description="`conversation` (participants') or `service` (users').")
    permission: list[str] = Field(
        alias="Permission", description="A permission of the role's type; repeat the parameter for each."
    )


class UpdateRole(FormModel):
    permission: list[str] = Field(
        alias="Permission", description="The role's new permission set (replaces it); repeat for each."
    )


class _CredentialForm(FormModel):
    friendly_name: CredentialName | None = Field(None, alias="FriendlyName", description="Up to 64 characters.")
    certificate: Secret | None = Field(None, alias="Certificate", description="[APN] The certificate (PEM).")
    private_key: Secret | None = Field(None, alias="PrivateKey", description="[APN] The private key (PEM).")
    sandbox: Bool | None = Field(None, alias="Sandbox", description="[APN] Send to the sandbox APNs.")
    api_key: Secret | None = Field(None, alias="ApiKey", description="[GCM] The API key.")
    secret: Secret | None = Field(None, alias="Secret", description="[FCM] The server key.")

    def fields(self) -> CredentialFields:
        return CredentialFields(
            friendly_name=self.friendly_name,
            sandbox=self.sandbox,
            certificate=self.certificate,
            private_key=self.private_key,
            api_key=self.api_key,
            secret=self.secret,
        )


class CreateCredential(_CredentialForm):
    type: PushType = Field(alias="Type", description="`apn`, `gcm` or `fcm`.")


class UpdateCredential(_CredentialForm):
    type: PushType | None = Field(None, alias="Type", description="`apn`, `gcm` or `fcm`.")
