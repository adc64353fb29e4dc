"""TaskRouter v1: workspaces, activities, task channels, workers and their channels, queues, workflows,
tasks, reservations and events. Capacity counters live on worker_channels and change only inside the
workspace-locked routing transactions (storage/taskrouter/routing.py), which is what makes the routing
invariants provable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import field_validator
from sqlalchemy import CheckConstraint, Column, Index, Integer, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from domain.limits import (
    DEFAULT_MAX_RESERVED_WORKERS,
    DEFAULT_RESERVATION_TIMEOUT,
    DEFAULT_TASK_TTL,
    DEFAULT_WORKER_CHANNEL_CAPACITY,
)
from domain.routing.engine import QueueOrder
from domain.routing.step import TaskStep
from domain.states import ReservationStatus, TaskStatus
from storage import crypto
from storage.columns import account_fk, created_at, default, enum_column, jsonb, sid_pk, tstz, updated_at


class WorkspaceRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    friendly_name: str = Field(max_length=64)
    default_activity_sid: str | None = Field(default=None, max_length=34)
    timeout_activity_sid: str | None = Field(default=None, max_length=34)
    event_callback_url: str | None = None
    events_filter: str | None = None
    multi_task_enabled: bool = default(True)
    prioritize_queue_order: QueueOrder = enum_column(QueueOrder.FIFO, max_length=4)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class Workspace(WorkspaceRow, table=True):
    __tablename__ = "workspaces"


class ActivityRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    workspace_sid: str = Field(foreign_key="workspaces.sid", index=True, max_length=34)
    friendly_name: str = Field(max_length=64)
    available: bool = default(False)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class Activity(ActivityRow, table=True):
    __tablename__ = "activities"
    __table_args__ = (UniqueConstraint("workspace_sid", "friendly_name"),)


class TaskChannelRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    workspace_sid: str = Field(foreign_key="workspaces.sid", index=True, max_length=34)
    friendly_name: str = Field(max_length=64)
    unique_name: str = Field(max_length=64)
    channel_optimized_routing: bool = default(False)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class TaskChannel(TaskChannelRow, table=True):
    __tablename__ = "task_channels"
    __table_args__ = (UniqueConstraint("workspace_sid", "unique_name"),)


class WorkerRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    workspace_sid: str = Field(foreign_key="workspaces.sid", index=True, max_length=34)
    friendly_name: str = Field(max_length=64)
    attributes: str = default("{}")
    activity_sid: str = Field(foreign_key="activities.sid", max_length=34)
    available: bool = default(False)
    date_status_changed: datetime | None = tstz()
    last_event_seq: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class Worker(WorkerRow, table=True):
    __tablename__ = "workers"
    __table_args__ = (Index("uq_workers_friendly_name", "workspace_sid", text("lower(friendly_name)"), unique=True),)


class WorkerChannelRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    workspace_sid: str = Field(foreign_key="workspaces.sid", max_length=34)
    worker_sid: str = Field(foreign_key="workers.sid", index=True, max_length=34)
    task_channel_sid: str = Field(foreign_key="task_channels.sid", max_length=34)
    configured_capacity: int = default(DEFAULT_WORKER_CHANNEL_CAPACITY)
    available: bool = default(True)
    # accepted + wrapping reservations
    assigned_tasks: int = default(0)
    # pending reservations
    reserved_tasks: int = default(0)
    # When this channel last received a reservation: "longest idle" ordering reads it.
    last_reserved_at: datetime | None = tstz()
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class WorkerChannel(WorkerChannelRow, table=True):
    __tablename__ = "worker_channels"
    __table_args__ = (
        UniqueConstraint("worker_sid", "task_channel_sid"),
        CheckConstraint("assigned_tasks >= 0 AND reserved_tasks >= 0", name="ck_worker_channels_counts"),
    )


class TaskQueueRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    workspace_sid: str = Field(foreign_key="workspaces.sid", index=True, max_length=34)
    friendly_name: str = Field(max_length=64)
    target_workers: str = default("1==1")
    max_reserved_workers: int = default(DEFAULT_MAX_RESERVED_WORKERS)
    task_order: QueueOrder = enum_column(QueueOrder.FIFO, max_length=4)
    reservation_activity_sid: str | None = Field(default=None, max_length=34)
    assignment_activity_sid: str | None = Field(default=None, max_length=34)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class TaskQueue(TaskQueueRow, table=True):
    __tablename__ = "task_queues"
    __table_args__ = (UniqueConstraint("workspace_sid", "friendly_name"),)


class QueueMember(SQLModel, table=True):
    """Cache of `target_workers` evaluated against worker attributes; recomputed when either changes."""

    __tablename__ = "queue_members"

    queue_sid: str = Field(foreign_key="task_queues.sid", primary_key=True, max_length=34)
    worker_sid: str = Field(foreign_key="workers.sid", primary_key=True, index=True, max_length=34)
    workspace_sid: str = Field(max_length=34)


class WorkflowRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    workspace_sid: str = Field(foreign_key="workspaces.sid", index=True, max_length=34)
    friendly_name: str = Field(max_length=64)
    configuration: str
    assignment_callback_url: str | None = None
    fallback_assignment_callback_url: str | None = None
    task_reservation_timeout: int = default(DEFAULT_RESERVATION_TIMEOUT)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class Workflow(WorkflowRow, table=True):
    __tablename__ = "workflows"
    __table_args__ = (UniqueConstraint("workspace_sid", "friendly_name"),)


class TaskRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    workspace_sid: str = Field(foreign_key="workspaces.sid", max_length=34)
    workflow_sid: str | None = Field(default=None, foreign_key="workflows.sid", max_length=34)
    task_queue_sid: str | None = Field(default=None, max_length=34)
    task_channel_sid: str = Field(foreign_key="task_channels.sid", max_length=34)
    attributes: str = default("{}")
    assignment_status: TaskStatus = enum_column(TaskStatus.PENDING)
    priority: int = default(0)
    reason: str | None = None
    timeout: int = default(DEFAULT_TASK_TTL)
    task_queue_entered_date: datetime | None = tstz()
    virtual_start_time: datetime | None = tstz()
    # The routing step the task currently waits in (queue, expression, order_by, known worker, position).
    routing_step: TaskStep | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    # Why a pending task is still waiting (invariant 4: visibly pending with a reason).
    waiting_reason: str | None = None
    # Times the task went from pending to reserved; capped at MAX_ASSIGNMENT_COUNT.
    assignment_count: int = default(0)
    interaction_channel_sid: str | None = Field(default=None, index=True, max_length=34)
    # Routed straight to one worker (WK…) or queue (WQ…) instead of through the workflow's filters (invites).
    routing_target: str | None = Field(default=None, max_length=34)
    # IgnoreCapacity: offered to the routing-target worker whatever its activity and load.
    ignore_capacity: bool = default(False)
    # Canceled through the API with a Reason: its interaction channel parks instead of re-queuing.
    parks_channel: bool = default(False)
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()

    # A task's attributes carry the customer's details: sealed at rest (storage/crypto.py).
    _open = field_validator("attributes", mode="before")(crypto.opened)


class Task(TaskRow, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_routable", "workspace_sid", "assignment_status"),
        Index("ix_tasks_queue_status", "task_queue_sid", "assignment_status"),
    )


class ReservationRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    workspace_sid: str = Field(foreign_key="workspaces.sid", max_length=34)
    task_sid: str = Field(foreign_key="tasks.sid", index=True, max_length=34)
    worker_sid: str = Field(foreign_key="workers.sid", max_length=34)
    worker_channel_sid: str = Field(foreign_key="worker_channels.sid", max_length=34)
    reservation_status: ReservationStatus = enum_column(ReservationStatus.PENDING)
    timeout: int = default(DEFAULT_RESERVATION_TIMEOUT)
    # The routing decision record (domain.routing.decision.RoutingDecision as JSON).
    decision: dict[str, Any] = jsonb()
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class Reservation(ReservationRow, table=True):
    __tablename__ = "reservations"
    __table_args__ = (
        # Invariant 1: a task has at most one accepted reservation, ever.
        Index(
            "uq_reservations_one_accepted_per_task",
            "task_sid",
            unique=True,
            postgresql_where=text("reservation_status IN ('accepted', 'wrapping', 'completed')"),
        ),
        # Invariant 1: a worker never holds two live reservations for one task.
        Index(
            "uq_reservations_one_live_per_worker_task",
            "task_sid",
            "worker_sid",
            unique=True,
            postgresql_where=text("reservation_status IN ('pending', 'accepted', 'wrapping')"),
        ),
        Index("ix_reservations_worker_status", "worker_sid", "reservation_status"),
    )


class TaskRouterEventRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    workspace_sid: str = Field(max_length=34)
    event_type: str = Field(max_length=64)
    resource_type: str = Field(max_length=32)
    resource_sid: str = Field(max_length=34)
    actor_type: str = Field(max_length=32)
    actor_sid: str | None = Field(default=None, max_length=34)
    description: str = default("")
    event_data: dict[str, Any] = jsonb()
    event_date: datetime | None = created_at()

    _open = field_validator("event_data", mode="before")(crypto.opened_values)


class TaskRouterEvent(TaskRouterEventRow, table=True):
    __tablename__ = "taskrouter_events"
    __table_args__ = (
        Index("ix_taskrouter_events_workspace_date", "workspace_sid", "event_date"),
        # The Events list's TaskSid / WorkerSid filters (migration 0011).
        Index("ix_taskrouter_events_task_sid", "workspace_sid", text("(event_data->>'task_sid')"), "event_date"),
        Index("ix_taskrouter_events_worker_sid", "workspace_sid", text("(event_data->>'worker_sid')"), "event_date"),
    )


class AgentPresence(SQLModel, table=True):
    """When an agent's desktop (a WebSocket with its worker's token) was last seen connected, by any api
    process. A worker with no row never had a desktop session and is left alone."""

    __tablename__ = "agent_presence"

    worker_sid: str = Field(primary_key=True, max_length=34, foreign_key="workers.sid", ondelete="CASCADE")
    workspace_sid: str = Field(max_length=34)
    last_seen: datetime | None = tstz(nullable=False)
