"""Conversation Services (`IS…`): the containers of conversations, users, roles and bindings, each with its own
Configuration, push Notifications settings and webhooks (storage/conversations/webhooks.py). One of them is
the account's default service, which the short `/conversations/v1/Conversations…` paths work in."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from domain.errors import Conflict, InvalidParameter
from domain.permissions import RoleType
from domain.sids import SidPrefix, is_sid, new_sid
from domain.webhooks import Actor
from storage.conversations import roles
from storage.conversations import service as conversations
from storage.conversations.tables import BindingRow, ConversationRow, ConversationServiceRow
from storage.db import UnitOfWork
from storage.paging import Page, PageRequest, fetch_page

# Twilio's push notification settings of a new service: everything off, no templates.
DEFAULT_NOTIFICATIONS: dict[str, Any] = {
    "log_enabled": False,
    "new_message": {
        "enabled": False,
        "template": None,
        "sound": None,
        "badge_count_enabled": False,
        "with_media": {"enabled": False, "template": None},
    },
    "added_to_conversation": {"enabled": False, "template": None, "sound": None},
    "removed_from_conversation": {"enabled": False, "template": None, "sound": None},
}
BINDING_TYPES = ("apn", "gcm", "fcm", "twilsock")


async def create_service(uow: UnitOfWork, *, account_sid: str, friendly_name: str) -> ConversationServiceRow:
    if not friendly_name.strip():
        raise InvalidParameter("Missing required parameter FriendlyName in the post body")
    row = await uow.one(
        ConversationServiceRow,
        "INSERT INTO conversation_services (sid, account_sid, friendly_name, notifications) "
        "VALUES (%s, %s, %s, %s) RETURNING *",
        (new_sid(SidPrefix.CONVERSATION_SERVICE), account_sid, friendly_name, Jsonb(DEFAULT_NOTIFICATIONS)),
    )
    assert row is not None
    await roles.ensure_default_roles(uow, account_sid=account_sid, chat_service_sid=row.sid)
    return await conversations.get_service(uow, account_sid=account_sid, sid=row.sid)


async def services(uow: UnitOfWork, *, account_sid: str, page: PageRequest) -> Page[ConversationServiceRow]:
    return await fetch_page(
        uow,
        ConversationServiceRow,
        "SELECT * FROM conversation_services WHERE account_sid = %s ORDER BY date_created, sid",
        (account_sid,),
        page,
    )


async def delete_service(uow: UnitOfWork, *, account_sid: str, sid: str, actor: Actor) -> None:
    """Delete a service with everything in it. The account's default service cannot go (the short paths and
    the web chat work in it: make another one the default first); nor can a service with a conversation an
    interaction channel is open on."""
    service = await conversations.get_service(uow, account_sid=account_sid, sid=sid)
    default = await conversations.default_service_sid(uow, account_sid)
    if service.sid == default:
        raise Conflict(
            "The account's default Conversation Service cannot be deleted; set another DefaultChatServiceSid "
            "in /Configuration first"
        )
    for conversation in await uow.all(
        ConversationRow,
        "SELECT * FROM conversations WHERE chat_service_sid = %s ORDER BY date_created FOR UPDATE",
        (service.sid,),
    ):
        await conversations.delete_conversation(uow, conversation=conversation, actor=actor)
    await uow.execute("DELETE FROM conversation_webhook_configurations WHERE chat_service_sid = %s", (service.sid,))
    await uow.execute("DELETE FROM conversation_services WHERE sid = %s", (service.sid,))


# --- the service's Configuration ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceConfigurationChanges:
    default_conversation_creator_role_sid: str | None = None
    default_conversation_role_sid: str | None = None
    default_chat_service_role_sid: str | None = None
    reachability_enabled: bool | None = None


async def update_configuration(
    uow: UnitOfWork, *, service: ConversationServiceRow, changes: ServiceConfigurationChanges
) -> ConversationServiceRow:
    for name in (
        "default_conversation_creator_role_sid",
        "default_conversation_role_sid",
        "default_chat_service_role_sid",
    ):
        value = getattr(changes, name)
        if value is not None:
            await _check_role(uow, service, value, name)
    row = await uow.one(
        ConversationServiceRow,
        "UPDATE conversation_services SET "
        "default_conversation_creator_role_sid = COALESCE(%s, default_conversation_creator_role_sid), "
        "default_conversation_role_sid = COALESCE(%s, default_conversation_role_sid), "
        "default_chat_service_role_sid = COALESCE(%s, default_chat_service_role_sid), "
        "reachability_enabled = COALESCE(%s, reachability_enabled), date_updated = now() "
        "WHERE sid = %s RETURNING *",
        (
            changes.default_conversation_creator_role_sid,
            changes.default_conversation_role_sid,
            changes.default_chat_service_role_sid,
            changes.reachability_enabled,
            service.sid,
        ),
    )
    assert row is not None
    return row


async def _check_role(uow: UnitOfWork, service: ConversationServiceRow, role_sid: str, name: str) -> None:
    """The creator's and participants' defaults are conversation roles, the users' a service role."""
    if not is_sid(role_sid, SidPrefix.ROLE):
        raise InvalidParameter(f"{name} must be a Role SID (RL…), got '{role_sid}'")
    kind = RoleType.SERVICE if name == "DefaultChatServiceRoleSid" else RoleType.CONVERSATION
    await roles.check_role(uow, chat_service_sid=service.sid, role_sid=role_sid, type=kind)


def notifications_of(service: ConversationServiceRow) -> dict[str, Any]:
    """The service's push notification settings over Twilio's defaults (a service made before they were
    stored has none)."""
    merged = copy.deepcopy(DEFAULT_NOTIFICATIONS)
    _merge(merged, service.notifications or {})
    return merged


async def update_notifications(
    uow: UnitOfWork, *, service: ConversationServiceRow, changes: dict[str, Any]
) -> ConversationServiceRow:
    """`changes` is the nested shape (`{"new_message": {"enabled": true}}`); what is not given stays."""
    merged = notifications_of(service)
    _merge(merged, changes)
    row = await uow.one(
        ConversationServiceRow,
        "UPDATE conversation_services SET notifications = %s, date_updated = now() WHERE sid = %s RETURNING *",
        (Jsonb(merged), service.sid),
    )
    assert row is not None
    return row


def _merge(into: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


# --- bindings ------------------------------------------------------------------------------------------


async def bindings(
    uow: UnitOfWork,
    *,
    chat_service_sid: str,
    binding_types: list[str],
    identities: list[str],
    page: PageRequest,
) -> Page[BindingRow]:
    unknown = sorted(set(binding_types) - set(BINDING_TYPES))
    if unknown:
        raise InvalidParameter(f"BindingType must be one of {', '.join(BINDING_TYPES)}; got '{unknown[0]}'")
    return await fetch_page(
        uow,
        BindingRow,
        "SELECT * FROM conversation_bindings WHERE chat_service_sid = %s "
        "AND (cardinality(%s::text[]) = 0 OR binding_type = ANY(%s::text[])) "
        "AND (cardinality(%s::text[]) = 0 OR identity = ANY(%s::text[])) ORDER BY date_created, sid",
        (chat_service_sid, binding_types, binding_types, identities, identities),
        page,
    )


async def get_binding(uow: UnitOfWork, *, chat_service_sid: str, sid: str) -> BindingRow:
    return await uow.found(
        BindingRow,
        "SELECT * FROM conversation_bindings WHERE chat_service_sid = %s AND sid = %s",
        (chat_service_sid, sid),
        resource=f"/Services/{chat_service_sid}/Bindings/{sid}",
    )


async def delete_binding(uow: UnitOfWork, *, chat_service_sid: str, sid: str) -> None:
    binding = await get_binding(uow, chat_service_sid=chat_service_sid, sid=sid)
    await uow.execute("DELETE FROM conversation_bindings WHERE sid = %s", (binding.sid,))
