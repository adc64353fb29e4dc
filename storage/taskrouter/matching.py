"""Task ↔ worker matching: load a workspace's waiting tasks, workers and queue membership under its lock, let
the routing engine (domain.routing.engine) choose, and write what it chose.

Every routing mutation (task enters a step, worker becomes available, capacity frees, a reservation is
rejected or times out) takes the workspace lock first, changes state, then calls `match` in the same
transaction. Because reservations and the capacity counters only change under that lock, and `match` reads
them after taking it, two transactions can never both see the same free slot (no over-fill, no double
assignment), and a change that frees capacity always runs matching before it commits (no missed wake-up)."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from domain.events import EventType, ResourceType
from domain.limits import MAX_ASSIGNMENT_COUNT_REASON
from domain.outbox import SignalTaskWorkflow
from domain.realtime import StreamEvent
from domain.routing.engine import (
    ChannelLoad,
    Offer,
    QueueOrder,
    TaskInStep,
    WorkerState,
    WorkspaceRules,
    plan_matching,
)
from domain.routing.signals import RoutingEvent, RoutingEventKind
from domain.routing.step import TaskStep
from domain.sids import SidPrefix, new_sid
from domain.states import ReservationStatus, TaskStatus
from storage.attributes import attributes_of
from storage.db import UnitOfWork
from storage.taskrouter.events import record_event
from storage.taskrouter.lifecycle import get_task, lock_workspace, set_task_status
from storage.taskrouter.tables import ReservationRow, WorkspaceRow

_ROUTABLE = [TaskStatus.PENDING.value, TaskStatus.RESERVED.value]


async def match(uow: UnitOfWork, workspace_sid: str) -> list[ReservationRow]:
    """Offer every waiting task that can be offered now. Returns the reservations created."""
    await lock_workspace(uow, workspace_sid)
    workspace = await uow.one(WorkspaceRow, "SELECT * FROM workspaces WHERE sid = %s", (workspace_sid,))
    if workspace is None:
        return []
    tasks = await _load_tasks(uow, workspace_sid)
    if not tasks:
        return []
    workers = await _load_workers(uow, workspace_sid)
    members: dict[str, list[str]] = {}
    for row in await uow.fetchall(
        "SELECT queue_sid, worker_sid FROM queue_members WHERE workspace_sid = %s", (workspace_sid,)
    ):
        members.setdefault(row["queue_sid"], []).append(row["worker_sid"])
    plan = plan_matching(
        WorkspaceRules(
            multi_task_enabled=workspace.multi_task_enabled,
            prioritize_queue_order=workspace.prioritize_queue_order,
        ),
        tasks,
        workers,
        members,
    )
    for task_sid, reason in plan.waiting.items():
        await uow.execute("UPDATE tasks SET waiting_reason = %s WHERE sid = %s", (reason, task_sid))
    for task_sid in plan.exhausted:
        task = await get_task(uow, task_sid)
        await set_task_status(uow, task, TaskStatus.CANCELED, MAX_ASSIGNMENT_COUNT_REASON)
    by_sid = {task.sid: task for task in tasks}
    created = []
    for offer in plan.offers:
        created.append(await _reserve(uow, workspace, by_sid[offer.task_sid], workers[offer.worker_sid], offer))
    return created


async def _load_tasks(uow: UnitOfWork, workspace_sid: str) -> list[TaskInStep]:
    rows = await uow.fetchall(
        """
        SELECT t.sid, t.attributes, t.priority, t.task_channel_sid, t.routing_step, t.assignment_status,
               t.assignment_count, t.waiting_reason, COALESCE(t.virtual_start_time, t.date_created) AS enqueued_at,
               q.task_order, q.max_reserved_workers
          FROM tasks t JOIN task_queues q ON q.sid = t.task_queue_sid
         WHERE t.workspace_sid = %s AND t.assignment_status = ANY(%s) AND t.routing_step IS NOT NULL
        """,
        (workspace_sid, _ROUTABLE),
    )
    if not rows:
        return []
    pending: dict[str, set[str]] = {}
    declined: dict[str, dict[str, ReservationStatus]] = {}
    for r in await uow.fetchall(
        "SELECT task_sid, worker_sid, reservation_status FROM reservations "
        "WHERE task_sid = ANY(%s) AND reservation_status IN ('pending', 'rejected', 'timeout') "
        "ORDER BY date_created",
        ([row["sid"] for row in rows],),
    ):
        status = ReservationStatus(r["reservation_status"])
        if status is ReservationStatus.PENDING:
            pending.setdefault(r["task_sid"], set()).add(r["worker_sid"])
        else:
            declined.setdefault(r["task_sid"], {})[r["worker_sid"]] = status
    return [
        TaskInStep(
            sid=row["sid"],
            attributes=attributes_of(row["attributes"]),
            priority=int(row["priority"]),
            task_channel_sid=row["task_channel_sid"],
            step=TaskStep.model_validate(row["routing_step"]),
            enqueued_at=row["enqueued_at"],
            task_order=QueueOrder(row["task_order"]),
            max_reserved_workers=int(row["max_reserved_workers"]),
            status=TaskStatus(row["assignment_status"]),
            assignment_count=int(row["assignment_count"]),
            pending_workers=frozenset(pending.get(row["sid"], ())),
            declined=declined.get(row["sid"], {}),
            waiting_reason=row["waiting_reason"],
        )
        for row in rows
    ]


async def _load_workers(uow: UnitOfWork, workspace_sid: str) -> dict[str, WorkerState]:
    rows = await uow.fetchall(
        """
        SELECT w.sid, w.friendly_name, w.attributes, w.activity_sid, w.date_status_changed,
               a.friendly_name AS activity_name, a.available AS activity_available,
               wc.sid AS wc_sid, wc.task_channel_sid, wc.configured_capacity, wc.assigned_tasks,
               wc.reserved_tasks, wc.available AS wc_available, wc.last_reserved_at
          FROM workers w
          JOIN activities a ON a.sid = w.activity_sid
          LEFT JOIN worker_channels wc ON wc.worker_sid = w.sid
         WHERE w.workspace_sid = %s
        """,
        (workspace_sid,),
    )
    workers: dict[str, WorkerState] = {}
    for row in rows:
        worker = workers.get(row["sid"])
        if worker is None:
            worker = workers[row["sid"]] = WorkerState(
                sid=row["sid"],
                friendly_name=row["friendly_name"],
                attributes=attributes_of(row["attributes"]),
                activity_sid=row["activity_sid"],
                activity_name=row["activity_name"],
                activity_available=bool(row["activity_available"]),
                date_status_changed=row["date_status_changed"],
            )
        if row["wc_sid"] is not None:
            worker.channels[row["task_channel_sid"]] = ChannelLoad(
                sid=row["wc_sid"],
                capacity=int(row["configured_capacity"]),
                assigned=int(row["assigned_tasks"]),
                reserved=int(row["reserved_tasks"]),
                available=bool(row["wc_available"]),
                last_reserved_at=row["last_reserved_at"],
            )
    return workers


async def _reserve(
    uow: UnitOfWork, workspace: WorkspaceRow, task: TaskInStep, worker: WorkerState, offer: Offer
) -> ReservationRow:
    reservation_sid = new_sid(SidPrefix.RESERVATION)
    row = await uow.one(
        ReservationRow,
        """
        INSERT INTO reservations (sid, account_sid, workspace_sid, task_sid, worker_sid, worker_channel_sid,
                                  reservation_status, timeout, decision)
        VALUES (%s, %s, %s, %s, %s, %s, 'pending', %s, %s)
        RETURNING *
        """,
        (
            reservation_sid,
            workspace.account_sid,
            workspace.sid,
            task.sid,
            worker.sid,
            offer.worker_channel_sid,
            offer.reservation_timeout,
            Jsonb(offer.decision.model_dump(mode="json")),
        ),
    )
    assert row is not None
    await uow.execute(
        "UPDATE worker_channels SET reserved_tasks = reserved_tasks + 1, last_reserved_at = now(), "
        "date_updated = now() WHERE sid = %s",
        (offer.worker_channel_sid,),
    )
    task_row = await uow.fetchone(
        "UPDATE tasks SET assignment_status = 'reserved', waiting_reason = NULL, version = version + 1, "
        "assignment_count = assignment_count + CASE WHEN assignment_status = 'pending' THEN 1 ELSE 0 END, "
        "date_updated = now() WHERE sid = %s "
        "RETURNING attributes, task_channel_sid, task_queue_sid, interaction_channel_sid",
        (task.sid,),
    )
    assert task_row is not None
    await uow.publish(
        account_sid=workspace.account_sid,
        stream=worker.sid,
        type=StreamEvent.RESERVATION_CREATED,
        data={
            "reservation_sid": reservation_sid,
            "task_sid": task.sid,
            "workspace_sid": workspace.sid,
            "worker_sid": worker.sid,
            "timeout": offer.reservation_timeout,
            "task_attributes": task_row["attributes"],
            "task_channel_sid": task_row["task_channel_sid"],
            "task_queue_sid": task_row["task_queue_sid"],
            "interaction_channel_sid": task_row["interaction_channel_sid"],
            "date_created": row.date_created.isoformat() if row.date_created else None,
        },
    )
    await uow.outbox(
        SignalTaskWorkflow(
            account_sid=workspace.account_sid,
            task_sid=task.sid,
            event=RoutingEvent(
                kind=RoutingEventKind.RESERVATION_CREATED,
                reservation_sid=reservation_sid,
                worker_sid=worker.sid,
                timeout=offer.reservation_timeout,
                created_at=row.date_created.timestamp() if row.date_created else None,
            ),
        ),
        dedupe_key=f"{reservation_sid}:created",
    )
    await record_event(
        uow,
        account_sid=workspace.account_sid,
        workspace_sid=workspace.sid,
        event_type=EventType.RESERVATION_CREATED,
        resource_type=ResourceType.RESERVATION,
        resource_sid=reservation_sid,
        description=f"Reservation {reservation_sid} created for worker {worker.friendly_name}",
        data={
            "task_sid": task.sid,
            "worker_sid": worker.sid,
            "reservation_sid": reservation_sid,
            "task_queue_sid": task_row["task_queue_sid"],
            "decision": offer.decision.chosen.model_dump(mode="json") if offer.decision.chosen else None,
        },
    )
    return row
