"""/messaging/v1/Services (Twilio's Messaging v1): Messaging Services, the sender pools Conversations send
from (`MessagingServiceSid` on a conversation), with their PhoneNumbers (`PN…`) and ChannelSenders (`XE…`,
WhatsApp and Messenger). Senders come from the account's provider connections (/parley/v1/ChannelProviders).
AlphaSenders, ShortCodes, A2P 10DLC, Tollfree verification and link shortening are carrier registrations
Parley has no use for: they are not served (404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response

from api.deps import AdminPrincipal, DbDep, SettingsDep
from api.forms.channels import (
    AddChannelSender,
    AddPhoneNumber,
    CreateMessagingService,
    UpdateMessagingService,
)
from api.query import QueryParameters, QueryValues
from api.schemas.channels import (
    MESSAGING,
    ChannelSenderOfServiceList,
    ChannelSenderOfServicePublic,
    MessagingServiceList,
    MessagingServicePublic,
    PhoneNumberList,
    PhoneNumberPublic,
)
from domain.limits import TASKROUTER_MAX_PAGE_SIZE
from storage.channels import connections
from storage.messaging import pools

router = APIRouter(prefix=MESSAGING, tags=["Messaging: services"])
PAGED = QueryParameters(page_size=TASKROUTER_MAX_PAGE_SIZE)


@router.post("", status_code=201, response_model=MessagingServicePublic)
async def create_service(
    principal: AdminPrincipal, db: DbDep, form: Annotated[CreateMessagingService, Form()], settings: SettingsDep
) -> MessagingServicePublic:
    async with db.unit() as uow:
        row = await pools.create_service(uow, account_sid=principal.account_sid, values=form.values())
    return MessagingServicePublic.of(row, settings.base_url)


@router.get("", response_model=MessagingServiceList)
async def list_services(
    principal: AdminPrincipal, db: DbDep, query: Annotated[QueryValues, Depends(PAGED)], settings: SettingsDep
) -> MessagingServiceList:
    page = query.paging()
    async with db.read() as q:
        result = await pools.list_services(q, account_sid=principal.account_sid, page=page.request)
    return MessagingServiceList(
        services=[MessagingServicePublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(key="services", url=f"{settings.base_url}{MESSAGING}", has_more=result.has_more),
    )


@router.get("/{sid}", response_model=MessagingServicePublic)
async def fetch_service(
    sid: str, principal: AdminPrincipal, db: DbDep, settings: SettingsDep
) -> MessagingServicePublic:
    async with db.read() as q:
        row = await pools.get_service(q, account_sid=principal.account_sid, sid=sid)
    return MessagingServicePublic.of(row, settings.base_url)


@router.post("/{sid}", response_model=MessagingServicePublic)
async def update_service(
    sid: str,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[UpdateMessagingService, Form()],
    settings: SettingsDep,
) -> MessagingServicePublic:
    async with db.unit() as uow:
        row = await pools.get_service(uow, account_sid=principal.account_sid, sid=sid)
        row = await pools.update_service(uow, service=row, values=form.values())
    return MessagingServicePublic.of(row, settings.base_url)


@router.delete("/{sid}", status_code=204)
async def delete_service(sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    async with db.unit() as uow:
        row = await pools.get_service(uow, account_sid=principal.account_sid, sid=sid)
        await pools.delete_service(uow, service=row)
    return Response(status_code=204)


# --- the pool: PhoneNumbers (PN…) and ChannelSenders (XE…) -----------------------------------------------


@router.post("/{sid}/PhoneNumbers", status_code=201, response_model=PhoneNumberPublic)
async def add_phone_number(
    sid: str, principal: AdminPrincipal, db: DbDep, form: Annotated[AddPhoneNumber, Form()], settings: SettingsDep
) -> PhoneNumberPublic:
    """Put one of the account's SMS numbers in the pool (a number is in one service at most: 21710)."""
    async with db.unit() as uow:
        service = await pools.get_service(uow, account_sid=principal.account_sid, sid=sid)
        sender = await connections.get_sender(uow, account_sid=principal.account_sid, sid=form.phone_number_sid)
        await pools.add_sender(uow, service=service, sender=sender)
    return PhoneNumberPublic.of(sender, sid, settings.base_url)


@router.get("/{sid}/PhoneNumbers", response_model=PhoneNumberList)
async def list_phone_numbers(
    sid: str, principal: AdminPrincipal, db: DbDep, query: Annotated[QueryValues, Depends(PAGED)], settings: SettingsDep
) -> PhoneNumberList:
    page = query.paging()
    async with db.read() as q:
        service = await pools.get_service(q, account_sid=principal.account_sid, sid=sid)
        result = await pools.list_pool(q, service=service, phone_numbers=True, page=page.request)
    return PhoneNumberList(
        phone_numbers=[PhoneNumberPublic.of(r, sid, settings.base_url) for r in result.items],
        meta=page.meta(
            key="phone_numbers", url=f"{settings.base_url}{MESSAGING}/{sid}/PhoneNumbers", has_more=result.has_more
        ),
    )


@router.get("/{sid}/PhoneNumbers/{number_sid}", response_model=PhoneNumberPublic)
async def fetch_phone_number(
    sid: str, number_sid: str, principal: AdminPrincipal, db: DbDep, settings: SettingsDep
) -> PhoneNumberPublic:
    async with db.read() as q:
        service = await pools.get_service(q, account_sid=principal.account_sid, sid=sid)
        sender = await pools.pool_sender(q, service=service, sid=number_sid)
    return PhoneNumberPublic.of(sender, sid, settings.base_url)


@router.delete("/{sid}/PhoneNumbers/{number_sid}", status_code=204)
async def remove_phone_number(sid: str, number_sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    async with db.unit() as uow:
        service = await pools.get_service(uow, account_sid=principal.account_sid, sid=sid)
        sender = await pools.pool_sender(uow, service=service, sid=number_sid)
        await pools.remove_sender(uow, service=service, sender=sender)
    return Response(status_code=204)


@router.post("/{sid}/ChannelSenders", status_code=201, response_model=ChannelSenderOfServicePublic)
async def add_channel_sender(
    sid: str, principal: AdminPrincipal, db: DbDep, form: Annotated[AddChannelSender, Form()], settings: SettingsDep
) -> ChannelSenderOfServicePublic:
    """Put one of the account's WhatsApp or Messenger senders in the pool."""
    async with db.unit() as uow:
        service = await pools.get_service(uow, account_sid=principal.account_sid, sid=sid)
        sender = await connections.get_sender(uow, account_sid=principal.account_sid, sid=form.sid)
        await pools.add_sender(uow, service=service, sender=sender)
    return ChannelSenderOfServicePublic.of(sender, sid, settings.base_url)


@router.get("/{sid}/ChannelSenders", response_model=ChannelSenderOfServiceList)
async def list_channel_senders(
    sid: str, principal: AdminPrincipal, db: DbDep, query: Annotated[QueryValues, Depends(PAGED)], settings: SettingsDep
) -> ChannelSenderOfServiceList:
    page = query.paging()
    async with db.read() as q:
        service = await pools.get_service(q, account_sid=principal.account_sid, sid=sid)
        result = await pools.list_pool(q, service=service, phone_numbers=False, page=page.request)
    return ChannelSenderOfServiceList(
        senders=[ChannelSenderOfServicePublic.of(r, sid, settings.base_url) for r in result.items],
        meta=page.meta(
            key="senders", url=f"{settings.base_url}{MESSAGING}/{sid}/ChannelSenders", has_more=result.has_more
        ),
    )


@router.get("/{sid}/ChannelSenders/{sender_sid}", response_model=ChannelSenderOfServicePublic)
async def fetch_channel_sender(
    sid: str, sender_sid: str, principal: AdminPrincipal, db: DbDep, settings: SettingsDep
) -> ChannelSenderOfServicePublic:
    async with db.read() as q:
        service = await pools.get_service(q, account_sid=principal.account_sid, sid=sid)
        sender = await pools.pool_sender(q, service=service, sid=sender_sid)
    return ChannelSenderOfServicePublic.of(sender, sid, settings.base_url)


@router.delete("/{sid}/ChannelSenders/{sender_sid}", status_code=204)
async def remove_channel_sender(sid: str, sender_sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    async with db.unit() as uow:
        service = await pools.get_service(uow, account_sid=principal.account_sid, sid=sid)
        sender = await pools.pool_sender(uow, service=service, sid=sender_sid)
        await pools.remove_sender(uow, service=service, sender=sender)
    return Response(status_code=204)
