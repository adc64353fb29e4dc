"""/taskrouter/v1/Workspaces/{WS}/TaskChannels: the kinds of work (voice, chat…), addressed by SID or unique
name. Creating one gives every worker a channel for it; deleting one removes those worker channels."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from api.deps import CurrentPrincipal, DbDep, FormDep, SettingsDep
from api.routes.taskrouter.common import (
    WORKSPACE_PATH,
    Listing,
    Row,
    count,
    ensure_unique,
    insert,
    load_workspace,
    log_event,
    optional_name,
    unit,
    update,
)
from api.serializers.taskrouter import task_channel_json
from domain.errors import Conflict, NotFound
from domain.sids import SidPrefix, is_sid, new_sid
from storage.db import UnitOfWork
from storage.matching import lock_workspace
from storage.routing import ensure_worker_channels

router = APIRouter(prefix=f"{WORKSPACE_PATH}/TaskChannels", tags=["TaskRouter: TaskChannels"])


async def _task_channel(q: UnitOfWork, workspace_sid: str, key: str) -> Row:
    column = "sid" if is_sid(key, SidPrefix.TASK_CHANNEL) else "unique_name"
    row = await q.fetchone(
        f"SELECT * FROM task_channels WHERE workspace_sid = %s AND {column} = %s", (workspace_sid, key)
    )
    if row is None:
        raise NotFound(f"The requested resource /Workspaces/{workspace_sid}/TaskChannels/{key} was not found")
    return row


def _task_channel_data(row: Row) -> dict[str, Any]:
    return {
        "task_channel_sid": row["sid"],
        "task_channel_name": row["friendly_name"],
        "task_channel_unique_name": row["unique_name"],
        "task_channel_optimized_routing": row["channel_optimized_routing"],
    }


@router.get("")
async def list_task_channels(
    workspace_sid: str, request: Request, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    listing = Listing(request, settings, workspace_sid, "TaskChannels", key="channels")
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        rows, more = await listing.fetch(
            q, "SELECT * FROM task_channels WHERE workspace_sid = %s ORDER BY date_created, sid", [workspace_sid]
        )
    return listing.envelope([task_channel_json(r, settings.base_url) for r in rows], more)


@router.post("", status_code=201)
async def create_task_channel(
    workspace_sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    name = form.required_str("FriendlyName", max_length=64)
    unique_name = form.required_str("UniqueName", max_length=64)
    optimized = bool(form.bool("ChannelOptimizedRouting"))
    async with unit(db, "TaskChannel") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await ensure_unique(uow, "task_channels", workspace_sid, "unique_name", unique_name, "TaskChannel")
        row = await insert(
            uow,
            "task_channels",
            {
                "sid": new_sid(SidPrefix.TASK_CHANNEL),
                "account_sid": workspace["account_sid"],
                "workspace_sid": workspace_sid,
                "friendly_name": name,
                "unique_name": unique_name,
                "channel_optimized_routing": optimized,
            },
        )
        await ensure_worker_channels(uow, workspace_sid=workspace_sid)
        await log_event(
            uow,
            workspace,
            "task-channel.created",
            "task_channel",
            row["sid"],
            f"TaskChannel {unique_name} created",
            **_task_channel_data(row),
        )
    return task_channel_json(row, settings.base_url)


@router.get("/{sid}")
async def fetch_task_channel(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        row = await _task_channel(q, workspace_sid, sid)
    return task_channel_json(row, settings.base_url)


@router.post("/{sid}")
async def update_task_channel(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    given = {
        "friendly_name": optional_name(form),
        "channel_optimized_routing": form.bool("ChannelOptimizedRouting"),
    }
    changes = {column: value for column, value in given.items() if value is not None}
    async with db.unit() as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        row = await _task_channel(uow, workspace_sid, sid)
        if changes:
            row = await update(uow, "task_channels", row["sid"], changes)
            await log_event(
                uow,
                workspace,
                "task-channel.updated",
                "task_channel",
                row["sid"],
                f"TaskChannel {row['unique_name']} updated",
                **_task_channel_data(row),
            )
    return task_channel_json(row, settings.base_url)


@router.delete("/{sid}", status_code=204)
async def delete_task_channel(workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep) -> Response:
    principal.require_admin()
    async with db.unit() as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await lock_workspace(uow, workspace_sid)
        row = await _task_channel(uow, workspace_sid, sid)
        tasks = await count(uow, "tasks WHERE task_channel_sid = %s", (row["sid"],))
        if tasks:
            raise Conflict(f"TaskChannel {row['unique_name']} cannot be deleted while {tasks} task(s) use it")
        # With no tasks on the channel there are no reservations on its worker channels either.
        await uow.execute("DELETE FROM worker_channels WHERE task_channel_sid = %s", (row["sid"],))
        await uow.execute("DELETE FROM task_channels WHERE sid = %s", (row["sid"],))
        await log_event(
            uow,
            workspace,
            "task-channel.deleted",
            "task_channel",
            row["sid"],
            f"TaskChannel {row['unique_name']} deleted",
            **_task_channel_data(row),
        )
    return Response(status_code=204)
