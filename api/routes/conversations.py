"""/conversations/v1: conversations, participants, messages and address configurations (default service)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request, Response
from psycopg.types.json import Jsonb

from api.access import conversation_access
from api.auth import Principal
from api.deps import CurrentPrincipal, DbDep, FormDep, SettingsDep
from api.serializers.conversations import address_json, conversation_json, message_json, participant_json
from api.wire import Page, Params
from domain.errors import InvalidParameter, NotFound, PermissionDenied
from domain.sids import SidPrefix, new_sid
from storage import conversations
from storage.db import Database

router = APIRouter(prefix="/conversations/v1", tags=["Conversations"])

BODY_LIMIT = 32 * 1024
MESSAGE_ATTRIBUTES_LIMIT = 4 * 1024
CONVERSATION_ATTRIBUTES_LIMIT = 16 * 1024


class ConversationState(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    CLOSED = "closed"


class AddressType(StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"
    GBM = "gbm"
    EMAIL = "email"
    RCS = "rcs"
    APPLE = "apple"
    CHAT = "chat"


async def _default_service(db: Database, account_sid: str) -> str:
    async with db.read() as q:
        row = await q.fetchone("SELECT default_chat_service_sid FROM accounts WHERE sid = %s", (account_sid,))
    if row is None or row["default_chat_service_sid"] is None:
        raise NotFound("The account has no default Conversation Service")
    return str(row["default_chat_service_sid"])


@router.post("/Conversations", status_code=201)
async def create_conversation(principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep) -> Any:
    principal.require_admin()
    state = form.enum("State", ConversationState) or ConversationState.ACTIVE
    service_sid = await _default_service(db, principal.account_sid)
    async with db.unit() as uow:
        row = await conversations.create_conversation(
            uow,
            account_sid=principal.account_sid,
            chat_service_sid=service_sid,
            friendly_name=form.str("FriendlyName", max_length=256),
            unique_name=form.str("UniqueName", max_length=256),
            attributes=form.json_object("Attributes", max_length=CONVERSATION_ATTRIBUTES_LIMIT) or "{}",
            state=state.value,
            messaging_service_sid=form.str("MessagingServiceSid"),
        )
    return conversation_json(row, settings.base_url)


@router.get("/Conversations")
async def list_conversations(request: Request, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep) -> Any:
    principal.require_admin()
    page = Page(request.query_params, max_size=100)
    state = Params(request.query_params).enum("State", ConversationState)
    async with db.read() as q:
        rows, more = await page.fetch(
            q,
            "SELECT * FROM conversations WHERE account_sid = %s AND (%s::text IS NULL OR state = %s) "
            "ORDER BY date_created, sid",
            (principal.account_sid, state, state),
        )
    return page.envelope(
        key="conversations",
        url=f"{settings.base_url}/conversations/v1/Conversations",
        items=[conversation_json(r, settings.base_url) for r in rows],
        has_more=more,
        filters=[("State", state.value)] if state else [],
    )


@router.get("/Conversations/{sid}")
async def fetch_conversation(sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep) -> Any:
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid)
    return conversation_json(conversation, settings.base_url)


@router.post("/Conversations/{sid}")
async def update_conversation(
    sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    state = form.enum("State", ConversationState)
    async with db.unit() as uow:
        conversation, _ = await conversation_access(uow, principal, sid, write=True)
        if conversation["state"] == "closed" and state is not None and state is not ConversationState.CLOSED:
            raise InvalidParameter("A closed conversation cannot be re-opened", code=50404)
        row = await uow.fetchone(
            "UPDATE conversations SET friendly_name = COALESCE(%s, friendly_name), "
            "attributes = COALESCE(%s, attributes), state = COALESCE(%s, state), "
            "unique_name = COALESCE(%s, unique_name), date_updated = now() WHERE sid = %s RETURNING *",
            (
                form.str("FriendlyName", max_length=256),
                form.json_object("Attributes", max_length=CONVERSATION_ATTRIBUTES_LIMIT),
                state.value if state else None,
                form.str("UniqueName", max_length=256),
                conversation["sid"],
            ),
        )
        assert row is not None
        if state is not None and state.value != conversation["state"]:
            await uow.publish(
                account_sid=row["account_sid"],
                stream_table="conversations",
                stream=row["sid"],
                type="conversation.state_updated",
                data={"state_from": conversation["state"], "state_to": state.value, "reason": "API"},
            )
    return conversation_json(row, settings.base_url)


# --- participants ------------------------------------------------------------------------------------


@router.get("/Conversations/{sid}/Participants")
async def list_participants(
    sid: str, request: Request, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    page = Page(request.query_params, max_size=100)
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid)
        rows, more = await page.fetch(
            q,
            "SELECT * FROM participants WHERE conversation_sid = %s ORDER BY date_created, sid",
            (conversation["sid"],),
        )
    return page.envelope(
        key="participants",
        url=f"{settings.base_url}/conversations/v1/Conversations/{conversation['sid']}/Participants",
        items=[participant_json(r, settings.base_url) for r in rows],
        has_more=more,
    )


@router.post("/Conversations/{sid}/Participants", status_code=201)
async def create_participant(
    sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    identity = form.str("Identity", max_length=256)
    address = form.str("MessagingBinding.Address", max_length=256)
    proxy = form.str("MessagingBinding.ProxyAddress", max_length=256)
    if identity is None and address is None:
        raise InvalidParameter("Either Identity or MessagingBinding.Address must be given", code=50402)
    if identity is not None and address is not None:
        raise InvalidParameter("Identity and MessagingBinding.Address are mutually exclusive", code=50402)
    if address is not None and proxy is None:
        raise InvalidParameter("MessagingBinding.ProxyAddress is required with MessagingBinding.Address")
    binding = None
    if address is not None:
        binding = {
            "type": "whatsapp" if address.startswith("whatsapp:") else "sms",
            "address": address,
            "proxy_address": proxy,
        }
    async with db.unit() as uow:
        conversation, _ = await conversation_access(uow, principal, sid, write=True)
        row = await conversations.add_participant(
            uow,
            conversation_sid=conversation["sid"],
            identity=identity,
            attributes=form.json_object("Attributes", max_length=MESSAGE_ATTRIBUTES_LIMIT) or "{}",
            messaging_binding=binding,
            role_sid=form.str("RoleSid"),
        )
    return participant_json(row, settings.base_url)


@router.get("/Conversations/{sid}/Participants/{participant}")
async def fetch_participant(
    sid: str, participant: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid)
        row = await q.fetchone(
            "SELECT * FROM participants WHERE conversation_sid = %s AND (sid = %s OR identity = %s)",
            (conversation["sid"], participant, participant),
        )
    if row is None:
        raise NotFound(f"The requested resource /Conversations/{sid}/Participants/{participant} was not found")
    return participant_json(row, settings.base_url)


@router.delete("/Conversations/{sid}/Participants/{participant}", status_code=204)
async def delete_participant(sid: str, participant: str, principal: CurrentPrincipal, db: DbDep) -> Response:
    principal.require_admin()
    async with db.unit() as uow:
        conversation, _ = await conversation_access(uow, principal, sid, write=True)
        if not await conversations.remove_participant(
            uow, conversation_sid=conversation["sid"], participant_sid=participant
        ):
            raise NotFound(f"The requested resource /Conversations/{sid}/Participants/{participant} was not found")
    return Response(status_code=204)


# --- messages ----------------------------------------------------------------------------------------


async def send_message(
    db: Database,
    principal: Principal,
    conversation_sid: str,
    *,
    body: str | None,
    attributes: str | None,
    author: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Shared by REST and the WebSocket: token holders write as themselves, admins as any author."""
    if body is not None and len(body) > BODY_LIMIT:
        raise InvalidParameter(f"Body must be at most {BODY_LIMIT} characters", code=50008)
    if not body:
        raise InvalidParameter("A message needs a Body", code=50006)
    if attributes is not None and len(attributes) > MESSAGE_ATTRIBUTES_LIMIT:
        raise InvalidParameter(f"Attributes must be at most {MESSAGE_ATTRIBUTES_LIMIT} characters")
    async with db.unit() as uow:
        conversation, participant = await conversation_access(uow, principal, conversation_sid, write=True)
        if participant is None and not principal.is_admin:
            raise PermissionDenied("Only participants may write to this conversation")
        if participant is not None and not principal.is_admin:
            author = participant["identity"]
        elif author is not None and participant is None:
            participant = await uow.fetchone(
                "SELECT * FROM participants WHERE conversation_sid = %s AND identity = %s",
                (conversation["sid"], author),
            )
        return await conversations.create_message(
            uow,
            conversation_sid=conversation["sid"],
            author=author or "system",
            body=body,
            attributes=attributes or "{}",
            participant_sid=participant["sid"] if participant else None,
            idempotency_key=idempotency_key,
        )


@router.post("/Conversations/{sid}/Messages", status_code=201)
async def create_message(
    sid: str, request: Request, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    message = await send_message(
        db,
        principal,
        sid,
        body=form.str("Body"),
        attributes=form.json_object("Attributes", max_length=MESSAGE_ATTRIBUTES_LIMIT),
        author=form.str("Author", max_length=256),
        idempotency_key=request.headers.get("i-twilio-idempotency-token") or request.headers.get("idempotency-key"),
    )
    return message_json(message, settings.base_url)


class Order(StrEnum):
    ASC = "asc"
    DESC = "desc"


@router.get("/Conversations/{sid}/Messages")
async def list_messages(
    sid: str, request: Request, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    page = Page(request.query_params, max_size=100)
    order = Params(request.query_params).enum("Order", Order) or Order.ASC
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid)
        rows, more = await page.fetch(
            q,
            f"SELECT * FROM messages WHERE conversation_sid = %s ORDER BY index {order.value.upper()}",
            (conversation["sid"],),
        )
    return page.envelope(
        key="messages",
        url=f"{settings.base_url}/conversations/v1/Conversations/{conversation['sid']}/Messages",
        items=[message_json(r, settings.base_url) for r in rows],
        has_more=more,
        filters=[("Order", order.value)],
    )


@router.get("/Conversations/{sid}/Messages/{message_sid}")
async def fetch_message(
    sid: str, message_sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid)
        row = await q.fetchone(
            "SELECT * FROM messages WHERE conversation_sid = %s AND sid = %s",
            (conversation["sid"], message_sid),
        )
    if row is None:
        raise NotFound(f"The requested resource /Conversations/{sid}/Messages/{message_sid} was not found")
    return message_json(row, settings.base_url)


# --- address configurations --------------------------------------------------------------------------


@router.post("/Configuration/Addresses", status_code=201)
async def create_address(principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep) -> Any:
    principal.require_admin()
    address_type = form.enum("Type", AddressType)
    if address_type is None:
        raise InvalidParameter("Missing required parameter Type in the post body")
    auto_creation: dict[str, Any] = {"enabled": bool(form.bool("AutoCreation.Enabled"))}
    if form.has("AutoCreation.Type"):
        auto_creation["type"] = (form.str("AutoCreation.Type") or "default").lower()
    # Parley extension: Flex routing for auto-created conversations (the job Studio's "Send to Flex" does).
    routing = form.json_value("AutoCreation.Routing")
    if routing is not None:
        if not isinstance(routing, dict) or not isinstance(routing.get("properties"), dict):
            raise InvalidParameter("AutoCreation.Routing must be a JSON object with a 'properties' object")
        if not routing["properties"].get("workspace_sid"):
            raise InvalidParameter("AutoCreation.Routing.properties.workspace_sid is required")
        auto_creation["routing"] = routing
    async with db.unit() as uow:
        duplicate = await uow.fetchone(
            "SELECT 1 FROM address_configurations WHERE account_sid = %s AND type = %s AND address = %s",
            (principal.account_sid, address_type.value, form.required_str("Address", max_length=256)),
        )
        if duplicate is not None:
            raise InvalidParameter("An address configuration for this address already exists", code=50353)
        row = await uow.fetchone(
            "INSERT INTO address_configurations (sid, account_sid, type, address, friendly_name, auto_creation, "
            "address_country) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
            (
                new_sid(SidPrefix.ADDRESS_CONFIGURATION),
                principal.account_sid,
                address_type.value,
                form.required_str("Address"),
                form.str("FriendlyName", max_length=256),
                Jsonb(auto_creation),
                form.str("AddressCountry", max_length=2),
            ),
        )
    return address_json(row or {}, settings.base_url)


@router.get("/Configuration/Addresses")
async def list_addresses(request: Request, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep) -> Any:
    principal.require_admin()
    page = Page(request.query_params, max_size=50)
    address_type = Params(request.query_params).enum("Type", AddressType)
    async with db.read() as q:
        rows, more = await page.fetch(
            q,
            "SELECT * FROM address_configurations WHERE account_sid = %s AND (%s::text IS NULL OR type = %s) "
            "ORDER BY date_created, sid",
            (principal.account_sid, address_type, address_type),
        )
    return page.envelope(
        key="address_configurations",
        url=f"{settings.base_url}/conversations/v1/Configuration/Addresses",
        items=[address_json(r, settings.base_url) for r in rows],
        has_more=more,
    )


@router.get("/Configuration/Addresses/{sid}")
async def fetch_address(sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep) -> Any:
    principal.require_admin()
    async with db.read() as q:
        row = await q.fetchone(
            "SELECT * FROM address_configurations WHERE account_sid = %s AND (sid = %s OR address = %s)",
            (principal.account_sid, sid, sid),
        )
    if row is None:
        raise NotFound(f"The requested resource /Configuration/Addresses/{sid} was not found")
    return address_json(row, settings.base_url)
