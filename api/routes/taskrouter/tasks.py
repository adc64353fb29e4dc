"""/taskrouter/v1/Workspaces/{WS}/Tasks: create (starts a TaskWorkflow), read, update (cancel, wrap up,
complete, attributes, priority), delete. Agents may read and finish only tasks reserved to them."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request, Response

from api.auth import Principal, Role
from api.deps import CurrentPrincipal, DbDep, FormDep, SettingsDep
from api.routes.taskrouter.common import load_workspace
from api.serializers.taskrouter import TASK_SELECT, task_json
from api.wire import Page, Params
from domain.errors import Conflict, InvalidParameter, NotFound, PermissionDenied
from domain.routing import parse_expression
from domain.sids import SidPrefix, new_sid
from storage import routing
from storage.db import UnitOfWork
from storage.events import record_event
from storage.matching import match

router = APIRouter(prefix="/taskrouter/v1/Workspaces/{workspace_sid}/Tasks", tags=["TaskRouter: Tasks"])
ATTRIBUTES_LIMIT = 4096
MAX_TTL = 1_209_600


class AssignmentStatus(StrEnum):
    PENDING = "pending"
    RESERVED = "reserved"
    ASSIGNED = "assigned"
    CANCELED = "canceled"
    COMPLETED = "completed"
    WRAPPING = "wrapping"


async def load_task(q: UnitOfWork, principal: Principal, workspace_sid: str, task_sid: str) -> dict[str, Any]:
    row = await q.fetchone(TASK_SELECT + " WHERE t.sid = %s AND t.workspace_sid = %s", (task_sid, workspace_sid))
    if row is None:
        raise NotFound(f"The requested resource /Workspaces/{workspace_sid}/Tasks/{task_sid} was not found")
    if principal.role is Role.AGENT:
        mine = await q.fetchone(
            "SELECT 1 FROM reservations WHERE task_sid = %s AND worker_sid = %s",
            (task_sid, principal.worker_sid),
        )
        if mine is None:
            raise PermissionDenied("An agent may only see tasks reserved to it")
    return row


def _etag(response: Response, row: dict[str, Any]) -> None:
    response.headers["ETag"] = str(row["version"])


@router.post("", status_code=201)
async def create_task(
    workspace_sid: str,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    form: FormDep,
    settings: SettingsDep,
) -> Any:
    principal.require_admin()
    attributes = form.json_object("Attributes", max_length=ATTRIBUTES_LIMIT) or "{}"
    priority = form.int("Priority", minimum=0, maximum=2**31 - 1) or 0
    timeout = form.int("Timeout", minimum=1, maximum=MAX_TTL) or 86400
    async with db.unit() as uow:
        await load_workspace(uow, principal, workspace_sid)
        workflow_sid = form.sid("WorkflowSid", SidPrefix.WORKFLOW)
        workflows = await uow.fetchall(
            "SELECT sid FROM workflows WHERE workspace_sid = %s AND (%s::text IS NULL OR sid = %s) LIMIT 2",
            (workspace_sid, workflow_sid, workflow_sid),
        )
        if workflow_sid is not None and not workflows:
            raise InvalidParameter(f"WorkflowSid {workflow_sid} is not a workflow of this workspace")
        if workflow_sid is None and len(workflows) != 1:
            raise InvalidParameter("WorkflowSid is required when the workspace has no single workflow")
        channel_name = form.str("TaskChannel") or "default"
        channel = await uow.fetchone(
            "SELECT sid FROM task_channels WHERE workspace_sid = %s AND (sid = %s OR unique_name = %s)",
            (workspace_sid, channel_name, channel_name),
        )
        if channel is None:
            raise InvalidParameter(f"TaskChannel '{channel_name}' does not exist in this workspace")
        task_sid = new_sid(SidPrefix.TASK)
        await uow.execute(
            "INSERT INTO tasks (sid, account_sid, workspace_sid, workflow_sid, task_channel_sid, attributes, "
            "priority, timeout, virtual_start_time) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now())",
            (
                task_sid,
                principal.account_sid,
                workspace_sid,
                workflows[0]["sid"],
                channel["sid"],
                attributes,
                priority,
                timeout,
            ),
        )
        await record_event(
            uow,
            account_sid=principal.account_sid,
            workspace_sid=workspace_sid,
            event_type="task.created",
            resource_type="task",
            resource_sid=task_sid,
            description=f"Task {task_sid} created",
            data={"task_sid": task_sid},
            actor_type="account",
            actor_sid=principal.account_sid,
        )
        await uow.outbox(
            account_sid=principal.account_sid,
            kind="start_task",
            dedupe_key=f"{task_sid}:start",
            payload={
                "workflow_id": task_sid,
                "input": {
                    "account_sid": principal.account_sid,
                    "task_sid": task_sid,
                    "workspace_sid": workspace_sid,
                },
            },
        )
        row = await load_task(uow, principal, workspace_sid, task_sid)
    _etag(response, row)
    return task_json(row, settings.base_url)


@router.get("")
async def list_tasks(
    workspace_sid: str, request: Request, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    page = Page(request.query_params)
    params = Params(request.query_params)
    statuses = params.list("AssignmentStatus")
    for status in statuses:
        if status not in {s.value for s in AssignmentStatus}:
            raise InvalidParameter(f"Unknown AssignmentStatus '{status}'")
    evaluate = params.str("EvaluateTaskAttributes")
    expression = parse_expression(evaluate) if evaluate else None
    order = (params.str("Ordering") or "DateCreated:asc").split(",")[0]
    order_sql = {
        "datecreated:asc": "t.date_created ASC",
        "datecreated:desc": "t.date_created DESC",
        "priority:asc": "t.priority ASC, t.date_created",
        "priority:desc": "t.priority DESC, t.date_created",
        "virtualstarttime:asc": "t.virtual_start_time ASC",
        "virtualstarttime:desc": "t.virtual_start_time DESC",
    }.get(order.lower())
    if order_sql is None:
        raise InvalidParameter(f"Unsupported Ordering '{order}'")
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        agent_only = principal.worker_sid if principal.role is Role.AGENT else None
        rows = await q.fetchall(
            TASK_SELECT
            + """
             WHERE t.workspace_sid = %s AND (cardinality(%s::text[]) = 0 OR t.assignment_status = ANY(%s))
               AND (%s::text IS NULL OR t.workflow_sid = %s) AND (%s::text IS NULL OR t.task_queue_sid = %s)
               AND (%s::text IS NULL OR q.friendly_name = %s) AND (%s::int IS NULL OR t.priority = %s)
               AND (%s::text IS NULL OR EXISTS (SELECT 1 FROM reservations r WHERE r.task_sid = t.sid
                                                 AND r.worker_sid = %s))
            """
            + f" ORDER BY {order_sql}, t.sid",
            (
                workspace_sid,
                statuses,
                statuses,
                params.str("WorkflowSid"),
                params.str("WorkflowSid"),
                params.str("TaskQueueSid"),
                params.str("TaskQueueSid"),
                params.str("TaskQueueName"),
                params.str("TaskQueueName"),
                params.int("Priority"),
                params.int("Priority"),
                agent_only,
                agent_only,
            ),
        )
    if expression is not None:
        rows = [r for r in rows if expression.evaluate(json.loads(r["attributes"] or "{}"))]
    window, more = page.cut(rows)
    return page.envelope(
        key="tasks",
        url=f"{settings.base_url}/taskrouter/v1/Workspaces/{workspace_sid}/Tasks",
        items=[task_json(r, settings.base_url) for r in window],
        has_more=more,
        filters=[("AssignmentStatus", s) for s in statuses],
    )


@router.get("/{task_sid}")
async def fetch_task(
    workspace_sid: str,
    task_sid: str,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
) -> Any:
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        row = await load_task(q, principal, workspace_sid, task_sid)
    _etag(response, row)
    return task_json(row, settings.base_url)


@router.post("/{task_sid}")
async def update_task(
    workspace_sid: str,
    task_sid: str,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    form: FormDep,
    settings: SettingsDep,
) -> Any:
    status = form.enum("AssignmentStatus", AssignmentStatus)
    reason = form.str("Reason", max_length=1024)
    attributes = form.json_object("Attributes", max_length=ATTRIBUTES_LIMIT)
    priority = form.int("Priority", minimum=0, maximum=2**31 - 1)
    if status in (AssignmentStatus.CANCELED, AssignmentStatus.COMPLETED) and not reason and principal.is_admin:
        reason = None  # Twilio requires a Reason; Parley records none rather than refusing the finish.
    async with db.unit() as uow:
        await load_workspace(uow, principal, workspace_sid)
        row = await load_task(uow, principal, workspace_sid, task_sid)
        if not principal.is_admin and (
            attributes is not None or priority is not None or status is AssignmentStatus.CANCELED
        ):
            raise PermissionDenied("An agent may only wrap up or complete its own task")
        if_match = request.headers.get("if-match")
        if if_match is not None and if_match.strip('"') != str(row["version"]):
            raise Conflict("If-Match does not match the task's current ETag", status=412)
        if attributes is not None or priority is not None:
            await uow.execute(
                "UPDATE tasks SET attributes = COALESCE(%s, attributes), priority = COALESCE(%s, priority), "
                "version = version + 1, date_updated = now() WHERE sid = %s",
                (attributes, priority, task_sid),
            )
            await match(uow, workspace_sid)
        if status is not None:
            await routing.update_task_status(uow, task_sid=task_sid, status=status.value, reason=reason)
        row = await load_task(uow, principal, workspace_sid, task_sid)
    _etag(response, row)
    return task_json(row, settings.base_url)


@router.delete("/{task_sid}", status_code=204)
async def delete_task(workspace_sid: str, task_sid: str, principal: CurrentPrincipal, db: DbDep) -> Response:
    principal.require_admin()
    async with db.unit() as uow:
        await load_workspace(uow, principal, workspace_sid)
        row = await load_task(uow, principal, workspace_sid, task_sid)
        if row["assignment_status"] in ("pending", "reserved"):
            await routing.update_task_status(uow, task_sid=task_sid, status="canceled", reason="Task deleted")
        elif row["assignment_status"] in ("assigned", "wrapping"):
            await routing.update_task_status(uow, task_sid=task_sid, status="completed", reason="Task deleted")
        await uow.execute(
            "UPDATE interaction_channels SET active_task_sid = NULL WHERE active_task_sid = %s", (task_sid,)
        )
        await uow.execute("DELETE FROM reservations WHERE task_sid = %s", (task_sid,))
        await uow.execute("DELETE FROM tasks WHERE sid = %s", (task_sid,))
        await record_event(
            uow,
            account_sid=principal.account_sid,
            workspace_sid=workspace_sid,
            event_type="task.deleted",
            resource_type="task",
            resource_sid=task_sid,
            description=f"Task {task_sid} deleted",
            data={"task_sid": task_sid},
            actor_type="account",
            actor_sid=principal.account_sid,
        )
    return Response(status_code=204)
