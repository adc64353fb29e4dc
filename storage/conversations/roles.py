"""Conversations roles (`RL…`): what a service's users (`service` roles) and a conversation's participants
(`conversation` roles) may do through the SDK. The permission rules are domain/permissions.py's; this module
only loads, checks and writes them."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg.types.json import Jsonb

from domain.errors import Conflict, InvalidParameter, PermissionDenied
from domain.permissions import (
    DEFAULT_CHAT_SERVICE_ROLE,
    DEFAULT_CONVERSATION_CREATOR_ROLE,
    DEFAULT_CONVERSATION_ROLE,
    DEFAULT_ROLES,
    DefaultRole,
    Permission,
    RoleType,
    allows,
    check_permissions,
)
from domain.sids import SidPrefix, new_sid
from storage.conversations.identity_tables import RoleRow
from storage.conversations.tables import ConversationServiceRow
from storage.db import UnitOfWork
from storage.paging import Page, PageRequest, fetch_page


async def create_role(
    uow: UnitOfWork,
    *,
    account_sid: str,
    chat_service_sid: str,
    friendly_name: str,
    type: RoleType,
    permissions: Sequence[str],
) -> RoleRow:
    """A new role of the service; each permission must be one its type may hold (400 naming the first that
    is not)."""
    if not friendly_name.strip():
        raise InvalidParameter("Missing required parameter FriendlyName in the post body")
    checked = check_permissions(type, permissions)
    return await _insert(uow, account_sid, chat_service_sid, friendly_name, type, [p.value for p in checked])


async def _insert(
    uow: UnitOfWork, account_sid: str, chat_service_sid: str, friendly_name: str, type: RoleType, permissions: list[str]
) -> RoleRow:
    row = await uow.one(
        RoleRow,
        "INSERT INTO conversation_roles (sid, account_sid, chat_service_sid, friendly_name, type, permissions) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
        (new_sid(SidPrefix.ROLE), account_sid, chat_service_sid, friendly_name, type.value, Jsonb(permissions)),
    )
    assert row is not None
    return row


async def roles(uow: UnitOfWork, *, chat_service_sid: str, page: PageRequest) -> Page[RoleRow]:
    return await fetch_page(
        uow,
        RoleRow,
        "SELECT * FROM conversation_roles WHERE chat_service_sid = %s ORDER BY date_created, sid",
        (chat_service_sid,),
        page,
    )


async def get_role(uow: UnitOfWork, *, chat_service_sid: str, sid: str) -> RoleRow:
    return await uow.found(
        RoleRow,
        "SELECT * FROM conversation_roles WHERE chat_service_sid = %s AND sid = %s",
        (chat_service_sid, sid),
        resource=f"/Roles/{sid}",
    )


async def update_role(uow: UnitOfWork, *, role: RoleRow, permissions: Sequence[str]) -> RoleRow:
    """Twilio's role update replaces the permission set with the `Permission` values given."""
    checked = check_permissions(role.type, permissions)
    row = await uow.one(
        RoleRow,
        "UPDATE conversation_roles SET permissions = %s, date_updated = now() WHERE sid = %s RETURNING *",
        (Jsonb([p.value for p in checked]), role.sid),
    )
    assert row is not None
    return row


async def delete_role(uow: UnitOfWork, *, chat_service_sid: str, sid: str) -> None:
    """A role still in use cannot go (409): held by a user or a participant, or named by the service's
    Configuration as a default. Reassign those first; nothing is left pointing at a role that is gone."""
    role = await uow.found(
        RoleRow,
        "SELECT * FROM conversation_roles WHERE chat_service_sid = %s AND sid = %s FOR UPDATE",
        (chat_service_sid, sid),
        resource=f"/Roles/{sid}",
    )
    use = await uow.fetchone(
        """
        SELECT (SELECT count(*) FROM conversation_users WHERE chat_service_sid = %(service)s AND role_sid = %(role)s)
                   AS users,
               (SELECT count(*) FROM participants WHERE chat_service_sid = %(service)s AND role_sid = %(role)s)
                   AS participants,
               EXISTS (SELECT 1 FROM conversation_services WHERE sid = %(service)s
                          AND %(role)s IN (default_chat_service_role_sid, default_conversation_role_sid,
                                           default_conversation_creator_role_sid)) AS service_default
        """,
        {"service": chat_service_sid, "role": role.sid},
    )
    assert use is not None
    if use["service_default"]:
        raise Conflict(f"Role {role.sid} is a default role of the service's Configuration; name another first")
    if use["users"] or use["participants"]:
        raise Conflict(
            f"Role {role.sid} is assigned to {use['users']} user(s) and {use['participants']} participant(s); "
            "assign them another role first"
        )
    await uow.execute("DELETE FROM conversation_roles WHERE sid = %s", (role.sid,))


async def check_role(uow: UnitOfWork, *, chat_service_sid: str, role_sid: str, type: RoleType) -> RoleRow:
    """A `RoleSid` parameter: a role of this service, of the type the resource takes (users take `service`
    roles, participants `conversation` roles), else a 400 saying which."""
    role = await uow.one(
        RoleRow,
        "SELECT * FROM conversation_roles WHERE chat_service_sid = %s AND sid = %s",
        (chat_service_sid, role_sid),
    )
    if role is None:
        raise InvalidParameter(f"RoleSid '{role_sid}' is not a role of the Conversation Service {chat_service_sid}")
    if role.type is not type:
        raise InvalidParameter(f"RoleSid '{role_sid}' is a {role.type.value} role; a {type.value} role is needed")
    return role


async def permissions_of(uow: UnitOfWork, *, role_sid: str) -> frozenset[str]:
    """What a role allows (give it to domain.permissions.allows); a role that does not exist allows nothing."""
    row = await uow.fetchone("SELECT permissions FROM conversation_roles WHERE sid = %s", (role_sid,))
    return frozenset(row["permissions"]) if row is not None else frozenset()


async def ensure_default_roles(uow: UnitOfWork, *, account_sid: str, chat_service_sid: str) -> list[RoleRow]:
    """The four roles Twilio gives every service (`service admin`, `service user`, `channel admin`, `channel
    user`), created when missing, and named in the service's Configuration where it names none yet (new users
    get `service user`, participants `channel user`, a conversation's creator `channel admin`). Idempotent:
    run under the service's row lock, it reuses a role of the same name and type."""
    service = await uow.found(
        ConversationServiceRow,
        "SELECT * FROM conversation_services WHERE account_sid = %s AND sid = %s FOR UPDATE",
        (account_sid, chat_service_sid),
        resource=f"/Services/{chat_service_sid}",
    )
    existing = await uow.all(
        RoleRow,
        "SELECT * FROM conversation_roles WHERE chat_service_sid = %s ORDER BY date_created, sid",
        (service.sid,),
    )
    found: dict[tuple[str, RoleType], RoleRow] = {}
    for existing_role in existing:
        found.setdefault((existing_role.friendly_name, existing_role.type), existing_role)
    made: dict[DefaultRole, RoleRow] = {}
    for default in DEFAULT_ROLES:
        row = found.get((default.friendly_name, default.type))
        if row is None:
            row = await _insert(
                uow,
                account_sid,
                service.sid,
                default.friendly_name,
                default.type,
                [p.value for p in default.permissions],
            )
        made[default] = row
    await uow.execute(
        "UPDATE conversation_services SET "
        "default_chat_service_role_sid = COALESCE(default_chat_service_role_sid, %s), "
        "default_conversation_role_sid = COALESCE(default_conversation_role_sid, %s), "
        "default_conversation_creator_role_sid = COALESCE(default_conversation_creator_role_sid, %s) "
        "WHERE sid = %s",
        (
            made[DEFAULT_CHAT_SERVICE_ROLE].sid,
            made[DEFAULT_CONVERSATION_ROLE].sid,
            made[DEFAULT_CONVERSATION_CREATOR_ROLE].sid,
            service.sid,
        ),
    )
    return [made[default] for default in DEFAULT_ROLES]


async def require(uow: UnitOfWork, *, role_sid: str | None, actions: Sequence[Permission]) -> None:
    """A token holder's participant may do `actions` only if its role allows each (Twilio's 50107). A
    participant with no role (added before services had roles) is not restricted."""
    if role_sid is None:
        return
    permissions = await permissions_of(uow, role_sid=role_sid)
    for action in actions:
        if not allows(permissions, action):
            raise PermissionDenied(f"The participant's role does not allow {action.value}", code=50107)
