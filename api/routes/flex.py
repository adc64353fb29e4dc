"""/flex-api/v1/Interactions: an interaction, its channels and their participants. Closing a channel ends its
task and closes the conversation; an agent moves its own participant to wrap-up or closed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from api.access import interaction_access
from api.deps import AdminPrincipal, CurrentPrincipal, DbDep, SettingsDep
from api.forms.conversations import UpdateInteractionChannel, UpdateInteractionParticipant
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


@router.get("/{sid}", response_model=InteractionPublic)
async def fetch_interaction(
    sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> InteractionPublic:
    """One interaction (a token holder: an agent offered one of its tasks, a supervisor of its workspace, or its
    own customer)."""
    async with db.read() as q:
        row = await interaction_access(q, principal, sid)
    return InteractionPublic.of(row, settings.base_url)


@router.get("/{sid}/Channels", response_model=InteractionChannelList)
async def list_channels(
    sid: str, request: Request, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> InteractionChannelList:
    """An interaction's channels (Parley adds `conversation_sid` and `active_task_sid`)."""
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
    """One interaction channel."""
    async with db.read() as q:
        await interaction_access(q, principal, sid)
        row = await interactions.get_channel(
            q, account_sid=principal.account_sid, interaction_sid=sid, channel_sid=channel_sid
        )
    return InteractionChannelPublic.of(row, settings.base_url)


@router.post("/{sid}/Channels/{channel_sid}", response_model=InteractionChannelPublic)
async def update_channel(
    sid: str,
    channel_sid: str,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[UpdateInteractionChannel, Form()],
    settings: SettingsDep,
) -> InteractionChannelPublic:
    """Close the channel (its task is canceled, or left wrapping; `Routing={"status":"closed"}` completes it;
    the conversation closes) or make it inactive (which needs `Routing={"status":"closed"}`)."""
    close_tasks = form.closes_tasks
    if form.status is ChannelUpdateStatus.INACTIVE and not close_tasks:
        raise InvalidParameter('Status=inactive requires Routing={"status":"closed"}')
    async with db.unit() as uow:
        channel = await interactions.get_channel(
            uow, account_sid=principal.account_sid, interaction_sid=sid, channel_sid=channel_sid
        )
        row = await interactions.update_channel(uow, channel=channel, status=form.status, close_tasks=close_tasks)
    return InteractionChannelPublic.of(row, settings.base_url)


@router.get("/{sid}/Channels/{channel_sid}/Participants", response_model=InteractionParticipantList)
async def list_participants(
    sid: str, channel_sid: str, request: Request, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> InteractionParticipantList:
    """A channel's participants: its customer and the agents of its tasks."""
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
    form: Annotated[UpdateInteractionParticipant, Form()],
    settings: SettingsDep,
) -> InteractionParticipantPublic:
    """An agent moves its own participant to `wrapup` (its task wraps up) or `closed` (its task completes)."""
    async with db.unit() as uow:
        await interaction_access(uow, principal, sid)
        channel = await interactions.get_channel(
            uow, account_sid=principal.account_sid, interaction_sid=sid, channel_sid=channel_sid
        )
        row = await interactions.update_participant(
            uow,
            channel=channel,
            participant_sid=participant_sid,
            status=InteractionParticipantStatus(form.status.value),
            acting_worker_sid=None if principal.is_admin else (principal.worker_sid or ""),
        )
    return InteractionParticipantPublic.of(row, settings.base_url)
