"""TaskRouter reads: the list endpoints' filters, ordering and paging, returning typed views. Filters that are
expressions (TargetWorkersExpression, EvaluateTaskAttributes, EvaluateWorkerAttributes) are evaluated in
Python over the SQL-filtered rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.errors import InvalidParameter
from domain.routing import Expression, parse_expression
from domain.sids import SidPrefix, is_sid
from domain.states import ReservationStatus, TaskStatus
from storage.attributes import attributes_of
from storage.db import UnitOfWork
from storage.paging import Page, PageRequest, cut, fetch_page
from storage.taskrouter.models import (
    RESERVATION_SELECT,
    TASK_QUEUE_SELECT,
    TASK_SELECT,
    WORKER_CHANNEL_SELECT,
    WORKER_SELECT,
    WORKSPACE_SELECT,
    ReservationView,
    TaskQueueView,
    TaskView,
    WorkerChannelView,
    WorkerView,
    WorkspaceView,
)
from storage.taskrouter.tables import ActivityRow, TaskChannelRow, TaskRouterEventRow, WorkflowRow


class Where:
    """AND-joined filters; a clause joins only when its value was given (once per placeholder)."""

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


async def workspaces(
    uow: UnitOfWork, *, account_sid: str, friendly_name: str | None, only_sid: str | None, page: PageRequest
) -> Page[WorkspaceView]:
    where = Where("ws.account_sid = %s", account_sid)
    where.add(friendly_name, "ws.friendly_name = %s")
    where.add(only_sid, "ws.sid = %s")
    return await fetch_page(
        uow, WorkspaceView, f"{WORKSPACE_SELECT} WHERE {where.sql} ORDER BY ws.date_created, ws.sid", where.args, page
    )


async def activities(
    uow: UnitOfWork, *, workspace_sid: str, friendly_name: str | None, available: bool | None, page: PageRequest
) -> Page[ActivityRow]:
    where = Where("workspace_sid = %s", workspace_sid)
    where.add(friendly_name, "friendly_name = %s")
    where.add(available, "available = %s")
    return await fetch_page(
        uow, ActivityRow, f"SELECT * FROM activities WHERE {where.sql} ORDER BY date_created, sid", where.args, page
    )


async def task_channels(uow: UnitOfWork, *, workspace_sid: str, page: PageRequest) -> Page[TaskChannelRow]:
    return await fetch_page(
        uow,
        TaskChannelRow,
        "SELECT * FROM task_channels WHERE workspace_sid = %s ORDER BY date_created, sid",
        [workspace_sid],
        page,
    )


async def task_queues(
    uow: UnitOfWork,
    *,
    workspace_sid: str,
    friendly_name: str | None,
    worker_sid: str | None,
    worker_attributes: dict[str, Any] | None,
    page: PageRequest,
    ordering: str = "q.date_created ASC",
) -> Page[TaskQueueView]:
    where = Where("q.workspace_sid = %s", workspace_sid)
    where.add(friendly_name, "q.friendly_name = %s")
    where.add(worker_sid, "EXISTS (SELECT 1 FROM queue_members m WHERE m.queue_sid = q.sid AND m.worker_sid = %s)")
    sql = f"{TASK_QUEUE_SELECT} WHERE {where.sql} ORDER BY {ordering}, q.sid"
    if worker_attributes is None:
        return await fetch_page(uow, TaskQueueView, sql, where.args, page)
    rows = await uow.all(TaskQueueView, sql, where.args)
    return cut(
        [
            r
            for r in rows
            if r.target_workers.strip() and parse_expression(r.target_workers).evaluate(worker_attributes)
        ],
        page,
    )


async def workflows(
    uow: UnitOfWork, *, workspace_sid: str, friendly_name: str | None, page: PageRequest
) -> Page[WorkflowRow]:
    where = Where("workspace_sid = %s", workspace_sid)
    where.add(friendly_name, "friendly_name = %s")
    return await fetch_page(
        uow, WorkflowRow, f"SELECT * FROM workflows WHERE {where.sql} ORDER BY date_created, sid", where.args, page
    )


@dataclass(frozen=True, slots=True)
class WorkerFilters:
    activity_name: str | None = None
    activity_sid: str | None = None
    available: bool | None = None
    friendly_name: str | None = None
    task_queue_sid: str | None = None
    task_queue_name: str | None = None
    target_workers: Expression | None = None
    ordering: str = "w.date_created ASC"


def worker_context(worker: WorkerView) -> dict[str, Any]:
    """What `TargetWorkersExpression` sees of a worker: its attributes plus sid, names and activity."""
    return {
        **attributes_of(worker.attributes),
        "sid": worker.sid,
        "friendly_name": worker.friendly_name,
        "activity_sid": worker.activity_sid,
        "activity_name": worker.activity_name,
    }


async def workers(
    uow: UnitOfWork, *, workspace_sid: str, filters: WorkerFilters, page: PageRequest
) -> Page[WorkerView]:
    where = Where("w.workspace_sid = %s", workspace_sid)
    where.add(filters.activity_name, "a.friendly_name = %s")
    where.add(filters.activity_sid, "w.activity_sid = %s")
    where.add(filters.available, "w.available = %s")
    where.add(filters.friendly_name, "w.friendly_name = %s")
    where.add(
        filters.task_queue_sid,
        "EXISTS (SELECT 1 FROM queue_members m WHERE m.worker_sid = w.sid AND m.queue_sid = %s)",
    )
    where.add(
        filters.task_queue_name,
        "EXISTS (SELECT 1 FROM queue_members m JOIN task_queues tq "
        "ON tq.sid = m.queue_sid WHERE m.worker_sid = w.sid AND tq.friendly_name = %s)",
    )
    sql = f"{WORKER_SELECT} WHERE {where.sql} ORDER BY {filters.ordering}, w.sid"
    if filters.target_workers is None:
        return await fetch_page(uow, WorkerView, sql, where.args, page)
    expression = filters.target_workers
    rows = await uow.all(WorkerView, sql, where.args)
    return cut([r for r in rows if expression.evaluate(worker_context(r))], page)


async def worker_channels(uow: UnitOfWork, *, worker_sid: str, page: PageRequest) -> Page[WorkerChannelView]:
    return await fetch_page(
        uow,
        WorkerChannelView,
        f"{WORKER_CHANNEL_SELECT} WHERE wc.worker_sid = %s ORDER BY tc.date_created, tc.sid",
        [worker_sid],
        page,
    )


# --- tasks and reservations --------------------------------------------------------------------------


async def get_task(uow: UnitOfWork, *, workspace_sid: str, task_sid: str) -> TaskView:
    return await uow.found(
        TaskView,
        f"{TASK_SELECT} WHERE t.sid = %s AND t.workspace_sid = %s",
        (task_sid, workspace_sid),
        resource=f"/Workspaces/{workspace_sid}/Tasks/{task_sid}",
    )


async def worker_was_offered(uow: UnitOfWork, *, task_sid: str, worker_sid: str | None) -> bool:
    row = await uow.fetchone(
        "SELECT 1 FROM reservations WHERE task_sid = %s AND worker_sid = %s", (task_sid, worker_sid)
    )
    return row is not None


async def worker_holds(uow: UnitOfWork, *, task_sid: str, worker_sid: str | None) -> bool:
    """The worker accepted this task and has not finished it (it is chatting or wrapping up)."""
    row = await uow.fetchone(
        "SELECT 1 FROM reservations WHERE task_sid = %s AND worker_sid = %s "
        "AND reservation_status IN ('accepted', 'wrapping')",
        (task_sid, worker_sid),
    )
    return row is not None


class TaskOrdering(StrEnum):
    DATE_CREATED = "datecreated"
    PRIORITY = "priority"
    VIRTUAL_START_TIME = "virtualstarttime"


_TASK_ORDER_COLUMNS: dict[str, str] = {
    TaskOrdering.DATE_CREATED: "t.date_created",
    TaskOrdering.PRIORITY: "t.priority",
    TaskOrdering.VIRTUAL_START_TIME: "t.virtual_start_time",
}


def parse_ordering(text: str | None, columns: Mapping[str, str]) -> list[tuple[str, str]]:
    """Twilio's `Ordering`: comma-separated `Field:asc|desc` pairs (the direction defaults to asc), each field one
    of `columns` (lower-cased name → column); default the first field, ascending. Returns (field, clause) pairs."""
    pairs: list[tuple[str, str]] = []
    for part in (text or f"{next(iter(columns))}:asc").split(","):
        name, _, direction = part.strip().partition(":")
        field = name.strip().lower()
        if field not in columns:
            raise InvalidParameter(f"Unsupported Ordering '{part.strip()}'")
        direction = (direction or "asc").strip().lower()
        if direction not in ("asc", "desc"):
            raise InvalidParameter(f"Ordering direction must be asc or desc, got '{direction}'")
        pairs.append((field, f"{columns[field]} {direction.upper()}"))
    return pairs


def parse_task_ordering(text: str | None) -> str:
    """A task list's `Ordering` (DateCreated and VirtualStartTime cannot be combined), as the ORDER BY clause."""
    pairs = parse_ordering(text, _TASK_ORDER_COLUMNS)
    if {TaskOrdering.DATE_CREATED, TaskOrdering.VIRTUAL_START_TIME} <= {TaskOrdering(f) for f, _ in pairs}:
        raise InvalidParameter("Ordering cannot combine DateCreated and VirtualStartTime")
    return ", ".join(clause for _, clause in pairs)


# What the Workers and TaskQueues lists order by (`Ordering`; Twilio's spec names the parameter, not its fields).
WORKER_ORDER_COLUMNS = {
    "datecreated": "w.date_created",
    "dateupdated": "w.date_updated",
    "datestatuschanged": "w.date_status_changed",
    "friendlyname": "w.friendly_name",
}
TASK_QUEUE_ORDER_COLUMNS = {
    "datecreated": "q.date_created",
    "dateupdated": "q.date_updated",
    "friendlyname": "q.friendly_name",
}


def parse_list_ordering(text: str | None, columns: Mapping[str, str]) -> str:
    return ", ".join(clause for _, clause in parse_ordering(text, columns))


@dataclass(frozen=True, slots=True)
class TaskFilters:
    statuses: tuple[TaskStatus, ...] = ()
    workflow_sid: str | None = None
    workflow_name: str | None = None
    task_queue_sid: str | None = None
    task_queue_name: str | None = None
    priority: int | None = None
    offered_to: str | None = None  # an agent sees only tasks reserved to it
    evaluate: Expression | None = None
    routing_target: str | None = None
    has_addons: bool | None = None  # whether the attributes carry `addons` (they are sealed: read, not queried)
    ordering: str = "t.date_created ASC"

    def keeps(self, task: TaskView) -> bool:
        """The filters on the (sealed) attributes, applied to the rows the query found."""
        if self.evaluate is None and self.has_addons is None:
            return True
        attributes = attributes_of(task.attributes)
        if self.has_addons is not None and bool(attributes.get("addons")) is not self.has_addons:
            return False
        return self.evaluate is None or self.evaluate.evaluate(attributes)


async def tasks(uow: UnitOfWork, *, workspace_sid: str, filters: TaskFilters, page: PageRequest) -> Page[TaskView]:
    where = Where("t.workspace_sid = %s", workspace_sid)
    where.add([s.value for s in filters.statuses] or None, "t.assignment_status = ANY(%s)")
    where.add(filters.workflow_sid, "t.workflow_sid = %s")
    where.add(filters.workflow_name, "w.friendly_name = %s")
    where.add(filters.task_queue_sid, "t.task_queue_sid = %s")
    where.add(filters.task_queue_name, "q.friendly_name = %s")
    where.add(filters.priority, "t.priority = %s")
    where.add(filters.routing_target, "t.routing_target = %s")
    where.add(
        filters.offered_to, "EXISTS (SELECT 1 FROM reservations r WHERE r.task_sid = t.sid AND r.worker_sid = %s)"
    )
    sql = f"{TASK_SELECT} WHERE {where.sql} ORDER BY {filters.ordering}, t.sid"
    if filters.evaluate is None and filters.has_addons is None:
        return await fetch_page(uow, TaskView, sql, where.args, page)
    rows = await uow.all(TaskView, sql, where.args)
    return cut([r for r in rows if filters.keeps(r)], page)


async def get_reservation(
    uow: UnitOfWork,
    *,
    workspace_sid: str,
    reservation_sid: str,
    task_sid: str | None = None,
    worker_sid: str | None = None,
) -> ReservationView:
    return await uow.found(
        ReservationView,
        RESERVATION_SELECT + " WHERE r.sid = %s AND r.workspace_sid = %s "
        "AND (%s::text IS NULL OR r.task_sid = %s) AND (%s::text IS NULL OR r.worker_sid = %s)",
        (reservation_sid, workspace_sid, task_sid, task_sid, worker_sid, worker_sid),
        resource=f"/Reservations/{reservation_sid}",
    )


async def reservations(
    uow: UnitOfWork,
    *,
    workspace_sid: str,
    task_sid: str | None,
    worker_sid: str | None,
    status: ReservationStatus | None,
    page: PageRequest,
) -> Page[ReservationView]:
    where = Where("r.workspace_sid = %s", workspace_sid)
    where.add(task_sid, "r.task_sid = %s")
    where.add(worker_sid, "r.worker_sid = %s")
    where.add(status.value if status else None, "r.reservation_status = %s")
    return await fetch_page(
        uow,
        ReservationView,
        f"{RESERVATION_SELECT} WHERE {where.sql} ORDER BY r.date_created, r.sid",
        where.args,
        page,
    )


# --- events ------------------------------------------------------------------------------------------

EVENT_REFERENCES = (
    ("TaskSid", SidPrefix.TASK, "task_sid"),
    ("WorkerSid", SidPrefix.WORKER, "worker_sid"),
    ("ReservationSid", SidPrefix.RESERVATION, "reservation_sid"),
    ("TaskQueueSid", SidPrefix.TASK_QUEUE, "task_queue_sid"),
    ("WorkflowSid", SidPrefix.WORKFLOW, "workflow_sid"),
)


# A reference to a queue also matches the queue a task moved to (task-queue.moved: task_queue_sid is the one
# it left).
_ALSO = {"task_queue_sid": "target_task_queue_sid"}


@dataclass(frozen=True, slots=True)
class EventFilters:
    event_type: str | None = None
    sid: str | None = None
    # event_data key -> SID (task_sid, worker_sid, …): every event about the resource carries it in event_data
    # (storage/taskrouter/events.py), so the key alone finds them (indexed for task_sid and worker_sid)
    references: tuple[tuple[str, str], ...] = ()
    task_channel: str | None = None
    start: datetime | None = None
    end: datetime | None = None


async def events(
    uow: UnitOfWork, *, workspace_sid: str, filters: EventFilters, page: PageRequest
) -> Page[TaskRouterEventRow]:
    where = Where("workspace_sid = %s", workspace_sid)
    where.add(filters.event_type, "event_type = %s")
    where.add(filters.sid, "sid = %s")
    for key, sid in filters.references:
        if not is_sid(sid) or key not in {k for _, _, k in EVENT_REFERENCES}:
            raise InvalidParameter(f"Unknown event reference {key}")
        if key in _ALSO:
            where.add(sid, f"(event_data->>'{key}' = %s OR event_data->>'{_ALSO[key]}' = %s)")
        else:
            where.add(sid, f"event_data->>'{key}' = %s")
    where.add(
        filters.task_channel,
        "(event_data->>'task_channel_sid' = %s OR event_data->>'task_channel_unique_name' = %s)",
    )
    where.add(filters.start, "event_date >= %s")
    where.add(filters.end, "event_date <= %s")
    return await fetch_page(
        uow,
        TaskRouterEventRow,
        f"SELECT * FROM taskrouter_events WHERE {where.sql} ORDER BY event_date DESC, sid DESC",
        where.args,
        page,
    )


async def get_event(uow: UnitOfWork, *, workspace_sid: str, sid: str) -> TaskRouterEventRow:
    return await uow.found(
        TaskRouterEventRow,
        "SELECT * FROM taskrouter_events WHERE sid = %s AND workspace_sid = %s",
        (sid, workspace_sid),
        resource=f"/Workspaces/{workspace_sid}/Events/{sid}",
    )


async def worker_workspace(uow: UnitOfWork, *, account_sid: str, worker_sid: str) -> str | None:
    """The workspace a worker of this account belongs to (None if it is not the account's)."""
    row = await uow.fetchone(
        "SELECT workspace_sid FROM workers WHERE sid = %s AND account_sid = %s", (worker_sid, account_sid)
    )
    return row["workspace_sid"] if row else None
