"""/parley/v1/ChannelProviders (Parley's extension): an account's connections to messaging providers and the
business addresses (senders) each carries. The provider calls the connection's `webhook_url`
(api/routes/channels.py); credentials are sealed at rest and never answered."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response

from api.deps import AdminPrincipal, DbDep, SettingsDep
from api.forms.channels import CreateChannelProvider, CreateChannelSender, UpdateChannelProvider
from api.query import QueryParameters, QueryValues
from api.schemas.channels import (
    ChannelProviderList,
    ChannelProviderPublic,
    ChannelSenderList,
    ChannelSenderPublic,
    provider_url,
)
from domain.limits import TASKROUTER_MAX_PAGE_SIZE
from storage.channels import connections
from storage.channels.connections import ProviderFields

router = APIRouter(prefix="/parley/v1/ChannelProviders", tags=["Parley: channel providers"])
PAGED = QueryParameters(page_size=TASKROUTER_MAX_PAGE_SIZE)


@router.post("", status_code=201, response_model=ChannelProviderPublic)
async def create_channel_provider(
    principal: AdminPrincipal, db: DbDep, form: Annotated[CreateChannelProvider, Form()], settings: SettingsDep
) -> ChannelProviderPublic:
    """Connect a provider: `Kind` names the adapter, `Credentials` is checked against what it needs."""
    async with db.unit() as uow:
        row = await connections.create_provider(
            uow,
            account_sid=principal.account_sid,
            fields=ProviderFields(
                kind=form.kind,
                friendly_name=form.friendly_name,
                api_base_url=form.api_base_url,
                credentials=form.credentials,
            ),
        )
    return ChannelProviderPublic.of(row, settings.base_url)


@router.get("", response_model=ChannelProviderList)
async def list_channel_providers(
    principal: AdminPrincipal, db: DbDep, query: Annotated[QueryValues, Depends(PAGED)], settings: SettingsDep
) -> ChannelProviderList:
    page = query.paging()
    async with db.read() as q:
        result = await connections.list_providers(q, account_sid=principal.account_sid, page=page.request)
    return ChannelProviderList(
        channel_providers=[ChannelProviderPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="channel_providers", url=f"{settings.base_url}/parley/v1/ChannelProviders", has_more=result.has_more
        ),
    )


@router.get("/{sid}", response_model=ChannelProviderPublic)
async def fetch_channel_provider(
    sid: str, principal: AdminPrincipal, db: DbDep, settings: SettingsDep
) -> ChannelProviderPublic:
    async with db.read() as q:
        row = await connections.get_provider(q, account_sid=principal.account_sid, sid=sid)
    return ChannelProviderPublic.of(row, settings.base_url)


@router.post("/{sid}", response_model=ChannelProviderPublic)
async def update_channel_provider(
    sid: str,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[UpdateChannelProvider, Form()],
    settings: SettingsDep,
) -> ChannelProviderPublic:
    """Rotate the credentials, move the API base URL or rename the connection."""
    async with db.unit() as uow:
        row = await connections.get_provider(uow, account_sid=principal.account_sid, sid=sid)
        row = await connections.update_provider(
            uow,
            provider=row,
            fields=ProviderFields(
                friendly_name=form.friendly_name, api_base_url=form.api_base_url, credentials=form.credentials
            ),
        )
    return ChannelProviderPublic.of(row, settings.base_url)


@router.delete("/{sid}", status_code=204)
async def delete_channel_provider(sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    """Disconnect: its senders go too (and leave their Messaging Services)."""
    async with db.unit() as uow:
        row = await connections.get_provider(uow, account_sid=principal.account_sid, sid=sid)
        await connections.delete_provider(uow, provider=row)
    return Response(status_code=204)


@router.post("/{sid}/Senders", status_code=201, response_model=ChannelSenderPublic)
async def create_channel_sender(
    sid: str,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[CreateChannelSender, Form()],
    settings: SettingsDep,
) -> ChannelSenderPublic:
    """A business address the provider carries: `PN…` for an SMS number, `XE…` for WhatsApp and Messenger."""
    async with db.unit() as uow:
        provider = await connections.get_provider(uow, account_sid=principal.account_sid, sid=sid)
        row = await connections.create_sender(
            uow,
            provider=provider,
            address=form.address,
            friendly_name=form.friendly_name,
            country_code=form.country_code,
        )
    return ChannelSenderPublic.of(row, settings.base_url)


@router.get("/{sid}/Senders", response_model=ChannelSenderList)
async def list_channel_senders(
    sid: str, principal: AdminPrincipal, db: DbDep, query: Annotated[QueryValues, Depends(PAGED)], settings: SettingsDep
) -> ChannelSenderList:
    page = query.paging()
    async with db.read() as q:
        provider = await connections.get_provider(q, account_sid=principal.account_sid, sid=sid)
        result = await connections.list_senders(q, provider=provider, page=page.request)
    return ChannelSenderList(
        senders=[ChannelSenderPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(key="senders", url=f"{provider_url(settings.base_url, sid)}/Senders", has_more=result.has_more),
    )


@router.get("/{sid}/Senders/{sender_sid}", response_model=ChannelSenderPublic)
async def fetch_channel_sender(
    sid: str, sender_sid: str, principal: AdminPrincipal, db: DbDep, settings: SettingsDep
) -> ChannelSenderPublic:
    async with db.read() as q:
        row = await connections.get_sender(q, account_sid=principal.account_sid, sid=sender_sid, provider_sid=sid)
    return ChannelSenderPublic.of(row, settings.base_url)


@router.delete("/{sid}/Senders/{sender_sid}", status_code=204)
async def delete_channel_sender(sid: str, sender_sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    async with db.unit() as uow:
        row = await connections.get_sender(uow, account_sid=principal.account_sid, sid=sender_sid, provider_sid=sid)
        await connections.delete_sender(uow, sender=row)
    return Response(status_code=204)
