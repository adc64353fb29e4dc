"""/conversations/v1 identity: a service's Users (and each user's Conversations), Roles and
ParticipantConversations, and the account's push Credentials. Account credentials only.

`router` is included twice (api/app.py), like the conversations router: under /conversations/v1 for the
account's default service, and under /conversations/v1/Services/{ChatServiceSid} (with the `scoped_service`
dependency) for any of its services. `account_router` serves the account-level Credentials."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response

from api.deps import ActorDep, AdminPrincipal, DbDep, ScopeDep, ServiceScope, SettingsDep
from api.forms.identity import (
    CreateCredential,
    CreateRole,
    CreateUser,
    UpdateCredential,
    UpdateRole,
    UpdateUser,
    UpdateUserConversation,
)
from api.query import QueryParam, QueryParameters, QueryValues
from api.schemas.conversations import conversations_root
from api.schemas.identity import (
    CredentialList,
    CredentialPublic,
    ParticipantConversationList,
    ParticipantConversationPublic,
    RoleList,
    RolePublic,
    UserConversationList,
    UserConversationPublic,
    UserList,
    UserPublic,
)
from domain.permissions import (
    CREDENTIALS_MAX_PAGE_SIZE,
    PARTICIPANT_CONVERSATIONS_MAX_PAGE_SIZE,
    ROLES_MAX_PAGE_SIZE,
    USER_CONVERSATIONS_MAX_PAGE_SIZE,
    USERS_MAX_PAGE_SIZE,
)
from domain.webhooks import Actor
from storage.conversations import roles, users
from storage.conversations import service as conversations
from storage.db import UnitOfWork

router = APIRouter(tags=["Conversations"])
account_router = APIRouter(prefix="/conversations/v1", tags=["Conversations"])

USERS_QUERY = QueryParameters(page_size=USERS_MAX_PAGE_SIZE)
USER_CONVERSATIONS_QUERY = QueryParameters(page_size=USER_CONVERSATIONS_MAX_PAGE_SIZE)
PARTICIPANT_CONVERSATIONS_QUERY = QueryParameters(
    QueryParam.string("Identity", "The chat identity whose conversations to list (or give `Address`)."),
    QueryParam.string("Address", "The messaging address whose conversations to list (or give `Identity`)."),
    page_size=PARTICIPANT_CONVERSATIONS_MAX_PAGE_SIZE,
)
ROLES_QUERY = QueryParameters(page_size=ROLES_MAX_PAGE_SIZE)
CREDENTIALS_QUERY = QueryParameters(page_size=CREDENTIALS_MAX_PAGE_SIZE)

# The UserConversations endpoints take no X-Twilio-Webhook-Enabled header: a user leaving by REST fires none.
_REST = Actor.rest(webhook_enabled=False)


async def _service(uow: UnitOfWork, scope: ServiceScope, account_sid: str) -> str:
    """The service the request works in: the path's, or the account's default one."""
    return scope.sid or await conversations.default_service_sid(uow, account_sid)


# --- users ---------------------------------------------------------------------------------------------


@router.post("/Users", status_code=201, response_model=UserPublic)
async def create_user(
    principal: AdminPrincipal,
    scope: ScopeDep,
    actor: ActorDep,
    db: DbDep,
    form: Annotated[CreateUser, Form()],
    settings: SettingsDep,
) -> UserPublic:
    """A new user of the service: `Identity` is unique in it (50201, 409). With `X-Twilio-Webhook-Enabled:
    true` it fires onUserAdded."""
    async with db.unit() as uow:
        row = await users.create_user(
            uow,
            account_sid=principal.account_sid,
            chat_service_sid=await _service(uow, scope, principal.account_sid),
            identity=form.identity,
            friendly_name=form.friendly_name,
            attributes=form.attributes or "{}",
            role_sid=form.role_sid,
            actor=actor,
        )
    return UserPublic.of(row, settings.base_url, scoped=scope.scoped)


@router.get("/Users", response_model=UserList)
async def list_users(
    principal: AdminPrincipal,
    scope: ScopeDep,
    db: DbDep,
    query: Annotated[QueryValues, Depends(USERS_QUERY)],
    settings: SettingsDep,
) -> UserList:
    """The service's users, oldest first."""
    page = query.paging()
    async with db.read() as q:
        service_sid = await _service(q, scope, principal.account_sid)
        result = await users.users(q, chat_service_sid=service_sid, page=page.request)
    return UserList(
        users=[UserPublic.of(r, settings.base_url, scoped=scope.scoped) for r in result.items],
        meta=page.meta(
            key="users", url=f"{conversations_root(settings.base_url, scope.sid)}/Users", has_more=result.has_more
        ),
    )


@router.get("/Users/{sid}", response_model=UserPublic)
async def fetch_user(
    sid: str, principal: AdminPrincipal, scope: ScopeDep, db: DbDep, settings: SettingsDep
) -> UserPublic:
    """One user, by SID or identity."""
    async with db.read() as q:
        service_sid = await _service(q, scope, principal.account_sid)
        row = await users.get_user(q, chat_service_sid=service_sid, sid_or_identity=sid)
    return UserPublic.of(row, settings.base_url, scoped=scope.scoped)


@router.post("/Users/{sid}", response_model=UserPublic)
async def update_user(
    sid: str,
    principal: AdminPrincipal,
    scope: ScopeDep,
    actor: ActorDep,
    db: DbDep,
    form: Annotated[UpdateUser, Form()],
    settings: SettingsDep,
) -> UserPublic:
    """Change a user's friendly name, attributes or (`service`) role (onUserUpdated with
    `X-Twilio-Webhook-Enabled: true`)."""
    async with db.unit() as uow:
        service_sid = await _service(uow, scope, principal.account_sid)
        user = await users.get_user(uow, chat_service_sid=service_sid, sid_or_identity=sid)
        row = await users.update_user(uow, user=user, changes=form.changes(), actor=actor)
    return UserPublic.of(row, settings.base_url, scoped=scope.scoped)


@router.delete("/Users/{sid}", status_code=204)
async def delete_user(sid: str, principal: AdminPrincipal, scope: ScopeDep, actor: ActorDep, db: DbDep) -> Response:
    """Delete a user (by SID or identity); its identity's participants stay in their conversations."""
    del actor
    async with db.unit() as uow:
        service_sid = await _service(uow, scope, principal.account_sid)
        user = await users.get_user(uow, chat_service_sid=service_sid, sid_or_identity=sid)
        await users.delete_user(uow, user=user)
    return Response(status_code=204)


# --- a user's conversations ----------------------------------------------------------------------------


@router.get("/Users/{user}/Conversations", response_model=UserConversationList)
async def list_user_conversations(
    user: str,
    principal: AdminPrincipal,
    scope: ScopeDep,
    db: DbDep,
    query: Annotated[QueryValues, Depends(USER_CONVERSATIONS_QUERY)],
    settings: SettingsDep,
) -> UserConversationList:
    """The conversations the user takes part in, with unread counts (null until a read horizon is set) and
    notification levels."""
    page = query.paging()
    async with db.read() as q:
        service_sid = await _service(q, scope, principal.account_sid)
        row = await users.get_user(q, chat_service_sid=service_sid, sid_or_identity=user)
        result = await users.user_conversations(q, user=row, page=page.request)
    return UserConversationList(
        conversations=[UserConversationPublic.of(v, settings.base_url, scoped=scope.scoped) for v in result.items],
        meta=page.meta(
            key="conversations",
            url=f"{conversations_root(settings.base_url, scope.sid)}/Users/{row.sid}/Conversations",
            has_more=result.has_more,
        ),
    )


@router.get("/Users/{user}/Conversations/{conversation}", response_model=UserConversationPublic)
async def fetch_user_conversation(
    user: str, conversation: str, principal: AdminPrincipal, scope: ScopeDep, db: DbDep, settings: SettingsDep
) -> UserConversationPublic:
    """One of the user's conversations (by SID or unique name)."""
    async with db.read() as q:
        service_sid = await _service(q, scope, principal.account_sid)
        row = await users.get_user(q, chat_service_sid=service_sid, sid_or_identity=user)
        view = await users.get_user_conversation(q, user=row, conversation_sid_or_name=conversation)
    return UserConversationPublic.of(view, settings.base_url, scoped=scope.scoped)


@router.post("/Users/{user}/Conversations/{conversation}", response_model=UserConversationPublic)
async def update_user_conversation(
    user: str,
    conversation: str,
    principal: AdminPrincipal,
    scope: ScopeDep,
    db: DbDep,
    form: Annotated[UpdateUserConversation, Form()],
    settings: SettingsDep,
) -> UserConversationPublic:
    """Set the notification level (`default`, `muted`) and/or the read horizon (`LastReadMessageIndex`,
    `LastReadTimestamp`, the participant's)."""
    async with db.unit() as uow:
        service_sid = await _service(uow, scope, principal.account_sid)
        row = await users.get_user(uow, chat_service_sid=service_sid, sid_or_identity=user)
        view = await users.update_user_conversation(
            uow, user=row, conversation_sid_or_name=conversation, changes=form.changes()
        )
    return UserConversationPublic.of(view, settings.base_url, scoped=scope.scoped)


@router.delete("/Users/{user}/Conversations/{conversation}", status_code=204)
async def delete_user_conversation(
    user: str, conversation: str, principal: AdminPrincipal, scope: ScopeDep, db: DbDep
) -> Response:
    """The user leaves the conversation (its participant is removed)."""
    async with db.unit() as uow:
        service_sid = await _service(uow, scope, principal.account_sid)
        row = await users.get_user(uow, chat_service_sid=service_sid, sid_or_identity=user)
        await users.leave_conversation(uow, user=row, conversation_sid_or_name=conversation, actor=_REST)
    return Response(status_code=204)


# --- participant conversations -------------------------------------------------------------------------


@router.get("/ParticipantConversations", response_model=ParticipantConversationList)
async def list_participant_conversations(
    principal: AdminPrincipal,
    scope: ScopeDep,
    db: DbDep,
    query: Annotated[QueryValues, Depends(PARTICIPANT_CONVERSATIONS_QUERY)],
    settings: SettingsDep,
) -> ParticipantConversationList:
    """The service's conversations a chat `Identity`, or a messaging `Address`, takes part in (exactly one)."""
    page = query.paging()
    async with db.read() as q:
        service_sid = await _service(q, scope, principal.account_sid)
        result = await users.participant_conversations(
            q,
            chat_service_sid=service_sid,
            identity=query.str("Identity"),
            address=query.str("Address"),
            page=page.request,
        )
    return ParticipantConversationList(
        conversations=[
            ParticipantConversationPublic.of(v, settings.base_url, scoped=scope.scoped) for v in result.items
        ],
        meta=page.meta(
            key="conversations",
            url=f"{conversations_root(settings.base_url, scope.sid)}/ParticipantConversations",
            has_more=result.has_more,
            filters=query.echo("Identity", "Address"),
        ),
    )


# --- roles ---------------------------------------------------------------------------------------------


@router.post("/Roles", status_code=201, response_model=RolePublic)
async def create_role(
    principal: AdminPrincipal, scope: ScopeDep, db: DbDep, form: Annotated[CreateRole, Form()], settings: SettingsDep
) -> RolePublic:
    """A new role: `Type` `service` (users') or `conversation` (participants'), with permissions of that type
    (any other is a 400)."""
    async with db.unit() as uow:
        row = await roles.create_role(
            uow,
            account_sid=principal.account_sid,
            chat_service_sid=await _service(uow, scope, principal.account_sid),
            friendly_name=form.friendly_name,
            type=form.type,
            permissions=form.permission,
        )
    return RolePublic.of(row, settings.base_url, scoped=scope.scoped)


@router.get("/Roles", response_model=RoleList)
async def list_roles(
    principal: AdminPrincipal,
    scope: ScopeDep,
    db: DbDep,
    query: Annotated[QueryValues, Depends(ROLES_QUERY)],
    settings: SettingsDep,
) -> RoleList:
    """The service's roles, oldest first (a new service's four defaults among them)."""
    page = query.paging()
    async with db.read() as q:
        service_sid = await _service(q, scope, principal.account_sid)
        result = await roles.roles(q, chat_service_sid=service_sid, page=page.request)
    return RoleList(
        roles=[RolePublic.of(r, settings.base_url, scoped=scope.scoped) for r in result.items],
        meta=page.meta(
            key="roles", url=f"{conversations_root(settings.base_url, scope.sid)}/Roles", has_more=result.has_more
        ),
    )


@router.get("/Roles/{sid}", response_model=RolePublic)
async def fetch_role(
    sid: str, principal: AdminPrincipal, scope: ScopeDep, db: DbDep, settings: SettingsDep
) -> RolePublic:
    async with db.read() as q:
        service_sid = await _service(q, scope, principal.account_sid)
        row = await roles.get_role(q, chat_service_sid=service_sid, sid=sid)
    return RolePublic.of(row, settings.base_url, scoped=scope.scoped)


@router.post("/Roles/{sid}", response_model=RolePublic)
async def update_role(
    sid: str,
    principal: AdminPrincipal,
    scope: ScopeDep,
    db: DbDep,
    form: Annotated[UpdateRole, Form()],
    settings: SettingsDep,
) -> RolePublic:
    """Replace the role's permissions with the `Permission` values given."""
    async with db.unit() as uow:
        service_sid = await _service(uow, scope, principal.account_sid)
        role = await roles.get_role(uow, chat_service_sid=service_sid, sid=sid)
        row = await roles.update_role(uow, role=role, permissions=form.permission)
    return RolePublic.of(row, settings.base_url, scoped=scope.scoped)


@router.delete("/Roles/{sid}", status_code=204)
async def delete_role(sid: str, principal: AdminPrincipal, scope: ScopeDep, db: DbDep) -> Response:
    """Delete a role no user or participant holds and the service's Configuration does not name (else 409)."""
    async with db.unit() as uow:
        service_sid = await _service(uow, scope, principal.account_sid)
        await roles.delete_role(uow, chat_service_sid=service_sid, sid=sid)
    return Response(status_code=204)


# --- push credentials (account level) ------------------------------------------------------------------


@account_router.post("/Credentials", status_code=201, response_model=CredentialPublic)
async def create_credential(
    principal: AdminPrincipal, db: DbDep, form: Annotated[CreateCredential, Form()], settings: SettingsDep
) -> CredentialPublic:
    """A push credential (`apn`, `gcm`, `fcm`). Its certificate, keys and secret are stored, never returned;
    Parley sends no push notifications."""
    async with db.unit() as uow:
        row = await users.create_credential(
            uow, account_sid=principal.account_sid, type=form.type, fields=form.fields()
        )
    return CredentialPublic.of(row, settings.base_url)


@account_router.get("/Credentials", response_model=CredentialList)
async def list_credentials(
    principal: AdminPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(CREDENTIALS_QUERY)],
    settings: SettingsDep,
) -> CredentialList:
    page = query.paging()
    async with db.read() as q:
        result = await users.credentials(q, account_sid=principal.account_sid, page=page.request)
    return CredentialList(
        credentials=[CredentialPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="credentials", url=f"{settings.base_url}/conversations/v1/Credentials", has_more=result.has_more
        ),
    )


@account_router.get("/Credentials/{sid}", response_model=CredentialPublic)
async def fetch_credential(sid: str, principal: AdminPrincipal, db: DbDep, settings: SettingsDep) -> CredentialPublic:
    async with db.read() as q:
        row = await users.get_credential(q, account_sid=principal.account_sid, sid=sid)
    return CredentialPublic.of(row, settings.base_url)


@account_router.post("/Credentials/{sid}", response_model=CredentialPublic)
async def update_credential(
    sid: str,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[UpdateCredential, Form()],
    settings: SettingsDep,
) -> CredentialPublic:
    """Change what was sent; what was not stays (secrets included)."""
    async with db.unit() as uow:
        credential = await users.get_credential(uow, account_sid=principal.account_sid, sid=sid)
        row = await users.update_credential(uow, credential=credential, type=form.type, fields=form.fields())
    return CredentialPublic.of(row, settings.base_url)


@account_router.delete("/Credentials/{sid}", status_code=204)
async def delete_credential(sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    async with db.unit() as uow:
        await users.delete_credential(uow, account_sid=principal.account_sid, sid=sid)
    return Response(status_code=204)
