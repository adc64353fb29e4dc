"""TaskRouter statistics: real-time figures read from the live rows (tasks, workers, queue membership) and
cumulative figures counted from the event log over a time window, so that both agree with what `/Events` lists.

One scope type covers every statistics endpoint (workspace, queue, workflow, a set of workers): each figure is
one query whose filters the scope adds. Waits are the `task_age` an event recorded (seconds since the task was
created), and for a queue the time since it entered that queue (`task_queue_entered_date`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from domain.events import EventType
from domain.states import TaskStatus
from storage.db import UnitOfWork
from storage.taskrouter.service import get_task_channel

# The live states a task is counted in (Twilio's `tasks_by_status` keys); `pending` and `reserved` are waiting.
LIVE_STATUSES = (TaskStatus.PENDING, TaskStatus.RESERVED, TaskStatus.ASSIGNED, TaskStatus.WRAPPING)
WAITING_STATUSES = (TaskStatus.PENDING, TaskStatus.RESERVED)

RESERVATION_COUNTERS = {
    EventType.RESERVATION_CREATED: "reservations_created",
    EventType.RESERVATION_ACCEPTED: "reservations_accepted",
    EventType.RESERVATION_REJECTED: "reservations_rejected",
    EventType.RESERVATION_TIMEOUT: "reservations_timed_out",
    EventType.RESERVATION_CANCELED: "reservations_canceled",
    EventType.RESERVATION_RESCINDED: "reservations_rescinded",
}
TASK_COUNTERS = {
    EventType.TASK_CANCELED: "tasks_canceled",
    EventType.TASK_COMPLETED: "tasks_completed",
    EventType.TASK_DELETED: "tasks_deleted",
}


@dataclass(frozen=True, slots=True)
class Scope:
    """Which tasks, reservations and workers a statistic counts."""

    workspace_sid: str
    task_queue_sid: str | None = None
    workflow_sid: str | None = None
    # None: every worker of the workspace; a tuple: just these (a worker's own statistics, or a filtered list).
    worker_sids: tuple[str, ...] | None = None
    task_channel_sid: str | None = None


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime
    split_by_wait_time: tuple[int, ...] = field(default=())


class Durations(BaseModel):
    avg: int = 0
    min: int = 0
    max: int = 0
    total: int = 0


class ActivityCount(BaseModel):
    sid: str
    friendly_name: str
    workers: int


class ActivityDuration(BaseModel):
    sid: str
    friendly_name: str
    avg: int = 0
    min: int = 0
    max: int = 0
    total: int = 0


class SplitCounts(BaseModel):
    tasks_canceled: int = 0
    reservations_accepted: int = 0


class Split(BaseModel):
    above: SplitCounts
    below: SplitCounts


class RealTime(BaseModel):
    """Everything a real-time endpoint may report; each endpoint's schema picks its own fields."""

    activity_statistics: list[ActivityCount]
    tasks_by_status: dict[str, int]
    tasks_by_priority: dict[str, int]
    total_tasks: int
    longest_task_waiting_age: int
    longest_task_waiting_sid: str | None
    total_workers: int
    total_available_workers: int
    total_eligible_workers: int
    longest_relative_task_age_in_queue: int
    longest_relative_task_sid_in_queue: str | None


class Cumulative(BaseModel):
    start_time: datetime
    end_time: datetime
    avg_task_acceptance_time: int = 0
    reservations_created: int = 0
    reservations_accepted: int = 0
    reservations_rejected: int = 0
    reservations_timed_out: int = 0
    reservations_canceled: int = 0
    reservations_rescinded: int = 0
    tasks_created: int = 0
    tasks_entered: int = 0
    tasks_canceled: int = 0
    tasks_completed: int = 0
    tasks_deleted: int = 0
    tasks_moved: int = 0
    tasks_timed_out_in_workflow: int = 0
    tasks_assigned: int = 0
    wait_duration_until_accepted: Durations = Durations()
    wait_duration_until_canceled: Durations = Durations()
    wait_duration_in_queue_until_accepted: Durations = Durations()
    split_by_wait_time: dict[str, Split] | None = None
    activity_durations: list[ActivityDuration] = []


async def task_channel_sid(uow: UnitOfWork, workspace_sid: str, key: str | None) -> str | None:
    """`TaskChannel` names a channel by SID or unique name; an unknown one is a 404 like Twilio's."""
    if key is None:
        return None
    return (await get_task_channel(uow, workspace_sid=workspace_sid, key=key)).sid


# --- real time -----------------------------------------------------------------------------------------


def _task_filters(scope: Scope, alias: str = "t") -> tuple[str, list[Any]]:
    clauses = [f"{alias}.workspace_sid = %s"]
    args: list[Any] = [scope.workspace_sid]
    for column, value in (
        ("task_queue_sid", scope.task_queue_sid),
        ("workflow_sid", scope.workflow_sid),
        ("task_channel_sid", scope.task_channel_sid),
    ):
        if value is not None:
            clauses.append(f"{alias}.{column} = %s")
            args.append(value)
    return " AND ".join(clauses), args


def _worker_filters(scope: Scope) -> tuple[str, list[Any]]:
    """Workers counted: the workspace's, or the queue's members, or the given ones."""
    clauses = ["w.workspace_sid = %s"]
    args: list[Any] = [scope.workspace_sid]
    if scope.task_queue_sid is not None:
        clauses.append("EXISTS (SELECT 1 FROM queue_members m WHERE m.queue_sid = %s AND m.worker_sid = w.sid)")
        args.append(scope.task_queue_sid)
    if scope.worker_sids is not None:
        clauses.append("w.sid = ANY(%s)")
        args.append(list(scope.worker_sids))
    return " AND ".join(clauses), args


async def real_time(uow: UnitOfWork, scope: Scope) -> RealTime:
    now = datetime.now(UTC)
    where, args = _task_filters(scope)
    by_status = {status.value: 0 for status in LIVE_STATUSES}
    by_priority: dict[str, int] = {}
    for row in await uow.fetchall(
        f"SELECT assignment_status, priority, count(*) AS n FROM tasks t WHERE {where} "
        "AND assignment_status = ANY(%s) GROUP BY 1, 2",
        (*args, [s.value for s in LIVE_STATUSES]),
    ):
        by_status[row["assignment_status"]] += row["n"]
        by_priority[str(row["priority"])] = by_priority.get(str(row["priority"]), 0) + row["n"]
    waiting = [s.value for s in WAITING_STATUSES]
    oldest = await uow.fetchone(
        f"SELECT sid, date_created FROM tasks t WHERE {where} AND assignment_status = ANY(%s) "
        "ORDER BY date_created, sid LIMIT 1",
        (*args, waiting),
    )
    in_queue = None
    if scope.task_queue_sid is not None:
        in_queue = await uow.fetchone(
            f"SELECT sid, COALESCE(task_queue_entered_date, date_created) AS entered FROM tasks t WHERE {where} "
            "AND assignment_status = ANY(%s) ORDER BY 2, sid LIMIT 1",
            (*args, waiting),
        )
    worker_where, worker_args = _worker_filters(scope)
    activities = await uow.fetchall(
        f"""
        SELECT a.sid, a.friendly_name, count(w.sid) AS workers
          FROM activities a
          LEFT JOIN workers w ON w.activity_sid = a.sid AND {worker_where}
         WHERE a.workspace_sid = %s
         GROUP BY a.sid, a.friendly_name, a.date_created
         ORDER BY a.date_created, a.sid
        """,
        (*worker_args, scope.workspace_sid),
    )
    channel_free = (
        "AND EXISTS (SELECT 1 FROM worker_channels c WHERE c.worker_sid = w.sid AND c.task_channel_sid = %s "
        "AND c.available AND c.assigned_tasks + c.reserved_tasks < c.configured_capacity)"
        if scope.task_channel_sid
        else ""
    )
    counts = await uow.fetchone(
        f"SELECT count(*) AS total, count(*) FILTER (WHERE w.available {channel_free}) AS available "
        f"FROM workers w WHERE {worker_where}",
        (*([scope.task_channel_sid] if scope.task_channel_sid else []), *worker_args),
    )
    assert counts is not None
    return RealTime(
        activity_statistics=[ActivityCount(**row) for row in activities],
        tasks_by_status=by_status,
        tasks_by_priority=by_priority,
        total_tasks=sum(by_status.values()),
        longest_task_waiting_age=_age(now, oldest["date_created"]) if oldest else 0,
        longest_task_waiting_sid=oldest["sid"] if oldest else None,
        total_workers=counts["total"],
        total_available_workers=counts["available"],
        total_eligible_workers=counts["total"],
        longest_relative_task_age_in_queue=_age(now, in_queue["entered"]) if in_queue else 0,
        longest_relative_task_sid_in_queue=in_queue["sid"] if in_queue else None,
    )


def _age(now: datetime, since: datetime) -> int:
    return max(0, int((now - since).total_seconds()))


# --- cumulative ----------------------------------------------------------------------------------------


def _event_filters(scope: Scope, window: Window, alias: str = "") -> tuple[str, list[Any]]:
    """The events of the scope in the window (`alias.` prefixes the columns when the query joins)."""
    p = f"{alias}." if alias else ""
    clauses = [f"{p}workspace_sid = %s", f"{p}event_date >= %s", f"{p}event_date <= %s"]
    args: list[Any] = [scope.workspace_sid, window.start, window.end]
    for key, value in (
        ("task_queue_sid", scope.task_queue_sid),
        ("workflow_sid", scope.workflow_sid),
        ("task_channel_sid", scope.task_channel_sid),
    ):
        if value is not None:
            clauses.append(f"{p}event_data->>'{key}' = %s")
            args.append(value)
    if scope.worker_sids is not None:
        clauses.append(f"{p}event_data->>'worker_sid' = ANY(%s)")
        args.append(list(scope.worker_sids))
    return " AND ".join(clauses), args


_QUEUE_WAIT = "extract(epoch FROM event_date) - (event_data->>'task_queue_entered_date')::numeric"


async def cumulative(uow: UnitOfWork, scope: Scope, window: Window) -> Cumulative:
    """Counts and waits of the events in the window. `tasks_entered` is the queue's `task-queue.entered` for a
    queue and the tasks created in it for a workflow; `tasks_moved` counts tasks that left the queue (or the
    workflow's queues) for another."""
    where, args = _event_filters(scope, window)
    entered = EventType.TASK_QUEUE_ENTERED if scope.task_queue_sid else EventType.TASK_CREATED
    # A `task-queue.moved` event names the queue the task left: the queue filter counts the tasks moved out.
    counted = [
        *RESERVATION_COUNTERS,
        *TASK_COUNTERS,
        EventType.TASK_CREATED,
        entered,
        EventType.TASK_QUEUE_MOVED,
        EventType.WORKFLOW_TIMEOUT,
    ]
    rows = await uow.fetchall(
        f"SELECT event_type, count(*) AS n FROM taskrouter_events WHERE {where} AND event_type = ANY(%s) GROUP BY 1",
        (*args, [e.value for e in counted]),
    )
    n = {row["event_type"]: row["n"] for row in rows}
    accepted = await _durations(uow, where, args, EventType.RESERVATION_ACCEPTED, "(event_data->>'task_age')::numeric")
    result = Cumulative(
        start_time=window.start,
        end_time=window.end,
        avg_task_acceptance_time=accepted.avg,
        tasks_created=n.get(EventType.TASK_CREATED.value, 0),
        tasks_entered=n.get(entered.value, 0),
        tasks_moved=n.get(EventType.TASK_QUEUE_MOVED.value, 0),
        tasks_timed_out_in_workflow=n.get(EventType.WORKFLOW_TIMEOUT.value, 0),
        tasks_assigned=n.get(EventType.RESERVATION_ACCEPTED.value, 0),
        wait_duration_until_accepted=accepted,
        wait_duration_until_canceled=await _durations(
            uow, where, args, EventType.TASK_CANCELED, "(event_data->>'task_age')::numeric"
        ),
        wait_duration_in_queue_until_accepted=await _durations(
            uow, where, args, EventType.RESERVATION_ACCEPTED, _QUEUE_WAIT
        )
        if scope.task_queue_sid
        else Durations(),
        **{name: n.get(event.value, 0) for event, name in {**RESERVATION_COUNTERS, **TASK_COUNTERS}.items()},
    )
    if window.split_by_wait_time:
        result.split_by_wait_time = await _splits(uow, scope, window)
    return result


async def _durations(uow: UnitOfWork, where: str, args: list[Any], event: EventType, expression: str) -> Durations:
    row = await uow.fetchone(
        f"""
        SELECT round(avg(w))::int AS avg, min(w)::int AS min, max(w)::int AS max, sum(w)::int AS total
          FROM (SELECT round(GREATEST({expression}, 0)) AS w FROM taskrouter_events
                 WHERE {where} AND event_type = %s) waits
         WHERE w IS NOT NULL
        """,
        (*args, event.value),
    )
    if row is None or row["avg"] is None:
        return Durations()
    return Durations(avg=row["avg"], min=row["min"], max=row["max"], total=row["total"])


async def _splits(uow: UnitOfWork, scope: Scope, window: Window) -> dict[str, Split]:
    """Tasks canceled and reservations accepted whose wait was below each threshold (strictly), or at or above."""
    thresholds = window.split_by_wait_time
    where, args = _event_filters(scope, window, alias="e")
    rows = await uow.fetchall(
        f"""
        SELECT s.threshold, e.event_type,
               count(*) FILTER (WHERE (e.event_data->>'task_age')::numeric < s.threshold) AS below,
               count(*) FILTER (WHERE (e.event_data->>'task_age')::numeric >= s.threshold) AS above
          FROM unnest(%s::int[]) AS s(threshold)
          JOIN taskrouter_events e ON e.event_type = ANY(%s)
         WHERE {where}
         GROUP BY 1, 2
        """,
        (
            list(thresholds),
            [EventType.TASK_CANCELED.value, EventType.RESERVATION_ACCEPTED.value],
            *args,
        ),
    )
    splits = {str(t): Split(above=SplitCounts(), below=SplitCounts()) for t in thresholds}
    for row in rows:
        name = "tasks_canceled" if row["event_type"] == EventType.TASK_CANCELED.value else "reservations_accepted"
        split = splits[str(row["threshold"])]
        setattr(split.above, name, row["above"])
        setattr(split.below, name, row["below"])
    return splits


# --- worker activity durations -------------------------------------------------------------------------


async def activity_durations(uow: UnitOfWork, scope: Scope, window: Window) -> list[ActivityDuration]:
    """Time the workers spent in each activity inside the window: per worker, its periods in the activity are
    summed (clipped to the window); `min`/`max`/`avg` are over the workers that spent time in it, `total` over
    all. A worker's periods come from its `worker.activity.update` events, the one before the window giving
    where it stood at the start, and its current activity running until now."""
    worker_where, worker_args = _worker_filters(scope)
    workers = await uow.fetchall(
        f"SELECT w.sid, w.activity_sid, w.date_created FROM workers w WHERE {worker_where}", worker_args
    )
    activities = await uow.fetchall(
        "SELECT sid, friendly_name FROM activities WHERE workspace_sid = %s ORDER BY date_created, sid",
        (scope.workspace_sid,),
    )
    sids = [w["sid"] for w in workers]
    changes = await uow.fetchall(
        """
        SELECT resource_sid AS worker_sid, event_date, event_data->>'worker_activity_sid' AS activity_sid,
               event_data->>'worker_previous_activity_sid' AS previous_sid
          FROM taskrouter_events
         WHERE workspace_sid = %s AND event_type = %s AND resource_sid = ANY(%s)
           AND event_date > %s AND event_date <= %s
         ORDER BY event_date, sid
        """,
        (scope.workspace_sid, EventType.WORKER_ACTIVITY_UPDATE.value, sids, window.start, window.end),
    )
    by_worker: dict[str, list[dict[str, Any]]] = {}
    for change in changes:
        by_worker.setdefault(change["worker_sid"], []).append(change)
    spent: dict[str, dict[str, float]] = {a["sid"]: {} for a in activities}
    now = datetime.now(UTC)
    for worker in workers:
        own = by_worker.get(worker["sid"], [])
        at = max(window.start, worker["date_created"])
        if at >= window.end:
            continue
        current = own[0]["previous_sid"] if own else worker["activity_sid"]
        for change in own:
            _add(spent, current, worker["sid"], (change["event_date"] - at).total_seconds())
            at, current = change["event_date"], change["activity_sid"]
        _add(spent, current, worker["sid"], (min(window.end, now) - at).total_seconds())
    out = []
    for activity in activities:
        per_worker = [int(s) for s in spent[activity["sid"]].values()]
        out.append(
            ActivityDuration(
                sid=activity["sid"],
                friendly_name=activity["friendly_name"],
                avg=(2 * sum(per_worker) + len(per_worker)) // (2 * len(per_worker))
                if per_worker
                else 0,  # half up, as SQL
                min=min(per_worker, default=0),
                max=max(per_worker, default=0),
                total=sum(per_worker),
            )
        )
    return out


def _add(spent: dict[str, dict[str, float]], activity_sid: str | None, worker_sid: str, seconds: float) -> None:
    if activity_sid is None or activity_sid not in spent or seconds <= 0:
        return
    spent[activity_sid][worker_sid] = spent[activity_sid].get(worker_sid, 0.0) + seconds


async def worker_sids(
    uow: UnitOfWork,
    *,
    workspace_sid: str,
    task_queue_sid: str | None = None,
    task_queue_name: str | None = None,
    friendly_name: str | None = None,
) -> tuple[str, ...] | None:
    """The workers a `/Workers/Statistics` filter names (None when no filter is given: every worker)."""
    if task_queue_sid is None and task_queue_name is None and friendly_name is None:
        return None
    clauses, args = ["w.workspace_sid = %s"], [workspace_sid]
    if task_queue_sid is not None:
        clauses.append("EXISTS (SELECT 1 FROM queue_members m WHERE m.queue_sid = %s AND m.worker_sid = w.sid)")
        args.append(task_queue_sid)
    if task_queue_name is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM queue_members m JOIN task_queues q ON q.sid = m.queue_sid "
            "WHERE q.workspace_sid = w.workspace_sid AND q.friendly_name = %s AND m.worker_sid = w.sid)"
        )
        args.append(task_queue_name)
    if friendly_name is not None:
        clauses.append("w.friendly_name = %s")
        args.append(friendly_name)
    rows = await uow.fetchall(f"SELECT w.sid FROM workers w WHERE {' AND '.join(clauses)}", args)
    return tuple(row["sid"] for row in rows)
