"""Conversations users (`US…`), their view of the conversations they take part in (UserConversations), the
conversations an identity or address is in (ParticipantConversations), and the account's push credentials
(`CR…`).

A user is a chat identity of one service. Taking part in a conversation is being its participant by that
identity: a user's conversations are read from `participants`, whose row also holds the read horizon
(`last_read_message_index`, `last_read_timestamp`); only the notification level is the user's own, per
conversation (`conversation_user_settings`). Deleting a user does not remove its identity's participants
(they are resources of their own conversations, as on Twilio); leaving a conversation (DELETE on a user
conversation) removes the participant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, field_validator

from domain.errors import Conflict, InvalidParameter, NotFound
from domain.permissions import CredentialType, NotificationLevel, RoleType
from domain.realtime import StreamEvent
from domain.sids import SidPrefix, is_sid, new_sid
from domain.states import ConversationState
from domain.webhooks import SYSTEM, Actor, WebhookEvent, webhook_date
from storage import crypto
from storage.conversations import roles, webhooks
from storage.conversations import service as conversations
from storage.conversations.identity_tables import CredentialRow, UserRow
from storage.conversations.tables import ParticipantRow
from storage.db import UnitOfWork
from storage.paging import Page, PageRequest, fetch_page

# --- users ---------------------------------------------------------------------------------------------


async def create_user(
    uow: UnitOfWork,
    *,
    account_sid: str,
    chat_service_sid: str,
    identity: str,
    friendly_name: str | None = None,
    attributes: str = "{}",
    role_sid: str | None = None,
    actor: Actor = SYSTEM,
) -> UserRow:
    """A new user of the service. The identity is unique in it (Twilio's 50201, 409); `role_sid` must be a
    `service` role of the service, and without one the user gets the Configuration's default service role."""
    if not identity.strip():
        raise InvalidParameter("Missing required parameter Identity in the post body")
    if role_sid is not None:
        await roles.check_role(uow, chat_service_sid=chat_service_sid, role_sid=role_sid, type=RoleType.SERVICE)
    row = await uow.one(
        UserRow,
        """
        INSERT INTO conversation_users (sid, account_sid, chat_service_sid, identity, friendly_name, attributes,
                                        role_sid)
        SELECT %(sid)s, %(account)s::text, s.sid, %(identity)s, %(friendly)s, %(attributes)s,
               COALESCE(%(role)s::text, s.default_chat_service_role_sid)
          FROM conversation_services s WHERE s.sid = %(service)s AND s.account_sid = %(account)s::text
        ON CONFLICT (chat_service_sid, identity) DO NOTHING RETURNING *
        """,
        {
            "sid": new_sid(SidPrefix.USER),
            "account": account_sid,
            "service": chat_service_sid,
            "identity": identity,
            "friendly": friendly_name,
            "attributes": await crypto.seal(uow, account_sid, attributes),
            "role": role_sid,
        },
    )
    if row is not None:
        await _user_event(uow, row, WebhookEvent.USER_ADDED, actor)
        return row
    await _service_exists(uow, account_sid, chat_service_sid)
    raise Conflict(f"User with identity '{identity}' already exists", code=50201)


async def _user_event(uow: UnitOfWork, row: UserRow, event: WebhookEvent, actor: Actor) -> None:
    params = [
        ("ChatServiceSid", row.chat_service_sid),
        ("UserSid", row.sid),
        ("DateCreated", webhook_date(row.date_created) or ""),
        ("Identity", row.identity),
        *([("RoleSid", row.role_sid)] if row.role_sid else []),
        ("Attributes", row.attributes),
        *([("FriendlyName", row.friendly_name)] if row.friendly_name is not None else []),
    ]
    if event is WebhookEvent.USER_UPDATED:
        params.append(("DateUpdated", webhook_date(row.date_updated) or ""))
    await webhooks.emit_service_event(
        uow,
        account_sid=row.account_sid,
        chat_service_sid=row.chat_service_sid,
        event=event,
        params=params,
        actor=actor,
    )


async def ensure_user(
    uow: UnitOfWork, *, account_sid: str, chat_service_sid: str, identity: str, actor: Actor = SYSTEM
) -> UserRow:
    """The service's user with this identity, created (with the default service role) if there is none yet:
    what adding a chat participant does implicitly. Safe to call any number of times, concurrently too."""
    created = await uow.one(
        UserRow,
        """
        INSERT INTO conversation_users (sid, account_sid, chat_service_sid, identity, role_sid)
        SELECT %s, %s, s.sid, %s, s.default_chat_service_role_sid
          FROM conversation_services s WHERE s.sid = %s AND s.account_sid = %s
        ON CONFLICT (chat_service_sid, identity) DO NOTHING RETURNING *
        """,
        (new_sid(SidPrefix.USER), account_sid, identity, chat_service_sid, account_sid),
    )
    if created is not None:
        await _user_event(uow, created, WebhookEvent.USER_ADDED, actor)
        return created
    existing = await uow.one(
        UserRow,
        "SELECT * FROM conversation_users WHERE chat_service_sid = %s AND identity = %s",
        (chat_service_sid, identity),
    )
    if existing is None:
        await _service_exists(uow, account_sid, chat_service_sid)
        raise LookupError(f"user {identity!r} neither created nor found in {chat_service_sid}")
    return existing


async def _service_exists(uow: UnitOfWork, account_sid: str, chat_service_sid: str) -> None:
    found = await uow.fetchone(
        "SELECT 1 FROM conversation_services WHERE sid = %s AND account_sid = %s", (chat_service_sid, account_sid)
    )
    if found is None:
        raise NotFound.resource(f"/Services/{chat_service_sid}")


async def get_user(uow: UnitOfWork, *, chat_service_sid: str, sid_or_identity: str) -> UserRow:
    """A user of the service by SID or identity (the SID wins when both match)."""
    return await uow.found(
        UserRow,
        "SELECT * FROM conversation_users WHERE chat_service_sid = %(service)s "
        "AND (sid = %(key)s OR identity = %(key)s) ORDER BY (sid = %(key)s) DESC LIMIT 1",
        {"service": chat_service_sid, "key": sid_or_identity},
        resource=f"/Users/{sid_or_identity}",
    )


async def users(uow: UnitOfWork, *, chat_service_sid: str, page: PageRequest) -> Page[UserRow]:
    return await fetch_page(
        uow,
        UserRow,
        "SELECT * FROM conversation_users WHERE chat_service_sid = %s ORDER BY date_created, sid",
        (chat_service_sid,),
        page,
    )


@dataclass(frozen=True, slots=True)
class UserChanges:
    """A user update; None leaves a field as it is."""

    friendly_name: str | None = None
    attributes: str | None = None
    role_sid: str | None = None


async def update_user(uow: UnitOfWork, *, user: UserRow, changes: UserChanges, actor: Actor = SYSTEM) -> UserRow:
    if changes.role_sid is not None:
        await roles.check_role(
            uow, chat_service_sid=user.chat_service_sid, role_sid=changes.role_sid, type=RoleType.SERVICE
        )
    row = await uow.one(
        UserRow,
        "UPDATE conversation_users SET friendly_name = COALESCE(%s, friendly_name), "
        "attributes = COALESCE(%s, attributes), role_sid = COALESCE(%s, role_sid), date_updated = now() "
        "WHERE sid = %s RETURNING *",
        (
            changes.friendly_name,
            await crypto.seal(uow, user.account_sid, changes.attributes),
            changes.role_sid,
            user.sid,
        ),
    )
    if row is None:
        raise NotFound.resource(f"/Users/{user.sid}")
    await _user_event(uow, row, WebhookEvent.USER_UPDATED, actor)
    return row


async def delete_user(uow: UnitOfWork, *, user: UserRow) -> None:
    """The user and its per-conversation settings go; its identity's participants stay in their conversations
    (a later participant by that identity makes the user again)."""
    if not await uow.execute("DELETE FROM conversation_users WHERE sid = %s", (user.sid,)):
        raise NotFound.resource(f"/Users/{user.sid}")


# --- a user's conversations ----------------------------------------------------------------------------


class UserConversationView(BaseModel):
    """One conversation a user takes part in, as UserConversations shows it."""

    account_sid: str
    chat_service_sid: str
    conversation_sid: str
    user_sid: str
    participant_sid: str
    friendly_name: str | None
    unique_name: str | None
    attributes: str
    conversation_state: ConversationState
    timers_date_inactive: datetime | None
    timers_date_closed: datetime | None
    date_created: datetime
    date_updated: datetime
    last_read_message_index: int | None
    # Messages after the read horizon; None while the participant has never set one (as Twilio's SDKs report).
    unread_messages_count: int | None
    notification_level: NotificationLevel

    _open = field_validator("friendly_name", "unique_name", "attributes", mode="before")(crypto.opened)


# The user's participants, by identity, in the conversations of its own service.
_USER_CONVERSATIONS = """
SELECT c.account_sid, c.chat_service_sid, c.sid AS conversation_sid, u.sid AS user_sid, p.sid AS participant_sid,
       c.friendly_name, c.unique_name, c.attributes, c.state AS conversation_state,
       c.timers_date_inactive, c.timers_date_closed, c.date_created, c.date_updated,
       p.last_read_message_index,
       CASE WHEN p.last_read_message_index IS NOT NULL THEN
            (SELECT count(*) FROM messages m WHERE m.conversation_sid = c.sid AND m.index > p.last_read_message_index)
       END AS unread_messages_count,
       COALESCE(s.notification_level, 'default') AS notification_level
  FROM conversation_users u
  JOIN participants p ON p.identity = u.identity
  JOIN conversations c ON c.sid = p.conversation_sid AND c.chat_service_sid = u.chat_service_sid
  LEFT JOIN conversation_user_settings s ON s.user_sid = u.sid AND s.conversation_sid = c.sid
 WHERE u.sid = %(user)s
"""


async def user_conversations(uow: UnitOfWork, *, user: UserRow, page: PageRequest) -> Page[UserConversationView]:
    """The conversations the user is a participant of, oldest first, each with its unread count."""
    rows = await uow.all(
        UserConversationView,
        f"{_USER_CONVERSATIONS} ORDER BY c.date_created, c.sid LIMIT %(limit)s OFFSET %(offset)s",
        {"user": user.sid, "limit": page.size + 1, "offset": page.offset},
    )
    return Page(items=rows[: page.size], has_more=len(rows) > page.size)


async def get_user_conversation(
    uow: UnitOfWork, *, user: UserRow, conversation_sid_or_name: str
) -> UserConversationView:
    """One of the user's conversations, by SID or unique name (found by its blind index, as
    conversations.get_conversation does); 404 when the user takes no part in it."""
    params = {"user": user.sid, "key": conversation_sid_or_name}
    if is_sid(conversation_sid_or_name, SidPrefix.CONVERSATION):
        row = await uow.one(UserConversationView, f"{_USER_CONVERSATIONS} AND c.sid = %(key)s LIMIT 1", params)
        if row is not None:
            return row
    return await uow.found(
        UserConversationView,
        f"{_USER_CONVERSATIONS} AND c.unique_name_index = %(index)s LIMIT 1",
        {**params, "index": await crypto.blind_index(uow, user.account_sid, conversation_sid_or_name)},
        resource=f"/Users/{user.sid}/Conversations/{conversation_sid_or_name}",
    )


@dataclass(frozen=True, slots=True)
class UserConversationChanges:
    """A user conversation update; None leaves a field as it is. The read horizon is the participant's."""

    notification_level: NotificationLevel | None = None
    last_read_message_index: int | None = None
    last_read_timestamp: datetime | None = None

    @property
    def reads(self) -> bool:
        return self.last_read_message_index is not None or self.last_read_timestamp is not None


async def update_user_conversation(
    uow: UnitOfWork, *, user: UserRow, conversation_sid_or_name: str, changes: UserConversationChanges
) -> UserConversationView:
    """Set the user's notification level for the conversation and/or move its participant's read horizon (a
    new index without a timestamp is read now). A closed conversation is read-only: its horizon stays (50407)."""
    view = await get_user_conversation(uow, user=user, conversation_sid_or_name=conversation_sid_or_name)
    if changes.last_read_message_index is not None and changes.last_read_message_index < 0:
        raise InvalidParameter("LastReadMessageIndex must be 0 or more")
    if changes.reads and view.conversation_state is ConversationState.CLOSED:
        raise Conflict("The conversation is closed; it is read-only", code=50407)
    if changes.notification_level is not None:
        await uow.execute(
            "INSERT INTO conversation_user_settings (user_sid, conversation_sid, notification_level) "
            "VALUES (%s, %s, %s) ON CONFLICT (user_sid, conversation_sid) "
            "DO UPDATE SET notification_level = EXCLUDED.notification_level",
            (user.sid, view.conversation_sid, changes.notification_level.value),
        )
    if changes.reads:
        participant = await uow.one(
            ParticipantRow,
            """
            UPDATE participants
               SET last_read_message_index = COALESCE(%(index)s, last_read_message_index),
                   last_read_timestamp = COALESCE(%(at)s, CASE WHEN %(index)s::int IS NOT NULL THEN now() END,
                                                  last_read_timestamp),
                   date_updated = now()
             WHERE sid = %(sid)s RETURNING *
            """,
            {"index": changes.last_read_message_index, "at": changes.last_read_timestamp, "sid": view.participant_sid},
        )
        assert participant is not None
        # The other participants see the new horizon as a read receipt, as after a participant update.
        await uow.publish(
            account_sid=participant.account_sid,
            stream=participant.conversation_sid,
            type=StreamEvent.PARTICIPANT_UPDATED,
            data={
                "participant_sid": participant.sid,
                "identity": participant.identity,
                "attributes": participant.attributes,
                "last_read_message_index": participant.last_read_message_index,
            },
        )
    return await get_user_conversation(uow, user=user, conversation_sid_or_name=view.conversation_sid)


async def leave_conversation(uow: UnitOfWork, *, user: UserRow, conversation_sid_or_name: str, actor: Actor) -> None:
    """The user leaves the conversation: its participant is removed (the participant.removed event and
    webhooks as for a participant delete) and its settings for the conversation go."""
    view = await get_user_conversation(uow, user=user, conversation_sid_or_name=conversation_sid_or_name)
    await uow.execute(
        "DELETE FROM conversation_user_settings WHERE user_sid = %s AND conversation_sid = %s",
        (user.sid, view.conversation_sid),
    )
    await conversations.remove_participant(
        uow, conversation_sid=view.conversation_sid, participant_sid=view.participant_sid, actor=actor
    )


# --- the conversations an identity or an address is in ------------------------------------------------------


async def _address_index(uow: UnitOfWork, chat_service_sid: str, address: str | None) -> str | None:
    """The blind index an address is stored under in the service's account (addresses are sealed)."""
    if address is None:
        return None
    service = await uow.fetchone("SELECT account_sid FROM conversation_services WHERE sid = %s", (chat_service_sid,))
    return await crypto.blind_index(uow, service["account_sid"], address) if service else None


class ParticipantConversationView(BaseModel):
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
    conversation_date_created: datetime
    conversation_date_updated: datetime
    conversation_state: ConversationState
    timers_date_inactive: datetime | None
    timers_date_closed: datetime | None

    _open = field_validator(
        "conversation_friendly_name", "conversation_unique_name", "conversation_attributes", mode="before"
    )(crypto.opened)
    _open_binding = field_validator("participant_messaging_binding", mode="before")(crypto.opened_json)


async def participant_conversations(
    uow: UnitOfWork,
    *,
    chat_service_sid: str,
    identity: str | None = None,
    address: str | None = None,
    page: PageRequest,
) -> Page[ParticipantConversationView]:
    """The service's conversations a chat identity, or a messaging address (SMS, WhatsApp…), is a participant
    of, oldest first. Exactly one of the two is given."""
    if (identity is None) == (address is None):
        raise InvalidParameter("Exactly one of Identity or Address must be given")
    return await fetch_page(
        uow,
        ParticipantConversationView,
        """
        SELECT c.account_sid, c.chat_service_sid, p.sid AS participant_sid, u.sid AS participant_user_sid,
               p.identity AS participant_identity, p.messaging_binding AS participant_messaging_binding,
               c.sid AS conversation_sid, c.unique_name AS conversation_unique_name,
               c.friendly_name AS conversation_friendly_name, c.attributes AS conversation_attributes,
               c.date_created AS conversation_date_created, c.date_updated AS conversation_date_updated,
               c.state AS conversation_state, c.timers_date_inactive, c.timers_date_closed
          FROM participants p
          JOIN conversations c ON c.sid = p.conversation_sid
          LEFT JOIN conversation_users u ON u.chat_service_sid = c.chat_service_sid AND u.identity = p.identity
         WHERE c.chat_service_sid = %s
           AND (p.identity = %s OR (p.account_sid = c.account_sid AND p.binding_address_hash = %s))
         ORDER BY c.date_created, c.sid, p.sid
        """,
        (chat_service_sid, identity, await _address_index(uow, chat_service_sid, address)),
        page,
    )


# --- push credentials (account level) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CredentialFields:
    """A credential's fields as a create or update sent them; None leaves one as it is (an update) or unset."""

    friendly_name: str | None = None
    sandbox: bool | None = None
    certificate: str | None = None
    private_key: str | None = None
    api_key: str | None = None
    secret: str | None = None


async def _sealed_secrets(uow: UnitOfWork, account_sid: str, fields: CredentialFields) -> list[str | None]:
    """certificate, private_key, api_key, secret as stored: sealed (None stays None)."""
    return [
        await crypto.seal(uow, account_sid, value)
        for value in (fields.certificate, fields.private_key, fields.api_key, fields.secret)
    ]


async def create_credential(
    uow: UnitOfWork, *, account_sid: str, type: CredentialType, fields: CredentialFields
) -> CredentialRow:
    row = await uow.one(
        CredentialRow,
        "INSERT INTO conversation_credentials (sid, account_sid, type, friendly_name, sandbox, certificate, "
        "private_key, api_key, secret) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (
            new_sid(SidPrefix.CREDENTIAL),
            account_sid,
            type.value,
            fields.friendly_name,
            bool(fields.sandbox),
            *await _sealed_secrets(uow, account_sid, fields),
        ),
    )
    assert row is not None
    return row


async def credentials(uow: UnitOfWork, *, account_sid: str, page: PageRequest) -> Page[CredentialRow]:
    return await fetch_page(
        uow,
        CredentialRow,
        "SELECT * FROM conversation_credentials WHERE account_sid = %s ORDER BY date_created, sid",
        (account_sid,),
        page,
    )


async def get_credential(uow: UnitOfWork, *, account_sid: str, sid: str) -> CredentialRow:
    return await uow.found(
        CredentialRow,
        "SELECT * FROM conversation_credentials WHERE account_sid = %s AND sid = %s",
        (account_sid, sid),
        resource=f"/Credentials/{sid}",
    )


async def update_credential(
    uow: UnitOfWork, *, credential: CredentialRow, type: CredentialType | None, fields: CredentialFields
) -> CredentialRow:
    row = await uow.one(
        CredentialRow,
        "UPDATE conversation_credentials SET type = COALESCE(%s, type), friendly_name = COALESCE(%s, friendly_name), "
        "sandbox = COALESCE(%s, sandbox), certificate = COALESCE(%s, certificate), "
        "private_key = COALESCE(%s, private_key), api_key = COALESCE(%s, api_key), secret = COALESCE(%s, secret), "
        "date_updated = now() WHERE sid = %s RETURNING *",
        (
            type.value if type is not None else None,
            fields.friendly_name,
            fields.sandbox,
            *await _sealed_secrets(uow, credential.account_sid, fields),
            credential.sid,
        ),
    )
    if row is None:
        raise NotFound.resource(f"/Credentials/{credential.sid}")
    return row


async def delete_credential(uow: UnitOfWork, *, account_sid: str, sid: str) -> None:
    if not await uow.execute(
        "DELETE FROM conversation_credentials WHERE account_sid = %s AND sid = %s", (account_sid, sid)
    ):
        raise NotFound.resource(f"/Credentials/{sid}")
