"""/taskrouter/v1/Workspaces/{WS}/TaskQueues: where tasks wait and which workers (by target expression) may
take them. Membership is refreshed in the same transaction that changes it."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response

from api.access import workspace_access
from api.deps import AdminPrincipal, CurrentPrincipal, DbDep, FormDep, QueryDep, SettingsDep
from api.paging import echo, paging
from api.params import WORKSPACE_PATH, optional_name, parse_param_expression, required_name
from api.schemas.taskrouter import TaskQueueList, TaskQueuePublic, ws_url
from api.wire import Params
from domain.limits import MAX_RESERVED_WORKERS
from domain.routing.engine import QueueOrder
from domain.sids import SidPrefix
from storage.taskrouter import queries
from storage.taskrouter import service as taskrouter
from storage.taskrouter.models import TaskQueueFields

router = APIRouter(prefix=f"{WORKSPACE_PATH}/TaskQueues", tags=["TaskRouter: TaskQueues"])


def _queue_fields(form: Params, *, creating: bool) -> TaskQueueFields:
    target = form.str("TargetWorkers")
    # An empty expression is allowed: Twilio treats it as "no worker ever matches".
    if target is not None and target.strip():
        parse_param_expression(target, "TargetWorkers")
    return TaskQueueFields(
        friendly_name=required_name(form) if creating else optional_name(form),
        target_workers=target,
        max_reserved_workers=form.int("MaxReservedWorkers", minimum=1, maximum=MAX_RESERVED_WORKERS),
        task_order=form.enum("TaskOrder", QueueOrder),
        reservation_activity_sid=form.sid("ReservationActivitySid", SidPrefix.ACTIVITY),
        assignment_activity_sid=form.sid("AssignmentActivitySid", SidPrefix.ACTIVITY),
    )


@router.get("", response_model=TaskQueueList)
async def list_task_queues(
    workspace_sid: str, request: Request, principal: CurrentPrincipal, db: DbDep, query: QueryDep, settings: SettingsDep
) -> TaskQueueList:
    page = paging(request.query_params)
    worker_attributes = query.json_object("EvaluateWorkerAttributes")
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        result = await queries.task_queues(
            q,
            workspace_sid=workspace_sid,
            friendly_name=query.str("FriendlyName"),
            worker_sid=query.sid("WorkerSid", SidPrefix.WORKER),
            worker_attributes=json.loads(worker_attributes) if worker_attributes is not None else None,
            page=page.request,
        )
    return TaskQueueList(
        task_queues=[TaskQueuePublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="task_queues",
            url=f"{ws_url(settings.base_url, workspace_sid)}/TaskQueues",
            has_more=result.has_more,
            filters=echo(request.query_params, "FriendlyName", "WorkerSid", "EvaluateWorkerAttributes"),
        ),
    )


@router.post("", status_code=201, response_model=TaskQueuePublic)
async def create_task_queue(
    workspace_sid: str, principal: AdminPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> TaskQueuePublic:
    fields = _queue_fields(form, creating=True)
    async with taskrouter.unique(db, "TaskQueue") as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        row = await taskrouter.create_task_queue(uow, workspace=workspace, fields=fields)
    return TaskQueuePublic.of(row, settings.base_url)


@router.get("/{sid:sid}", response_model=TaskQueuePublic)
async def fetch_task_queue(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> TaskQueuePublic:
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        row = await taskrouter.get_task_queue(q, workspace_sid=workspace_sid, sid=sid)
    return TaskQueuePublic.of(row, settings.base_url)


@router.post("/{sid:sid}", response_model=TaskQueuePublic)
async def update_task_queue(
    workspace_sid: str, sid: str, principal: AdminPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> TaskQueuePublic:
    fields = _queue_fields(form, creating=False)
    async with taskrouter.unique(db, "TaskQueue") as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        row = await taskrouter.update_task_queue(uow, workspace=workspace, sid=sid, fields=fields)
    return TaskQueuePublic.of(row, settings.base_url)


@router.delete("/{sid:sid}", status_code=204)
async def delete_task_queue(workspace_sid: str, sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    async with db.unit() as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        await taskrouter.delete_task_queue(uow, workspace=workspace, sid=sid)
    return Response(status_code=204)
