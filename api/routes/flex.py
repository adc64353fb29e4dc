"""/flex-api/v1/Interactions: an interaction, its channels and their participants. Closing a channel ends its
task and closes the conversation; an agent moves its own participant to wrap-up or closed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form

from api.access import interaction_access
from api.auth import Principal, Role
from api.deps import AdminPrincipal, CurrentPrincipal, DbDep, SettingsDep
from api.forms.conversations import UpdateInteractionChannel, UpdateInteractionParticipant
from api.forms.flex import CreateInteraction, CreateInteractionParticipant, CreateInvite, UpdateInteraction
from api.query import QueryParameters, QueryValues
from api.schemas.conversations import (
    InteractionChannelList,
    InteractionChannelPublic,
    InteractionInviteList,
    InteractionInvitePublic,
    InteractionParticipantList,
    InteractionParticipantPublic,
    InteractionPublic,
    InteractionTransferPublic,
)
from domain.errors import InvalidParameter, PermissionDenied
from domain.interactions import InitiatedBy, TransferRequest, TransferUpdate
from domain.limits import TASKROUTER_MAX_PAGE_SIZE
from domain.states import ChannelUpdateStatus, InteractionParticipantStatus, InteractionParticipantType
from storage.db import UnitOfWork
from storage.interactions import queries, transfers
from storage.interactions import service as interactions
from storage.interactions.tables import InteractionChannelRow

router = APIRouter(prefix="/flex-api/v1/Interactions", tags=["Flex Interactions"])
PAGED = QueryParameters(page_size=TASKROUTER_MAX_PAGE_SIZE)


async def _channel(uow: UnitOfWork, principal: Principal, sid: str, channel_sid: str) -> InteractionChannelRow:
    """The channel a request names, once the caller may see its interaction (else 403 / 404)."""
    await interaction_access(uow, principal, sid)
    return await interactions.get_channel(
        uow, account_sid=principal.account_sid, interaction_sid=sid, channel_sid=channel_sid
    )


@router.post("", response_model=InteractionPublic)
async def create_interaction(
    principal: CurrentPrincipal,
    db: DbDep,
    form: Annotated[CreateInteraction, Form()],
    settings: SettingsDep,
) -> InteractionPublic:
    """Open an interaction: a channel on a conversation (the customer's, an API-made one, or a new outbound one)
    and its first task. An agent's token may start an agent-initiated interaction routed to itself."""
    if not principal.is_admin:
        worker = form.routing.properties.worker_sid if form.routing else None
        if form.channel.initiated_by is not InitiatedBy.AGENT or worker is None or worker != principal.worker_sid:
            raise PermissionDenied("An agent may only start an agent-initiated interaction routed to itself")
        principal.require_workspace(form.routing.properties.workspace_sid if form.routing else "")
    async with db.unit() as uow:
        row = await interactions.create_interaction(
            uow,
            account_sid=principal.account_sid,
            channel=form.channel,
            routing=form.routing,
            interaction_context_sid=form.interaction_context_sid,
            webhook_ttid=form.webhook_ttid,
        )
    return InteractionPublic.of(row, settings.base_url)


@router.post("/{sid}", response_model=InteractionPublic)
async def update_interaction(
    sid: str,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[UpdateInteraction, Form()],
    settings: SettingsDep,
) -> InteractionPublic:
    """Change an interaction's `WebhookTtid` (the only field Twilio lets you change)."""
    async with db.unit() as uow:
        row = await interactions.get_interaction(uow, account_sid=principal.account_sid, sid=sid)
        row = await interactions.update_interaction(uow, interaction=row, webhook_ttid=form.webhook_ttid)
    return InteractionPublic.of(row, settings.base_url)


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
    sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(PAGED)],
    settings: SettingsDep,
) -> InteractionChannelList:
    """An interaction's channels (Parley adds `conversation_sid` and `active_task_sid`)."""
    page = query.paging()
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
    sid: str,
    channel_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(PAGED)],
    settings: SettingsDep,
) -> InteractionParticipantList:
    """A channel's participants: its customer and the agents of its tasks."""
    page = query.paging()
    async with db.read() as q:
        await _channel(q, principal, sid, channel_sid)
        result = await queries.participants(q, channel_sid=channel_sid, page=page.request)
    return InteractionParticipantList(
        participants=[InteractionParticipantPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="participants",
            url=f"{settings.base_url}/flex-api/v1/Interactions/{sid}/Channels/{channel_sid}/Participants",
            has_more=result.has_more,
        ),
    )


@router.post("/{sid}/Channels/{channel_sid}/Participants", response_model=InteractionParticipantPublic)
async def create_participant(
    sid: str,
    channel_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    form: Annotated[CreateInteractionParticipant, Form()],
    settings: SettingsDep,
) -> InteractionParticipantPublic:
    """Add a participant to the channel and its conversation: a supervisor joining a live chat (a supervisor's
    token may add itself), an agent, a customer or an external party."""
    media = dict(form.media_properties)
    if not principal.is_admin:
        if principal.role is not Role.SUPERVISOR or form.type is not InteractionParticipantType.SUPERVISOR:
            raise PermissionDenied("Only a supervisor may join a channel with its token, as a supervisor")
        media["identity"] = principal.identity
    async with db.unit() as uow:
        channel = await _channel(uow, principal, sid, channel_sid)
        row = await interactions.add_channel_participant(
            uow,
            channel=channel,
            type=form.type,
            media_properties=media,
            routing_properties=form.routing_properties,
        )
    return InteractionParticipantPublic.of(row, settings.base_url)


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
        channel = await _channel(uow, principal, sid, channel_sid)
        row = await interactions.update_participant(
            uow,
            channel=channel,
            participant_sid=participant_sid,
            status=InteractionParticipantStatus(form.status.value),
            acting_worker_sid=None if principal.is_admin else (principal.worker_sid or ""),
        )
    return InteractionParticipantPublic.of(row, settings.base_url)


# --- invites -----------------------------------------------------------------------------------------


@router.get("/{sid}/Channels/{channel_sid}/Invites", response_model=InteractionInviteList)
async def list_invites(
    sid: str,
    channel_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(PAGED)],
    settings: SettingsDep,
) -> InteractionInviteList:
    """A channel's invites (each is a task routed on the channel; transfers ride on one too)."""
    page = query.paging()
    async with db.read() as q:
        await _channel(q, principal, sid, channel_sid)
        result = await queries.invites(q, channel_sid=channel_sid, page=page.request)
    return InteractionInviteList(
        invites=[InteractionInvitePublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="invites",
            url=f"{settings.base_url}/flex-api/v1/Interactions/{sid}/Channels/{channel_sid}/Invites",
            has_more=result.has_more,
        ),
    )


@router.post("/{sid}/Channels/{channel_sid}/Invites", response_model=InteractionInvitePublic)
async def create_invite(
    sid: str,
    channel_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    form: Annotated[CreateInvite, Form()],
    settings: SettingsDep,
) -> InteractionInvitePublic:
    """Route a new task on the channel, to a queue or a worker: when its agent accepts, it joins the same
    conversation (a consult, or a second agent)."""
    principal.require_workspace(form.routing.properties.workspace_sid)
    async with db.unit() as uow:
        channel = await _channel(uow, principal, sid, channel_sid)
        row = await transfers.create_invite(uow, channel=channel, routing=form.routing)
    return InteractionInvitePublic.of(row, settings.base_url)


# --- transfers ---------------------------------------------------------------------------------------


def _acting_worker(principal: Principal) -> str | None:
    """None for account credentials and for a supervisor (who may act for any agent of the interactions its
    workspace routed: interaction_access has checked that); else the token's worker (no worker: nobody)."""
    if principal.is_admin or principal.role is Role.SUPERVISOR:
        return None
    if principal.role is not Role.AGENT:
        raise PermissionDenied("Only an agent, a supervisor or the account may transfer a conversation")
    return principal.worker_sid or ""


@router.post("/{sid}/Channels/{channel_sid}/Transfers", response_model=InteractionTransferPublic, status_code=201)
async def create_transfer(
    sid: str,
    channel_sid: str,
    body: TransferRequest,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
) -> InteractionTransferPublic:
    """Transfer the customer from an agent participant (`from`, UT…) to a worker or a queue (`to`), `cold` (the
    sender leaves now) or `warm` (the sender stays until the receiver accepts), with an optional `note` the
    receiver sees. JSON body (Twilio publishes none; this is Parley's, documented in docs/interactions.md)."""
    acting = _acting_worker(principal)
    async with db.unit() as uow:
        channel = await _channel(uow, principal, sid, channel_sid)
        row = await transfers.create_transfer(
            uow,
            channel=channel,
            request=body,
            acting_worker_sid=acting,
            # A supervisor moving an agent's chat: the receiver is told who did.
            actor_name=principal.identity if principal.role is Role.SUPERVISOR else None,
        )
    return InteractionTransferPublic.of(row, settings.base_url)


@router.get("/{sid}/Channels/{channel_sid}/Transfers/{transfer_sid}", response_model=InteractionTransferPublic)
async def fetch_transfer(
    sid: str, channel_sid: str, transfer_sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> InteractionTransferPublic:
    """One transfer: `active` while it waits for its receiver, then `completed` or `failed` (with the reason)."""
    async with db.read() as q:
        channel = await _channel(q, principal, sid, channel_sid)
        row = await transfers.get_transfer(q, channel=channel, sid=transfer_sid)
    return InteractionTransferPublic.of(row, settings.base_url)


@router.post("/{sid}/Channels/{channel_sid}/Transfers/{transfer_sid}", response_model=InteractionTransferPublic)
async def update_transfer(
    sid: str,
    channel_sid: str,
    transfer_sid: str,
    body: TransferUpdate,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
) -> InteractionTransferPublic:
    """`{"status": "failed"}`: the sender takes back a transfer nobody has accepted yet."""
    acting = _acting_worker(principal)
    async with db.unit() as uow:
        channel = await _channel(uow, principal, sid, channel_sid)
        row = await transfers.update_transfer(
            uow, channel=channel, sid=transfer_sid, change=body, acting_worker_sid=acting
        )
    return InteractionTransferPublic.of(row, settings.base_url)
