"""TaskRouter configuration use cases: workspaces (with Twilio's defaults), activities, task channels, task
queues, workflows, workers and worker channels. Every write that can change who may take a task ends with a
matching pass (storage/taskrouter/routing.py owns the routing changes themselves)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg.errors import UniqueViolation

from domain.errors import Conflict, InvalidParameter
from domain.events import EventType, ResourceType, check_events_filter
from domain.limits import DEFAULT_MAX_RESERVED_WORKERS, DEFAULT_RESERVATION_TIMEOUT
from domain.routing import WorkflowConfiguration
from domain.routing.engine import QueueOrder
from domain.routing.workflow_config import parse_workflow_configuration
from domain.sids import SidPrefix, is_sid, new_sid
from domain.states import LIVE_RESERVATION, LIVE_TASK
from storage.db import Database, UnitOfWork
from storage.taskrouter import membership
from storage.taskrouter.events import record_event
from storage.taskrouter.lifecycle import lock_workspace
from storage.taskrouter.matching import match
from storage.taskrouter.models import (
    TASK_QUEUE_SELECT,
    WORKER_CHANNEL_SELECT,
    WORKER_SELECT,
    WORKSPACE_SELECT,
    NewWorkspace,
    TaskQueueFields,
    TaskQueueView,
    Template,
    WorkerChannelView,
    WorkerView,
    WorkflowFields,
    WorkspaceChanges,
    WorkspaceView,
)
from storage.taskrouter.routing import reevaluate_workflow_tasks, set_worker_activity, update_worker_channel
from storage.taskrouter.tables import ActivityRow, TaskChannelRow, WorkerRow, WorkflowRow, WorkspaceRow

# Twilio's defaults for a new workspace: Offline is the default and the timeout activity.
DEFAULT_ACTIVITIES = (("Offline", False), ("Available", True), ("Unavailable", False), ("Break", False))
DEFAULT_TASK_CHANNELS = (
    ("Default", "default"),
    ("Voice", "voice"),
    ("Chat", "chat"),
    ("SMS", "sms"),
    ("Video", "video"),
    ("Email", "email"),
)
OFFLINE_ACTIVITY = "Offline"
# What Template=FIFO adds: a queue every worker is in and a workflow that sends every task to it.
FIFO_QUEUE_NAME = "Sample Queue"
FIFO_WORKFLOW_NAME = "Default Fifo Workflow"


@asynccontextmanager
async def unique(db: Database, what: str) -> AsyncIterator[UnitOfWork]:
    """A unit of work whose unique-constraint race (two requests passing the pre-check at once) is a 409."""
    try:
        async with db.unit() as uow:
            yield uow
    except UniqueViolation:
        raise Conflict(f"{what} already exists in this workspace") from None


async def _ensure_unique(
    uow: UnitOfWork, table: str, workspace_sid: str, column: str, value: str, what: str, *, exclude: str = ""
) -> None:
    casefold = table == "workers"  # worker friendly names are unique whatever their case
    test = f"lower({column}) = lower(%s)" if casefold else f"{column} = %s"
    row = await uow.fetchone(
        f"SELECT sid FROM {table} WHERE workspace_sid = %s AND {test} AND sid <> %s",
        (workspace_sid, value, exclude),
    )
    if row is not None:
        raise Conflict(f"{what} '{value}' already exists in this workspace ({row['sid']})")


async def _count(uow: UnitOfWork, sql: str, args: tuple[Any, ...]) -> int:
    row = await uow.fetchone(f"SELECT count(*) AS n FROM {sql}", args)
    return int(row["n"]) if row else 0


async def _log(
    uow: UnitOfWork,
    workspace: WorkspaceRow,
    event_type: EventType,
    resource_type: ResourceType,
    resource_sid: str,
    description: str,
    *,
    worker_sid: str | None = None,
    worker_channel_sid: str | None = None,
    **data: Any,
) -> None:
    """A configuration event: the resource's own fields in `data` (activity, queue, workflow, task channel), or
    the worker (channel) the event builder reads; the workspace's fields are always added."""
    await record_event(
        uow,
        workspace_sid=workspace.sid,
        event_type=event_type,
        resource_type=resource_type,
        resource_sid=resource_sid,
        description=description,
        worker_sid=worker_sid,
        worker_channel_sid=worker_channel_sid,
        data=data,
    )


async def _update(uow: UnitOfWork, table: str, sid: str, changes: dict[str, Any]) -> dict[str, Any]:
    sets = "".join(f"{column} = %s, " for column in changes)
    row = await uow.fetchone(
        f"UPDATE {table} SET {sets}date_updated = now() WHERE sid = %s RETURNING *", (*changes.values(), sid)
    )
    assert row is not None
    return row


# --- workspaces --------------------------------------------------------------------------------------


async def get_workspace(uow: UnitOfWork, *, account_sid: str, workspace_sid: str) -> WorkspaceView:
    return await uow.found(
        WorkspaceView,
        f"{WORKSPACE_SELECT} WHERE ws.sid = %s AND ws.account_sid = %s",
        (workspace_sid, account_sid),
        resource=f"/Workspaces/{workspace_sid}",
    )


async def create_workspace(uow: UnitOfWork, *, account_sid: str, new: NewWorkspace) -> WorkspaceView:
    sid = new_sid(SidPrefix.WORKSPACE)
    # An empty EventCallbackUrl or EventsFilter is none (every event goes to the URL when there is no filter).
    new = new.model_copy(
        update={
            "event_callback_url": new.event_callback_url or None,
            "events_filter": check_events_filter(new.events_filter) or None,
        }
    )
    await uow.execute(
        "INSERT INTO workspaces (sid, account_sid, friendly_name, event_callback_url, events_filter, "
        "multi_task_enabled, prioritize_queue_order) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            sid,
            account_sid,
            new.friendly_name,
            new.event_callback_url,
            new.events_filter,
            new.multi_task_enabled,
            new.prioritize_queue_order.value,
        ),
    )
    workspace = await get_workspace(uow, account_sid=account_sid, workspace_sid=sid)
    await _log(
        uow,
        workspace,
        EventType.WORKSPACE_CREATED,
        ResourceType.WORKSPACE,
        sid,
        f"Workspace {workspace.friendly_name} created",
    )
    # What a new workspace comes with is made by the same use cases as what is added later, so each records
    # its `*.created` event as Twilio's do.
    activity_sids: dict[str, str] = {}
    for name, available in DEFAULT_ACTIVITIES:
        activity = await create_activity(uow, workspace=workspace, friendly_name=name, available=available)
        activity_sids[name] = activity.sid
    for friendly, unique_name in DEFAULT_TASK_CHANNELS:
        await create_task_channel(
            uow, workspace=workspace, friendly_name=friendly, unique_name=unique_name, optimized=False
        )
    await uow.execute(
        "UPDATE workspaces SET default_activity_sid = %s, timeout_activity_sid = %s WHERE sid = %s",
        (activity_sids[OFFLINE_ACTIVITY], activity_sids[OFFLINE_ACTIVITY], sid),
    )
    if new.template is Template.FIFO:
        queue = await create_task_queue(
            uow, workspace=workspace, fields=TaskQueueFields(friendly_name=FIFO_QUEUE_NAME, target_workers="1==1")
        )
        configuration = json.dumps({"task_routing": {"filters": [], "default_filter": {"queue": queue.sid}}})
        await create_workflow(
            uow,
            workspace=workspace,
            fields=WorkflowFields(friendly_name=FIFO_WORKFLOW_NAME, configuration=configuration),
            config=parse_workflow_configuration(configuration),
        )
    return await get_workspace(uow, account_sid=account_sid, workspace_sid=sid)


async def update_workspace(uow: UnitOfWork, *, workspace: WorkspaceRow, changes: WorkspaceChanges) -> WorkspaceView:
    for param, value in (
        ("DefaultActivitySid", changes.default_activity_sid),
        ("TimeoutActivitySid", changes.timeout_activity_sid),
    ):
        if value is not None:
            await require_activity(uow, workspace.sid, value, param)
    events_filter = check_events_filter(changes.events_filter)
    # Given and empty, EventCallbackUrl / EventsFilter clear (NULLIF); not given, they stay.
    await uow.execute(
        """
        UPDATE workspaces SET friendly_name = COALESCE(%s, friendly_name),
               default_activity_sid = COALESCE(%s, default_activity_sid),
               timeout_activity_sid = COALESCE(%s, timeout_activity_sid),
               event_callback_url = COALESCE(NULLIF(%s, ''), CASE WHEN %s::text IS NULL THEN event_callback_url END),
               events_filter = COALESCE(NULLIF(%s, ''), CASE WHEN %s::text IS NULL THEN events_filter END),
               multi_task_enabled = COALESCE(%s, multi_task_enabled),
               prioritize_queue_order = COALESCE(%s, prioritize_queue_order),
               date_updated = now()
         WHERE sid = %s
        """,
        (
            changes.friendly_name,
            changes.default_activity_sid,
            changes.timeout_activity_sid,
            changes.event_callback_url,
            changes.event_callback_url,
            events_filter,
            events_filter,
            changes.multi_task_enabled,
            changes.prioritize_queue_order.value if changes.prioritize_queue_order else None,
            workspace.sid,
        ),
    )
    if changes.multi_task_enabled is not None or changes.prioritize_queue_order is not None:
        await match(uow, workspace.sid)
    row = await get_workspace(uow, account_sid=workspace.account_sid, workspace_sid=workspace.sid)
    if changes.model_dump(exclude_none=True):
        await _log(
            uow,
            row,
            EventType.WORKSPACE_UPDATED,
            ResourceType.WORKSPACE,
            row.sid,
            f"Workspace {row.friendly_name} updated",
        )
    return row


async def delete_workspace(uow: UnitOfWork, *, workspace: WorkspaceRow) -> None:
    ws = workspace.sid
    # The event log goes with the workspace, but the callback recorded here still reaches its URL.
    await _log(
        uow,
        workspace,
        EventType.WORKSPACE_DELETED,
        ResourceType.WORKSPACE,
        ws,
        f"Workspace {workspace.friendly_name} deleted",
    )
    # Children first; interaction channels keep their history but lose the task link.
    await uow.execute(
        "UPDATE interaction_channels SET active_task_sid = NULL WHERE active_task_sid IN "
        "(SELECT sid FROM tasks WHERE workspace_sid = %s)",
        (ws,),
    )
    for table in (
        "reservations",
        "tasks",
        "queue_members",
        "worker_channels",
        "workers",
        "task_queues",
        "workflows",
        "task_channels",
        "taskrouter_events",
    ):
        await uow.execute(f"DELETE FROM {table} WHERE workspace_sid = %s", (ws,))
    await uow.execute(
        "UPDATE workspaces SET default_activity_sid = NULL, timeout_activity_sid = NULL WHERE sid = %s", (ws,)
    )
    await uow.execute("DELETE FROM activities WHERE workspace_sid = %s", (ws,))
    await uow.execute("DELETE FROM workspaces WHERE sid = %s", (ws,))


# --- activities --------------------------------------------------------------------------------------


async def get_activity(uow: UnitOfWork, *, workspace_sid: str, sid: str) -> ActivityRow:
    return await uow.found(
        ActivityRow,
        "SELECT * FROM activities WHERE sid = %s AND workspace_sid = %s",
        (sid, workspace_sid),
        resource=f"/Workspaces/{workspace_sid}/Activities/{sid}",
    )


async def require_activity(uow: UnitOfWork, workspace_sid: str, activity_sid: str, param: str) -> ActivityRow:
    """An activity named by a request parameter: unknown is the parameter's fault (400), not a 404."""
    row = await uow.one(
        ActivityRow, "SELECT * FROM activities WHERE sid = %s AND workspace_sid = %s", (activity_sid, workspace_sid)
    )
    if row is None:
        raise InvalidParameter(f"Parameter '{param}': {activity_sid} is not an activity of this workspace")
    return row


def _activity_data(row: ActivityRow) -> dict[str, Any]:
    return {"activity_sid": row.sid, "activity_name": row.friendly_name, "activity_available": row.available}


async def create_activity(
    uow: UnitOfWork, *, workspace: WorkspaceRow, friendly_name: str, available: bool
) -> ActivityRow:
    await _ensure_unique(uow, "activities", workspace.sid, "friendly_name", friendly_name, "Activity")
    row = await uow.one(
        ActivityRow,
        "INSERT INTO activities (sid, account_sid, workspace_sid, friendly_name, available) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING *",
        (new_sid(SidPrefix.ACTIVITY), workspace.account_sid, workspace.sid, friendly_name, available),
    )
    assert row is not None
    await _log(
        uow,
        workspace,
        EventType.ACTIVITY_CREATED,
        ResourceType.ACTIVITY,
        row.sid,
        f"Activity {friendly_name} created",
        **_activity_data(row),
    )
    return row


async def update_activity(
    uow: UnitOfWork, *, workspace: WorkspaceRow, sid: str, friendly_name: str | None
) -> ActivityRow:
    row = await get_activity(uow, workspace_sid=workspace.sid, sid=sid)
    if friendly_name is None or friendly_name == row.friendly_name:
        return row
    await _ensure_unique(uow, "activities", workspace.sid, "friendly_name", friendly_name, "Activity", exclude=sid)
    row = ActivityRow.model_validate(await _update(uow, "activities", sid, {"friendly_name": friendly_name}))
    await _log(
        uow,
        workspace,
        EventType.ACTIVITY_UPDATED,
        ResourceType.ACTIVITY,
        sid,
        f"Activity {friendly_name} updated",
        **_activity_data(row),
    )
    return row


async def delete_activity(uow: UnitOfWork, *, workspace: WorkspaceRow, sid: str) -> None:
    # Activity changes happen under the workspace lock; holding it means no worker moves in meanwhile.
    await lock_workspace(uow, workspace.sid)
    row = await get_activity(uow, workspace_sid=workspace.sid, sid=sid)
    if sid in (workspace.default_activity_sid, workspace.timeout_activity_sid):
        raise Conflict(f"Activity {sid} is the workspace's default or timeout activity")
    workers = await _count(uow, "workers WHERE activity_sid = %s", (sid,))
    if workers:
        raise Conflict(f"Activity {sid} cannot be deleted while {workers} worker(s) are in it")
    queues = await _count(uow, "task_queues WHERE %s IN (reservation_activity_sid, assignment_activity_sid)", (sid,))
    if queues:
        raise Conflict(f"Activity {sid} cannot be deleted while {queues} task queue(s) refer to it")
    await uow.execute("DELETE FROM activities WHERE sid = %s", (sid,))
    await _log(
        uow,
        workspace,
        EventType.ACTIVITY_DELETED,
        ResourceType.ACTIVITY,
        sid,
        f"Activity {row.friendly_name} deleted",
        activity_sid=sid,
        activity_name=row.friendly_name,
    )


# --- task channels -----------------------------------------------------------------------------------


async def get_task_channel(uow: UnitOfWork, *, workspace_sid: str, key: str) -> TaskChannelRow:
    """By SID or by unique name (`chat`), as Twilio allows."""
    column = "sid" if is_sid(key, SidPrefix.TASK_CHANNEL) else "unique_name"
    return await uow.found(
        TaskChannelRow,
        f"SELECT * FROM task_channels WHERE workspace_sid = %s AND {column} = %s",
        (workspace_sid, key),
        resource=f"/Workspaces/{workspace_sid}/TaskChannels/{key}",
    )


def _task_channel_data(row: TaskChannelRow) -> dict[str, Any]:
    return {
        "task_channel_sid": row.sid,
        "task_channel_name": row.friendly_name,
        "task_channel_unique_name": row.unique_name,
        "task_channel_optimized_routing": row.channel_optimized_routing,
    }


async def create_task_channel(
    uow: UnitOfWork, *, workspace: WorkspaceRow, friendly_name: str, unique_name: str, optimized: bool
) -> TaskChannelRow:
    await _ensure_unique(uow, "task_channels", workspace.sid, "unique_name", unique_name, "TaskChannel")
    row = await uow.one(
        TaskChannelRow,
        "INSERT INTO task_channels (sid, account_sid, workspace_sid, friendly_name, unique_name, "
        "channel_optimized_routing) VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
        (new_sid(SidPrefix.TASK_CHANNEL), workspace.account_sid, workspace.sid, friendly_name, unique_name, optimized),
    )
    assert row is not None
    await membership.ensure_worker_channels(uow, workspace_sid=workspace.sid)
    await _log(
        uow,
        workspace,
        EventType.TASK_CHANNEL_CREATED,
        ResourceType.TASK_CHANNEL,
        row.sid,
        f"TaskChannel {unique_name} created",
        **_task_channel_data(row),
    )
    return row


async def update_task_channel(
    uow: UnitOfWork, *, workspace: WorkspaceRow, key: str, friendly_name: str | None, optimized: bool | None
) -> TaskChannelRow:
    row = await get_task_channel(uow, workspace_sid=workspace.sid, key=key)
    changes = {
        column: value
        for column, value in (("friendly_name", friendly_name), ("channel_optimized_routing", optimized))
        if value is not None
    }
    if not changes:
        return row
    row = TaskChannelRow.model_validate(await _update(uow, "task_channels", row.sid, changes))
    await _log(
        uow,
        workspace,
        EventType.TASK_CHANNEL_UPDATED,
        ResourceType.TASK_CHANNEL,
        row.sid,
        f"TaskChannel {row.unique_name} updated",
        **_task_channel_data(row),
    )
    return row


async def delete_task_channel(uow: UnitOfWork, *, workspace: WorkspaceRow, key: str) -> None:
    await lock_workspace(uow, workspace.sid)
    row = await get_task_channel(uow, workspace_sid=workspace.sid, key=key)
    tasks = await _count(uow, "tasks WHERE task_channel_sid = %s", (row.sid,))
    if tasks:
        raise Conflict(f"TaskChannel {row.unique_name} cannot be deleted while {tasks} task(s) use it")
    # With no tasks on the channel there are no reservations on its worker channels either.
    await uow.execute("DELETE FROM worker_channels WHERE task_channel_sid = %s", (row.sid,))
    await uow.execute("DELETE FROM task_channels WHERE sid = %s", (row.sid,))
    await _log(
        uow,
        workspace,
        EventType.TASK_CHANNEL_DELETED,
        ResourceType.TASK_CHANNEL,
        row.sid,
        f"TaskChannel {row.unique_name} deleted",
        **_task_channel_data(row),
    )


# --- task queues -------------------------------------------------------------------------------------


async def get_task_queue(uow: UnitOfWork, *, workspace_sid: str, sid: str) -> TaskQueueView:
    return await uow.found(
        TaskQueueView,
        f"{TASK_QUEUE_SELECT} WHERE q.sid = %s AND q.workspace_sid = %s",
        (sid, workspace_sid),
        resource=f"/Workspaces/{workspace_sid}/TaskQueues/{sid}",
    )


def _queue_data(row: TaskQueueView) -> dict[str, Any]:
    return {
        "task_queue_sid": row.sid,
        "task_queue_name": row.friendly_name,
        "task_queue_target_expression": row.target_workers,
    }


async def _check_queue_activities(uow: UnitOfWork, workspace_sid: str, fields: TaskQueueFields) -> None:
    for param, value in (
        ("ReservationActivitySid", fields.reservation_activity_sid),
        ("AssignmentActivitySid", fields.assignment_activity_sid),
    ):
        if value is not None:
            await require_activity(uow, workspace_sid, value, param)


async def create_task_queue(uow: UnitOfWork, *, workspace: WorkspaceRow, fields: TaskQueueFields) -> TaskQueueView:
    assert fields.friendly_name is not None
    await lock_workspace(uow, workspace.sid)
    await _check_queue_activities(uow, workspace.sid, fields)
    await _ensure_unique(uow, "task_queues", workspace.sid, "friendly_name", fields.friendly_name, "TaskQueue")
    sid = new_sid(SidPrefix.TASK_QUEUE)
    await uow.execute(
        "INSERT INTO task_queues (sid, account_sid, workspace_sid, friendly_name, target_workers, "
        "max_reserved_workers, task_order, reservation_activity_sid, assignment_activity_sid) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            sid,
            workspace.account_sid,
            workspace.sid,
            fields.friendly_name,
            fields.target_workers if fields.target_workers is not None else "1==1",
            fields.max_reserved_workers or DEFAULT_MAX_RESERVED_WORKERS,
            (fields.task_order or QueueOrder.FIFO).value,
            fields.reservation_activity_sid,
            fields.assignment_activity_sid,
        ),
    )
    await membership.refresh_for_queue(uow, sid)
    row = await get_task_queue(uow, workspace_sid=workspace.sid, sid=sid)
    await _log(
        uow,
        workspace,
        EventType.TASK_QUEUE_CREATED,
        ResourceType.TASK_QUEUE,
        sid,
        f"TaskQueue {row.friendly_name} created",
        **_queue_data(row),
    )
    return row


async def update_task_queue(
    uow: UnitOfWork, *, workspace: WorkspaceRow, sid: str, fields: TaskQueueFields
) -> TaskQueueView:
    await lock_workspace(uow, workspace.sid)
    before = await get_task_queue(uow, workspace_sid=workspace.sid, sid=sid)
    await _check_queue_activities(uow, workspace.sid, fields)
    if fields.friendly_name is not None:
        await _ensure_unique(
            uow, "task_queues", workspace.sid, "friendly_name", fields.friendly_name, "TaskQueue", exclude=sid
        )
    changes = fields.model_dump(exclude_none=True, mode="json")
    if changes:
        await _update(uow, "task_queues", sid, changes)
    row = await get_task_queue(uow, workspace_sid=workspace.sid, sid=sid)
    if row.target_workers != before.target_workers:
        await membership.refresh_for_queue(uow, sid)
        await _log(
            uow,
            workspace,
            EventType.TASK_QUEUE_EXPRESSION_UPDATED,
            ResourceType.TASK_QUEUE,
            sid,
            f"TaskQueue {row.friendly_name} target expression updated",
            **_queue_data(row),
        )
    if (row.target_workers, row.max_reserved_workers, row.task_order) != (
        before.target_workers,
        before.max_reserved_workers,
        before.task_order,
    ):
        # New members or a wider reservation limit can make waiting tasks offerable now.
        await match(uow, workspace.sid)
    return row


async def delete_task_queue(uow: UnitOfWork, *, workspace: WorkspaceRow, sid: str) -> None:
    await lock_workspace(uow, workspace.sid)
    row = await get_task_queue(uow, workspace_sid=workspace.sid, sid=sid)
    tasks = await _count(
        uow, "tasks WHERE task_queue_sid = %s AND assignment_status = ANY(%s)", (sid, [s.value for s in LIVE_TASK])
    )
    if tasks:
        raise Conflict(
            f"TaskQueue {sid} cannot be deleted while {tasks} pending, reserved, assigned or wrapping task(s) are in it"
        )
    workflow = await uow.fetchone(
        "SELECT sid FROM workflows WHERE workspace_sid = %s AND position(%s IN configuration) > 0 LIMIT 1",
        (workspace.sid, sid),
    )
    if workflow is not None:
        raise Conflict(f"TaskQueue {sid} cannot be deleted while Workflow {workflow['sid']} routes to it")
    await uow.execute("DELETE FROM queue_members WHERE queue_sid = %s", (sid,))
    await uow.execute("DELETE FROM task_queues WHERE sid = %s", (sid,))
    await _log(
        uow,
        workspace,
        EventType.TASK_QUEUE_DELETED,
        ResourceType.TASK_QUEUE,
        sid,
        f"TaskQueue {row.friendly_name} deleted",
        **_queue_data(row),
    )


# --- workflows ---------------------------------------------------------------------------------------


async def get_workflow(uow: UnitOfWork, *, workspace_sid: str, sid: str) -> WorkflowRow:
    return await uow.found(
        WorkflowRow,
        "SELECT * FROM workflows WHERE sid = %s AND workspace_sid = %s",
        (sid, workspace_sid),
        resource=f"/Workspaces/{workspace_sid}/Workflows/{sid}",
    )


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


def _workflow_data(row: WorkflowRow) -> dict[str, Any]:
    return {"workflow_sid": row.sid, "workflow_name": row.friendly_name}


async def create_workflow(
    uow: UnitOfWork, *, workspace: WorkspaceRow, fields: WorkflowFields, config: WorkflowConfiguration
) -> WorkflowRow:
    assert fields.friendly_name is not None and fields.configuration is not None
    await _check_workflow_queues(uow, workspace.sid, config)
    await _ensure_unique(uow, "workflows", workspace.sid, "friendly_name", fields.friendly_name, "Workflow")
    row = await uow.one(
        WorkflowRow,
        "INSERT INTO workflows (sid, account_sid, workspace_sid, friendly_name, configuration, "
        "task_reservation_timeout, assignment_callback_url, fallback_assignment_callback_url) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (
            new_sid(SidPrefix.WORKFLOW),
            workspace.account_sid,
            workspace.sid,
            fields.friendly_name,
            fields.configuration,
            fields.task_reservation_timeout or DEFAULT_RESERVATION_TIMEOUT,
            fields.assignment_callback_url,
            fields.fallback_assignment_callback_url,
        ),
    )
    assert row is not None
    await _log(
        uow,
        workspace,
        EventType.WORKFLOW_CREATED,
        ResourceType.WORKFLOW,
        row.sid,
        f"Workflow {row.friendly_name} created",
        **_workflow_data(row),
    )
    return row


async def update_workflow(
    uow: UnitOfWork,
    *,
    workspace: WorkspaceRow,
    sid: str,
    fields: WorkflowFields,
    config: WorkflowConfiguration | None,
    re_evaluate: bool = False,
) -> WorkflowRow:
    """Change a workflow. Tasks already routing keep the plan they entered with, unless `re_evaluate`
    (Twilio's `ReEvaluateTasks`): then every task of it still waiting is routed again through the new one."""
    row = await get_workflow(uow, workspace_sid=workspace.sid, sid=sid)
    await _check_workflow_queues(uow, workspace.sid, config)
    if fields.friendly_name is not None:
        await _ensure_unique(
            uow, "workflows", workspace.sid, "friendly_name", fields.friendly_name, "Workflow", exclude=sid
        )
    changes = {
        column: value
        for column, value in fields.model_dump().items()
        if value is not None or (column.endswith("_callback_url") and column in fields.model_fields_set)
    }
    if re_evaluate:
        await reevaluate_workflow_tasks(uow, account_sid=workspace.account_sid, workflow_sid=sid)
    if not changes:
        return row
    row = WorkflowRow.model_validate(await _update(uow, "workflows", sid, changes))
    await _log(
        uow,
        workspace,
        EventType.WORKFLOW_UPDATED,
        ResourceType.WORKFLOW,
        sid,
        f"Workflow {row.friendly_name} updated",
        **_workflow_data(row),
    )
    return row


async def delete_workflow(uow: UnitOfWork, *, workspace: WorkspaceRow, sid: str) -> None:
    await lock_workspace(uow, workspace.sid)
    row = await get_workflow(uow, workspace_sid=workspace.sid, sid=sid)
    tasks = await _count(
        uow, "tasks WHERE workflow_sid = %s AND assignment_status = ANY(%s)", (sid, [s.value for s in LIVE_TASK])
    )
    if tasks:
        raise Conflict(f"Workflow {sid} cannot be deleted while {tasks} live task(s) use it")
    # Finished tasks keep their history without the workflow (tasks.workflow_sid is a foreign key).
    await uow.execute("UPDATE tasks SET workflow_sid = NULL WHERE workflow_sid = %s", (sid,))
    await uow.execute("DELETE FROM workflows WHERE sid = %s", (sid,))
    await _log(
        uow,
        workspace,
        EventType.WORKFLOW_DELETED,
        ResourceType.WORKFLOW,
        sid,
        f"Workflow {row.friendly_name} deleted",
        **_workflow_data(row),
    )


# --- workers -----------------------------------------------------------------------------------------


async def get_worker(uow: UnitOfWork, *, workspace_sid: str, sid: str) -> WorkerView:
    return await uow.found(
        WorkerView,
        f"{WORKER_SELECT} WHERE w.sid = %s AND w.workspace_sid = %s",
        (sid, workspace_sid),
        resource=f"/Workspaces/{workspace_sid}/Workers/{sid}",
    )


def _check_version(worker: WorkerRow, expected: int | None) -> None:
    if expected is not None and worker.version != expected:
        raise Conflict(f"If-Match does not match the worker's current ETag ({worker.version})", status=412)


async def create_worker(
    uow: UnitOfWork, *, workspace: WorkspaceRow, friendly_name: str, attributes: str, activity_sid: str | None
) -> WorkerView:
    await lock_workspace(uow, workspace.sid)
    activity_sid = activity_sid or workspace.default_activity_sid
    if activity_sid is None:
        raise InvalidParameter("Parameter 'ActivitySid' is required: the workspace has no default")
    activity = await require_activity(uow, workspace.sid, activity_sid, "ActivitySid")
    await _ensure_unique(uow, "workers", workspace.sid, "friendly_name", friendly_name, "Worker")
    sid = new_sid(SidPrefix.WORKER)
    await uow.execute(
        "INSERT INTO workers (sid, account_sid, workspace_sid, friendly_name, attributes, activity_sid, available, "
        "date_status_changed) VALUES (%s, %s, %s, %s, %s, %s, %s, now())",
        (sid, workspace.account_sid, workspace.sid, friendly_name, attributes, activity_sid, activity.available),
    )
    await membership.ensure_worker_channels(uow, workspace_sid=workspace.sid, worker_sid=sid)
    await membership.refresh_for_worker(uow, sid)
    row = await get_worker(uow, workspace_sid=workspace.sid, sid=sid)
    await _log(
        uow,
        workspace,
        EventType.WORKER_CREATED,
        ResourceType.WORKER,
        sid,
        f"Worker {friendly_name} created",
        worker_sid=sid,
    )
    if activity.available:
        await match(uow, workspace.sid)
    return row


async def update_worker(
    uow: UnitOfWork,
    *,
    workspace: WorkspaceRow,
    sid: str,
    friendly_name: str | None = None,
    attributes: str | None = None,
    activity_sid: str | None = None,
    reject_pending: bool = False,
    expected_version: int | None = None,
) -> WorkerView:
    await lock_workspace(uow, workspace.sid)
    worker = await get_worker(uow, workspace_sid=workspace.sid, sid=sid)
    _check_version(worker, expected_version)
    if friendly_name is not None:
        await _ensure_unique(uow, "workers", workspace.sid, "friendly_name", friendly_name, "Worker", exclude=sid)
    if activity_sid is not None:
        await require_activity(uow, workspace.sid, activity_sid, "ActivitySid")
    changes = {c: v for c, v in (("friendly_name", friendly_name), ("attributes", attributes)) if v is not None}
    if changes:
        sets = "".join(f"{column} = %s, " for column in changes)
        await uow.execute(
            f"UPDATE workers SET {sets}version = version + 1, date_updated = now() WHERE sid = %s",
            (*changes.values(), sid),
        )
        worker = await get_worker(uow, workspace_sid=workspace.sid, sid=sid)
        if attributes is not None:
            await membership.refresh_for_worker(uow, sid)
            await _log(
                uow,
                workspace,
                EventType.WORKER_ATTRIBUTES_UPDATE,
                ResourceType.WORKER,
                sid,
                f"Worker {worker.friendly_name} attributes updated",
                worker_sid=sid,
            )
        # Queue membership and known-worker steps may now match waiting tasks.
        await match(uow, workspace.sid)
    if activity_sid is not None:
        # Like Twilio, an agent going offline keeps its accepted tasks (it may come back to finish them); a
        # desktop that is gone for good is let go by presence (storage/taskrouter/presence.py).
        await set_worker_activity(uow, worker=worker, activity_sid=activity_sid, reject_pending=reject_pending)
    return await get_worker(uow, workspace_sid=workspace.sid, sid=sid)


async def delete_worker(
    uow: UnitOfWork, *, workspace: WorkspaceRow, sid: str, expected_version: int | None = None
) -> None:
    await lock_workspace(uow, workspace.sid)
    worker = await get_worker(uow, workspace_sid=workspace.sid, sid=sid)
    _check_version(worker, expected_version)
    live = await _count(
        uow,
        "reservations WHERE worker_sid = %s AND reservation_status = ANY(%s)",
        (sid, [s.value for s in LIVE_RESERVATION]),
    )
    if live:
        raise Conflict(
            f"Worker {sid} cannot be deleted while it has {live} pending, accepted or wrapping reservation(s)"
        )
    # Recorded while the worker is still there to describe (the event outlives it).
    await _log(
        uow,
        workspace,
        EventType.WORKER_DELETED,
        ResourceType.WORKER,
        sid,
        f"Worker {worker.friendly_name} deleted",
        worker_sid=sid,
    )
    # Finished reservations reference the worker and its channels; like Twilio, they go with it.
    for table, column in (
        ("reservations", "worker_sid"),
        ("worker_channels", "worker_sid"),
        ("queue_members", "worker_sid"),
        ("workers", "sid"),
    ):
        await uow.execute(f"DELETE FROM {table} WHERE {column} = %s", (sid,))


# --- worker channels ---------------------------------------------------------------------------------


async def get_worker_channel(uow: UnitOfWork, *, workspace_sid: str, worker_sid: str, key: str) -> WorkerChannelView:
    """By WC SID or by the task channel's unique name."""
    column = "wc.sid" if is_sid(key, SidPrefix.WORKER_CHANNEL) else "tc.unique_name"
    return await uow.found(
        WorkerChannelView,
        f"{WORKER_CHANNEL_SELECT} WHERE wc.workspace_sid = %s AND wc.worker_sid = %s AND {column} = %s",
        (workspace_sid, worker_sid, key),
        resource=f"/Workspaces/{workspace_sid}/Workers/{worker_sid}/Channels/{key}",
    )


async def configure_worker_channel(
    uow: UnitOfWork,
    *,
    workspace: WorkspaceRow,
    worker_sid: str,
    key: str,
    capacity: int | None,
    available: bool | None,
) -> WorkerChannelView:
    await lock_workspace(uow, workspace.sid)
    channel = await get_worker_channel(uow, workspace_sid=workspace.sid, worker_sid=worker_sid, key=key)
    if capacity is None and available is None:
        return channel
    await update_worker_channel(uow, channel=channel, capacity=capacity, available=available)
    name = channel.task_channel_unique_name
    if capacity is not None and capacity != channel.configured_capacity:
        await _log(
            uow,
            workspace,
            EventType.WORKER_CAPACITY_UPDATE,
            ResourceType.WORKER,
            channel.worker_sid,
            f"Worker channel {name} capacity set to {capacity}",
            worker_channel_sid=channel.sid,
            worker_channel_previous_capacity=channel.configured_capacity,
        )
    if available is not None and available != channel.available:
        await _log(
            uow,
            workspace,
            EventType.WORKER_CHANNEL_AVAILABILITY_UPDATE,
            ResourceType.WORKER,
            channel.worker_sid,
            f"Worker channel {name} available set to {available}",
            worker_channel_sid=channel.sid,
            worker_channel_previous_capacity=channel.configured_capacity,
        )
    return await get_worker_channel(uow, workspace_sid=workspace.sid, worker_sid=worker_sid, key=channel.sid)
