"""/taskrouter/v1/Workspaces/{WS}/Workers: agents, their attributes and current activity. Versioned by ETag
(If-Match); profile and activity changes refresh queue membership and may offer waiting tasks at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response

from api.access import workspace_access
from api.deps import AdminPrincipal, CurrentPrincipal, DbDep, IfMatchDep, SettingsDep, set_etag
from api.forms.taskrouter import CreateWorker, UpdateWorker
from api.params import WORKSPACE_PATH, parse_param_expression
from api.query import QueryParam, QueryParameters, QueryValues
from api.schemas.taskrouter import WorkerList, WorkerPublic, ws_url
from domain.limits import TASKROUTER_MAX_PAGE_SIZE
from domain.sids import SidPrefix
from storage.taskrouter import queries
from storage.taskrouter import service as taskrouter
from storage.taskrouter.models import WorkerView

router = APIRouter(prefix=f"{WORKSPACE_PATH}/Workers", tags=["TaskRouter: Workers"])

_LIST_FILTERS = (
    QueryParam.string("ActivityName", "Only the workers in the activity of this friendly name."),
    QueryParam.sid("ActivitySid", SidPrefix.ACTIVITY, "Only the workers in this activity."),
    QueryParam.string(
        "Available", "`true` (or `1`, `yes`): only the available workers; `false` (`0`, `no`): only the others."
    ),
    QueryParam.string("FriendlyName", "Only the worker of this friendly name."),
    QueryParam.sid("TaskQueueSid", SidPrefix.TASK_QUEUE, "Only the workers eligible for this queue."),
    QueryParam.string("TaskQueueName", "Only the workers eligible for the queue of this friendly name."),
    QueryParam.string("TargetWorkersExpression", "Only the workers this expression matches."),
    QueryParam.string(
        "Ordering",
        "`DateCreated` (the default), `DateUpdated`, `DateStatusChanged` or `FriendlyName`, each `:asc` or `:desc`, "
        "comma-separated.",
    ),
)
LIST_QUERY = QueryParameters(*_LIST_FILTERS, page_size=TASKROUTER_MAX_PAGE_SIZE)


def _out(row: WorkerView, base: str, response: Response) -> WorkerPublic:
    set_etag(response, row.version)
    return WorkerPublic.of(row, base)


@router.get("", response_model=WorkerList)
async def list_workers(
    workspace_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(LIST_QUERY)],
    settings: SettingsDep,
) -> WorkerList:
    """The workspace's workers (an agent token reads them too: the transfer directory). Filters:
    `ActivityName`, `ActivitySid`, `Available`, `FriendlyName`, `TaskQueueSid`, `TaskQueueName`,
    `TargetWorkersExpression`; `Ordering`."""
    page = query.paging()
    text = query.str("TargetWorkersExpression")
    filters = queries.WorkerFilters(
        activity_name=query.str("ActivityName"),
        activity_sid=query.sid("ActivitySid", SidPrefix.ACTIVITY),
        available=query.bool("Available"),
        friendly_name=query.str("FriendlyName"),
        task_queue_sid=query.sid("TaskQueueSid", SidPrefix.TASK_QUEUE),
        task_queue_name=query.str("TaskQueueName"),
        target_workers=parse_param_expression(text, "TargetWorkersExpression") if text is not None else None,
        ordering=queries.parse_list_ordering(query.str("Ordering"), queries.WORKER_ORDER_COLUMNS),
    )
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        result = await queries.workers(q, workspace_sid=workspace_sid, filters=filters, page=page.request)
    return WorkerList(
        workers=[WorkerPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="workers",
            url=f"{ws_url(settings.base_url, workspace_sid)}/Workers",
            has_more=result.has_more,
            filters=query.echo(*(p.name for p in _LIST_FILTERS)),
        ),
    )


@router.post("", status_code=201, response_model=WorkerPublic)
async def create_worker(
    workspace_sid: str,
    response: Response,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[CreateWorker, Form()],
    settings: SettingsDep,
) -> WorkerPublic:
    """Create a worker in the given activity (default: the workspace's), with a worker channel per task
    channel; its attributes decide which queues it belongs to."""
    async with taskrouter.unique(db, "Worker") as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        row = await taskrouter.create_worker(
            uow,
            workspace=workspace,
            friendly_name=form.friendly_name,
            attributes=form.attributes or "{}",
            activity_sid=form.activity_sid,
        )
    return _out(row, settings.base_url, response)


@router.get("/{sid:sid}", response_model=WorkerPublic)
async def fetch_worker(
    workspace_sid: str, sid: str, response: Response, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> WorkerPublic:
    """One worker (an agent token: only its own). Its version is in the `ETag` header."""
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        principal.require_worker(workspace_sid, sid)
        row = await taskrouter.get_worker(q, workspace_sid=workspace_sid, sid=sid)
    return _out(row, settings.base_url, response)


@router.post("/{sid:sid}", response_model=WorkerPublic)
async def update_worker(
    workspace_sid: str,
    sid: str,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    form: Annotated[UpdateWorker, Form()],
    expected: IfMatchDep,
    settings: SettingsDep,
) -> WorkerPublic:
    """Change a worker's activity (an agent may, for itself) or profile (admins). Honours `If-Match`."""
    async with taskrouter.unique(db, "Worker") as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        principal.require_worker(workspace_sid, sid)
        if form.friendly_name is not None or form.attributes is not None:
            principal.require_admin()  # an agent may change its activity, not its profile
        row = await taskrouter.update_worker(
            uow,
            workspace=workspace,
            sid=sid,
            friendly_name=form.friendly_name,
            attributes=form.attributes,
            activity_sid=form.activity_sid,
            reject_pending=form.reject_pending_reservations,
            expected_version=expected,
        )
    return _out(row, settings.base_url, response)


@router.delete("/{sid:sid}", status_code=204)
async def delete_worker(
    workspace_sid: str, sid: str, principal: AdminPrincipal, db: DbDep, expected: IfMatchDep
) -> Response:
    """Delete a worker with no live reservation (409 otherwise). Honours `If-Match`."""
    async with db.unit() as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        await taskrouter.delete_worker(uow, workspace=workspace, sid=sid, expected_version=expected)
    return Response(status_code=204)
