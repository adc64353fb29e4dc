"""Typed rows the TaskRouter services return beyond their tables: rows joined with the names Twilio's JSON
shows (each with the SELECT that produces it), and the inputs of the use cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from domain.routing.engine import QueueOrder
from domain.states import TaskStatus
from storage.taskrouter.tables import (
    ReservationRow,
    TaskQueueRow,
    TaskRow,
    WorkerChannelRow,
    WorkerRow,
    WorkspaceRow,
)


class WorkspaceView(WorkspaceRow):
    default_activity_name: str | None = None
    timeout_activity_name: str | None = None


WORKSPACE_SELECT = """
    SELECT ws.*, da.friendly_name AS default_activity_name, ta.friendly_name AS timeout_activity_name
      FROM workspaces ws
      LEFT JOIN activities da ON da.sid = ws.default_activity_sid
      LEFT JOIN activities ta ON ta.sid = ws.timeout_activity_sid
"""


class WorkerView(WorkerRow):
    activity_name: str


WORKER_SELECT = (
    "SELECT w.*, a.friendly_name AS activity_name FROM workers w JOIN activities a ON a.sid = w.activity_sid"
)


class WorkerChannelView(WorkerChannelRow):
    task_channel_unique_name: str


WORKER_CHANNEL_SELECT = (
    "SELECT wc.*, tc.unique_name AS task_channel_unique_name "
    "FROM worker_channels wc JOIN task_channels tc ON tc.sid = wc.task_channel_sid"
)


class TaskQueueView(TaskQueueRow):
    reservation_activity_name: str | None = None
    assignment_activity_name: str | None = None


TASK_QUEUE_SELECT = """
    SELECT q.*, ra.friendly_name AS reservation_activity_name, aa.friendly_name AS assignment_activity_name
      FROM task_queues q
      LEFT JOIN activities ra ON ra.sid = q.reservation_activity_sid
      LEFT JOIN activities aa ON aa.sid = q.assignment_activity_sid
"""


class TaskView(TaskRow):
    task_queue_friendly_name: str | None = None
    workflow_friendly_name: str | None = None
    task_channel_unique_name: str | None = None


TASK_SELECT = """
    SELECT t.*, q.friendly_name AS task_queue_friendly_name, w.friendly_name AS workflow_friendly_name,
           tc.unique_name AS task_channel_unique_name
      FROM tasks t
      LEFT JOIN task_queues q ON q.sid = t.task_queue_sid
      LEFT JOIN workflows w ON w.sid = t.workflow_sid
      LEFT JOIN task_channels tc ON tc.sid = t.task_channel_sid
"""


class ReservationView(ReservationRow):
    worker_name: str | None = None


RESERVATION_SELECT = """
    SELECT r.*, w.friendly_name AS worker_name
      FROM reservations r JOIN workers w ON w.sid = r.worker_sid
"""


# --- use-case inputs ---------------------------------------------------------------------------------


class Template(StrEnum):
    NONE = "NONE"
    FIFO = "FIFO"


class NewWorkspace(BaseModel):
    friendly_name: str
    event_callback_url: str | None = None
    events_filter: str | None = None
    multi_task_enabled: bool = True
    prioritize_queue_order: QueueOrder = QueueOrder.FIFO
    template: Template | None = None


class WorkspaceChanges(BaseModel):
    friendly_name: str | None = None
    default_activity_sid: str | None = None
    timeout_activity_sid: str | None = None
    event_callback_url: str | None = None
    events_filter: str | None = None
    multi_task_enabled: bool | None = None
    prioritize_queue_order: QueueOrder | None = None


class TaskQueueFields(BaseModel):
    """A queue's settable columns; on update only the ones given are changed."""

    friendly_name: str | None = None
    target_workers: str | None = None
    max_reserved_workers: int | None = None
    task_order: QueueOrder | None = None
    reservation_activity_sid: str | None = None
    assignment_activity_sid: str | None = None


class WorkflowFields(BaseModel):
    friendly_name: str | None = None
    configuration: str | None = None
    task_reservation_timeout: int | None = None
    # For the callback URLs "given" matters (an empty value clears): see `fields_set`.
    assignment_callback_url: str | None = None
    fallback_assignment_callback_url: str | None = None


class NewTask(BaseModel):
    attributes: str = "{}"
    priority: int = 0
    timeout: int
    workflow_sid: str | None = None
    task_channel: str = "default"
    task_queue_sid: str | None = None
    # A worker (WK) or queue (WQ) to route to directly, bypassing the workflow's filters.
    routing_target: str | None = None
    # None: Twilio's default, true for a worker routing target.
    ignore_capacity: bool | None = None
    virtual_start_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class TaskChanges:
    assignment_status: TaskStatus | None = None
    reason: str | None = None
    attributes: str | None = None
    priority: int | None = None
    task_channel: str | None = None
    virtual_start_time: datetime | None = None
