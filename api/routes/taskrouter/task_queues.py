"""/taskrouter/v1/Workspaces/{WS}/TaskQueues: where tasks wait and which workers (by target expression) may
take them. Membership is refreshed in storage.routing within the same transaction that changes it."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request, Response

from api.deps import CurrentPrincipal, DbDep, FormDep, QueryDep, SettingsDep
from api.routes.taskrouter.common import (
    LIVE_TASK,
    WORKSPACE_PATH,
    Listing,
    Row,
    Where,
    activity_names,
    count,
    ensure_unique,
    insert,
    load_in_workspace,
    load_workspace,
    log_event,
    optional_name,
    parse_param_expression,
    require_activity,
    unit,
    update,
)
from api.serializers.taskrouter import task_queue_json
from api.wire import Params
from core.settings import Settings
from domain.errors import Conflict
from domain.routing import parse_expression
from domain.sids import SidPrefix, new_sid
from storage.db import UnitOfWork
from storage.matching import lock_workspace, match
from storage.routing import refresh_membership_for_queue

router = APIRouter(prefix=f"{WORKSPACE_PATH}/TaskQueues", tags=["TaskRouter: TaskQueues"])

_QUEUE_ACTIVITY_PARAMS = (
    ("ReservationActivitySid", "reservation_activity_sid"),
    ("AssignmentActivitySid", "assignment_activity_sid"),
)
_QUEUE_ROUTING_COLUMNS = ("target_workers", "max_reserved_workers", "task_order")


class TaskOrder(StrEnum):
    FIFO = "FIFO"
    LIFO = "LIFO"


def _queue_fields(form: Params, *, creating: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "friendly_name": form.required_str("FriendlyName", max_length=64) if creating else optional_name(form),
        "max_reserved_workers": form.int("MaxReservedWorkers", minimum=1, maximum=50),
        "task_order": (order.value if (order := form.enum("TaskOrder", TaskOrder)) else None),
    }
    target = form.str("TargetWorkers")
    if target is not None:
        # An empty expression is allowed: Twilio treats it as "no worker ever matches".
        if target.strip():
            parse_param_expression(target, "TargetWorkers")
        fields["target_workers"] = target
    for param, column in _QUEUE_ACTIVITY_PARAMS:
        fields[column] = form.sid(param, SidPrefix.ACTIVITY)
    return {column: value for column, value in fields.items() if value is not None}


async def _check_queue_activities(uow: UnitOfWork, workspace_sid: str, fields: dict[str, Any]) -> None:
    for param, column in _QUEUE_ACTIVITY_PARAMS:
        if column in fields:
            await require_activity(uow, workspace_sid, fields[column], param)


async def _queue_out(q: UnitOfWork, row: Row, settings: Settings) -> dict[str, Any]:
    names = await activity_names(q, row["workspace_sid"])
    return task_queue_json(row, settings.base_url, activity_names=names)


def _queue_data(row: Row) -> dict[str, Any]:
    return {
        "task_queue_sid": row["sid"],
        "task_queue_name": row["friendly_name"],
        "task_queue_target_expression": row["target_workers"],
    }


@router.get("")
async def list_task_queues(
    workspace_sid: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    query: QueryDep,
    settings: SettingsDep,
) -> Any:
    listing = Listing(request, settings, workspace_sid, "TaskQueues", key="task_queues")
    where = Where("q.workspace_sid = %s", workspace_sid)
    where.add(query.str("FriendlyName"), "q.friendly_name = %s")
    where.add(
        query.sid("WorkerSid", SidPrefix.WORKER),
        "EXISTS (SELECT 1 FROM queue_members m WHERE m.queue_sid = q.sid AND m.worker_sid = %s)",
    )
    worker_attributes = query.json_object("EvaluateWorkerAttributes")
    sql = f"SELECT q.* FROM task_queues q WHERE {where.sql} ORDER BY q.date_created, q.sid"
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        if worker_attributes is None:
            rows, more = await listing.fetch(q, sql, where.args)
        else:
            document = json.loads(worker_attributes)
            rows, more = listing.cut(
                [
                    r
                    for r in await q.fetchall(sql, where.args)
                    if r["target_workers"].strip() and parse_expression(r["target_workers"]).evaluate(document)
                ]
            )
        names = await activity_names(q, workspace_sid)
    return listing.envelope(
        [task_queue_json(r, settings.base_url, activity_names=names) for r in rows],
        more,
        ("FriendlyName", "WorkerSid", "EvaluateWorkerAttributes"),
    )


@router.post("", status_code=201)
async def create_task_queue(
    workspace_sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    fields = _queue_fields(form, creating=True)
    async with unit(db, "TaskQueue") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await lock_workspace(uow, workspace_sid)
        await _check_queue_activities(uow, workspace_sid, fields)
        await ensure_unique(uow, "task_queues", workspace_sid, "friendly_name", fields["friendly_name"], "TaskQueue")
        row = await insert(
            uow,
            "task_queues",
            {
                "sid": new_sid(SidPrefix.TASK_QUEUE),
                "account_sid": workspace["account_sid"],
                "workspace_sid": workspace_sid,
                "target_workers": "1==1",
                "max_reserved_workers": 1,
                "task_order": "FIFO",
                **fields,
            },
        )
        await refresh_membership_for_queue(uow, row["sid"])
        await log_event(
            uow,
            workspace,
            "task-queue.created",
            "task_queue",
            row["sid"],
            f"TaskQueue {row['friendly_name']} created",
            **_queue_data(row),
        )
        return await _queue_out(uow, row, settings)


@router.get("/{sid:sid}")
async def fetch_task_queue(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        row = await load_in_workspace(q, "task_queues", "TaskQueues", workspace_sid, sid)
        return await _queue_out(q, row, settings)


@router.post("/{sid:sid}")
async def update_task_queue(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    fields = _queue_fields(form, creating=False)
    async with unit(db, "TaskQueue") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await lock_workspace(uow, workspace_sid)
        before = await load_in_workspace(uow, "task_queues", "TaskQueues", workspace_sid, sid, for_update=True)
        await _check_queue_activities(uow, workspace_sid, fields)
        if "friendly_name" in fields:
            await ensure_unique(
                uow,
                "task_queues",
                workspace_sid,
                "friendly_name",
                fields["friendly_name"],
                "TaskQueue",
                exclude=sid,
            )
        row = await update(uow, "task_queues", sid, fields) if fields else before
        if row["target_workers"] != before["target_workers"]:
            await refresh_membership_for_queue(uow, sid)
            await log_event(
                uow,
                workspace,
                "task-queue.expression.updated",
                "task_queue",
                sid,
                f"TaskQueue {row['friendly_name']} target expression updated",
                **_queue_data(row),
            )
        if any(row[c] != before[c] for c in _QUEUE_ROUTING_COLUMNS):
            # New members or a wider reservation limit can make waiting tasks offerable now.
            await match(uow, workspace_sid)
        return await _queue_out(uow, row, settings)


@router.delete("/{sid:sid}", status_code=204)
async def delete_task_queue(workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep) -> Response:
    principal.require_admin()
    async with db.unit() as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await lock_workspace(uow, workspace_sid)
        row = await load_in_workspace(uow, "task_queues", "TaskQueues", workspace_sid, sid)
        tasks = await count(
            uow, "tasks WHERE task_queue_sid = %s AND assignment_status = ANY(%s)", (sid, list(LIVE_TASK))
        )
        if tasks:
            raise Conflict(
                f"TaskQueue {sid} cannot be deleted while {tasks} pending, reserved, assigned or "
                "wrapping task(s) are in it"
            )
        workflow = await uow.fetchone(
            "SELECT sid FROM workflows WHERE workspace_sid = %s AND position(%s IN configuration) > 0 LIMIT 1",
            (workspace_sid, sid),
        )
        if workflow is not None:
            raise Conflict(f"TaskQueue {sid} cannot be deleted while Workflow {workflow['sid']} routes to it")
        await uow.execute("DELETE FROM queue_members WHERE queue_sid = %s", (sid,))
        await uow.execute("DELETE FROM task_queues WHERE sid = %s", (sid,))
        await log_event(
            uow,
            workspace,
            "task-queue.deleted",
            "task_queue",
            sid,
            f"TaskQueue {row['friendly_name']} deleted",
            **_queue_data(row),
        )
    return Response(status_code=204)
