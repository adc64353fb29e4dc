"""TaskRouter v1 resources as Twilio serializes them (snake_case, ISO dates, absolute url/links)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.schemas.common import PageMeta, Public, TwilioDate
from domain.routing.engine import QueueOrder
from domain.states import ReservationStatus, TaskStatus
from storage.taskrouter.models import (
    ReservationView,
    TaskQueueView,
    TaskView,
    WorkerChannelView,
    WorkerView,
    WorkspaceView,
)
from storage.taskrouter.tables import ActivityRow, TaskChannelRow, TaskRouterEventRow, WorkflowRow


def ws_url(base: str, workspace_sid: str) -> str:
    return f"{base}/taskrouter/v1/Workspaces/{workspace_sid}"


_WORKSPACE_LINKS = (
    ("activities", "Activities"),
    ("statistics", "Statistics"),
    ("real_time_statistics", "RealTimeStatistics"),
    ("cumulative_statistics", "CumulativeStatistics"),
    ("task_queues", "TaskQueues"),
    ("tasks", "Tasks"),
    ("workers", "Workers"),
    ("workflows", "Workflows"),
    ("task_channels", "TaskChannels"),
    ("events", "Events"),
)


class WorkspacePublic(Public):
    account_sid: str
    date_created: TwilioDate
    date_updated: TwilioDate
    default_activity_name: str | None
    default_activity_sid: str | None
    event_callback_url: str | None
    events_filter: str | None
    friendly_name: str
    multi_task_enabled: bool
    sid: str
    timeout_activity_name: str | None
    timeout_activity_sid: str | None
    prioritize_queue_order: QueueOrder
    url: str
    links: dict[str, str]

    @classmethod
    def of(cls, row: WorkspaceView, base: str) -> WorkspacePublic:
        url = ws_url(base, row.sid)
        return cls.from_row(row, url=url, links={name: f"{url}/{path}" for name, path in _WORKSPACE_LINKS})


class WorkspaceList(Public):
    workspaces: list[WorkspacePublic]
    meta: PageMeta


class ActivityPublic(Public):
    account_sid: str
    available: bool
    date_created: TwilioDate
    date_updated: TwilioDate
    friendly_name: str
    sid: str
    workspace_sid: str
    url: str
    links: dict[str, str]

    @classmethod
    def of(cls, row: ActivityRow, base: str) -> ActivityPublic:
        ws = ws_url(base, row.workspace_sid)
        return cls.from_row(row, url=f"{ws}/Activities/{row.sid}", links={"workspace": ws})


class ActivityList(Public):
    activities: list[ActivityPublic]
    meta: PageMeta


class TaskChannelPublic(Public):
    account_sid: str
    date_created: TwilioDate
    date_updated: TwilioDate
    friendly_name: str
    sid: str
    unique_name: str
    workspace_sid: str
    channel_optimized_routing: bool
    url: str
    links: dict[str, str]

    @classmethod
    def of(cls, row: TaskChannelRow, base: str) -> TaskChannelPublic:
        ws = ws_url(base, row.workspace_sid)
        return cls.from_row(row, url=f"{ws}/TaskChannels/{row.sid}", links={"workspace": ws})


class TaskChannelList(Public):
    channels: list[TaskChannelPublic]
    meta: PageMeta


class WorkerPublic(Public):
    account_sid: str
    activity_name: str | None
    activity_sid: str
    attributes: str
    available: bool
    date_created: TwilioDate
    date_status_changed: TwilioDate
    date_updated: TwilioDate
    friendly_name: str
    sid: str
    workspace_sid: str
    url: str
    links: dict[str, str]

    @classmethod
    def of(cls, row: WorkerView, base: str) -> WorkerPublic:
        ws = ws_url(base, row.workspace_sid)
        url = f"{ws}/Workers/{row.sid}"
        return cls.from_row(
            row,
            url=url,
            links={
                "channels": f"{url}/Channels",
                "activity": f"{ws}/Activities/{row.activity_sid}",
                "workspace": ws,
                "statistics": f"{ws}/Workers/Statistics",
                "real_time_statistics": f"{ws}/Workers/RealTimeStatistics",
                "cumulative_statistics": f"{ws}/Workers/CumulativeStatistics",
                "worker_statistics": f"{url}/Statistics",
                "worker_channels": f"{url}/Channels",
                "reservations": f"{url}/Reservations",
            },
        )


class WorkerList(Public):
    workers: list[WorkerPublic]
    meta: PageMeta


class WorkerChannelPublic(Public):
    account_sid: str
    assigned_tasks: int
    available: bool
    available_capacity_percentage: int
    configured_capacity: int
    date_created: TwilioDate
    date_updated: TwilioDate
    sid: str
    task_channel_sid: str
    task_channel_unique_name: str
    worker_sid: str
    workspace_sid: str
    url: str

    @classmethod
    def of(cls, row: WorkerChannelView, base: str) -> WorkerChannelPublic:
        capacity = row.configured_capacity
        busy = row.assigned_tasks + row.reserved_tasks
        free_pct = 0 if capacity <= 0 else max(0, min(100, round(100 * (capacity - busy) / capacity)))
        return cls.from_row(
            row,
            available_capacity_percentage=free_pct,
            url=f"{ws_url(base, row.workspace_sid)}/Workers/{row.worker_sid}/Channels/{row.sid}",
        )


class WorkerChannelList(Public):
    channels: list[WorkerChannelPublic]
    meta: PageMeta


class TaskQueuePublic(Public):
    account_sid: str
    assignment_activity_sid: str | None
    assignment_activity_name: str | None
    date_created: TwilioDate
    date_updated: TwilioDate
    friendly_name: str
    max_reserved_workers: int
    reservation_activity_sid: str | None
    reservation_activity_name: str | None
    sid: str
    target_workers: str
    task_order: QueueOrder
    url: str
    workspace_sid: str
    links: dict[str, str | None]

    @classmethod
    def of(cls, row: TaskQueueView, base: str) -> TaskQueuePublic:
        ws = ws_url(base, row.workspace_sid)
        url = f"{ws}/TaskQueues/{row.sid}"
        return cls.from_row(
            row,
            url=url,
            links={
                "assignment_activity": f"{ws}/Activities/{row.assignment_activity_sid}"
                if row.assignment_activity_sid
                else None,
                "reservation_activity": f"{ws}/Activities/{row.reservation_activity_sid}"
                if row.reservation_activity_sid
                else None,
                "workspace": ws,
                "statistics": f"{url}/Statistics",
                "real_time_statistics": f"{url}/RealTimeStatistics",
                "cumulative_statistics": f"{url}/CumulativeStatistics",
                "list_statistics": f"{ws}/TaskQueues/Statistics",
                "bulk_real_time_statistics": f"{ws}/TaskQueues/RealTimeStatistics",
            },
        )


class TaskQueueList(Public):
    task_queues: list[TaskQueuePublic]
    meta: PageMeta


class WorkflowPublic(Public):
    account_sid: str
    assignment_callback_url: str | None
    configuration: str
    date_created: TwilioDate
    date_updated: TwilioDate
    document_content_type: str = "application/json"
    fallback_assignment_callback_url: str | None
    friendly_name: str
    sid: str
    task_reservation_timeout: int
    workspace_sid: str
    url: str
    links: dict[str, str]

    @classmethod
    def of(cls, row: WorkflowRow, base: str) -> WorkflowPublic:
        url = f"{ws_url(base, row.workspace_sid)}/Workflows/{row.sid}"
        return cls.from_row(
            row,
            url=url,
            links={
                "statistics": f"{url}/Statistics",
                "real_time_statistics": f"{url}/RealTimeStatistics",
                "cumulative_statistics": f"{url}/CumulativeStatistics",
            },
        )


class WorkflowList(Public):
    workflows: list[WorkflowPublic]
    meta: PageMeta


class TaskPublic(Public):
    account_sid: str
    age: int
    assignment_status: TaskStatus
    attributes: str
    addons: str = "{}"
    date_created: TwilioDate
    date_updated: TwilioDate
    task_queue_entered_date: TwilioDate
    priority: int
    reason: str | None
    sid: str
    task_queue_sid: str | None
    task_queue_friendly_name: str | None
    task_channel_sid: str
    task_channel_unique_name: str | None
    timeout: int
    workflow_sid: str | None
    workflow_friendly_name: str | None
    workspace_sid: str
    url: str
    links: dict[str, str | None]
    virtual_start_time: TwilioDate
    ignore_capacity: bool = False
    routing_target: str | None = None
    # Parley extension: why a pending task is still waiting (invariant 4: visibly pending with a reason).
    routing_status: str | None

    @classmethod
    def of(cls, row: TaskView, base: str) -> TaskPublic:
        ws = ws_url(base, row.workspace_sid)
        url = f"{ws}/Tasks/{row.sid}"
        created = row.date_created or datetime.now(UTC)
        return cls.from_row(
            row,
            age=int((datetime.now(UTC) - created).total_seconds()),
            url=url,
            links={
                "task_queue": f"{ws}/TaskQueues/{row.task_queue_sid}" if row.task_queue_sid else None,
                "workflow": f"{ws}/Workflows/{row.workflow_sid}" if row.workflow_sid else None,
                "workspace": ws,
                "reservations": f"{url}/Reservations",
            },
            routing_status=row.waiting_reason if row.assignment_status.is_routable else None,
        )


class TaskList(Public):
    tasks: list[TaskPublic]
    meta: PageMeta


class ReservationPublic(Public):
    account_sid: str
    date_created: TwilioDate
    date_updated: TwilioDate
    reservation_status: ReservationStatus
    sid: str
    task_sid: str
    worker_name: str | None
    worker_sid: str
    workspace_sid: str
    url: str
    links: dict[str, str]
    # Parley extension: the routing decision record (why this reservation went to this worker).
    routing_decision: dict[str, Any] | None

    @classmethod
    def of(cls, row: ReservationView, base: str, *, worker_scoped: bool = False) -> ReservationPublic:
        ws = ws_url(base, row.workspace_sid)
        url = (
            f"{ws}/Workers/{row.worker_sid}/Reservations/{row.sid}"
            if worker_scoped
            else f"{ws}/Tasks/{row.task_sid}/Reservations/{row.sid}"
        )
        return cls.from_row(
            row,
            url=url,
            links={"task": f"{ws}/Tasks/{row.task_sid}", "worker": f"{ws}/Workers/{row.worker_sid}", "workspace": ws},
            routing_decision=row.decision or None,
        )


class ReservationList(Public):
    reservations: list[ReservationPublic]
    meta: PageMeta


class EventPublic(Public):
    account_sid: str
    actor_sid: str | None
    actor_type: str
    actor_url: str | None = None
    description: str
    event_data: dict[str, Any]
    event_date: TwilioDate
    event_date_ms: int
    event_type: str
    resource_sid: str
    resource_type: str
    resource_url: str | None = None
    sid: str
    # Where the event originated: Twilio's spec shows "twilio"; a client that checks it sees the same.
    source: str = "twilio"
    # The IP of the request that caused the event: Parley does not record it.
    source_ip_address: str | None = None
    url: str
    workspace_sid: str

    @classmethod
    def of(cls, row: TaskRouterEventRow, base: str) -> EventPublic:
        ws = ws_url(base, row.workspace_sid)
        date = row.event_date or datetime.now(UTC)
        return cls.from_row(
            row,
            event_date=date,
            event_date_ms=int(date.timestamp() * 1000),
            url=f"{ws}/Events/{row.sid}",
            resource_url=_resource_url(ws, row.resource_type, row.resource_sid, row.event_data),
            actor_url=_resource_url(ws, row.actor_type, row.actor_sid, row.event_data),
        )


# Where each resource type lives under its workspace (a reservation under its task).
_RESOURCE_PATHS = {
    "task": "Tasks",
    "worker": "Workers",
    "activity": "Activities",
    "workflow": "Workflows",
    "task_queue": "TaskQueues",
    "task_channel": "TaskChannels",
}


def _resource_url(ws: str, kind: str, sid: str | None, data: dict[str, Any]) -> str | None:
    """The absolute URL of an event's resource or actor; None where Parley serves none (an account)."""
    if not sid:
        return None
    if kind == "workspace":
        return ws
    if kind == "reservation":
        task_sid = data.get("task_sid")
        return f"{ws}/Tasks/{task_sid}/Reservations/{sid}" if task_sid else None
    path = _RESOURCE_PATHS.get(kind)
    return f"{ws}/{path}/{sid}" if path else None


class EventList(Public):
    events: list[EventPublic]
    meta: PageMeta
