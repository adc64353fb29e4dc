"""/conversations/v1: conversations, participants, messages and address configurations (default service)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request, Response

from api.access import conversation_access
from api.deps import AdminPrincipal, CurrentPrincipal, DbDep, FormDep, SettingsDep
from api.messaging import post_message
from api.paging import echo, paging
from api.schemas.conversations import (
    AddressList,
    AddressPublic,
    ConversationList,
    ConversationPublic,
    MessageList,
    MessagePublic,
    ParticipantList,
    ParticipantPublic,
)
from api.wire import Params
from domain.errors import InvalidParameter, NotFound
from domain.limits import (
    ADDRESSES_MAX_PAGE_SIZE,
    CONVERSATION_ATTRIBUTES_LIMIT,
    CONVERSATIONS_MAX_PAGE_SIZE,
    CONVERSATIONS_NAME_LIMIT,
    MESSAGE_ATTRIBUTES_LIMIT,
    PARTICIPANT_ATTRIBUTES_LIMIT,
)
from domain.states import ConversationState
from storage.conversations import queries
from storage.conversations import service as conversations
from storage.conversations.service import ConversationChanges

router = APIRouter(prefix="/conversations/v1", tags=["Conversations"])


class AddressType(StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"
    GBM = "gbm"
    EMAIL = "email"
    RCS = "rcs"
    APPLE = "apple"
    CHAT = "chat"


@router.post("/Conversations", status_code=201, response_model=ConversationPublic)
async def create_conversation(
    principal: AdminPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> ConversationPublic:
    state = form.enum("State", ConversationState) or ConversationState.ACTIVE
    async with db.unit() as uow:
        row = await conversations.create_conversation(
            uow,
            account_sid=principal.account_sid,
            chat_service_sid=await conversations.default_service_sid(uow, principal.account_sid),
            friendly_name=form.str("FriendlyName", max_length=CONVERSATIONS_NAME_LIMIT),
            unique_name=form.str("UniqueName", max_length=CONVERSATIONS_NAME_LIMIT),
            attributes=form.json_object("Attributes", max_length=CONVERSATION_ATTRIBUTES_LIMIT) or "{}",
            state=state,
            messaging_service_sid=form.str("MessagingServiceSid"),
        )
    return ConversationPublic.of(row, settings.base_url)


@router.get("/Conversations", response_model=ConversationList)
async def list_conversations(
    request: Request, principal: AdminPrincipal, db: DbDep, settings: SettingsDep
) -> ConversationList:
    page = paging(request.query_params, max_size=CONVERSATIONS_MAX_PAGE_SIZE)
    state = Params(request.query_params).enum("State", ConversationState)
    async with db.read() as q:
        result = await queries.conversations(q, account_sid=principal.account_sid, state=state, page=page.request)
    return ConversationList(
        conversations=[ConversationPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="conversations",
            url=f"{settings.base_url}/conversations/v1/Conversations",
            has_more=result.has_more,
            filters=[("State", state.value if state else None)],
        ),
    )


@router.get("/Conversations/{sid}", response_model=ConversationPublic)
async def fetch_conversation(
    sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> ConversationPublic:
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid)
    return ConversationPublic.of(conversation, settings.base_url)


@router.post("/Conversations/{sid}", response_model=ConversationPublic)
async def update_conversation(
    sid: str, principal: AdminPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> ConversationPublic:
    changes = ConversationChanges(
        friendly_name=form.str("FriendlyName", max_length=CONVERSATIONS_NAME_LIMIT),
        attributes=form.json_object("Attributes", max_length=CONVERSATION_ATTRIBUTES_LIMIT),
        state=form.enum("State", ConversationState),
        unique_name=form.str("UniqueName", max_length=CONVERSATIONS_NAME_LIMIT),
    )
    async with db.unit() as uow:
        conversation, _ = await conversation_access(uow, principal, sid, write=True)
        row = await conversations.update_conversation(uow, conversation=conversation, changes=changes)
    return ConversationPublic.of(row, settings.base_url)


# --- participants ------------------------------------------------------------------------------------


@router.get("/Conversations/{sid}/Participants", response_model=ParticipantList)
async def list_participants(
    sid: str, request: Request, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> ParticipantList:
    page = paging(request.query_params, max_size=CONVERSATIONS_MAX_PAGE_SIZE)
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid)
        result = await queries.participants(q, conversation_sid=conversation.sid, page=page.request)
    return ParticipantList(
        participants=[ParticipantPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="participants",
            url=f"{settings.base_url}/conversations/v1/Conversations/{conversation.sid}/Participants",
            has_more=result.has_more,
        ),
    )


@router.post("/Conversations/{sid}/Participants", status_code=201, response_model=ParticipantPublic)
async def create_participant(
    sid: str, principal: AdminPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> ParticipantPublic:
    identity = form.str("Identity", max_length=CONVERSATIONS_NAME_LIMIT)
    address = form.str("MessagingBinding.Address", max_length=CONVERSATIONS_NAME_LIMIT)
    proxy = form.str("MessagingBinding.ProxyAddress", max_length=CONVERSATIONS_NAME_LIMIT)
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
            conversation_sid=conversation.sid,
            identity=identity,
            attributes=form.json_object("Attributes", max_length=PARTICIPANT_ATTRIBUTES_LIMIT) or "{}",
            messaging_binding=binding,
            role_sid=form.str("RoleSid"),
        )
    return ParticipantPublic.of(row, settings.base_url)


@router.get("/Conversations/{sid}/Participants/{participant}", response_model=ParticipantPublic)
async def fetch_participant(
    sid: str, participant: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> ParticipantPublic:
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid)
        row = await conversations.get_participant(q, conversation_sid=conversation.sid, sid_or_identity=participant)
    return ParticipantPublic.of(row, settings.base_url)


@router.delete("/Conversations/{sid}/Participants/{participant}", status_code=204)
async def delete_participant(sid: str, participant: str, principal: AdminPrincipal, db: DbDep) -> Response:
    async with db.unit() as uow:
        conversation, _ = await conversation_access(uow, principal, sid, write=True)
        if not await conversations.remove_participant(
            uow, conversation_sid=conversation.sid, participant_sid=participant
        ):
            raise NotFound(f"The requested resource /Conversations/{sid}/Participants/{participant} was not found")
    return Response(status_code=204)


# --- messages ----------------------------------------------------------------------------------------


@router.post("/Conversations/{sid}/Messages", status_code=201, response_model=MessagePublic)
async def create_message(
    sid: str, request: Request, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> MessagePublic:
    message = await post_message(
        db,
        principal,
        sid,
        body=form.str("Body"),
        attributes=form.json_object("Attributes", max_length=MESSAGE_ATTRIBUTES_LIMIT),
        author=form.str("Author", max_length=CONVERSATIONS_NAME_LIMIT),
        idempotency_key=request.headers.get("i-twilio-idempotency-token") or request.headers.get("idempotency-key"),
    )
    return MessagePublic.of(message, settings.base_url)


@router.get("/Conversations/{sid}/Messages", response_model=MessageList)
async def list_messages(
    sid: str, request: Request, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> MessageList:
    page = paging(request.query_params, max_size=CONVERSATIONS_MAX_PAGE_SIZE)
    order = Params(request.query_params).enum("Order", queries.MessageOrder) or queries.MessageOrder.ASC
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid)
        result = await queries.messages(q, conversation_sid=conversation.sid, order=order, page=page.request)
    return MessageList(
        messages=[MessagePublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="messages",
            url=f"{settings.base_url}/conversations/v1/Conversations/{conversation.sid}/Messages",
            has_more=result.has_more,
            filters=[("Order", order.value)],
        ),
    )


@router.get("/Conversations/{sid}/Messages/{message_sid}", response_model=MessagePublic)
async def fetch_message(
    sid: str, message_sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> MessagePublic:
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid)
        row = await queries.get_message(q, conversation_sid=conversation.sid, message_sid=message_sid)
    if row is None:
        raise NotFound(f"The requested resource /Conversations/{sid}/Messages/{message_sid} was not found")
    return MessagePublic.of(row, settings.base_url)


# --- address configurations --------------------------------------------------------------------------


@router.post("/Configuration/Addresses", status_code=201, response_model=AddressPublic)
async def create_address(principal: AdminPrincipal, db: DbDep, form: FormDep, settings: SettingsDep) -> AddressPublic:
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
        auto_creation["routing"] = routing
    async with db.unit() as uow:
        row = await conversations.create_address(
            uow,
            account_sid=principal.account_sid,
            type=address_type.value,
            address=form.required_str("Address", max_length=CONVERSATIONS_NAME_LIMIT),
            friendly_name=form.str("FriendlyName", max_length=CONVERSATIONS_NAME_LIMIT),
            auto_creation=auto_creation,
            address_country=form.str("AddressCountry", max_length=2),
        )
    return AddressPublic.of(row, settings.base_url)


@router.get("/Configuration/Addresses", response_model=AddressList)
async def list_addresses(request: Request, principal: AdminPrincipal, db: DbDep, settings: SettingsDep) -> AddressList:
    page = paging(request.query_params, max_size=ADDRESSES_MAX_PAGE_SIZE)
    address_type = Params(request.query_params).enum("Type", AddressType)
    async with db.read() as q:
        result = await queries.addresses(
            q, account_sid=principal.account_sid, type=address_type.value if address_type else None, page=page.request
        )
    return AddressList(
        address_configurations=[AddressPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="address_configurations",
            url=f"{settings.base_url}/conversations/v1/Configuration/Addresses",
            has_more=result.has_more,
            filters=echo(request.query_params, "Type"),
        ),
    )


@router.get("/Configuration/Addresses/{sid}", response_model=AddressPublic)
async def fetch_address(sid: str, principal: AdminPrincipal, db: DbDep, settings: SettingsDep) -> AddressPublic:
    async with db.read() as q:
        row = await conversations.get_address(q, account_sid=principal.account_sid, sid_or_address=sid)
    return AddressPublic.of(row, settings.base_url)
