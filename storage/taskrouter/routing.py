"""TaskRouter's routing use cases: every change to a task, a reservation or a worker's availability. Each runs
in the caller's unit of work, takes the workspace lock first and calls `match` before returning whenever it may
have freed capacity or made a task routable. REST routes, the WebSocket, activities and bootstrap call these;
none writes routing SQL of its own."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg.types.json import Jsonb

from domain.errors import Conflict, InvalidParameter
from domain.events import ActorType, EventType, ResourceType
from domain.limits import DEFAULT_TASK_TTL
from domain.outbox import StartTaskWorkflow
from domain.realtime import StreamEvent
from domain.routing.engine import WorkerState, should_skip
from domain.routing.signals import RoutingEventKind
from domain.routing.step import TaskStep
from domain.sids import SidPrefix, new_sid
from domain.states import (
    RESERVATION_STATUSES_SET_BY_API,
    RESERVATION_TRANSITIONS,
    TASK_STATUSES_SET_BY_API,
    TASK_TRANSITIONS,
    ReservationStatus,
    TaskStatus,
    check_transition,
)
from storage.db import UnitOfWork
from storage.interactions import service as interactions
from storage.interactions import transfers
from storage.taskrouter.events import record_event
from storage.taskrouter.lifecycle import (
    announce_reservation,
    cancel_pending_reservations,
    end_reservation,
    get_task,
    lock_workspace,
    set_task_status,
    signal_task,
)
from storage.taskrouter.matching import match
from storage.taskrouter.models import NewTask, TaskChanges
from storage.taskrouter.tables import ActivityRow, ReservationRow, TaskRow, WorkerChannelRow, WorkerRow

# --- tasks -------------------------------------------------------------------------------------------


async def create_task(uow: UnitOfWork, *, account_sid: str, workspace_sid: str, new: NewTask) -> TaskRow:
    """A task created through the REST API; its Task workflow is started after commit (outbox)."""
    workflows = await uow.fetchall(
        "SELECT sid FROM workflows WHERE workspace_sid = %s AND (%s::text IS NULL OR sid = %s) LIMIT 2",
        (workspace_sid, new.workflow_sid, new.workflow_sid),
    )
    if new.workflow_sid is not None and not workflows:
        raise InvalidParameter(f"WorkflowSid {new.workflow_sid} is not a workflow of this workspace")
    if new.workflow_sid is None and len(workflows) != 1:
        raise InvalidParameter("WorkflowSid is required when the workspace has no single workflow")
    channel = await uow.fetchone(
        "SELECT sid FROM task_channels WHERE workspace_sid = %s AND (sid = %s OR unique_name = %s)",
        (workspace_sid, new.task_channel, new.task_channel),
    )
    if channel is None:
        raise InvalidParameter(f"TaskChannel '{new.task_channel}' does not exist in this workspace")
    task = await insert_task(
        uow,
        sid=new_sid(SidPrefix.TASK),
        account_sid=account_sid,
        workspace_sid=workspace_sid,
        workflow_sid=workflows[0]["sid"],
        task_channel_sid=channel["sid"],
        attributes=new.attributes,
        priority=new.priority,
        ttl=new.timeout,
        actor=(ActorType.ACCOUNT, account_sid),
    )
    await uow.outbox(
        StartTaskWorkflow(account_sid=account_sid, task_sid=task.sid, workspace_sid=workspace_sid),
        dedupe_key=f"{task.sid}:start",
    )
    return task


async def insert_task(
    uow: UnitOfWork,
    *,
    sid: str,
    account_sid: str,
    workspace_sid: str,
    workflow_sid: str | None,
    task_channel_sid: str,
    attributes: str,
    priority: int = 0,
    ttl: int = DEFAULT_TASK_TTL,
    interaction_channel_sid: str | None = None,
    routing_target: str | None = None,
    task_queue_sid: str | None = None,
    actor: tuple[ActorType, str] | None = None,
) -> TaskRow:
    """Insert a pending task (idempotent on its SID, which a workflow may have minted) and log task.created."""
    row = await uow.one(
        TaskRow,
        """
        INSERT INTO tasks (sid, account_sid, workspace_sid, workflow_sid, task_channel_sid, attributes,
                           assignment_status, priority, timeout, virtual_start_time, interaction_channel_sid,
                           routing_target, task_queue_sid)
        VALUES (%s, %s, %s, %s, %s, %s, 'pending', %s, %s, now(), %s, %s, %s)
        ON CONFLICT (sid) DO NOTHING RETURNING *
        """,
        (
            sid,
            account_sid,
            workspace_sid,
            workflow_sid,
            task_channel_sid,
            attributes,
            priority,
            ttl,
            interaction_channel_sid,
            routing_target,
            task_queue_sid,
        ),
    )
    if row is None:
        return await get_task(uow, sid)
    data = {"task_sid": sid}
    if interaction_channel_sid:
        data["interaction_channel_sid"] = interaction_channel_sid
    actor_type, actor_sid = actor or (ActorType.WORKSPACE, None)
    await record_event(
        uow,
        account_sid=account_sid,
        workspace_sid=workspace_sid,
        event_type=EventType.TASK_CREATED,
        resource_type=ResourceType.TASK,
        resource_sid=sid,
        description=f"Task {sid} created",
        data=data,
        actor_type=actor_type,
        actor_sid=actor_sid,
    )
    return row


@dataclass(frozen=True, slots=True)
class StepEntered:
    task: TaskRow
    # True when the step's skip_if held and no reservation could be made at once: move to the next step.
    skipped: bool


async def enter_step(uow: UnitOfWork, *, task_sid: str, step: TaskStep) -> StepEntered:
    """Put a pending task in a routing step (queue + target options) and try to offer it at once."""
    task = await get_task(uow, task_sid)
    await lock_workspace(uow, task.workspace_sid)
    task = await get_task(uow, task_sid)
    if not task.assignment_status.is_routable:
        return StepEntered(task=task, skipped=False)
    await uow.execute(
        """
        UPDATE tasks SET routing_step = %s, task_queue_sid = %s, waiting_reason = NULL,
               priority = COALESCE(%s, priority),
               task_queue_entered_date = CASE WHEN task_queue_sid IS DISTINCT FROM %s THEN now()
                                              ELSE task_queue_entered_date END,
               version = version + 1, date_updated = now()
         WHERE sid = %s
        """,
        (Jsonb(step.model_dump(mode="json")), step.queue_sid, step.priority, step.queue_sid, task_sid),
    )
    await record_event(
        uow,
        account_sid=task.account_sid,
        workspace_sid=task.workspace_sid,
        event_type=EventType.TASK_QUEUE_ENTERED,
        resource_type=ResourceType.TASK,
        resource_sid=task_sid,
        description=f"Task {task_sid} entered queue {step.queue_sid}",
        data={"task_sid": task_sid, "task_queue_sid": step.queue_sid, "step": step.model_dump(mode="json")},
    )
    await match(uow, task.workspace_sid)
    task = await get_task(uow, task_sid)
    skipped = False
    if step.skip_if is not None and task.assignment_status is TaskStatus.PENDING:
        skipped = should_skip(step, await _queue_members(uow, step.queue_sid))
        if skipped:
            await uow.execute(
                "UPDATE tasks SET waiting_reason = %s WHERE sid = %s",
                (f"skipped {step.label}: skip_if '{step.skip_if}' held", task_sid),
            )
    return StepEntered(task=task, skipped=skipped)


async def _queue_members(uow: UnitOfWork, queue_sid: str) -> list[WorkerState]:
    rows = await uow.fetchall(
        "SELECT w.sid, w.friendly_name, w.activity_sid, a.friendly_name AS activity_name, a.available "
        "FROM queue_members m JOIN workers w ON w.sid = m.worker_sid JOIN activities a ON a.sid = w.activity_sid "
        "WHERE m.queue_sid = %s",
        (queue_sid,),
    )
    return [
        WorkerState(
            sid=r["sid"],
            friendly_name=r["friendly_name"],
            attributes={},
            activity_sid=r["activity_sid"],
            activity_name=r["activity_name"],
            activity_available=bool(r["available"]),
        )
        for r in rows
    ]


async def update_task_status(
    uow: UnitOfWork, *, task_sid: str, status: TaskStatus, reason: str | None = None
) -> TaskRow:
    """Twilio's task transitions: cancel while pending/reserved; wrap up or complete once assigned."""
    task = await get_task(uow, task_sid)
    await lock_workspace(uow, task.workspace_sid)
    task = await get_task(uow, task_sid)
    current = task.assignment_status
    if status is current:
        return task
    if status not in TASK_STATUSES_SET_BY_API:
        raise InvalidParameter(f"AssignmentStatus '{status}' cannot be set through the API")
    check_transition(TASK_TRANSITIONS, current, status, what=f"Task {task_sid}")
    if status is TaskStatus.CANCELED:
        await cancel_pending_reservations(uow, task_sid, ReservationStatus.CANCELED)
    elif status is TaskStatus.WRAPPING:
        wrapping = await uow.one(
            ReservationRow,
            "UPDATE reservations SET reservation_status = 'wrapping', version = version + 1, date_updated = now() "
            "WHERE task_sid = %s AND reservation_status = 'accepted' RETURNING *",
            (task_sid,),
        )
        if wrapping is not None:
            await announce_reservation(uow, wrapping)
    elif status is TaskStatus.COMPLETED:
        accepted = await uow.one(
            ReservationRow,
            "UPDATE reservations SET reservation_status = 'completed', version = version + 1, date_updated = now() "
            "WHERE task_sid = %s AND reservation_status IN ('accepted', 'wrapping') RETURNING *",
            (task_sid,),
        )
        if accepted is not None:
            await uow.execute(
                "UPDATE worker_channels SET assigned_tasks = assigned_tasks - 1, date_updated = now() WHERE sid = %s",
                (accepted.worker_channel_sid,),
            )
            await announce_reservation(uow, accepted)
            await interactions.agent_leaves(uow, task=task, reservation=accepted)
    row = await set_task_status(uow, task, status, reason)
    if status.is_final:
        await match(uow, task.workspace_sid)
    return row


async def update_task(
    uow: UnitOfWork, *, task_sid: str, changes: TaskChanges, expected_version: int | None = None
) -> TaskRow:
    """Attributes and priority (which may make the task match other workers), then any status change."""
    task = await get_task(uow, task_sid)
    await lock_workspace(uow, task.workspace_sid)
    task = await get_task(uow, task_sid)
    if expected_version is not None and task.version != expected_version:
        raise Conflict("If-Match does not match the task's current ETag", status=412)
    if changes.attributes is not None or changes.priority is not None:
        await uow.execute(
            "UPDATE tasks SET attributes = COALESCE(%s, attributes), priority = COALESCE(%s, priority), "
            "version = version + 1, date_updated = now() WHERE sid = %s",
            (changes.attributes, changes.priority, task_sid),
        )
        await match(uow, task.workspace_sid)
    if changes.assignment_status is not None:
        await update_task_status(uow, task_sid=task_sid, status=changes.assignment_status, reason=changes.reason)
    return await get_task(uow, task_sid)


async def delete_task(uow: UnitOfWork, *, task_sid: str, account_sid: str) -> None:
    """Like Twilio: a live task is ended first (canceled if unassigned, else completed), then removed."""
    task = await get_task(uow, task_sid)
    if task.assignment_status.is_routable:
        await update_task_status(uow, task_sid=task_sid, status=TaskStatus.CANCELED, reason="Task deleted")
    elif task.assignment_status.is_live:
        await update_task_status(uow, task_sid=task_sid, status=TaskStatus.COMPLETED, reason="Task deleted")
    await uow.execute("UPDATE interaction_channels SET active_task_sid = NULL WHERE active_task_sid = %s", (task_sid,))
    await uow.execute("DELETE FROM reservations WHERE task_sid = %s", (task_sid,))
    await uow.execute("DELETE FROM tasks WHERE sid = %s", (task_sid,))
    await record_event(
        uow,
        account_sid=account_sid,
        workspace_sid=task.workspace_sid,
        event_type=EventType.TASK_DELETED,
        resource_type=ResourceType.TASK,
        resource_sid=task_sid,
        description=f"Task {task_sid} deleted",
        data={"task_sid": task_sid},
        actor_type=ActorType.ACCOUNT,
        actor_sid=account_sid,
    )


# --- reservations ------------------------------------------------------------------------------------


async def update_reservation(
    uow: UnitOfWork,
    *,
    reservation_sid: str,
    status: ReservationStatus,
    worker_activity_sid: str | None = None,
    expected_version: int | None = None,
) -> ReservationRow:
    """What an agent (or the reservation timer) does with an offer: accept, reject, time out; then wrap up
    and complete the task it was accepted for."""
    reservation = await _get_reservation(uow, reservation_sid)
    await lock_workspace(uow, reservation.workspace_sid)
    reservation = await _get_reservation(uow, reservation_sid)
    if expected_version is not None and reservation.version != expected_version:
        raise Conflict("If-Match does not match the reservation's current ETag", status=412)
    current = reservation.reservation_status
    if status is current:
        return reservation
    if status not in RESERVATION_STATUSES_SET_BY_API | {ReservationStatus.TIMEOUT}:
        raise InvalidParameter(
            f"ReservationStatus '{status}' cannot be set through the API; use one of "
            + ", ".join(sorted(s.value for s in RESERVATION_STATUSES_SET_BY_API))
        )
    check_transition(RESERVATION_TRANSITIONS, current, status, what=f"Reservation {reservation_sid}")
    if status is ReservationStatus.ACCEPTED:
        return await _accept(uow, reservation)
    if status in (ReservationStatus.REJECTED, ReservationStatus.TIMEOUT):
        ended = await end_reservation(uow, reservation_sid, status)
        assert ended is not None
        await _after_reservation_lost(uow, reservation, status)
        if status is ReservationStatus.REJECTED:
            await transfers.on_reservation_declined(uow, reservation)
        if status is ReservationStatus.TIMEOUT and worker_activity_sid is None:
            workspace = await uow.fetchone(
                "SELECT timeout_activity_sid FROM workspaces WHERE sid = %s", (reservation.workspace_sid,)
            )
            worker_activity_sid = (workspace or {}).get("timeout_activity_sid")
        if worker_activity_sid:
            worker = await uow.one(WorkerRow, "SELECT * FROM workers WHERE sid = %s", (reservation.worker_sid,))
            assert worker is not None
            await set_worker_activity(uow, worker=worker, activity_sid=worker_activity_sid)
        await match(uow, reservation.workspace_sid)
        return ended
    # wrapping or completed: the task moves, and its accepted reservation with it.
    await update_task_status(
        uow, task_sid=reservation.task_sid, status=TaskStatus(status.value), reason="reservation " + status
    )
    return await _get_reservation(uow, reservation_sid)


async def _get_reservation(uow: UnitOfWork, reservation_sid: str) -> ReservationRow:
    return await uow.found(
        ReservationRow,
        "SELECT * FROM reservations WHERE sid = %s",
        (reservation_sid,),
        resource=f"/Reservations/{reservation_sid}",
    )


async def _after_reservation_lost(uow: UnitOfWork, reservation: ReservationRow, status: ReservationStatus) -> None:
    """With multi-reservation the task goes back to pending only when none of its reservations is pending."""
    await uow.execute(
        "UPDATE tasks SET assignment_status = 'pending', version = version + 1, date_updated = now() "
        "WHERE sid = %s AND assignment_status = 'reserved' AND NOT EXISTS "
        "(SELECT 1 FROM reservations WHERE task_sid = %s AND reservation_status = 'pending')",
        (reservation.task_sid, reservation.task_sid),
    )
    task = await get_task(uow, reservation.task_sid)
    await signal_task(
        uow, task, RoutingEventKind.RESERVATION_ENDED, reservation_sid=reservation.sid, status=status.value
    )


async def _accept(uow: UnitOfWork, reservation: ReservationRow) -> ReservationRow:
    task = await get_task(uow, reservation.task_sid)
    if not task.assignment_status.is_routable:
        raise Conflict(f"Task {task.sid} is {task.assignment_status}; the reservation can no longer be accepted")
    row = await uow.one(
        ReservationRow,
        "UPDATE reservations SET reservation_status = 'accepted', version = version + 1, date_updated = now() "
        "WHERE sid = %s AND reservation_status = 'pending' RETURNING *",
        (reservation.sid,),
    )
    assert row is not None
    await uow.execute(
        "UPDATE worker_channels SET reserved_tasks = reserved_tasks - 1, assigned_tasks = assigned_tasks + 1, "
        "date_updated = now() WHERE sid = %s",
        (row.worker_channel_sid,),
    )
    # Multi-reservation: the first to accept wins; the others are rescinded.
    for other in await uow.fetchall(
        "SELECT sid FROM reservations WHERE task_sid = %s AND reservation_status = 'pending' AND sid <> %s",
        (task.sid, row.sid),
    ):
        await end_reservation(uow, other["sid"], ReservationStatus.RESCINDED)
    task = (
        await uow.one(
            TaskRow,
            "UPDATE tasks SET assignment_status = 'assigned', waiting_reason = NULL, version = version + 1, "
            "date_updated = now() WHERE sid = %s RETURNING *",
            (task.sid,),
        )
        or task
    )
    await announce_reservation(uow, row)
    await interactions.agent_joins(uow, task=task, reservation=row)
    if task.interaction_channel_sid:
        await transfers.on_task_accepted(uow, task)
    await signal_task(uow, task, RoutingEventKind.TASK_ASSIGNED, reservation_sid=row.sid, worker_sid=row.worker_sid)
    await match(uow, row.workspace_sid)
    return row


# --- workers -----------------------------------------------------------------------------------------


async def set_worker_activity(
    uow: UnitOfWork,
    *,
    worker: WorkerRow,
    activity_sid: str,
    reject_pending: bool = False,
    releases_conversations: bool = False,
) -> None:
    """Move a worker to an activity. `releases_conversations`: the worker is going offline for good (its session
    ended, or it signed out), so the conversations it holds go back to their queues rather than wait on it."""
    await lock_workspace(uow, worker.workspace_sid)
    activity = await uow.one(
        ActivityRow,
        "SELECT * FROM activities WHERE sid = %s AND workspace_sid = %s",
        (activity_sid, worker.workspace_sid),
    )
    if activity is None:
        raise InvalidParameter(f"Activity {activity_sid} does not exist in this workspace")
    if activity_sid == worker.activity_sid:
        return
    await uow.execute(
        "UPDATE workers SET activity_sid = %s, available = %s, date_status_changed = now(), "
        "date_updated = now(), version = version + 1 WHERE sid = %s",
        (activity_sid, activity.available, worker.sid),
    )
    await uow.publish(
        account_sid=worker.account_sid,
        stream=worker.sid,
        type=StreamEvent.WORKER_ACTIVITY_UPDATE,
        data={
            "worker_sid": worker.sid,
            "activity_sid": activity_sid,
            "activity_name": activity.friendly_name,
            "available": activity.available,
        },
    )
    await record_event(
        uow,
        account_sid=worker.account_sid,
        workspace_sid=worker.workspace_sid,
        event_type=EventType.WORKER_ACTIVITY_UPDATE,
        resource_type=ResourceType.WORKER,
        resource_sid=worker.sid,
        description=f"Worker {worker.friendly_name} updated to {activity.friendly_name} Activity",
        data={
            "worker_sid": worker.sid,
            "worker_activity_sid": activity_sid,
            "worker_activity_name": activity.friendly_name,
            "worker_previous_activity_sid": worker.activity_sid,
        },
    )
    if not activity.available and reject_pending:
        for reservation in await uow.fetchall(
            "SELECT sid FROM reservations WHERE worker_sid = %s AND reservation_status = 'pending'", (worker.sid,)
        ):
            await update_reservation(uow, reservation_sid=reservation["sid"], status=ReservationStatus.REJECTED)
    if not activity.available and releases_conversations:
        await interactions.release_worker_conversations(uow, worker_sid=worker.sid)
    if activity.available:
        await match(uow, worker.workspace_sid)


async def update_worker_channel(
    uow: UnitOfWork, *, channel: WorkerChannelRow, capacity: int | None, available: bool | None
) -> WorkerChannelRow:
    await lock_workspace(uow, channel.workspace_sid)
    row = await uow.one(
        WorkerChannelRow,
        "UPDATE worker_channels SET configured_capacity = COALESCE(%s, configured_capacity), "
        "available = COALESCE(%s, available), date_updated = now() WHERE sid = %s RETURNING *",
        (capacity, available, channel.sid),
    )
    assert row is not None
    await match(uow, channel.workspace_sid)
    return row
