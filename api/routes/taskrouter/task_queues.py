"""/taskrouter/v1/Workspaces/{WS}/TaskQueues: where tasks wait and which workers (by target expression) may
take them. Membership is refreshed in the same transaction that changes it."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.access import workspace_access
from api.deps import AdminPrincipal, CurrentPrincipal, DbDep, SettingsDep
from api.forms.parse import form_of
from api.forms.taskrouter import CreateTaskQueue, TaskQueueForm
from api.params import WORKSPACE_PATH
from api.query import QueryParam, QueryParameters, QueryValues
from api.schemas.taskrouter import TaskQueueList, TaskQueuePublic, ws_url
from domain.limits import TASKROUTER_MAX_PAGE_SIZE
from domain.sids import SidPrefix
from storage.taskrouter import queries
from storage.taskrouter import service as taskrouter
from storage.taskrouter.models import TaskQueueFields

router = APIRouter(prefix=f"{WORKSPACE_PATH}/TaskQueues", tags=["TaskRouter: TaskQueues"])

LIST_QUERY = QueryParameters(
    QueryParam.string("FriendlyName", "Only the queue of this friendly name."),
    QueryParam.string(
        "EvaluateWorkerAttributes", "Only the queues a worker with these attributes (a JSON object) would belong to."
    ),
    QueryParam.sid("WorkerSid", SidPrefix.WORKER, "Only the queues this worker belongs to."),
    QueryParam.string(
        "Ordering",
        "`DateCreated` (the default), `DateUpdated` or `FriendlyName`, each `:asc` or `:desc`, comma-separated.",
    ),
    page_size=TASKROUTER_MAX_PAGE_SIZE,
)


def _fields(form: TaskQueueForm) -> TaskQueueFields:
    """The columns to write (only the ones given change on update)."""
    return TaskQueueFields.model_validate(form.model_dump())


@router.get("", response_model=TaskQueueList)
async def list_task_queues(
    workspace_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(LIST_QUERY)],
    settings: SettingsDep,
) -> TaskQueueList:
    """The workspace's queues. Filters: `FriendlyName`, `WorkerSid` (queues it belongs to),
    `EvaluateWorkerAttributes` (queues a worker with these attributes would belong to); `Ordering`."""
    page = query.paging()
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
            ordering=queries.parse_list_ordering(query.str("Ordering"), queries.TASK_QUEUE_ORDER_COLUMNS),
        )
    return TaskQueueList(
        task_queues=[TaskQueuePublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="task_queues",
            url=f"{ws_url(settings.base_url, workspace_sid)}/TaskQueues",
            has_more=result.has_more,
            filters=query.echo("FriendlyName", "WorkerSid", "EvaluateWorkerAttributes", "Ordering"),
        ),
    )


@router.post("", status_code=201, response_model=TaskQueuePublic)
async def create_task_queue(
    workspace_sid: str,
    request: Request,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[CreateTaskQueue, Depends(form_of(CreateTaskQueue))],
    settings: SettingsDep,
) -> TaskQueuePublic:
    """Create a queue; its members are the workers its `TargetWorkers` expression matches."""
    async with taskrouter.unique(db, "TaskQueue") as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        row = await taskrouter.create_task_queue(uow, workspace=workspace, fields=_fields(form))
    return TaskQueuePublic.of(row, settings.base_url)


@router.get("/{sid:sid}", response_model=TaskQueuePublic)
async def fetch_task_queue(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> TaskQueuePublic:
    """One queue."""
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        row = await taskrouter.get_task_queue(q, workspace_sid=workspace_sid, sid=sid)
    return TaskQueuePublic.of(row, settings.base_url)


@router.post("/{sid:sid}", response_model=TaskQueuePublic)
async def update_task_queue(
    workspace_sid: str,
    sid: str,
    request: Request,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[TaskQueueForm, Depends(form_of(TaskQueueForm))],
    settings: SettingsDep,
) -> TaskQueuePublic:
    """Change a queue; a new `TargetWorkers` recomputes its members, and waiting tasks may be offered at once."""
    async with taskrouter.unique(db, "TaskQueue") as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        row = await taskrouter.update_task_queue(uow, workspace=workspace, sid=sid, fields=_fields(form))
    return TaskQueuePublic.of(row, settings.base_url)


@router.delete("/{sid:sid}", status_code=204)
async def delete_task_queue(workspace_sid: str, sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    """Delete a queue no live task waits in and no workflow routes to (409 otherwise)."""
    async with db.unit() as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        await taskrouter.delete_task_queue(uow, workspace=workspace, sid=sid)
    return Response(status_code=204)
