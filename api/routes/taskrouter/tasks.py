"""/taskrouter/v1/Workspaces/{WS}/Tasks: create (starts a TaskWorkflow), read, update (cancel, wrap up,
complete, attributes, priority), delete. Agents may read and finish only tasks reserved to them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response

from api.access import task_access, workspace_access
from api.auth import Role
from api.deps import AdminPrincipal, CurrentPrincipal, DbDep, IfMatchDep, SettingsDep, set_etag
from api.forms.taskrouter import CreateTask, UpdateTask
from api.params import WORKSPACE_PATH, parse_param_expression
from api.query import QueryParam, QueryParameters, QueryValues
from api.schemas.taskrouter import TaskList, TaskPublic, ws_url
from domain.errors import InvalidParameter, PermissionDenied
from domain.limits import DEFAULT_TASK_TTL, MAX_PRIORITY, TASKROUTER_MAX_PAGE_SIZE
from domain.sids import SidPrefix
from domain.states import TaskStatus
from storage.taskrouter import queries, routing
from storage.taskrouter.models import NewTask, TaskChanges, TaskView

router = APIRouter(prefix=f"{WORKSPACE_PATH}/Tasks", tags=["TaskRouter: Tasks"])

LIST_QUERY = QueryParameters(
    QueryParam.integer("Priority", "Only the tasks of this priority.", minimum=0, maximum=MAX_PRIORITY),
    QueryParam.repeatable("AssignmentStatus", "Only the tasks in these statuses.", [s.value for s in TaskStatus]),
    QueryParam.sid("WorkflowSid", SidPrefix.WORKFLOW, "Only the tasks of this workflow."),
    QueryParam.string("WorkflowName", "Only the tasks of the workflow of this friendly name."),
    QueryParam.sid("TaskQueueSid", SidPrefix.TASK_QUEUE, "Only the tasks waiting in this queue."),
    QueryParam.string("TaskQueueName", "Only the tasks waiting in the queue of this friendly name."),
    QueryParam.string("EvaluateTaskAttributes", "Only the tasks whose attributes match this expression."),
    QueryParam.string("RoutingTarget", "Only the tasks routed straight to this worker or queue (a SID)."),
    QueryParam.boolean("HasAddons", "Only the tasks whose attributes carry `addons` (true), or those without (false)."),
    QueryParam.string(
        "Ordering",
        "`DateCreated`, `Priority` or `VirtualStartTime`, each `:asc` or `:desc`, comma-separated (not "
        "`DateCreated` with `VirtualStartTime`).",
    ),
    page_size=TASKROUTER_MAX_PAGE_SIZE,
)


def _out(row: TaskView, base: str, response: Response) -> TaskPublic:
    set_etag(response, row.version)
    return TaskPublic.of(row, base)


@router.post("", status_code=201, response_model=TaskPublic)
async def create_task(
    workspace_sid: str,
    response: Response,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[CreateTask, Form()],
    settings: SettingsDep,
) -> TaskPublic:
    """Create a task; its Task workflow starts after commit and routes it through the workflow's filters."""
    new = NewTask(
        attributes=form.attributes or "{}",
        priority=form.priority or 0,
        timeout=form.timeout or DEFAULT_TASK_TTL,
        workflow_sid=form.workflow_sid,
        task_channel=form.task_channel or "default",
        task_queue_sid=form.task_queue_sid,
        routing_target=form.routing_target,
        ignore_capacity=form.ignore_capacity,
        virtual_start_time=form.virtual_start_time,
    )
    async with db.unit() as uow:
        await workspace_access(uow, principal, workspace_sid)
        task = await routing.create_task(uow, account_sid=principal.account_sid, workspace_sid=workspace_sid, new=new)
        row = await queries.get_task(uow, workspace_sid=workspace_sid, task_sid=task.sid)
    return _out(row, settings.base_url, response)


@router.get("", response_model=TaskList)
async def list_tasks(
    workspace_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    params: Annotated[QueryValues, Depends(LIST_QUERY)],
    settings: SettingsDep,
) -> TaskList:
    """The workspace's tasks (an agent token: those offered to it). Filters: `AssignmentStatus` (repeatable),
    `WorkflowSid`, `WorkflowName`, `TaskQueueSid`, `TaskQueueName`, `Priority`, `EvaluateTaskAttributes`,
    `RoutingTarget`, `HasAddons`, `Ordering` (`DateCreated|Priority|VirtualStartTime:asc|desc`,
    comma-separated)."""
    page = params.paging()
    statuses: list[TaskStatus] = []
    for status in params.list("AssignmentStatus"):
        try:
            statuses.append(TaskStatus(status))
        except ValueError:
            raise InvalidParameter(f"Unknown AssignmentStatus '{status}'") from None
    evaluate = params.str("EvaluateTaskAttributes")
    filters = queries.TaskFilters(
        statuses=tuple(statuses),
        workflow_sid=params.sid("WorkflowSid", SidPrefix.WORKFLOW),
        workflow_name=params.str("WorkflowName"),
        task_queue_sid=params.sid("TaskQueueSid", SidPrefix.TASK_QUEUE),
        task_queue_name=params.str("TaskQueueName"),
        priority=params.int("Priority", minimum=0, maximum=MAX_PRIORITY),
        offered_to=principal.worker_sid if principal.role is Role.AGENT else None,
        evaluate=parse_param_expression(evaluate, "EvaluateTaskAttributes") if evaluate else None,
        routing_target=params.str("RoutingTarget"),
        has_addons=params.bool("HasAddons"),
        ordering=queries.parse_task_ordering(params.str("Ordering")),
    )
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        result = await queries.tasks(q, workspace_sid=workspace_sid, filters=filters, page=page.request)
    return TaskList(
        tasks=[TaskPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="tasks",
            url=f"{ws_url(settings.base_url, workspace_sid)}/Tasks",
            has_more=result.has_more,
            filters=[("AssignmentStatus", s.value) for s in statuses],
        ),
    )


@router.get("/{task_sid}", response_model=TaskPublic)
async def fetch_task(
    workspace_sid: str, task_sid: str, response: Response, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> TaskPublic:
    """One task (an agent token: one offered to it). Its version is in the `ETag` header; pending tasks carry
    `routing_status`, why they still wait."""
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        row = await task_access(q, principal, workspace_sid, task_sid)
    return _out(row, settings.base_url, response)


@router.post("/{task_sid}", response_model=TaskPublic)
async def update_task(
    workspace_sid: str,
    task_sid: str,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    form: Annotated[UpdateTask, Form()],
    expected: IfMatchDep,
    settings: SettingsDep,
) -> TaskPublic:
    """Cancel (while pending or reserved), wrap up or complete a task, or change its attributes, priority or
    virtual start time (`TaskChannel`, if given, must be the task's channel).
    An agent may only wrap up or complete its own task, or set the attributes of one it holds (a wrap-up
    disposition). Honours `If-Match`."""
    changes = TaskChanges(
        assignment_status=form.assignment_status,
        reason=form.reason,
        attributes=form.attributes,
        priority=form.priority,
        task_channel=form.task_channel,
        virtual_start_time=form.virtual_start_time,
    )
    async with db.unit() as uow:
        await workspace_access(uow, principal, workspace_sid)
        await task_access(uow, principal, workspace_sid, task_sid)
        # A supervisor may cancel a task of its workspace (a stranded one, with a reason); only the account
        # changes priorities and virtual start times.
        supervisor = principal.role is Role.SUPERVISOR
        if not principal.is_admin and (
            changes.priority is not None
            or changes.virtual_start_time is not None
            or (changes.assignment_status is TaskStatus.CANCELED and not supervisor)
        ):
            raise PermissionDenied("An agent may only wrap up or complete its own task, or set its attributes")
        if (
            not principal.is_admin
            and changes.attributes is not None
            and not await queries.worker_holds(uow, task_sid=task_sid, worker_sid=principal.worker_sid)
        ):
            # An agent records a disposition (`conversations.outcome`) on a task it holds, never on another's.
            raise PermissionDenied("An agent may only set the attributes of a task it holds")
        await routing.update_task(uow, task_sid=task_sid, changes=changes, expected_version=expected)
        row = await queries.get_task(uow, workspace_sid=workspace_sid, task_sid=task_sid)
    return _out(row, settings.base_url, response)


@router.delete("/{task_sid}", status_code=204)
async def delete_task(workspace_sid: str, task_sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    """Delete a task at once (a live one is canceled or completed first)."""
    async with db.unit() as uow:
        await workspace_access(uow, principal, workspace_sid)
        await task_access(uow, principal, workspace_sid, task_sid)
        await routing.delete_task(uow, task_sid=task_sid, account_sid=principal.account_sid)
    return Response(status_code=204)
