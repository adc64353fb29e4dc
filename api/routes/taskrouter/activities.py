"""/taskrouter/v1/Workspaces/{WS}/Activities: the states a worker can be in, and whether each is available.
An activity in use (by a worker, a queue or the workspace defaults) cannot be deleted."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from api.deps import CurrentPrincipal, DbDep, FormDep, QueryDep, SettingsDep
from api.routes.taskrouter.common import (
    WORKSPACE_PATH,
    Listing,
    Where,
    count,
    ensure_unique,
    insert,
    load_in_workspace,
    load_workspace,
    log_event,
    optional_name,
    unit,
    update,
)
from api.serializers.taskrouter import activity_json
from domain.errors import Conflict
from domain.sids import SidPrefix, new_sid
from storage.matching import lock_workspace

router = APIRouter(prefix=f"{WORKSPACE_PATH}/Activities", tags=["TaskRouter: Activities"])


@router.get("")
async def list_activities(
    workspace_sid: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    query: QueryDep,
    settings: SettingsDep,
) -> Any:
    listing = Listing(request, settings, workspace_sid, "Activities", key="activities")
    where = Where("workspace_sid = %s", workspace_sid)
    where.add(query.str("FriendlyName"), "friendly_name = %s")
    where.add(query.bool("Available"), "available = %s")
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        rows, more = await listing.fetch(
            q, f"SELECT * FROM activities WHERE {where.sql} ORDER BY date_created, sid", where.args
        )
    return listing.envelope([activity_json(r, settings.base_url) for r in rows], more, ("FriendlyName", "Available"))


@router.post("", status_code=201)
async def create_activity(
    workspace_sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    name = form.required_str("FriendlyName", max_length=64)
    available = bool(form.bool("Available"))
    async with unit(db, "Activity") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await ensure_unique(uow, "activities", workspace_sid, "friendly_name", name, "Activity")
        row = await insert(
            uow,
            "activities",
            {
                "sid": new_sid(SidPrefix.ACTIVITY),
                "account_sid": workspace["account_sid"],
                "workspace_sid": workspace_sid,
                "friendly_name": name,
                "available": available,
            },
        )
        await log_event(
            uow,
            workspace,
            "activity.created",
            "activity",
            row["sid"],
            f"Activity {name} created",
            activity_sid=row["sid"],
            activity_name=name,
            activity_available=available,
        )
    return activity_json(row, settings.base_url)


@router.get("/{sid:sid}")
async def fetch_activity(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        row = await load_in_workspace(q, "activities", "Activities", workspace_sid, sid)
    return activity_json(row, settings.base_url)


@router.post("/{sid:sid}")
async def update_activity(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    name = optional_name(form)
    async with unit(db, "Activity") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        row = await load_in_workspace(uow, "activities", "Activities", workspace_sid, sid)
        if name is not None and name != row["friendly_name"]:
            await ensure_unique(uow, "activities", workspace_sid, "friendly_name", name, "Activity", exclude=sid)
            row = await update(uow, "activities", sid, {"friendly_name": name})
            await log_event(
                uow,
                workspace,
                "activity.updated",
                "activity",
                sid,
                f"Activity {name} updated",
                activity_sid=sid,
                activity_name=name,
                activity_available=row["available"],
            )
    return activity_json(row, settings.base_url)


@router.delete("/{sid:sid}", status_code=204)
async def delete_activity(workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep) -> Response:
    principal.require_admin()
    async with db.unit() as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        # Activity changes happen under the workspace lock; holding it means no worker moves in meanwhile.
        await lock_workspace(uow, workspace_sid)
        row = await load_in_workspace(uow, "activities", "Activities", workspace_sid, sid)
        if sid in (workspace["default_activity_sid"], workspace["timeout_activity_sid"]):
            raise Conflict(f"Activity {sid} is the workspace's default or timeout activity")
        workers = await count(uow, "workers WHERE activity_sid = %s", (sid,))
        if workers:
            raise Conflict(f"Activity {sid} cannot be deleted while {workers} worker(s) are in it")
        queues = await count(uow, "task_queues WHERE %s IN (reservation_activity_sid, assignment_activity_sid)", (sid,))
        if queues:
            raise Conflict(f"Activity {sid} cannot be deleted while {queues} task queue(s) refer to it")
        await uow.execute("DELETE FROM activities WHERE sid = %s", (sid,))
        await log_event(
            uow,
            workspace,
            "activity.deleted",
            "activity",
            sid,
            f"Activity {row['friendly_name']} deleted",
            activity_sid=sid,
            activity_name=row["friendly_name"],
        )
    return Response(status_code=204)
