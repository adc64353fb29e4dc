"""/taskrouter/v1/Workspaces/{WS}/Workers/{WK}/Channels: a worker's capacity and availability per task
channel, addressed by SID or the task channel's unique name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.deps import CurrentPrincipal, DbDep, FormDep, SettingsDep
from api.routes.taskrouter.common import WORKSPACE_PATH, Listing, Row, load_in_workspace, load_workspace, log_event
from api.serializers.taskrouter import worker_channel_json
from core.settings import Settings
from domain.errors import NotFound
from domain.sids import SidPrefix, is_sid
from storage.db import UnitOfWork
from storage.matching import lock_workspace
from storage.routing import update_worker_channel

router = APIRouter(prefix=f"{WORKSPACE_PATH}/Workers/{{worker_sid:sid}}/Channels", tags=["TaskRouter: WorkerChannels"])

_WC_SELECT = (
    "SELECT wc.*, tc.unique_name AS task_channel_unique_name "
    "FROM worker_channels wc JOIN task_channels tc ON tc.sid = wc.task_channel_sid"
)


async def _load_worker_channel(q: UnitOfWork, workspace_sid: str, worker_sid: str, key: str) -> Row:
    column = "wc.sid" if is_sid(key, SidPrefix.WORKER_CHANNEL) else "tc.unique_name"
    row = await q.fetchone(
        f"{_WC_SELECT} WHERE wc.workspace_sid = %s AND wc.worker_sid = %s AND {column} = %s",
        (workspace_sid, worker_sid, key),
    )
    if row is None:
        path = f"/Workspaces/{workspace_sid}/Workers/{worker_sid}/Channels/{key}"
        raise NotFound(f"The requested resource {path} was not found")
    return row


def _channel_out(row: Row, settings: Settings) -> dict[str, Any]:
    unique_name = row["task_channel_unique_name"]
    return worker_channel_json(row, settings.base_url, task_channel_unique_name=unique_name)


@router.get("")
async def list_worker_channels(
    workspace_sid: str,
    worker_sid: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
) -> Any:
    listing = Listing(request, settings, workspace_sid, f"Workers/{worker_sid}/Channels", key="channels")
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        principal.require_worker(workspace_sid, worker_sid)
        await load_in_workspace(q, "workers", "Workers", workspace_sid, worker_sid)
        rows, more = await listing.fetch(
            q, f"{_WC_SELECT} WHERE wc.worker_sid = %s ORDER BY tc.date_created, tc.sid", [worker_sid]
        )
    return listing.envelope([_channel_out(r, settings) for r in rows], more)


@router.get("/{sid}")
async def fetch_worker_channel(
    workspace_sid: str,
    worker_sid: str,
    sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
) -> Any:
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        principal.require_worker(workspace_sid, worker_sid)
        row = await _load_worker_channel(q, workspace_sid, worker_sid, sid)
    return _channel_out(row, settings)


@router.post("/{sid}")
async def update_worker_channel_route(
    workspace_sid: str,
    worker_sid: str,
    sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    form: FormDep,
    settings: SettingsDep,
) -> Any:
    capacity = form.int("Capacity", minimum=0)
    available = form.bool("Available")
    async with db.unit() as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        principal.require_worker(workspace_sid, worker_sid)
        if capacity is not None:
            principal.require_admin()
        await lock_workspace(uow, workspace_sid)
        channel = await _load_worker_channel(uow, workspace_sid, worker_sid, sid)
        if capacity is not None or available is not None:
            await update_worker_channel(uow, channel=channel, capacity=capacity, available=available)
            await _channel_events(uow, workspace, channel, capacity, available)
        row = await _load_worker_channel(uow, workspace_sid, worker_sid, channel["sid"])
    return _channel_out(row, settings)


async def _channel_events(
    uow: UnitOfWork, workspace: Row, channel: Row, capacity: int | None, available: bool | None
) -> None:
    data = {
        "worker_sid": channel["worker_sid"],
        "worker_channel_sid": channel["sid"],
        "task_channel_sid": channel["task_channel_sid"],
        "task_channel_unique_name": channel["task_channel_unique_name"],
    }
    if capacity is not None and capacity != channel["configured_capacity"]:
        await log_event(
            uow,
            workspace,
            "worker.capacity.update",
            "worker",
            channel["worker_sid"],
            f"Worker channel {channel['task_channel_unique_name']} capacity set to {capacity}",
            **data,
            worker_channel_previous_capacity=channel["configured_capacity"],
            worker_channel_available_capacity=capacity,
        )
    if available is not None and available != channel["available"]:
        await log_event(
            uow,
            workspace,
            "worker.channel.availability.update",
            "worker",
            channel["worker_sid"],
            f"Worker channel {channel['task_channel_unique_name']} available set to {available}",
            **data,
            worker_channel_available=available,
        )
