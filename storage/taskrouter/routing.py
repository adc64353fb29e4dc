"""TaskRouter's routing use cases: every change to a task, a reservation or a worker's availability. Each runs
in the caller's unit of work, takes the workspace lock first and calls `match` before returning whenever it may
have freed capacity or made a task routable. REST routes, the WebSocket, activities and bootstrap call these;
none writes routing SQL of its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from psycopg.types.json import Jsonb

from domain.errors import Conflict, InvalidParameter, NotFound
from domain.events import ActorType, EventType, ResourceType
from domain.limits import DEFAULT_TASK_TTL, WORKFLOW_TIMEOUT_REASON
from domain.outbox import SignalTaskWorkflow, StartTaskWorkflow
from domain.realtime import StreamEvent
from domain.routing.engine import WorkerState, should_skip
from domain.routing.signals import RoutingEvent, RoutingEventKind
from domain.routing.step import TaskStep
from domain.sids import SidPrefix, is_sid, new_sid
from domain.states import (
    RESERVATION_STATUSES_SET_BY_API,
    RESERVATION_TRANSITIONS,
    TASK_STATUSES_SET_BY_API,
    TASK_TRANSITIONS,
    ReservationStatus,
    TaskStatus,
    check_transition,
)
from storage import crypto
from storage.db import UnitOfWork
from storage.interactions import service as interactions
from storage.interactions import transfers
from storage.taskrouter.events import PreviousActivity, record_event
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
    """A task created through the REST API; its Task workflow is started after commit (outbox). It is routed by
    its workflow's filters, or straight to `RoutingTarget` (a worker, in one of its queues, or a queue), or with
    only a `TaskQueueSid` and no workflow, straight to that queue."""
    routing_target, queue_sid = new.routing_target, new.task_queue_sid
    if queue_sid is not None:
        await _require(uow, "task_queues", workspace_sid, queue_sid, "TaskQueueSid")
    to_worker = routing_target is not None and is_sid(routing_target, SidPrefix.WORKER)
    if routing_target is not None:
        table = "workers" if to_worker else "task_queues"
        await _require(uow, table, workspace_sid, routing_target, "RoutingTarget")
    if to_worker and queue_sid is None:
        # The reservation is made in a queue the worker belongs to (the statistics count it there).
        member = await uow.fetchone(
            "SELECT m.queue_sid FROM queue_members m JOIN task_queues q ON q.sid = m.queue_sid "
            "WHERE m.worker_sid = %s ORDER BY q.date_created, q.sid LIMIT 1",
            (routing_target,),
        )
        if member is None:
            raise InvalidParameter(
                f"RoutingTarget {routing_target} belongs to no TaskQueue: give TaskQueueSid, a queue it is in"
            )
        queue_sid = member["queue_sid"]
    if new.ignore_capacity and not to_worker:
        raise InvalidParameter("IgnoreCapacity applies only to a task whose RoutingTarget is a Worker (WK…)")
    if routing_target is None and queue_sid is not None and new.workflow_sid is None:
        routing_target = queue_sid
    workflows = await uow.fetchall(
        "SELECT sid FROM workflows WHERE workspace_sid = %s AND (%s::text IS NULL OR sid = %s) LIMIT 2",
        (workspace_sid, new.workflow_sid, new.workflow_sid),
    )
    if new.workflow_sid is not None and not workflows:
        raise InvalidParameter(f"WorkflowSid {new.workflow_sid} is not a workflow of this workspace")
    if routing_target is None and new.workflow_sid is None and len(workflows) != 1:
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
        workflow_sid=workflows[0]["sid"] if workflows and (new.workflow_sid or routing_target is None) else None,
        task_channel_sid=channel["sid"],
        attributes=new.attributes,
        priority=new.priority,
        ttl=new.timeout,
        routing_target=routing_target,
        task_queue_sid=queue_sid if to_worker else None,
        ignore_capacity=(new.ignore_capacity is not False) if to_worker else False,
        virtual_start_time=new.virtual_start_time,
        actor=(ActorType.ACCOUNT, account_sid),
    )
    await uow.outbox(
        StartTaskWorkflow(account_sid=account_sid, task_sid=task.sid, workspace_sid=workspace_sid),
        dedupe_key=f"{task.sid}:start",
    )
    return task


async def _require(uow: UnitOfWork, table: str, workspace_sid: str, sid: str, param: str) -> None:
    """A SID the request names must be a resource of this workspace (400 naming the parameter otherwise)."""
    found = await uow.fetchone(f"SELECT 1 FROM {table} WHERE sid = %s AND workspace_sid = %s", (sid, workspace_sid))
    if found is None:
        raise InvalidParameter(f"{param} {sid} is not in this workspace")


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
    ignore_capacity: bool = False,
    virtual_start_time: datetime | None = None,
    actor: tuple[ActorType, str] | None = None,
) -> TaskRow:
    """Insert a pending task (idempotent on its SID, which a workflow may have minted) and log task.created."""
    row = await uow.one(
        TaskRow,
        """
        INSERT INTO tasks (sid, account_sid, workspace_sid, workflow_sid, task_channel_sid, attributes,
                           assignment_status, priority, timeout, virtual_start_time, interaction_channel_sid,
                           routing_target, task_queue_sid, ignore_capacity)
        VALUES (%s, %s, %s, %s, %s, %s, 'pending', %s, %s, COALESCE(%s, now()), %s, %s, %s, %s)
        ON CONFLICT (sid) DO NOTHING RETURNING *
        """,
        (
            sid,
            account_sid,
            workspace_sid,
            workflow_sid,
            task_channel_sid,
            await crypto.seal(uow, account_sid, attributes),
            priority,
            ttl,
            virtual_start_time,
            interaction_channel_sid,
            routing_target,
            task_queue_sid,
            ignore_capacity,
        ),
    )
    if row is None:
        return await get_task(uow, sid)
    actor_type, actor_sid = actor or (ActorType.WORKSPACE, None)
    await record_event(
        uow,
        workspace_sid=workspace_sid,
        event_type=EventType.TASK_CREATED,
        resource_type=ResourceType.TASK,
        resource_sid=sid,
        description=f"Task {sid} created",
        task_sid=sid,
        data={"interaction_channel_sid": interaction_channel_sid} if interaction_channel_sid else None,
        actor_type=actor_type,
        actor_sid=actor_sid,
    )
    return row


@dataclass(frozen=True, slots=True)
class StepEntered:
    task: TaskRow
    # True when the step's skip_if held and no reservation could be made at once: move to the next step.
    skipped: bool
    # The task's pending reservations after the step's matching pass (when the caller asked to take them).
    reservations: tuple[ReservationRow, ...] = ()


async def enter_step(
    uow: UnitOfWork, *, task_sid: str, step: TaskStep, takes_reservations: bool = False
) -> StepEntered:
    """Put a pending task in a routing step and try to offer it at once, in one transaction (place_in_step, then
    offer_in_step). The Task workflow's activity runs the two as two transactions, so that a burst of arrivals
    shares matching passes."""
    if await place_in_step(uow, task_sid=task_sid, step=step) is None:
        return StepEntered(task=await get_task(uow, task_sid), skipped=False)
    return await offer_in_step(uow, task_sid=task_sid, step=step, takes_reservations=takes_reservations)


async def place_in_step(uow: UnitOfWork, *, task_sid: str, step: TaskStep) -> TaskRow | None:
    """Put a pending task in a routing step (queue + target options), ready for the next matching pass; None
    when the task is no longer routable. It takes the task's row lock, not the workspace's: arrivals are
    placed side by side, and a matching pass running meanwhile meets the task in the step it planned it in or
    not at all (matching reserves a task only at the version it read, see matching._reserve).

    The Task workflow moves a task to its next step when the step's target timed out, was skipped or the task is
    re-evaluated, so entering a step after another one records `task-queue.timeout` for the queue it waited in
    (unless that step is marked as left early, see `ENDED_EARLY`), `task-queue.moved` when the queue changes,
    and `task-queue.entered` for a queue it was not in."""
    task = await uow.found(
        TaskRow, "SELECT * FROM tasks WHERE sid = %s FOR UPDATE", (task_sid,), resource=f"/Tasks/{task_sid}"
    )
    if not task.assignment_status.is_routable:
        return None
    previous, left_queue = task.routing_step, task.task_queue_sid
    old = await uow.fetchone(
        """
        UPDATE tasks t SET routing_step = %s, task_queue_sid = %s, waiting_reason = NULL,
               priority = COALESCE(%s, t.priority),
               task_queue_entered_date = CASE WHEN t.task_queue_sid IS DISTINCT FROM %s
                                                   OR t.task_queue_entered_date IS NULL THEN now()
                                              ELSE t.task_queue_entered_date END,
               version = t.version + 1, date_updated = now()
          FROM (SELECT sid, COALESCE(routing_step ? 'ended', false) AS ended FROM tasks WHERE sid = %s) o
         WHERE t.sid = o.sid
        RETURNING o.ended
        """,
        (Jsonb(step.model_dump(mode="json")), step.queue_sid, step.priority, step.queue_sid, task_sid),
    )
    # An activity retried after its commit enters the same step again: nothing moved.
    if previous != step:
        await _log_queue_change(uow, task, step, previous, left_queue, timed_out=not (old and old["ended"]))
    return task


async def offer_in_step(
    uow: UnitOfWork, *, task_sid: str, step: TaskStep, takes_reservations: bool = False
) -> StepEntered:
    """Offer a task just placed in `step`: run the workspace's matching pass, unless a pass that began after the
    placing already planned the task (it offered it, or said why it waits). A burst of arrivals thus shares
    passes: the first to get the workspace lock plans every task placed by then, and the others find their
    task planned. Then the step's skip_if. With `takes_reservations`, the task's pending reservations come back
    in the answer, and those this pass makes are not signalled to the task's workflow (it asked for them)."""
    task = await get_task(uow, task_sid)
    await lock_workspace(uow, task.workspace_sid)
    task = await get_task(uow, task_sid)
    # Reserved, or pending with a waiting reason: a pass planned it after it was placed (a multi-reservation
    # task got every offer that pass could make).
    if task.assignment_status is TaskStatus.PENDING and task.waiting_reason is None:
        await match(uow, task.workspace_sid, returned_to=task_sid if takes_reservations else None)
        task = await get_task(uow, task_sid)
    skipped = False
    if step.skip_if is not None and task.assignment_status is TaskStatus.PENDING:
        skipped = should_skip(step, await _queue_members(uow, step.queue_sid))
        if skipped:
            await uow.execute(
                f"UPDATE tasks SET waiting_reason = %s, {ENDED_EARLY} WHERE sid = %s",
                (f"skipped {step.label}: skip_if '{step.skip_if}' held", "skipped", task_sid),
            )
            await record_event(
                uow,
                workspace_sid=task.workspace_sid,
                event_type=EventType.WORKFLOW_SKIPPED,
                resource_type=ResourceType.TASK,
                resource_sid=task_sid,
                description=f"Task {task_sid} skipped {step.label}: skip_if '{step.skip_if}' held",
                task_sid=task_sid,
                data={"skip_if": step.skip_if, "step": step.model_dump(mode="json")},
            )
    reservations: tuple[ReservationRow, ...] = ()
    if takes_reservations:
        reservations = tuple(
            await uow.all(
                ReservationRow,
                "SELECT * FROM reservations WHERE task_sid = %s AND reservation_status = 'pending' "
                "ORDER BY date_created, sid",
                (task_sid,),
            )
        )
    return StepEntered(task=task, skipped=skipped, reservations=reservations)


# Marks the step a task waits in as left before its target timed out (skipped, or the task re-evaluated), so
# the next step's entry records no `task-queue.timeout` for it. TaskStep ignores the extra key.
ENDED_EARLY = "routing_step = routing_step || jsonb_build_object('ended', %s::text)"


async def _log_queue_change(
    uow: UnitOfWork, task: TaskRow, step: TaskStep, previous: TaskStep | None, left: str | None, *, timed_out: bool
) -> None:
    ws, sid = task.workspace_sid, task.sid
    if previous is not None and left is not None and timed_out:
        await record_event(
            uow,
            workspace_sid=ws,
            event_type=EventType.TASK_QUEUE_TIMEOUT,
            resource_type=ResourceType.TASK,
            resource_sid=sid,
            description=f"Task {sid} timed out of queue {left} ({previous.label})",
            task_sid=sid,
            queue_sid=left,
        )
    if left is not None and previous is not None and left != step.queue_sid:
        await record_event(
            uow,
            workspace_sid=ws,
            event_type=EventType.TASK_QUEUE_MOVED,
            resource_type=ResourceType.TASK,
            resource_sid=sid,
            description=f"Task {sid} moved from queue {left} to queue {step.queue_sid}",
            task_sid=sid,
            queue_sid=left,
            data={"target_task_queue_sid": step.queue_sid},
        )
    if previous is None or left != step.queue_sid:
        await record_event(
            uow,
            workspace_sid=ws,
            event_type=EventType.TASK_QUEUE_ENTERED,
            resource_type=ResourceType.TASK,
            resource_sid=sid,
            description=f"Task {sid} entered queue {step.queue_sid}",
            task_sid=sid,
            data={"step": step.model_dump(mode="json")},
        )


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
    uow: UnitOfWork, *, task_sid: str, status: TaskStatus, reason: str | None = None, requeue: bool = True
) -> TaskRow:
    """Twilio's task transitions: cancel while pending/reserved; wrap up or complete once assigned.
    `requeue`: see set_task_status."""
    task = await get_task(uow, task_sid)
    await lock_workspace(uow, task.workspace_sid)
    task = await get_task(uow, task_sid)
    current = task.assignment_status
    if status is current:
        return task
    if status not in TASK_STATUSES_SET_BY_API:
        raise InvalidParameter(f"AssignmentStatus '{status}' cannot be set through the API")
    check_transition(TASK_TRANSITIONS, current, status, what=f"Task {task_sid}")
    # The accepted reservation follows the task; its event is recorded once the task's status is written.
    moved: ReservationRow | None = None
    if status is TaskStatus.CANCELED:
        await cancel_pending_reservations(uow, task_sid, ReservationStatus.CANCELED, task_status=status)
    elif status is TaskStatus.WRAPPING:
        moved = await uow.one(
            ReservationRow,
            "UPDATE reservations SET reservation_status = 'wrapping', version = version + 1, date_updated = now() "
            "WHERE task_sid = %s AND reservation_status = 'accepted' RETURNING *",
            (task_sid,),
        )
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
            await interactions.agent_leaves(uow, task=task, reservation=accepted)
        moved = accepted
    row = await set_task_status(uow, task, status, reason, requeue=requeue)
    if moved is not None:
        await announce_reservation(uow, moved)
    if status.is_final:
        await match(uow, task.workspace_sid)
    return row


async def record_routing_plan(
    uow: UnitOfWork, *, task: TaskRow, workflow_name: str, reasons: list[str], has_targets: bool
) -> None:
    """The Task workflow planned the task's routing through its workflow: `workflow.entered` the first time,
    `workflow.target-matched` when the plan has targets. A plan made again (the task re-evaluated) finds the task
    in a step already: that step is marked as left early, so the new plan's first step records no timeout."""
    replanned = await uow.fetchone(
        f"UPDATE tasks SET {ENDED_EARLY} WHERE sid = %s AND routing_step IS NOT NULL RETURNING sid",
        ("re-evaluated", task.sid),
    )
    if replanned is None:
        await record_event(
            uow,
            workspace_sid=task.workspace_sid,
            event_type=EventType.WORKFLOW_ENTERED,
            resource_type=ResourceType.TASK,
            resource_sid=task.sid,
            description=f"Task {task.sid} entered workflow {workflow_name}",
            task_sid=task.sid,
        )
    if has_targets:
        await record_event(
            uow,
            workspace_sid=task.workspace_sid,
            event_type=EventType.WORKFLOW_TARGET_MATCHED,
            resource_type=ResourceType.TASK,
            resource_sid=task.sid,
            description="; ".join(reasons),
            task_sid=task.sid,
            data={"reasons": reasons},
        )


async def cancel_on_workflow_timeout(uow: UnitOfWork, *, task_sid: str) -> TaskRow:
    """The task ran out of its workflow's targets (the Task workflow's last step ended unanswered): record
    `task-queue.timeout` for the queue it last waited in (unless that step was skipped) and `workflow.timeout`,
    then cancel it with Twilio's reason (`task.canceled`)."""
    task = await get_task(uow, task_sid)
    await lock_workspace(uow, task.workspace_sid)
    task = await get_task(uow, task_sid)
    if task.assignment_status.is_routable:
        mark = await uow.fetchone(
            "SELECT COALESCE(routing_step ? 'ended', false) AS ended FROM tasks WHERE sid = %s", (task_sid,)
        )
        if task.routing_step is not None and task.task_queue_sid and not (mark and mark["ended"]):
            await record_event(
                uow,
                workspace_sid=task.workspace_sid,
                event_type=EventType.TASK_QUEUE_TIMEOUT,
                resource_type=ResourceType.TASK,
                resource_sid=task_sid,
                description=f"Task {task_sid} timed out of queue {task.task_queue_sid} ({task.routing_step.label})",
                task_sid=task_sid,
            )
        await record_event(
            uow,
            workspace_sid=task.workspace_sid,
            event_type=EventType.WORKFLOW_TIMEOUT,
            resource_type=ResourceType.TASK,
            resource_sid=task_sid,
            description=f"Task {task_sid} timed out of workflow {task.workflow_sid}: no target left",
            task_sid=task_sid,
            data={
                "task_assignment_status": TaskStatus.CANCELED.value,
                "task_canceled_reason": WORKFLOW_TIMEOUT_REASON,
                "reason": WORKFLOW_TIMEOUT_REASON,
            },
        )
    return await update_task_status(uow, task_sid=task_sid, status=TaskStatus.CANCELED, reason=WORKFLOW_TIMEOUT_REASON)


async def update_task(
    uow: UnitOfWork, *, task_sid: str, changes: TaskChanges, expected_version: int | None = None
) -> TaskRow:
    """Attributes and priority (which may make the task match other workers), then any status change."""
    task = await get_task(uow, task_sid)
    await lock_workspace(uow, task.workspace_sid)
    task = await get_task(uow, task_sid)
    if expected_version is not None and task.version != expected_version:
        raise Conflict("If-Match does not match the task's current ETag", status=412)
    if changes.task_channel is not None:
        channel = await uow.fetchone(
            "SELECT sid FROM task_channels WHERE workspace_sid = %s AND (sid = %s OR unique_name = %s)",
            (task.workspace_sid, changes.task_channel, changes.task_channel),
        )
        if channel is None or channel["sid"] != task.task_channel_sid:
            raise NotFound.resource(
                f"/Workspaces/{task.workspace_sid}/Tasks/{task_sid} on TaskChannel {changes.task_channel}"
            )
    if changes.attributes is not None or changes.priority is not None or changes.virtual_start_time is not None:
        await uow.execute(
            "UPDATE tasks SET attributes = COALESCE(%s, attributes), priority = COALESCE(%s, priority), "
            "virtual_start_time = COALESCE(%s, virtual_start_time), "
            "version = version + 1, date_updated = now() WHERE sid = %s",
            (
                await crypto.seal(uow, task.account_sid, changes.attributes),
                changes.priority,
                changes.virtual_start_time,
                task_sid,
            ),
        )
        await record_event(
            uow,
            workspace_sid=task.workspace_sid,
            event_type=EventType.TASK_UPDATED,
            resource_type=ResourceType.TASK,
            resource_sid=task_sid,
            description=f"Task {task_sid} updated",
            task_sid=task_sid,
            actor_type=ActorType.ACCOUNT,
            actor_sid=task.account_sid,
        )
        await match(uow, task.workspace_sid)
        if changes.attributes is not None and changes.attributes != task.attributes:
            # New attributes may match another filter: the task's workflow routes it again (Twilio re-evaluates
            # a task whose attributes change), once no offer of it is pending.
            await reevaluate_tasks(uow, account_sid=task.account_sid, task_sids=[task_sid])
    if changes.assignment_status is not None:
        # Canceled through the API with a Reason, the task is a person's decision: its channel parks (the
        # customer's next message routes again) instead of routing at once (docs/interactions.md).
        deliberate = changes.assignment_status is TaskStatus.CANCELED and bool(changes.reason)
        await update_task_status(
            uow,
            task_sid=task_sid,
            status=changes.assignment_status,
            reason=changes.reason,
            requeue=not deliberate,
        )
    return await get_task(uow, task_sid)


async def reevaluate_tasks(uow: UnitOfWork, *, account_sid: str, task_sids: list[str]) -> int:
    """Ask the workflows of these tasks, those still waiting for a worker, to plan their routing again.
    Returns how many were asked."""
    rows = await uow.fetchall(
        "SELECT sid FROM tasks WHERE sid = ANY(%s) AND assignment_status IN ('pending', 'reserved')", (task_sids,)
    )
    for row in rows:
        await uow.outbox(
            SignalTaskWorkflow(
                account_sid=account_sid,
                task_sid=row["sid"],
                event=RoutingEvent(kind=RoutingEventKind.RE_EVALUATE),
            ),
            dedupe_key=f"{row['sid']}:re_evaluate:{uuid.uuid4().hex}",
        )
    return len(rows)


async def reevaluate_workflow_tasks(uow: UnitOfWork, *, account_sid: str, workflow_sid: str) -> int:
    """`ReEvaluateTasks=true` on a workflow update: every task of it still waiting is routed again."""
    rows = await uow.fetchall(
        "SELECT sid FROM tasks WHERE workflow_sid = %s AND assignment_status IN ('pending', 'reserved')",
        (workflow_sid,),
    )
    return await reevaluate_tasks(uow, account_sid=account_sid, task_sids=[row["sid"] for row in rows])


async def delete_task(uow: UnitOfWork, *, task_sid: str, account_sid: str) -> None:
    """Like Twilio: a live task is ended first (canceled if unassigned, else completed), then removed."""
    task = await get_task(uow, task_sid)
    if task.assignment_status.is_routable:
        await update_task_status(uow, task_sid=task_sid, status=TaskStatus.CANCELED, reason="Task deleted")
    elif task.assignment_status.is_live:
        await update_task_status(uow, task_sid=task_sid, status=TaskStatus.COMPLETED, reason="Task deleted")
    # Recorded while the task is still there to describe (the event outlives it).
    await record_event(
        uow,
        workspace_sid=task.workspace_sid,
        event_type=EventType.TASK_DELETED,
        resource_type=ResourceType.TASK,
        resource_sid=task_sid,
        description=f"Task {task_sid} deleted",
        task_sid=task_sid,
        actor_type=ActorType.ACCOUNT,
        actor_sid=account_sid,
    )
    await uow.execute("UPDATE interaction_channels SET active_task_sid = NULL WHERE active_task_sid = %s", (task_sid,))
    await uow.execute("DELETE FROM reservations WHERE task_sid = %s", (task_sid,))
    await uow.execute("DELETE FROM tasks WHERE sid = %s", (task_sid,))


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
        ended = await end_reservation(uow, reservation_sid, status, announce=False)
        assert ended is not None
        await _after_reservation_lost(uow, reservation, status)
        await announce_reservation(uow, ended)
        await transfers.on_reservation_lost(uow, reservation, status)
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
        await end_reservation(uow, other["sid"], ReservationStatus.RESCINDED, task_status=TaskStatus.ASSIGNED)
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
        workspace_sid=worker.workspace_sid,
        event_type=EventType.WORKER_ACTIVITY_UPDATE,
        resource_type=ResourceType.WORKER,
        resource_sid=worker.sid,
        description=f"Worker {worker.friendly_name} updated to {activity.friendly_name} Activity",
        worker_sid=worker.sid,
        previous_activity=PreviousActivity(worker.activity_sid, worker.date_status_changed),
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
