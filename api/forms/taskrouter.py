"""TaskRouter v1 request bodies (form-encoded, Twilio's parameter names)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from api.forms.fields import (
    ActivitySid,
    Bool,
    CallbackUrl,
    FormModel,
    FriendlyName,
    NonBlank,
    PastDateTime,
    RoutingTargetSid,
    TargetWorkers,
    TaskQueueSid,
    TaskRouterAttributes,
    WorkflowSid,
    one_of,
)
from domain.limits import (
    FRIENDLY_NAME_LIMIT,
    MAX_CHANNEL_CAPACITY,
    MAX_PRIORITY,
    MAX_RESERVATION_TIMEOUT,
    MAX_RESERVED_WORKERS,
    MAX_TASK_TTL,
    TASK_REASON_LIMIT,
)
from domain.routing.engine import QueueOrder
from domain.states import ReservationStatus, TaskStatus
from storage.taskrouter.models import Template

Order = Annotated[QueueOrder, BeforeValidator(one_of(QueueOrder))]
WorkspaceTemplate = Annotated[Template, BeforeValidator(one_of(Template))]
Status = Annotated[TaskStatus, BeforeValidator(one_of(TaskStatus))]
ReservationState = Annotated[ReservationStatus, BeforeValidator(one_of(ReservationStatus))]
Priority = Annotated[int, Field(ge=0, le=MAX_PRIORITY)]

_NAME = "A descriptive name, up to 64 characters."


class CreateWorkspace(FormModel):
    friendly_name: FriendlyName = Field(alias="FriendlyName", description=_NAME)
    event_callback_url: CallbackUrl | None = Field(
        None, alias="EventCallbackUrl", description="The URL TaskRouter events are sent to."
    )
    events_filter: str | None = Field(
        None, alias="EventsFilter", description="Comma-separated event types to send to the callback URL."
    )
    multi_task_enabled: Bool = Field(
        True, alias="MultiTaskEnabled", description="Whether workers may hold several tasks at once (default true)."
    )
    prioritize_queue_order: Order = Field(
        QueueOrder.FIFO,
        alias="PrioritizeQueueOrder",
        description="Whether FIFO or LIFO queues are served first when a worker is in both.",
    )
    template: WorkspaceTemplate | None = Field(
        None, alias="Template", description="`FIFO` also creates a queue and a FIFO workflow."
    )


class UpdateWorkspace(FormModel):
    friendly_name: FriendlyName | None = Field(None, alias="FriendlyName", description=_NAME)
    default_activity_sid: ActivitySid | None = Field(
        None, alias="DefaultActivitySid", description="The activity new workers start in."
    )
    timeout_activity_sid: ActivitySid | None = Field(
        None, alias="TimeoutActivitySid", description="The activity a worker is moved to when an offer times out."
    )
    event_callback_url: CallbackUrl | None = Field(
        None, alias="EventCallbackUrl", description="The URL TaskRouter events are sent to; empty clears it."
    )
    events_filter: str | None = Field(
        None, alias="EventsFilter", description="Comma-separated event types to send; empty sends every event."
    )
    multi_task_enabled: Bool | None = Field(None, alias="MultiTaskEnabled")
    prioritize_queue_order: Order | None = Field(None, alias="PrioritizeQueueOrder")

    clearable = ("event_callback_url", "events_filter")


class CreateActivity(FormModel):
    friendly_name: FriendlyName = Field(alias="FriendlyName", description=_NAME)
    available: Bool = Field(
        False, alias="Available", description="Whether workers in this activity can be offered tasks."
    )


class UpdateActivity(FormModel):
    friendly_name: FriendlyName | None = Field(None, alias="FriendlyName", description=_NAME)


class CreateTaskChannel(FormModel):
    friendly_name: FriendlyName = Field(alias="FriendlyName", description=_NAME)
    unique_name: Annotated[NonBlank, Field(max_length=FRIENDLY_NAME_LIMIT)] = Field(
        alias="UniqueName", description="The channel's unique name (`chat`, `voice`…), usable in place of its SID."
    )
    channel_optimized_routing: Bool = Field(
        False, alias="ChannelOptimizedRouting", description="Prefer workers idle longest on this channel."
    )


class UpdateTaskChannel(FormModel):
    friendly_name: FriendlyName | None = Field(None, alias="FriendlyName", description=_NAME)
    channel_optimized_routing: Bool | None = Field(None, alias="ChannelOptimizedRouting")


class TaskQueueForm(FormModel):
    """Update: every parameter optional. An empty TargetWorkers is kept: Twilio's "no worker matches"."""

    clearable = ("target_workers",)

    friendly_name: FriendlyName | None = Field(None, alias="FriendlyName", description=_NAME)
    target_workers: TargetWorkers | None = Field(
        None,
        alias="TargetWorkers",
        description="An expression over worker attributes: who belongs to the queue (default `1==1`).",
    )
    max_reserved_workers: Annotated[int, Field(ge=1, le=MAX_RESERVED_WORKERS)] | None = Field(
        None, alias="MaxReservedWorkers", description="How many workers may be offered a task at once (1-50)."
    )
    task_order: Order | None = Field(None, alias="TaskOrder", description="`FIFO` (default) or `LIFO`.")
    reservation_activity_sid: ActivitySid | None = Field(
        None, alias="ReservationActivitySid", description="The activity a worker moves to when offered a task."
    )
    assignment_activity_sid: ActivitySid | None = Field(
        None, alias="AssignmentActivitySid", description="The activity a worker moves to when assigned a task."
    )


class CreateTaskQueue(TaskQueueForm):
    friendly_name: FriendlyName = Field(alias="FriendlyName", description=_NAME)


class WorkflowBody(FormModel):
    """What creating and updating a workflow share. Callback URLs sent empty are cleared."""

    clearable = ("assignment_callback_url", "fallback_assignment_callback_url")

    friendly_name: FriendlyName | None = Field(None, alias="FriendlyName", description=_NAME)
    configuration: str | None = Field(
        None, alias="Configuration", description="The routing configuration: filters and targets, as JSON."
    )
    task_reservation_timeout: Annotated[int, Field(ge=1, le=MAX_RESERVATION_TIMEOUT)] | None = Field(
        None, alias="TaskReservationTimeout", description="Seconds a worker has to answer an offer (default 120)."
    )
    assignment_callback_url: CallbackUrl | None = Field(None, alias="AssignmentCallbackUrl")
    fallback_assignment_callback_url: CallbackUrl | None = Field(None, alias="FallbackAssignmentCallbackUrl")


class WorkflowForm(WorkflowBody):
    """Update: every parameter optional."""

    re_evaluate_tasks: Bool | None = Field(
        None, alias="ReEvaluateTasks", description="Re-route pending tasks through the new configuration."
    )


class CreateWorkflow(WorkflowBody):
    friendly_name: FriendlyName = Field(alias="FriendlyName", description=_NAME)
    configuration: str = Field(
        alias="Configuration", description="The routing configuration: filters and targets, as JSON."
    )


class CreateWorker(FormModel):
    friendly_name: FriendlyName = Field(
        alias="FriendlyName", description="The worker's name, unique in the workspace whatever its case."
    )
    attributes: TaskRouterAttributes | None = Field(
        None, alias="Attributes", description="The worker's attributes, a JSON object (what queues match on)."
    )
    activity_sid: ActivitySid | None = Field(
        None, alias="ActivitySid", description="Its first activity (default: the workspace's default activity)."
    )


class UpdateWorker(FormModel):
    friendly_name: FriendlyName | None = Field(None, alias="FriendlyName")
    attributes: TaskRouterAttributes | None = Field(None, alias="Attributes")
    activity_sid: ActivitySid | None = Field(None, alias="ActivitySid", description="Move the worker to this activity.")
    reject_pending_reservations: Bool = Field(
        False,
        alias="RejectPendingReservations",
        description="With an unavailable ActivitySid: reject the worker's pending reservations.",
    )


class UpdateWorkerChannel(FormModel):
    capacity: Annotated[int, Field(ge=0, le=MAX_CHANNEL_CAPACITY)] | None = Field(
        None, alias="Capacity", description="How many tasks of this channel the worker may hold (0 stops offers)."
    )
    available: Bool | None = Field(None, alias="Available", description="Whether the channel may be offered tasks.")


class CreateTask(FormModel):
    attributes: TaskRouterAttributes | None = Field(
        None, alias="Attributes", description="The task's attributes, a JSON object (what workflows route on)."
    )
    priority: Priority | None = Field(None, alias="Priority", description="Higher is served first (default 0).")
    timeout: Annotated[int, Field(ge=1, le=MAX_TASK_TTL)] | None = Field(
        None, alias="Timeout", description="Seconds the task may wait pending or reserved (default 86400)."
    )
    workflow_sid: WorkflowSid | None = Field(
        None, alias="WorkflowSid", description="The workflow that routes it (required unless there is only one)."
    )
    task_channel: str | None = Field(
        None, alias="TaskChannel", description="The task channel's SID or unique name (default `default`)."
    )
    task_queue_sid: TaskQueueSid | None = Field(
        None,
        alias="TaskQueueSid",
        description="The queue the task belongs to: with no `RoutingTarget`, it is routed straight to this queue "
        "(no workflow needed); with a worker `RoutingTarget`, the queue it is counted in.",
    )
    routing_target: RoutingTargetSid | None = Field(
        None,
        alias="RoutingTarget",
        description="A worker (WK) or queue (WQ) to route the task straight to, instead of the workflow's filters.",
    )
    ignore_capacity: Bool | None = Field(
        None,
        alias="IgnoreCapacity",
        description="With a worker `RoutingTarget` (where it defaults to true): offer the task to that worker "
        "whatever its activity, channel availability and capacity.",
    )
    virtual_start_time: PastDateTime | None = Field(
        None,
        alias="VirtualStartTime",
        description="The time FIFO and LIFO queues order the task by (default: its creation; not in the future).",
    )


class UpdateTask(FormModel):
    assignment_status: Status | None = Field(
        None, alias="AssignmentStatus", description="`canceled`, `wrapping` or `completed`."
    )
    reason: Annotated[str, Field(max_length=TASK_REASON_LIMIT)] | None = Field(
        None, alias="Reason", description="Why the task is canceled or completed."
    )
    attributes: TaskRouterAttributes | None = Field(None, alias="Attributes")
    priority: Priority | None = Field(None, alias="Priority")
    task_channel: str | None = Field(
        None,
        alias="TaskChannel",
        description="The channel (SID or unique name) of the task being updated: a task on another channel is a 404.",
    )
    virtual_start_time: PastDateTime | None = Field(
        None, alias="VirtualStartTime", description="The task's new virtual start time (not in the future)."
    )


class UpdateReservation(FormModel):
    reservation_status: ReservationState | None = Field(
        None, alias="ReservationStatus", description="`accepted`, `rejected`, `wrapping` or `completed`."
    )
    instruction: str | None = Field(
        None, alias="Instruction", description="`accept` or `reject` (voice instructions are not supported)."
    )
    worker_activity_sid: ActivitySid | None = Field(
        None, alias="WorkerActivitySid", description="The activity to move the worker to (e.g. when rejecting)."
    )


__all__ = [
    "CreateActivity",
    "CreateTask",
    "CreateTaskChannel",
    "CreateTaskQueue",
    "CreateWorker",
    "CreateWorkflow",
    "CreateWorkspace",
    "TaskQueueForm",
    "UpdateActivity",
    "UpdateReservation",
    "UpdateTask",
    "UpdateTaskChannel",
    "UpdateWorker",
    "UpdateWorkerChannel",
    "UpdateWorkspace",
    "WorkflowForm",
]
