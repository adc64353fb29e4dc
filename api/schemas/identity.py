"""Conversations identity resources as Twilio serializes them: users, user conversations, participant
conversations, roles and push credentials (whose secrets have no field here, so they are never returned)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.schemas.common import PageMeta, Public, TwilioDate, iso
from api.schemas.conversations import conversation_url, conversations_root
from domain.permissions import CredentialType, NotificationLevel, RoleType
from domain.states import ConversationState
from storage.conversations.identity_tables import CredentialRow, RoleRow, UserRow
from storage.conversations.users import ParticipantConversationView, UserConversationView


def _timers(date_inactive: datetime | None, date_closed: datetime | None) -> dict[str, Any]:
    """A conversation's `timers`: the deadlines that are running ({} when none is)."""
    return {
        name: iso(value)
        for name, value in (("date_inactive", date_inactive), ("date_closed", date_closed))
        if value is not None
    }


class UserPublic(Public):
    sid: str
    account_sid: str
    chat_service_sid: str
    role_sid: str | None
    identity: str
    friendly_name: str | None
    attributes: str
    # Twilio fills these only with the service's reachability on; Parley tracks no SDK presence or push
    # reachability, so they are null as Twilio's are with it off.
    is_online: bool | None = None
    is_notifiable: bool | None = None
    date_created: TwilioDate
    date_updated: TwilioDate
    url: str
    links: dict[str, str]

    @classmethod
    def of(cls, row: UserRow, base: str, *, scoped: bool = False) -> UserPublic:
        url = f"{conversations_root(base, row.chat_service_sid if scoped else None)}/Users/{row.sid}"
        return cls.from_row(row, url=url, links={"user_conversations": f"{url}/Conversations"})


class UserList(Public):
    users: list[UserPublic]
    meta: PageMeta


class UserConversationPublic(Public):
    account_sid: str
    chat_service_sid: str
    conversation_sid: str
    unread_messages_count: int | None
    last_read_message_index: int | None
    participant_sid: str
    user_sid: str
    friendly_name: str | None
    conversation_state: ConversationState
    timers: dict[str, Any]
    attributes: str
    date_created: TwilioDate
    date_updated: TwilioDate
    # Parley does not record who created a conversation.
    created_by: str | None = None
    notification_level: NotificationLevel
    unique_name: str | None
    url: str
    links: dict[str, str]

    @classmethod
    def of(cls, view: UserConversationView, base: str, *, scoped: bool = False) -> UserConversationPublic:
        service = view.chat_service_sid if scoped else None
        conversation = conversation_url(base, view.conversation_sid, service)
        return cls.from_row(
            view,
            timers=_timers(view.timers_date_inactive, view.timers_date_closed),
            url=f"{conversations_root(base, service)}/Users/{view.user_sid}/Conversations/{view.conversation_sid}",
            links={"participant": f"{conversation}/Participants/{view.participant_sid}", "conversation": conversation},
        )


class UserConversationList(Public):
    conversations: list[UserConversationPublic]
    meta: PageMeta


class ParticipantConversationPublic(Public):
    account_sid: str
    chat_service_sid: str
    participant_sid: str
    participant_user_sid: str | None
    participant_identity: str | None
    participant_messaging_binding: dict[str, Any] | None
    conversation_sid: str
    conversation_unique_name: str | None
    conversation_friendly_name: str | None
    conversation_attributes: str
    conversation_date_created: TwilioDate
    conversation_date_updated: TwilioDate
    # Parley does not record who created a conversation.
    conversation_created_by: str | None = None
    conversation_state: ConversationState
    conversation_timers: dict[str, Any]
    links: dict[str, str]

    @classmethod
    def of(cls, view: ParticipantConversationView, base: str, *, scoped: bool = False) -> ParticipantConversationPublic:
        conversation = conversation_url(base, view.conversation_sid, view.chat_service_sid if scoped else None)
        return cls.from_row(
            view,
            conversation_timers=_timers(view.timers_date_inactive, view.timers_date_closed),
            links={"participant": f"{conversation}/Participants/{view.participant_sid}", "conversation": conversation},
        )


class ParticipantConversationList(Public):
    conversations: list[ParticipantConversationPublic]
    meta: PageMeta


class RolePublic(Public):
    sid: str
    account_sid: str
    chat_service_sid: str
    friendly_name: str
    type: RoleType
    permissions: list[str]
    date_created: TwilioDate
    date_updated: TwilioDate
    url: str

    @classmethod
    def of(cls, row: RoleRow, base: str, *, scoped: bool = False) -> RolePublic:
        return cls.from_row(
            row, url=f"{conversations_root(base, row.chat_service_sid if scoped else None)}/Roles/{row.sid}"
        )


class RoleList(Public):
    roles: list[RolePublic]
    meta: PageMeta


class CredentialPublic(Public):
    sid: str
    account_sid: str
    friendly_name: str | None
    type: CredentialType
    # A string on Twilio's wire ("True" / "False").
    sandbox: str
    date_created: TwilioDate
    date_updated: TwilioDate
    url: str

    @classmethod
    def of(cls, row: CredentialRow, base: str) -> CredentialPublic:
        return cls.from_row(row, sandbox=str(row.sandbox), url=f"{base}/conversations/v1/Credentials/{row.sid}")


class CredentialList(Public):
    credentials: list[CredentialPublic]
    meta: PageMeta
