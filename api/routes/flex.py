"""/flex-api/v1/Interactions: an interaction, its channels and their participants. Closing a channel ends its
task and closes the conversation; an agent moves its own participant to wrap-up or closed."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.access import interaction_access
from api.deps import AdminPrincipal, CurrentPrincipal, DbDep, FormDep, SettingsDep
from api.paging import paging
from api.schemas.conversations import (
    InteractionChannelList,
    InteractionChannelPublic,
    InteractionParticipantList,
    InteractionParticipantPublic,
    InteractionPublic,
)
from domain.errors import InvalidParameter
from domain.states import ChannelUpdateStatus, InteractionParticipantStatus
from storage.interactions import queries
from storage.interactions import service as interactions

router = APIRouter(prefix="/flex-api/v1/Interactions", tags=["Flex Interactions"])
# Twilio's participant update enum is wrapup / closed.
PARTICIPANT_UPDATES = {s.value: s for s in (InteractionParticipantStatus.WRAPUP, InteractionParticipantStatus.CLOSED)}


@router.get("/{sid}", response_model=InteractionPublic)
async def fetch_interaction(
    sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> InteractionPublic:
    async with db.read() as q:
        row = await interaction_access(q, principal, sid)
    return InteractionPublic.of(row, settings.base_url)


@router.get("/{sid}/Channels", response_model=InteractionChannelList)
async def list_channels(
    sid: str, request: Request, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> InteractionChannelList:
    page = paging(request.query_params)
    async with db.read() as q:
        await interaction_access(q, principal, sid)
        result = await queries.channels(q, account_sid=principal.account_sid, interaction_sid=sid, page=page.request)
    return InteractionChannelList(
        channels=[InteractionChannelPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="channels", url=f"{settings.base_url}/flex-api/v1/Interactions/{sid}/Channels", has_more=result.has_more
        ),
    )


@router.get("/{sid}/Channels/{channel_sid}", response_model=InteractionChannelPublic)
async def fetch_channel(
    sid: str, channel_sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> InteractionChannelPublic:
    async with db.read() as q:
        await interaction_access(q, principal, sid)
        row = await interactions.get_channel(
            q, account_sid=principal.account_sid, interaction_sid=sid, channel_sid=channel_sid
        )
    return InteractionChannelPublic.of(row, settings.base_url)


@router.post("/{sid}/Channels/{channel_sid}", response_model=InteractionChannelPublic)
async def update_channel(
    sid: str, channel_sid: str, principal: AdminPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> InteractionChannelPublic:
    status = form.enum("Status", ChannelUpdateStatus)
    if status is None:
        raise InvalidParameter("Missing required parameter Status in the post body")
    routing = form.json_value("Routing")
    close_tasks = isinstance(routing, dict) and routing.get("status") == "closed"
    if status is ChannelUpdateStatus.INACTIVE and not close_tasks:
        raise InvalidParameter('Status=inactive requires Routing={"status":"closed"}')
    async with db.unit() as uow:
        channel = await interactions.get_channel(
            uow, account_sid=principal.account_sid, interaction_sid=sid, channel_sid=channel_sid
        )
        row = await interactions.update_channel(uow, channel=channel, status=status, close_tasks=close_tasks)
    return InteractionChannelPublic.of(row, settings.base_url)


@router.get("/{sid}/Channels/{channel_sid}/Participants", response_model=InteractionParticipantList)
async def list_participants(
    sid: str, channel_sid: str, request: Request, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> InteractionParticipantList:
    page = paging(request.query_params)
    async with db.read() as q:
        await interaction_access(q, principal, sid)
        await interactions.get_channel(
            q, account_sid=principal.account_sid, interaction_sid=sid, channel_sid=channel_sid
        )
        result = await queries.participants(q, channel_sid=channel_sid, page=page.request)
    return InteractionParticipantList(
        participants=[InteractionParticipantPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="participants",
            url=f"{settings.base_url}/flex-api/v1/Interactions/{sid}/Channels/{channel_sid}/Participants",
            has_more=result.has_more,
        ),
    )


@router.post(
    "/{sid}/Channels/{channel_sid}/Participants/{participant_sid}", response_model=InteractionParticipantPublic
)
async def update_participant(
    sid: str,
    channel_sid: str,
    participant_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    form: FormDep,
    settings: SettingsDep,
) -> InteractionParticipantPublic:
    given = form.str("Status")
    if given is None:
        raise InvalidParameter("Missing required parameter Status in the post body")
    status = PARTICIPANT_UPDATES.get(given.strip().lower())
    if status is None:
        raise InvalidParameter(f"Parameter 'Status' must be one of wrapup, closed; got '{given}'")
    async with db.unit() as uow:
        await interaction_access(uow, principal, sid)
        channel = await interactions.get_channel(
            uow, account_sid=principal.account_sid, interaction_sid=sid, channel_sid=channel_sid
        )
        row = await interactions.update_participant(
            uow,
            channel=channel,
            participant_sid=participant_sid,
            status=status,
            acting_worker_sid=None if principal.is_admin else (principal.worker_sid or ""),
        )
    return InteractionParticipantPublic.of(row, settings.base_url)
