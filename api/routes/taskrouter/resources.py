"""/taskrouter/v1/Workspaces/{WS}/…: activities, task channels, task queues, workflows, workers and their
channels, and the event log. Whatever changes who may receive which task goes through storage.routing
(membership cache, worker channels, activity changes) so matching sees it in the same transaction."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request, Response
from psycopg.errors import UniqueViolation
from starlette.convertors import Convertor, register_url_convertor

from api.auth import Principal, Role
from api.deps import CurrentPrincipal, DbDep, FormDep, QueryDep, SettingsDep
from api.routes.taskrouter.common import activity_names, load_in_workspace, load_workspace
from api.serializers.taskrouter import (
    activity_json,
    event_json,
    task_channel_json,
    task_queue_json,
    worker_channel_json,
    worker_json,
    workflow_json,
)
from api.wire import Page, Params
from core.settings import Settings
from domain.errors import Conflict, InvalidParameter, NotFound, PermissionDenied
from domain.routing import (
    Expression,
    ExpressionSyntaxError,
    WorkflowConfiguration,
    WorkflowConfigurationError,
    parse_expression,
    parse_workflow_configuration,
)
from domain.sids import SidPrefix, is_sid, new_sid
from storage.db import Database, UnitOfWork
from storage.events import record_event
from storage.matching import lock_workspace, match
from storage.routing import (
    ensure_worker_channels,
    refresh_membership_for_queue,
    refresh_membership_for_worker,
    set_worker_activity,
    update_worker_channel,
)

Row = dict[str, Any]


class _SidConvertor(Convertor[str]):
    """Path segments that look like a SID. Routers included after this one serve siblings such as
    `/Workers/Statistics` or `POST /TaskQueues/RealTimeStatistics`; a plain `{sid}` would shadow them."""

    regex = "[A-Z]{2}[0-9a-fA-F]{32}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("sid", _SidConvertor())

router = APIRouter(prefix="/taskrouter/v1/Workspaces/{workspace_sid}", tags=["TaskRouter: Workspace resources"])

LIVE_TASK = ("pending", "reserved", "assigned", "wrapping")
LIVE_RESERVATION = ("pending", "accepted", "wrapping")


class TaskOrder(StrEnum):
    FIFO = "FIFO"
    LIFO = "LIFO"


# --- shared helpers ----------------------------------------------------------------------------------


class _Where:
    """AND-joined list filters; a clause joins only when its value was given (once per placeholder)."""

    def __init__(self, clause: str, *args: Any) -> None:
        self.clauses = [clause]
        self.args: list[Any] = list(args)

    def add(self, value: Any, clause: str) -> None:
        if value is not None:
            self.clauses.append(clause)
            self.args.extend([value] * clause.count("%s"))

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses)


def _list_url(settings: Settings, workspace_sid: str, resource: str) -> str:
    return f"{settings.base_url}/taskrouter/v1/Workspaces/{workspace_sid}/{resource}"


def _echo(request: Request, *names: str) -> list[tuple[str, str]]:
    return [(name, value) for name in names if (value := request.query_params.get(name)) is not None]


async def _page_rows(q: UnitOfWork, sql: str, args: list[Any], page: Page) -> tuple[list[Row], bool]:
    rows = await q.fetchall(f"{sql} LIMIT %s OFFSET %s", (*args, page.size + 1, page.offset))
    return rows[: page.size], len(rows) > page.size


def _slice(rows: list[Row], page: Page) -> tuple[list[Row], bool]:
    window = rows[page.offset : page.offset + page.size + 1]
    return window[: page.size], len(window) > page.size


@asynccontextmanager
async def _unit(db: Database, what: str) -> AsyncIterator[UnitOfWork]:
    """Pre-checks give the precise 409; this catches two requests that pass them at the same moment."""
    try:
        async with db.unit() as uow:
            yield uow
    except UniqueViolation:
        raise Conflict(f"{what} already exists in this workspace") from None


async def _ensure_unique(
    uow: UnitOfWork,
    table: str,
    workspace_sid: str,
    column: str,
    value: str,
    what: str,
    *,
    exclude: str = "",
    casefold: bool = False,
) -> None:
    test = f"lower({column}) = lower(%s)" if casefold else f"{column} = %s"
    row = await uow.fetchone(
        f"SELECT sid FROM {table} WHERE workspace_sid = %s AND {test} AND sid <> %s",
        (workspace_sid, value, exclude),
    )
    if row is not None:
        raise Conflict(f"{what} '{value}' already exists in this workspace ({row['sid']})")


async def _insert(uow: UnitOfWork, table: str, values: dict[str, Any]) -> Row:
    marks = ", ".join(["%s"] * len(values))
    row = await uow.fetchone(
        f"INSERT INTO {table} ({', '.join(values)}) VALUES ({marks}) RETURNING *", tuple(values.values())
    )
    assert row is not None
    return row


async def _update(uow: UnitOfWork, table: str, sid: str, changes: dict[str, Any]) -> Row:
    sets = "".join(f"{column} = %s, " for column in changes)
    row = await uow.fetchone(
        f"UPDATE {table} SET {sets}date_updated = now() WHERE sid = %s RETURNING *", (*changes.values(), sid)
    )
    assert row is not None
    return row


async def _count(uow: UnitOfWork, sql: str, args: tuple[Any, ...]) -> int:
    row = await uow.fetchone(f"SELECT count(*) AS n FROM {sql}", args)
    return int(row["n"]) if row else 0


async def _event(
    uow: UnitOfWork,
    workspace: Row,
    event_type: str,
    resource_type: str,
    resource_sid: str,
    description: str,
    **data: Any,
) -> None:
    await record_event(
        uow,
        account_sid=workspace["account_sid"],
        workspace_sid=workspace["sid"],
        event_type=event_type,
        resource_type=resource_type,
        resource_sid=resource_sid,
        description=description,
        data={**data, "workspace_sid": workspace["sid"], "workspace_name": workspace["friendly_name"]},
    )


def _optional_name(form: Params) -> str | None:
    name = form.str("FriendlyName", max_length=64)
    if name is not None and not name.strip():
        raise InvalidParameter("Parameter 'FriendlyName' must not be empty")
    return name


def _expression(text: str, param: str) -> Expression:
    try:
        return parse_expression(text)
    except ExpressionSyntaxError as exc:
        # The error's own message is the bare reason; the client needs the parameter and the position.
        raise InvalidParameter(f"Parameter '{param}' is not a valid expression: {exc.headline}") from None


def _url(form: Params, param: str) -> str | None:
    value = form.str(param, max_length=2048)
    if value and not value.startswith(("http://", "https://")):
        raise InvalidParameter(f"Parameter '{param}' must be an http(s) URL, got '{value}'")
    return value


def _date(params: Params, name: str) -> datetime | None:
    value = params.str(name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidParameter(f"Parameter '{name}' must be an ISO 8601 date-time, got '{value}'") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _deny_agents(principal: Principal, what: str) -> None:
    if principal.role is Role.AGENT:
        raise PermissionDenied(f"An agent token may not read {what}")


async def _get(q: UnitOfWork, table: str, path: str, workspace_sid: str, sid: str, *, for_update: bool = False) -> Row:
    return await load_in_workspace(
        q, table=table, sid=sid, workspace_sid=workspace_sid, path=path, for_update=for_update
    )


async def _activity(uow: UnitOfWork, workspace_sid: str, activity_sid: str, param: str) -> Row:
    row = await uow.fetchone(
        "SELECT * FROM activities WHERE sid = %s AND workspace_sid = %s", (activity_sid, workspace_sid)
    )
    if row is None:
        raise InvalidParameter(f"Parameter '{param}': {activity_sid} is not an activity of this workspace")
    return row


# --- activities --------------------------------------------------------------------------------------


@router.get("/Activities")
async def list_activities(
    workspace_sid: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    query: QueryDep,
    settings: SettingsDep,
) -> Any:
    page = Page(request.query_params)
    where = _Where("workspace_sid = %s", workspace_sid)
    where.add(query.str("FriendlyName"), "friendly_name = %s")
    where.add(query.bool("Available"), "available = %s")
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        rows, more = await _page_rows(
            q, f"SELECT * FROM activities WHERE {where.sql} ORDER BY date_created, sid", where.args, page
        )
    return page.envelope(
        key="activities",
        url=_list_url(settings, workspace_sid, "Activities"),
        has_more=more,
        items=[activity_json(r, settings.base_url) for r in rows],
        filters=_echo(request, "FriendlyName", "Available"),
    )


@router.post("/Activities", status_code=201)
async def create_activity(
    workspace_sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    name = form.required_str("FriendlyName", max_length=64)
    available = bool(form.bool("Available"))
    async with _unit(db, "Activity") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await _ensure_unique(uow, "activities", workspace_sid, "friendly_name", name, "Activity")
        row = await _insert(
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
        await _event(
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


@router.get("/Activities/{sid:sid}")
async def fetch_activity(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        row = await _get(q, "activities", "Activities", workspace_sid, sid)
    return activity_json(row, settings.base_url)


@router.post("/Activities/{sid:sid}")
async def update_activity(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    name = _optional_name(form)
    async with _unit(db, "Activity") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        row = await _get(uow, "activities", "Activities", workspace_sid, sid)
        if name is not None and name != row["friendly_name"]:
            await _ensure_unique(uow, "activities", workspace_sid, "friendly_name", name, "Activity", exclude=sid)
            row = await _update(uow, "activities", sid, {"friendly_name": name})
            await _event(
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


@router.delete("/Activities/{sid:sid}", status_code=204)
async def delete_activity(workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep) -> Response:
    principal.require_admin()
    async with db.unit() as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        # Activity changes happen under the workspace lock; holding it means no worker moves in meanwhile.
        await lock_workspace(uow, workspace_sid)
        row = await _get(uow, "activities", "Activities", workspace_sid, sid)
        if sid in (workspace["default_activity_sid"], workspace["timeout_activity_sid"]):
            raise Conflict(f"Activity {sid} is the workspace's default or timeout activity")
        workers = await _count(uow, "workers WHERE activity_sid = %s", (sid,))
        if workers:
            raise Conflict(f"Activity {sid} cannot be deleted while {workers} worker(s) are in it")
        queues = await _count(
            uow, "task_queues WHERE %s IN (reservation_activity_sid, assignment_activity_sid)", (sid,)
        )
        if queues:
            raise Conflict(f"Activity {sid} cannot be deleted while {queues} task queue(s) refer to it")
        await uow.execute("DELETE FROM activities WHERE sid = %s", (sid,))
        await _event(
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


# --- task channels -----------------------------------------------------------------------------------


async def _task_channel(q: UnitOfWork, workspace_sid: str, key: str) -> Row:
    column = "sid" if is_sid(key, SidPrefix.TASK_CHANNEL) else "unique_name"
    row = await q.fetchone(
        f"SELECT * FROM task_channels WHERE workspace_sid = %s AND {column} = %s", (workspace_sid, key)
    )
    if row is None:
        raise NotFound(f"The requested resource /Workspaces/{workspace_sid}/TaskChannels/{key} was not found")
    return row


@router.get("/TaskChannels")
async def list_task_channels(
    workspace_sid: str, request: Request, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    page = Page(request.query_params)
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        rows, more = await _page_rows(
            q,
            "SELECT * FROM task_channels WHERE workspace_sid = %s ORDER BY date_created, sid",
            [workspace_sid],
            page,
        )
    return page.envelope(
        key="channels",
        url=_list_url(settings, workspace_sid, "TaskChannels"),
        has_more=more,
        items=[task_channel_json(r, settings.base_url) for r in rows],
    )


@router.post("/TaskChannels", status_code=201)
async def create_task_channel(
    workspace_sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    name = form.required_str("FriendlyName", max_length=64)
    unique_name = form.required_str("UniqueName", max_length=64)
    optimized = bool(form.bool("ChannelOptimizedRouting"))
    async with _unit(db, "TaskChannel") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await _ensure_unique(uow, "task_channels", workspace_sid, "unique_name", unique_name, "TaskChannel")
        row = await _insert(
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
        await _event(
            uow,
            workspace,
            "task-channel.created",
            "task_channel",
            row["sid"],
            f"TaskChannel {unique_name} created",
            **_task_channel_data(row),
        )
    return task_channel_json(row, settings.base_url)


def _task_channel_data(row: Row) -> dict[str, Any]:
    return {
        "task_channel_sid": row["sid"],
        "task_channel_name": row["friendly_name"],
        "task_channel_unique_name": row["unique_name"],
        "task_channel_optimized_routing": row["channel_optimized_routing"],
    }


@router.get("/TaskChannels/{sid}")
async def fetch_task_channel(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        row = await _task_channel(q, workspace_sid, sid)
    return task_channel_json(row, settings.base_url)


@router.post("/TaskChannels/{sid}")
async def update_task_channel(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    given = {
        "friendly_name": _optional_name(form),
        "channel_optimized_routing": form.bool("ChannelOptimizedRouting"),
    }
    changes = {column: value for column, value in given.items() if value is not None}
    async with db.unit() as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        row = await _task_channel(uow, workspace_sid, sid)
        if changes:
            row = await _update(uow, "task_channels", row["sid"], changes)
            await _event(
                uow,
                workspace,
                "task-channel.updated",
                "task_channel",
                row["sid"],
                f"TaskChannel {row['unique_name']} updated",
                **_task_channel_data(row),
            )
    return task_channel_json(row, settings.base_url)


@router.delete("/TaskChannels/{sid}", status_code=204)
async def delete_task_channel(workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep) -> Response:
    principal.require_admin()
    async with db.unit() as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await lock_workspace(uow, workspace_sid)
        row = await _task_channel(uow, workspace_sid, sid)
        tasks = await _count(uow, "tasks WHERE task_channel_sid = %s", (row["sid"],))
        if tasks:
            raise Conflict(f"TaskChannel {row['unique_name']} cannot be deleted while {tasks} task(s) use it")
        # With no tasks on the channel there are no reservations on its worker channels either.
        await uow.execute("DELETE FROM worker_channels WHERE task_channel_sid = %s", (row["sid"],))
        await uow.execute("DELETE FROM task_channels WHERE sid = %s", (row["sid"],))
        await _event(
            uow,
            workspace,
            "task-channel.deleted",
            "task_channel",
            row["sid"],
            f"TaskChannel {row['unique_name']} deleted",
            **_task_channel_data(row),
        )
    return Response(status_code=204)


# --- task queues -------------------------------------------------------------------------------------

_QUEUE_ACTIVITY_PARAMS = (
    ("ReservationActivitySid", "reservation_activity_sid"),
    ("AssignmentActivitySid", "assignment_activity_sid"),
)
_QUEUE_ROUTING_COLUMNS = ("target_workers", "max_reserved_workers", "task_order")


def _name(form: Params, *, creating: bool) -> str | None:
    return form.required_str("FriendlyName", max_length=64) if creating else _optional_name(form)


def _queue_fields(form: Params, *, creating: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "friendly_name": _name(form, creating=creating),
        "max_reserved_workers": form.int("MaxReservedWorkers", minimum=1, maximum=50),
        "task_order": (order.value if (order := form.enum("TaskOrder", TaskOrder)) else None),
    }
    target = form.str("TargetWorkers")
    if target is not None:
        # An empty expression is allowed: Twilio treats it as "no worker ever matches".
        if target.strip():
            _expression(target, "TargetWorkers")
        fields["target_workers"] = target
    for param, column in _QUEUE_ACTIVITY_PARAMS:
        fields[column] = form.sid(param, SidPrefix.ACTIVITY)
    return {column: value for column, value in fields.items() if value is not None}


async def _check_queue_activities(uow: UnitOfWork, workspace_sid: str, fields: dict[str, Any]) -> None:
    for param, column in _QUEUE_ACTIVITY_PARAMS:
        if column in fields:
            await _activity(uow, workspace_sid, fields[column], param)


async def _queue_out(q: UnitOfWork, row: Row, settings: Settings) -> dict[str, Any]:
    names = await activity_names(q, row["workspace_sid"])
    return task_queue_json(row, settings.base_url, activity_names=names)


def _queue_data(row: Row) -> dict[str, Any]:
    return {
        "task_queue_sid": row["sid"],
        "task_queue_name": row["friendly_name"],
        "task_queue_target_expression": row["target_workers"],
    }


@router.get("/TaskQueues")
async def list_task_queues(
    workspace_sid: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    query: QueryDep,
    settings: SettingsDep,
) -> Any:
    page = Page(request.query_params)
    where = _Where("q.workspace_sid = %s", workspace_sid)
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
            rows, more = await _page_rows(q, sql, where.args, page)
        else:
            document = json.loads(worker_attributes)
            rows, more = _slice(
                [
                    r
                    for r in await q.fetchall(sql, where.args)
                    if r["target_workers"].strip() and parse_expression(r["target_workers"]).evaluate(document)
                ],
                page,
            )
        names = await activity_names(q, workspace_sid)
    return page.envelope(
        key="task_queues",
        url=_list_url(settings, workspace_sid, "TaskQueues"),
        has_more=more,
        items=[task_queue_json(r, settings.base_url, activity_names=names) for r in rows],
        filters=_echo(request, "FriendlyName", "WorkerSid", "EvaluateWorkerAttributes"),
    )


@router.post("/TaskQueues", status_code=201)
async def create_task_queue(
    workspace_sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    fields = _queue_fields(form, creating=True)
    async with _unit(db, "TaskQueue") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await lock_workspace(uow, workspace_sid)
        await _check_queue_activities(uow, workspace_sid, fields)
        await _ensure_unique(uow, "task_queues", workspace_sid, "friendly_name", fields["friendly_name"], "TaskQueue")
        row = await _insert(
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
        await _event(
            uow,
            workspace,
            "task-queue.created",
            "task_queue",
            row["sid"],
            f"TaskQueue {row['friendly_name']} created",
            **_queue_data(row),
        )
        return await _queue_out(uow, row, settings)


@router.get("/TaskQueues/{sid:sid}")
async def fetch_task_queue(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        row = await _get(q, "task_queues", "TaskQueues", workspace_sid, sid)
        return await _queue_out(q, row, settings)


@router.post("/TaskQueues/{sid:sid}")
async def update_task_queue(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    fields = _queue_fields(form, creating=False)
    async with _unit(db, "TaskQueue") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await lock_workspace(uow, workspace_sid)
        before = await _get(uow, "task_queues", "TaskQueues", workspace_sid, sid, for_update=True)
        await _check_queue_activities(uow, workspace_sid, fields)
        if "friendly_name" in fields:
            await _ensure_unique(
                uow,
                "task_queues",
                workspace_sid,
                "friendly_name",
                fields["friendly_name"],
                "TaskQueue",
                exclude=sid,
            )
        row = await _update(uow, "task_queues", sid, fields) if fields else before
        if row["target_workers"] != before["target_workers"]:
            await refresh_membership_for_queue(uow, sid)
            await _event(
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


@router.delete("/TaskQueues/{sid:sid}", status_code=204)
async def delete_task_queue(workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep) -> Response:
    principal.require_admin()
    async with db.unit() as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await lock_workspace(uow, workspace_sid)
        row = await _get(uow, "task_queues", "TaskQueues", workspace_sid, sid)
        tasks = await _count(
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
        await _event(
            uow,
            workspace,
            "task-queue.deleted",
            "task_queue",
            sid,
            f"TaskQueue {row['friendly_name']} deleted",
            **_queue_data(row),
        )
    return Response(status_code=204)


# --- workflows ---------------------------------------------------------------------------------------


def _workflow_fields(form: Params, *, creating: bool) -> tuple[dict[str, Any], WorkflowConfiguration | None]:
    fields: dict[str, Any] = {
        "friendly_name": _name(form, creating=creating),
        "task_reservation_timeout": form.int("TaskReservationTimeout", minimum=1, maximum=86400),
        "configuration": form.required_str("Configuration") if creating else form.str("Configuration"),
    }
    for param, column in (
        ("AssignmentCallbackUrl", "assignment_callback_url"),
        ("FallbackAssignmentCallbackUrl", "fallback_assignment_callback_url"),
    ):
        url = _url(form, param)
        if form.has(param):
            # An empty value on update clears the callback.
            fields[column] = url or None
    form.bool("ReEvaluateTasks")  # validated; tasks keep the configuration they entered with for now
    config = None
    if fields["configuration"] is not None:
        try:
            config = parse_workflow_configuration(fields["configuration"])
        except WorkflowConfigurationError as exc:
            raise InvalidParameter(f"Parameter 'Configuration' is invalid: {exc}") from None
    return {c: v for c, v in fields.items() if v is not None or c.endswith("_callback_url")}, config


async def _check_workflow_queues(uow: UnitOfWork, workspace_sid: str, config: WorkflowConfiguration | None) -> None:
    if config is None:
        return
    wanted = sorted(config.queue_sids())
    found = {
        r["sid"]
        for r in await uow.fetchall(
            "SELECT sid FROM task_queues WHERE workspace_sid = %s AND sid = ANY(%s)", (workspace_sid, wanted)
        )
    }
    missing = [sid for sid in wanted if sid not in found]
    if missing:
        raise InvalidParameter(
            f"Parameter 'Configuration' refers to TaskQueue {', '.join(missing)}, "
            "which is not a queue of this workspace"
        )


def _workflow_data(row: Row) -> dict[str, Any]:
    return {"workflow_sid": row["sid"], "workflow_name": row["friendly_name"]}


@router.get("/Workflows")
async def list_workflows(
    workspace_sid: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    query: QueryDep,
    settings: SettingsDep,
) -> Any:
    page = Page(request.query_params)
    where = _Where("workspace_sid = %s", workspace_sid)
    where.add(query.str("FriendlyName"), "friendly_name = %s")
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        rows, more = await _page_rows(
            q, f"SELECT * FROM workflows WHERE {where.sql} ORDER BY date_created, sid", where.args, page
        )
    return page.envelope(
        key="workflows",
        url=_list_url(settings, workspace_sid, "Workflows"),
        has_more=more,
        items=[workflow_json(r, settings.base_url) for r in rows],
        filters=_echo(request, "FriendlyName"),
    )


@router.post("/Workflows", status_code=201)
async def create_workflow(
    workspace_sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    fields, config = _workflow_fields(form, creating=True)
    async with _unit(db, "Workflow") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await _check_workflow_queues(uow, workspace_sid, config)
        await _ensure_unique(uow, "workflows", workspace_sid, "friendly_name", fields["friendly_name"], "Workflow")
        row = await _insert(
            uow,
            "workflows",
            {
                "sid": new_sid(SidPrefix.WORKFLOW),
                "account_sid": workspace["account_sid"],
                "workspace_sid": workspace_sid,
                "task_reservation_timeout": 120,
                **fields,
            },
        )
        await _event(
            uow,
            workspace,
            "workflow.created",
            "workflow",
            row["sid"],
            f"Workflow {row['friendly_name']} created",
            **_workflow_data(row),
        )
    return workflow_json(row, settings.base_url)


@router.get("/Workflows/{sid:sid}")
async def fetch_workflow(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        row = await _get(q, "workflows", "Workflows", workspace_sid, sid)
    return workflow_json(row, settings.base_url)


@router.post("/Workflows/{sid:sid}")
async def update_workflow(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    fields, config = _workflow_fields(form, creating=False)
    async with _unit(db, "Workflow") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        row = await _get(uow, "workflows", "Workflows", workspace_sid, sid)
        await _check_workflow_queues(uow, workspace_sid, config)
        if "friendly_name" in fields:
            await _ensure_unique(
                uow,
                "workflows",
                workspace_sid,
                "friendly_name",
                fields["friendly_name"],
                "Workflow",
                exclude=sid,
            )
        if fields:
            row = await _update(uow, "workflows", sid, fields)
            await _event(
                uow,
                workspace,
                "workflow.updated",
                "workflow",
                sid,
                f"Workflow {row['friendly_name']} updated",
                **_workflow_data(row),
            )
    return workflow_json(row, settings.base_url)


@router.delete("/Workflows/{sid:sid}", status_code=204)
async def delete_workflow(workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep) -> Response:
    principal.require_admin()
    async with db.unit() as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await lock_workspace(uow, workspace_sid)
        row = await _get(uow, "workflows", "Workflows", workspace_sid, sid)
        tasks = await _count(
            uow, "tasks WHERE workflow_sid = %s AND assignment_status = ANY(%s)", (sid, list(LIVE_TASK))
        )
        if tasks:
            raise Conflict(f"Workflow {sid} cannot be deleted while {tasks} live task(s) use it")
        # Finished tasks keep their history without the workflow (tasks.workflow_sid is a foreign key).
        await uow.execute("UPDATE tasks SET workflow_sid = NULL WHERE workflow_sid = %s", (sid,))
        await uow.execute("DELETE FROM workflows WHERE sid = %s", (sid,))
        await _event(
            uow,
            workspace,
            "workflow.deleted",
            "workflow",
            sid,
            f"Workflow {row['friendly_name']} deleted",
            **_workflow_data(row),
        )
    return Response(status_code=204)


# --- workers -----------------------------------------------------------------------------------------

_WORKER_SELECT = (
    "SELECT w.*, a.friendly_name AS activity_name FROM workers w JOIN activities a ON a.sid = w.activity_sid"
)


async def _load_worker(q: UnitOfWork, workspace_sid: str, worker_sid: str) -> Row:
    row = await q.fetchone(f"{_WORKER_SELECT} WHERE w.sid = %s AND w.workspace_sid = %s", (worker_sid, workspace_sid))
    if row is None:
        raise NotFound(f"The requested resource /Workspaces/{workspace_sid}/Workers/{worker_sid} was not found")
    return row


def _worker_out(row: Row, settings: Settings, response: Response) -> dict[str, Any]:
    response.headers["ETag"] = str(row["version"])
    return worker_json(row, settings.base_url, activity_name=row["activity_name"])


def _worker_context(row: Row) -> dict[str, Any]:
    try:
        attributes = json.loads(row["attributes"] or "{}")
    except json.JSONDecodeError:
        attributes = {}
    return {
        **(attributes if isinstance(attributes, dict) else {}),
        "sid": row["sid"],
        "friendly_name": row["friendly_name"],
        "activity_sid": row["activity_sid"],
        "activity_name": row["activity_name"],
    }


def _worker_data(row: Row) -> dict[str, Any]:
    return {
        "worker_sid": row["sid"],
        "worker_name": row["friendly_name"],
        "worker_attributes": row["attributes"],
        "worker_activity_sid": row["activity_sid"],
        "worker_version": row["version"],
    }


def _if_match(request: Request) -> int | None:
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    try:
        return int(raw.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise Conflict(f"If-Match '{raw}' does not match the worker's current ETag", status=412) from None


def _check_version(worker: Row, expected: int | None) -> None:
    if expected is not None and worker["version"] != expected:
        raise Conflict(f"If-Match does not match the worker's current ETag ({worker['version']})", status=412)


@router.get("/Workers")
async def list_workers(
    workspace_sid: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    query: QueryDep,
    settings: SettingsDep,
) -> Any:
    page = Page(request.query_params)
    where = _Where("w.workspace_sid = %s", workspace_sid)
    where.add(query.str("ActivityName"), "a.friendly_name = %s")
    where.add(query.sid("ActivitySid", SidPrefix.ACTIVITY), "w.activity_sid = %s")
    where.add(query.bool("Available"), "w.available = %s")
    where.add(query.str("FriendlyName"), "w.friendly_name = %s")
    where.add(
        query.sid("TaskQueueSid", SidPrefix.TASK_QUEUE),
        "EXISTS (SELECT 1 FROM queue_members m WHERE m.worker_sid = w.sid AND m.queue_sid = %s)",
    )
    where.add(
        query.str("TaskQueueName"),
        "EXISTS (SELECT 1 FROM queue_members m JOIN task_queues tq "
        "ON tq.sid = m.queue_sid WHERE m.worker_sid = w.sid AND tq.friendly_name = %s)",
    )
    text = query.str("TargetWorkersExpression")
    expression = _expression(text, "TargetWorkersExpression") if text is not None else None
    sql = f"{_WORKER_SELECT} WHERE {where.sql} ORDER BY w.date_created, w.sid"
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        _deny_agents(principal, "workers")
        if expression is None:
            rows, more = await _page_rows(q, sql, where.args, page)
        else:
            rows, more = _slice(
                [r for r in await q.fetchall(sql, where.args) if expression.evaluate(_worker_context(r))],
                page,
            )
    return page.envelope(
        key="workers",
        url=_list_url(settings, workspace_sid, "Workers"),
        has_more=more,
        items=[worker_json(r, settings.base_url, activity_name=r["activity_name"]) for r in rows],
        filters=_echo(
            request,
            "ActivityName",
            "ActivitySid",
            "Available",
            "FriendlyName",
            "TaskQueueSid",
            "TaskQueueName",
            "TargetWorkersExpression",
        ),
    )


@router.post("/Workers", status_code=201)
async def create_worker(
    workspace_sid: str,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    form: FormDep,
    settings: SettingsDep,
) -> Any:
    principal.require_admin()
    name = form.required_str("FriendlyName", max_length=64)
    attributes = form.json_object("Attributes", max_length=4096) or "{}"
    activity_sid = form.sid("ActivitySid", SidPrefix.ACTIVITY)
    async with _unit(db, "Worker") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await lock_workspace(uow, workspace_sid)
        activity_sid = activity_sid or workspace["default_activity_sid"]
        if activity_sid is None:
            raise InvalidParameter("Parameter 'ActivitySid' is required: the workspace has no default")
        activity = await _activity(uow, workspace_sid, activity_sid, "ActivitySid")
        await _ensure_unique(uow, "workers", workspace_sid, "friendly_name", name, "Worker", casefold=True)
        sid = new_sid(SidPrefix.WORKER)
        await _insert(
            uow,
            "workers",
            {
                "sid": sid,
                "account_sid": workspace["account_sid"],
                "workspace_sid": workspace_sid,
                "friendly_name": name,
                "attributes": attributes,
                "activity_sid": activity_sid,
                "available": activity["available"],
                "date_status_changed": uow.now,
            },
        )
        await ensure_worker_channels(uow, workspace_sid=workspace_sid, worker_sid=sid)
        await refresh_membership_for_worker(uow, sid)
        row = await _load_worker(uow, workspace_sid, sid)
        await _event(
            uow,
            workspace,
            "worker.created",
            "worker",
            sid,
            f"Worker {name} created",
            **_worker_data(row),
            worker_activity_name=row["activity_name"],
        )
        if activity["available"]:
            await match(uow, workspace_sid)
    return _worker_out(row, settings, response)


@router.get("/Workers/{sid:sid}")
async def fetch_worker(
    workspace_sid: str,
    sid: str,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
) -> Any:
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        principal.require_worker(workspace_sid, sid)
        row = await _load_worker(q, workspace_sid, sid)
    return _worker_out(row, settings, response)


async def _update_profile(
    uow: UnitOfWork, workspace: Row, worker: Row, name: str | None, attributes: str | None
) -> Row:
    changes = {c: v for c, v in (("friendly_name", name), ("attributes", attributes)) if v is not None}
    if not changes:
        return worker
    sets = "".join(f"{column} = %s, " for column in changes)
    row = await uow.fetchone(
        f"UPDATE workers SET {sets}version = version + 1, date_updated = now() WHERE sid = %s RETURNING *",
        (*changes.values(), worker["sid"]),
    )
    assert row is not None
    if attributes is not None:
        await refresh_membership_for_worker(uow, worker["sid"])
        await _event(
            uow,
            workspace,
            "worker.attributes.update",
            "worker",
            worker["sid"],
            f"Worker {row['friendly_name']} attributes updated",
            **_worker_data(row),
        )
    # Queue membership and known-worker steps may now match waiting tasks.
    await match(uow, workspace["sid"])
    return row


@router.post("/Workers/{sid:sid}")
async def update_worker(
    workspace_sid: str,
    sid: str,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    form: FormDep,
    settings: SettingsDep,
) -> Any:
    name = _optional_name(form)
    attributes = form.json_object("Attributes", max_length=4096)
    activity_sid = form.sid("ActivitySid", SidPrefix.ACTIVITY)
    reject_pending = bool(form.bool("RejectPendingReservations"))
    expected = _if_match(request)
    async with _unit(db, "Worker") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        principal.require_worker(workspace_sid, sid)
        if name is not None or attributes is not None:
            principal.require_admin()
        await lock_workspace(uow, workspace_sid)
        worker = await _get(uow, "workers", "Workers", workspace_sid, sid, for_update=True)
        _check_version(worker, expected)
        if name is not None:
            await _ensure_unique(
                uow, "workers", workspace_sid, "friendly_name", name, "Worker", exclude=sid, casefold=True
            )
        if activity_sid is not None:
            await _activity(uow, workspace_sid, activity_sid, "ActivitySid")
        worker = await _update_profile(uow, workspace, worker, name, attributes)
        if activity_sid is not None:
            await set_worker_activity(uow, worker=worker, activity_sid=activity_sid, reject_pending=reject_pending)
        row = await _load_worker(uow, workspace_sid, sid)
    return _worker_out(row, settings, response)


@router.delete("/Workers/{sid:sid}", status_code=204)
async def delete_worker(
    workspace_sid: str, sid: str, request: Request, principal: CurrentPrincipal, db: DbDep
) -> Response:
    principal.require_admin()
    expected = _if_match(request)
    async with db.unit() as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await lock_workspace(uow, workspace_sid)
        worker = await _get(uow, "workers", "Workers", workspace_sid, sid, for_update=True)
        _check_version(worker, expected)
        live = await _count(
            uow,
            "reservations WHERE worker_sid = %s AND reservation_status = ANY(%s)",
            (sid, list(LIVE_RESERVATION)),
        )
        if live:
            raise Conflict(
                f"Worker {sid} cannot be deleted while it has {live} pending, accepted or wrapping reservation(s)"
            )
        # Finished reservations reference the worker and its channels; like Twilio, they go with it.
        for table, column in (
            ("reservations", "worker_sid"),
            ("worker_channels", "worker_sid"),
            ("queue_members", "worker_sid"),
            ("workers", "sid"),
        ):
            await uow.execute(f"DELETE FROM {table} WHERE {column} = %s", (sid,))
        await _event(
            uow,
            workspace,
            "worker.deleted",
            "worker",
            sid,
            f"Worker {worker['friendly_name']} deleted",
            **_worker_data(worker),
        )
    return Response(status_code=204)


# --- worker channels ---------------------------------------------------------------------------------

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


@router.get("/Workers/{worker_sid:sid}/Channels")
async def list_worker_channels(
    workspace_sid: str,
    worker_sid: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
) -> Any:
    page = Page(request.query_params)
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        principal.require_worker(workspace_sid, worker_sid)
        await _get(q, "workers", "Workers", workspace_sid, worker_sid)
        rows, more = await _page_rows(
            q, f"{_WC_SELECT} WHERE wc.worker_sid = %s ORDER BY tc.date_created, tc.sid", [worker_sid], page
        )
    return page.envelope(
        key="channels",
        url=_list_url(settings, workspace_sid, f"Workers/{worker_sid}/Channels"),
        has_more=more,
        items=[_channel_out(r, settings) for r in rows],
    )


@router.get("/Workers/{worker_sid:sid}/Channels/{sid}")
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


@router.post("/Workers/{worker_sid:sid}/Channels/{sid}")
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
        await _event(
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
        await _event(
            uow,
            workspace,
            "worker.channel.availability.update",
            "worker",
            channel["worker_sid"],
            f"Worker channel {channel['task_channel_unique_name']} available set to {available}",
            **data,
            worker_channel_available=available,
        )


# --- events ------------------------------------------------------------------------------------------

_EVENT_REFERENCES = (
    ("TaskSid", SidPrefix.TASK, "task_sid"),
    ("WorkerSid", SidPrefix.WORKER, "worker_sid"),
    ("ReservationSid", SidPrefix.RESERVATION, "reservation_sid"),
    ("TaskQueueSid", SidPrefix.TASK_QUEUE, "task_queue_sid"),
    ("WorkflowSid", SidPrefix.WORKFLOW, "workflow_sid"),
)


def _event_window(query: Params) -> tuple[datetime | None, datetime | None]:
    start, end = _date(query, "StartDate"), _date(query, "EndDate")
    minutes = query.int("Minutes", minimum=1, maximum=43200)
    if minutes is None and start is None and end is None:
        minutes = 15
    if minutes is not None:
        since = datetime.now(UTC) - timedelta(minutes=minutes)
        start = max(start, since) if start else since
    if start and end and start > end:
        raise InvalidParameter("Parameter 'StartDate' must not be after 'EndDate'")
    return start, end


@router.get("/Events")
async def list_events(
    workspace_sid: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    query: QueryDep,
    settings: SettingsDep,
) -> Any:
    page = Page(request.query_params)
    where = _Where("workspace_sid = %s", workspace_sid)
    where.add(query.str("EventType"), "event_type = %s")
    where.add(query.sid("Sid", SidPrefix.EVENT), "sid = %s")
    for param, prefix, key in _EVENT_REFERENCES:
        where.add(query.sid(param, prefix), f"(resource_sid = %s OR event_data->>'{key}' = %s)")
    where.add(
        query.str("TaskChannel"),
        "(event_data->>'task_channel_sid' = %s OR event_data->>'task_channel_unique_name' = %s)",
    )
    start, end = _event_window(query)
    where.add(start, "event_date >= %s")
    where.add(end, "event_date <= %s")
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        _deny_agents(principal, "events")
        rows, more = await _page_rows(
            q,
            f"SELECT * FROM taskrouter_events WHERE {where.sql} ORDER BY event_date DESC, sid DESC",
            where.args,
            page,
        )
    return page.envelope(
        key="events",
        url=_list_url(settings, workspace_sid, "Events"),
        has_more=more,
        items=[event_json(r, settings.base_url) for r in rows],
        filters=_echo(
            request,
            "EventType",
            "Sid",
            *(p for p, _, _ in _EVENT_REFERENCES),
            "TaskChannel",
            "Minutes",
            "StartDate",
            "EndDate",
        ),
    )


@router.get("/Events/{sid:sid}")
async def fetch_event(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        _deny_agents(principal, "events")
        row = await _get(q, "taskrouter_events", "Events", workspace_sid, sid)
    return event_json(row, settings.base_url)
