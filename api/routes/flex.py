"""/flex-api/v1/Interactions: read interactions, channels and their participants; close a channel; move an
agent participant to wrap-up or close it (which completes that agent's task and parks the channel)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request

from api.deps import CurrentPrincipal, DbDep, FormDep, SettingsDep
from api.serializers.conversations import (
    interaction_channel_json,
    interaction_json,
    interaction_participant_json,
)
from api.wire import Page
from domain.errors import InvalidParameter, NotFound, PermissionDenied
from storage import routing
from storage.conversations import channel_start_payload
from storage.db import UnitOfWork

router = APIRouter(prefix="/flex-api/v1/Interactions", tags=["Flex Interactions"])


class ChannelUpdateStatus(StrEnum):
    CLOSED = "closed"
    INACTIVE = "inactive"


class ParticipantStatus(StrEnum):
    CLOSED = "closed"
    WRAPUP = "wrapup"


async def _channel(q: UnitOfWork, account_sid: str, interaction_sid: str, channel_sid: str) -> dict[str, Any]:
    row = await q.fetchone(
        "SELECT * FROM interaction_channels WHERE sid = %s AND interaction_sid = %s AND account_sid = %s",
        (channel_sid, interaction_sid, account_sid),
    )
    if row is None:
        raise NotFound(f"The requested resource /Interactions/{interaction_sid}/Channels/{channel_sid} was not found")
    return row


@router.get("/{sid}")
async def fetch_interaction(sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep) -> Any:
    async with db.read() as q:
        row = await q.fetchone(
            "SELECT * FROM interactions WHERE sid = %s AND account_sid = %s", (sid, principal.account_sid)
        )
    if row is None:
        raise NotFound(f"The requested resource /Interactions/{sid} was not found")
    return interaction_json(row, settings.base_url)


@router.get("/{sid}/Channels")
async def list_channels(
    sid: str, request: Request, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    page = Page(request.query_params)
    async with db.read() as q:
        rows, more = await page.fetch(
            q,
            "SELECT * FROM interaction_channels WHERE interaction_sid = %s AND account_sid = %s ORDER BY date_created",
            (sid, principal.account_sid),
        )
    return page.envelope(
        key="channels",
        url=f"{settings.base_url}/flex-api/v1/Interactions/{sid}/Channels",
        items=[interaction_channel_json(r, settings.base_url) for r in rows],
        has_more=more,
    )


@router.get("/{sid}/Channels/{channel_sid}")
async def fetch_channel(
    sid: str, channel_sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    async with db.read() as q:
        return interaction_channel_json(await _channel(q, principal.account_sid, sid, channel_sid), settings.base_url)


@router.post("/{sid}/Channels/{channel_sid}")
async def update_channel(
    sid: str, channel_sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    status = form.enum("Status", ChannelUpdateStatus)
    if status is None:
        raise InvalidParameter("Missing required parameter Status in the post body")
    routing_param = form.json_value("Routing")
    close_tasks = isinstance(routing_param, dict) and routing_param.get("status") == "closed"
    if status is ChannelUpdateStatus.INACTIVE and not close_tasks:
        raise InvalidParameter('Status=inactive requires Routing={"status":"closed"}')
    async with db.unit() as uow:
        channel = await _channel(uow, principal.account_sid, sid, channel_sid)
        if channel["status"] == "closed":
            raise InvalidParameter("Interaction Not Open", code=80906)
        if channel["active_task_sid"]:
            task = await uow.fetchone(
                "SELECT assignment_status FROM tasks WHERE sid = %s", (channel["active_task_sid"],)
            )
            current = (task or {}).get("assignment_status")
            if current in ("pending", "reserved"):
                await routing.update_task_status(
                    uow,
                    task_sid=channel["active_task_sid"],
                    status="canceled",
                    reason="Interaction channel closed",
                )
            elif current in ("assigned", "wrapping"):
                await routing.update_task_status(
                    uow,
                    task_sid=channel["active_task_sid"],
                    status="completed" if close_tasks else "wrapping",
                    reason="Interaction channel closed",
                )
        row = await uow.fetchone(
            "UPDATE interaction_channels SET status = %s, date_updated = now() WHERE sid = %s RETURNING *",
            (status.value, channel_sid),
        )
        if status is ChannelUpdateStatus.CLOSED:
            await uow.execute(
                "UPDATE conversations SET state = 'closed', date_updated = now() WHERE sid = %s",
                (channel["conversation_sid"],),
            )
            await uow.outbox(
                account_sid=principal.account_sid,
                kind="signal_with_start",
                dedupe_key=f"{channel_sid}:close",
                payload=channel_start_payload(channel, signal="close", arg={"reason": "api"}),
            )
    return interaction_channel_json(row or channel, settings.base_url)


@router.get("/{sid}/Channels/{channel_sid}/Participants")
async def list_participants(
    sid: str,
    channel_sid: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
) -> Any:
    page = Page(request.query_params)
    async with db.read() as q:
        await _channel(q, principal.account_sid, sid, channel_sid)
        rows, more = await page.fetch(
            q,
            "SELECT * FROM interaction_participants WHERE channel_sid = %s ORDER BY date_created",
            (channel_sid,),
        )
    return page.envelope(
        key="participants",
        url=f"{settings.base_url}/flex-api/v1/Interactions/{sid}/Channels/{channel_sid}/Participants",
        items=[interaction_participant_json(r, settings.base_url) for r in rows],
        has_more=more,
    )


@router.post("/{sid}/Channels/{channel_sid}/Participants/{participant_sid}")
async def update_participant(
    sid: str,
    channel_sid: str,
    participant_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    form: FormDep,
    settings: SettingsDep,
) -> Any:
    status = form.enum("Status", ParticipantStatus)
    if status is None:
        raise InvalidParameter("Missing required parameter Status in the post body")
    async with db.unit() as uow:
        await _channel(uow, principal.account_sid, sid, channel_sid)
        participant = await uow.fetchone(
            "SELECT * FROM interaction_participants WHERE sid = %s AND channel_sid = %s",
            (participant_sid, channel_sid),
        )
        if participant is None:
            raise NotFound(f"The requested resource /Participants/{participant_sid} was not found")
        if participant["type"] != "agent":
            raise InvalidParameter("Only agent participants can be moved to wrapup or closed")
        props = participant["routing_properties"] or {}
        if not principal.is_admin and principal.worker_sid != props.get("worker_sid"):
            raise PermissionDenied("An agent may only update its own participant")
        task = await uow.fetchone("SELECT assignment_status FROM tasks WHERE sid = %s", (props.get("task_sid"),))
        current = (task or {}).get("assignment_status")
        if status is ParticipantStatus.WRAPUP and current == "assigned":
            await routing.update_task_status(uow, task_sid=props["task_sid"], status="wrapping")
        elif status is ParticipantStatus.CLOSED and current in ("assigned", "wrapping"):
            await routing.update_task_status(
                uow, task_sid=props["task_sid"], status="completed", reason="Agent closed the interaction"
            )
        row = await uow.fetchone("SELECT * FROM interaction_participants WHERE sid = %s", (participant_sid,))
    return interaction_participant_json(row or participant, settings.base_url)
