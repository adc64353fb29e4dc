"""Task ↔ worker matching: load a workspace's waiting tasks, workers and queue membership under its lock, let
the routing engine (domain.routing.engine) choose, and write what it chose.

Every routing mutation (task enters a step, worker becomes available, capacity frees, a reservation is
rejected or times out) takes the workspace lock first, changes state, then calls `match` in the same
transaction. Because reservations and the capacity counters only change under that lock, and `match` reads
them after taking it, two transactions can never both see the same free slot (no over-fill, no double
assignment), and a change that frees capacity always runs matching before it commits (no missed wake-up)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from psycopg.types.json import Jsonb

from domain.events import EventType, ResourceType
from domain.limits import MATCHING_TASK_BATCH, MAX_ASSIGNMENT_COUNT_REASON
from domain.outbox import CallAssignmentCallback, SignalTaskWorkflow
from domain.realtime import StreamEvent
from domain.routing.engine import (
    ChannelLoad,
    MatchingPlan,
    Offer,
    QueueOrder,
    TaskInStep,
    WorkerState,
    WorkspaceRules,
    complete_record,
    plan_matching,
)
from domain.routing.signals import RoutingEvent, RoutingEventKind
from domain.routing.step import TaskStep
from domain.sids import SidPrefix, new_sid
from domain.states import ReservationStatus, TaskStatus
from storage import crypto
from storage.attributes import attributes_of
from storage.db import UnitOfWork
from storage.taskrouter.events import record_event
from storage.taskrouter.lifecycle import get_task, lock_workspace, set_task_status
from storage.taskrouter.tables import ReservationRow, WorkspaceRow

_ROUTABLE = [TaskStatus.PENDING.value, TaskStatus.RESERVED.value]

_TASK_COLUMNS = """
    SELECT t.sid, t.attributes, t.priority, t.task_channel_sid, t.routing_step, t.assignment_status,
           t.assignment_count, t.waiting_reason, t.version,
           COALESCE(t.virtual_start_time, t.date_created) AS enqueued_at,
           q.task_order, q.max_reserved_workers
      FROM tasks t JOIN task_queues q ON q.sid = t.task_queue_sid
"""
# Still wanting a worker: pending, or reserved in a multi-reservation queue (it may want more offers).
_WANTS_WORKERS = (
    "t.assignment_status = ANY(%s) AND t.routing_step IS NOT NULL "
    "AND (t.assignment_status = 'pending' OR q.max_reserved_workers > 1)"
)
# Each queue kind's order, as the engine sorts it (domain.routing.engine.order_tasks).
_KIND_ORDER = {
    QueueOrder.FIFO: "t.priority DESC, COALESCE(t.virtual_start_time, t.date_created), t.sid",
    QueueOrder.LIFO: "COALESCE(t.virtual_start_time, t.date_created) DESC, t.sid DESC",
}


async def match(uow: UnitOfWork, workspace_sid: str, *, returned_to: str | None = None) -> list[ReservationRow]:
    """Offer every waiting task that can be offered now. Returns the reservations created; those of task
    `returned_to` are not signalled to its workflow (the caller hands them back to it).

    The work is proportional to what can change hands, not to the workspace: only the workers that can take
    work now are loaded (an available activity and a free slot on an available channel, plus the workers that
    IgnoreCapacity tasks name); tasks are read best first, in batches, from the queues those workers belong to
    and on the channels where they have room, until the room is gone or the queues are; and tasks that just
    entered a step (no waiting reason yet) are always planned, so each gets its reason. Every worker left out
    would be excluded by the engine anyway, so the outcome is the full pass's (invariant 3)."""
    await lock_workspace(uow, workspace_sid)
    workspace = await uow.one(WorkspaceRow, "SELECT * FROM workspaces WHERE sid = %s", (workspace_sid,))
    if workspace is None:
        return []
    rules = WorkspaceRules(
        multi_task_enabled=workspace.multi_task_enabled,
        prioritize_queue_order=workspace.prioritize_queue_order,
    )
    workers = await _load_workers(uow, workspace_sid)
    # Each task's version as read: a task placed in another step meanwhile (routing.place_in_step, which does
    # not take the workspace lock) is neither reserved nor given a waiting reason by this pass.
    versions: dict[str, int] = {}
    fresh = await _load_tasks(
        uow,
        f"t.workspace_sid = %s AND {_WANTS_WORKERS} AND (t.waiting_reason IS NULL OR t.ignore_capacity)",
        (workspace_sid, _ROUTABLE),
        versions=versions,
    )
    if not workers and not fresh:
        return []
    members, counts = await _membership(uow, workers, fresh)
    plan = MatchingPlan()
    loaded: list[TaskInStep] = []
    kinds = [QueueOrder.FIFO, QueueOrder.LIFO]
    if rules.prioritize_queue_order is QueueOrder.LIFO:
        kinds.reverse()
    for kind in kinds:
        batch = [t for t in fresh if t.task_order is kind]
        while True:
            room = _room(workers, rules)
            if room:
                more = await _load_tasks(
                    uow,
                    f"t.workspace_sid = %s AND {_WANTS_WORKERS} AND q.task_order = %s "
                    "AND t.task_queue_sid = ANY(%s) AND t.task_channel_sid = ANY(%s) AND NOT (t.sid = ANY(%s))",
                    (
                        workspace_sid,
                        _ROUTABLE,
                        kind.value,
                        sorted({q for w in room for q in members.get(w, ())}),
                        sorted({c for w in room for c in room[w]}),
                        [t.sid for t in (*loaded, *fresh)],
                    ),
                    order=_KIND_ORDER[kind],
                    limit=MATCHING_TASK_BATCH,
                    versions=versions,
                )
            else:
                more = []
            batch.extend(more)
            if batch:
                await _queue_counts(uow, counts, batch)
                _merge(plan, plan_matching(rules, batch, workers, _by_queue(members, workers), counts))
                loaded.extend(batch)
            if len(more) < MATCHING_TASK_BATCH:
                break
            batch = []
    await _record_waiting(uow, plan.waiting, versions)
    for task_sid in plan.exhausted:
        task = await get_task(uow, task_sid)
        await set_task_status(uow, task, TaskStatus.CANCELED, MAX_ASSIGNMENT_COUNT_REASON)
    by_sid = {task.sid: task for task in loaded}
    offers = await _complete_records(uow, plan.offers, by_sid, workers, rules)
    created = []
    for offer in offers:
        offered = by_sid[offer.task_sid]
        reserved = await _reserve(
            uow, workspace, offered, versions, workers[offer.worker_sid], offer, signal=offered.sid != returned_to
        )
        if reserved is not None:
            created.append(reserved)
    return created


async def _complete_records(
    uow: UnitOfWork,
    offers: list[Offer],
    tasks: dict[str, TaskInStep],
    workers: dict[str, WorkerState],
    rules: WorkspaceRules,
) -> list[Offer]:
    """Each offer's decision record with every member of its queue: the ones the pass did not load are read
    (once per queue) and added with why they were excluded."""
    queues = sorted({tasks[o.task_sid].step.queue_sid for o in offers})
    if not queues:
        return offers
    others: dict[str, list[WorkerState]] = {}
    rows = await uow.fetchall(
        "SELECT queue_sid, worker_sid FROM queue_members WHERE queue_sid = ANY(%s) AND NOT (worker_sid = ANY(%s))",
        (queues, list(workers)),
    )
    unloaded = await _workers_where(uow, "w.sid = ANY(%(sids)s)", {"sids": sorted({r["worker_sid"] for r in rows})})
    for row in rows:
        if row["worker_sid"] in unloaded:
            others.setdefault(row["queue_sid"], []).append(unloaded[row["worker_sid"]])
    multi = rules.multi_task_enabled
    return [
        replace(
            o,
            decision=complete_record(
                o.decision, tasks[o.task_sid], others.get(tasks[o.task_sid].step.queue_sid, []), multi_task=multi
            ),
        )
        for o in offers
    ]


async def reference_plan(uow: UnitOfWork, workspace_sid: str) -> MatchingPlan:
    """What one unpruned pass would offer: every waiting task against every worker and every membership of the
    workspace, the shape matching had before it loaded only what can change hands. Tests use it as the oracle
    of invariant 3 (after any storm, it must find nothing `match` left behind); nothing is written."""
    workspace = await uow.one(WorkspaceRow, "SELECT * FROM workspaces WHERE sid = %s", (workspace_sid,))
    assert workspace is not None
    rules = WorkspaceRules(
        multi_task_enabled=workspace.multi_task_enabled, prioritize_queue_order=workspace.prioritize_queue_order
    )
    tasks = await _load_tasks(uow, f"t.workspace_sid = %s AND {_WANTS_WORKERS}", (workspace_sid, _ROUTABLE))
    workers = await _workers_where(uow, "w.workspace_sid = %(ws)s", {"ws": workspace_sid})
    members: dict[str, list[str]] = {}
    for row in await uow.fetchall(
        "SELECT queue_sid, worker_sid FROM queue_members WHERE workspace_sid = %s", (workspace_sid,)
    ):
        members.setdefault(row["queue_sid"], []).append(row["worker_sid"])
    return plan_matching(rules, tasks, workers, members)


async def _record_waiting(uow: UnitOfWork, waiting: dict[str, str], versions: dict[str, int]) -> None:
    """Why each task the pass could not offer waits, on the tasks still at the version the pass read."""
    for task_sid, reason in waiting.items():
        await uow.execute(
            "UPDATE tasks SET waiting_reason = %s WHERE sid = %s AND version = %s",
            (reason, task_sid, versions[task_sid]),
        )


def reservation_created(row: ReservationRow) -> RoutingEvent:
    """What a task's workflow is told of a new reservation (by signal, or in the answer of the step it entered)."""
    return RoutingEvent(
        kind=RoutingEventKind.RESERVATION_CREATED,
        reservation_sid=row.sid,
        worker_sid=row.worker_sid,
        timeout=row.timeout,
        created_at=row.date_created.timestamp() if row.date_created else None,
    )


def _room(workers: dict[str, WorkerState], rules: WorkspaceRules) -> dict[str, set[str]]:
    """The task channels on which each loaded worker could still take a task (after the offers planned)."""
    room: dict[str, set[str]] = {}
    for worker in workers.values():
        if not worker.activity_available or (not rules.multi_task_enabled and worker.load > 0):
            continue
        free = {sid for sid, channel in worker.channels.items() if channel.available and not channel.is_full}
        if free:
            room[worker.sid] = free
    return room


def _merge(into: MatchingPlan, plan: MatchingPlan) -> None:
    into.offers.extend(plan.offers)
    into.waiting.update(plan.waiting)
    into.exhausted.extend(plan.exhausted)


def _by_queue(members: dict[str, set[str]], workers: dict[str, WorkerState]) -> dict[str, list[str]]:
    queues: dict[str, list[str]] = {}
    for worker_sid, queue_sids in members.items():
        if worker_sid in workers:
            for queue_sid in queue_sids:
                queues.setdefault(queue_sid, []).append(worker_sid)
    return queues


async def _membership(
    uow: UnitOfWork, workers: dict[str, WorkerState], tasks: list[TaskInStep]
) -> tuple[dict[str, set[str]], dict[str, int]]:
    """The queues each loaded worker belongs to, and (filled per batch) each planned queue's member count."""
    members: dict[str, set[str]] = {}
    for row in await uow.fetchall(
        "SELECT queue_sid, worker_sid FROM queue_members WHERE worker_sid = ANY(%s)", (list(workers),)
    ):
        members.setdefault(row["worker_sid"], set()).add(row["queue_sid"])
    counts: dict[str, int] = {}
    await _queue_counts(uow, counts, tasks)
    return members, counts


async def _queue_counts(uow: UnitOfWork, counts: dict[str, int], tasks: list[TaskInStep]) -> None:
    missing = sorted({t.step.queue_sid for t in tasks} - counts.keys())
    if not missing:
        return
    counts.update({sid: 0 for sid in missing})
    for row in await uow.fetchall(
        "SELECT queue_sid, count(*) AS n FROM queue_members WHERE queue_sid = ANY(%s) GROUP BY 1", (missing,)
    ):
        counts[row["queue_sid"]] = int(row["n"])


async def _load_tasks(
    uow: UnitOfWork,
    where: str,
    args: tuple[Any, ...],
    *,
    order: str = "t.sid",
    limit: int | None = None,
    versions: dict[str, int] | None = None,
) -> list[TaskInStep]:
    """The tasks `where` selects, as the engine sees them; each one's version goes into `versions`."""
    rows = await uow.fetchall(
        f"{_TASK_COLUMNS} WHERE {where} ORDER BY {order}" + (f" LIMIT {int(limit)}" if limit else ""), args
    )
    if not rows:
        return []
    if versions is not None:
        versions.update((row["sid"], int(row["version"])) for row in rows)
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
    """The workers that can take work now (available activity, a free slot on an available channel), with all
    their channels, and the workers waiting IgnoreCapacity tasks name, whatever their state."""
    return await _workers_where(
        uow,
        """w.sid IN (
            SELECT wc.worker_sid
              FROM worker_channels wc
              JOIN workers cw ON cw.sid = wc.worker_sid
              JOIN activities ca ON ca.sid = cw.activity_sid
             WHERE wc.workspace_sid = %(ws)s AND ca.available AND wc.available
               AND wc.assigned_tasks + wc.reserved_tasks < wc.configured_capacity
            UNION
            SELECT t.routing_step->>'known_worker_sid'
              FROM tasks t
             WHERE t.workspace_sid = %(ws)s AND t.ignore_capacity AND t.assignment_status = ANY(%(routable)s)
               AND t.routing_step->>'known_worker_sid' IS NOT NULL
        ) AND w.workspace_sid = %(ws)s""",
        {"ws": workspace_sid, "routable": _ROUTABLE},
    )


async def _workers_where(uow: UnitOfWork, where: str, args: dict[str, Any]) -> dict[str, WorkerState]:
    rows = await uow.fetchall(
        f"""
        SELECT w.sid, w.friendly_name, w.attributes, w.activity_sid, w.date_status_changed,
               a.friendly_name AS activity_name, a.available AS activity_available,
               wc.sid AS wc_sid, wc.task_channel_sid, wc.configured_capacity, wc.assigned_tasks,
               wc.reserved_tasks, wc.available AS wc_available, wc.last_reserved_at
          FROM workers w
          JOIN activities a ON a.sid = w.activity_sid
          LEFT JOIN worker_channels wc ON wc.worker_sid = w.sid
         WHERE {where}
        """,
        args,
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
    uow: UnitOfWork,
    workspace: WorkspaceRow,
    task: TaskInStep,
    versions: dict[str, int],
    worker: WorkerState,
    offer: Offer,
    *,
    signal: bool,
) -> ReservationRow | None:
    """Write one offer: the task reserved (only at the version the pass read: None, and nothing written, if it
    was placed in another step meanwhile), the reservation, the worker channel's count, the offer on the
    worker's stream, the task workflow's signal (unless `signal` is False: its caller hands it back), the
    assignment callback and the event."""
    task_row = await uow.fetchone(
        "UPDATE tasks SET assignment_status = 'reserved', waiting_reason = NULL, version = version + 1, "
        "assignment_count = assignment_count + CASE WHEN assignment_status = 'pending' THEN 1 ELSE 0 END, "
        "date_updated = now() WHERE sid = %s AND version = %s "
        "RETURNING version, attributes, task_channel_sid, task_queue_sid, interaction_channel_sid, "
        "(SELECT wf.assignment_callback_url IS NOT NULL OR wf.fallback_assignment_callback_url IS NOT NULL "
        "FROM workflows wf WHERE wf.sid = tasks.workflow_sid) AS has_callback",
        (task.sid, versions[task.sid]),
    )
    if task_row is None:
        return None
    versions[task.sid] = int(task_row["version"])  # a second offer of the same task in this pass (multi-reservation)
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
            "task_attributes": crypto.opened(task_row["attributes"]),
            "task_channel_sid": task_row["task_channel_sid"],
            "task_queue_sid": task_row["task_queue_sid"],
            "interaction_channel_sid": task_row["interaction_channel_sid"],
            "date_created": row.date_created.isoformat() if row.date_created else None,
        },
    )
    if signal:
        await uow.outbox(
            SignalTaskWorkflow(account_sid=workspace.account_sid, task_sid=task.sid, event=reservation_created(row)),
            dedupe_key=f"{reservation_sid}:created",
        )
    if task_row["has_callback"]:
        await uow.outbox(
            CallAssignmentCallback(account_sid=workspace.account_sid, reservation_sid=reservation_sid),
            dedupe_key=f"{reservation_sid}:assignment-callback",
        )
    await record_event(
        uow,
        workspace_sid=workspace.sid,
        event_type=EventType.RESERVATION_CREATED,
        resource_type=ResourceType.RESERVATION,
        resource_sid=reservation_sid,
        description=f"Reservation {reservation_sid} created for worker {worker.friendly_name}",
        reservation_sid=reservation_sid,
        data={"decision": offer.decision.chosen.model_dump(mode="json") if offer.decision.chosen else None},
    )
    return row
