"""Typed inputs, signals and activity contracts shared by workflows, activities, the api and tests.

Workflows may import only `domain` and `temporalio`, so activities are called by the names declared here
(implemented in `activities/`), with one pydantic model in and one out."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from domain.routing.signals import RoutingEvent, RoutingEventKind
from domain.routing.step import TaskStep
from domain.states import ChannelRunStatus, InteractionChannelStatus, TaskStatus

__all__ = ["RoutingEvent", "RoutingEventKind"]

TASK_QUEUE = "parley"
# The error type activities raise for a routing configuration that retrying cannot fix (non-retryable).
ROUTING_CONFIGURATION_ERROR = "RoutingConfigurationError"
# The error type of a webhook the target refused for good (a 4xx other than 408/429): not retried.
WEBHOOK_REJECTED = "WebhookRejected"
# A channel provider could not take a message now (unreachable, 5xx, throttled): retried with backoff.
CHANNEL_UNAVAILABLE = "ChannelUnavailable"


class ActivityName(StrEnum):
    CREATE_CHANNEL_TASK = "create_channel_task"
    PLAN_TASK_ROUTING = "plan_task_routing"
    ENTER_ROUTING_STEP = "enter_routing_step"
    TIMEOUT_RESERVATION = "timeout_reservation"
    CANCEL_TASK = "cancel_task"
    SET_CHANNEL_STATUS = "set_channel_status"
    CLOSE_CHANNEL_BY_POLICY = "close_channel_by_policy"
    COMPLETE_TASK = "complete_task"
    REDRIVE_OUTBOX = "redrive_outbox"
    RELEASE_ABSENT_AGENTS = "release_absent_agents"
    DELIVER_WEBHOOK = "deliver_webhook"
    APPLY_CONVERSATION_TIMERS = "apply_conversation_timers"
    DELIVER_CHANNEL_MESSAGE = "deliver_channel_message"
    FAIL_CHANNEL_DELIVERY = "fail_channel_delivery"


# --- InteractionChannel ------------------------------------------------------------------------------


class OpenTask(BaseModel):
    """A task routed on the channel that has not ended: its routing task, an invite's or a transfer's."""

    task_sid: str
    workspace_sid: str = ""
    # routing (pending or reserved), assigned or wrapping: what its Task workflow last reported.
    status: str = TaskStatus.PENDING.value
    worker_sid: str | None = None
    queue_sid: str | None = None
    transfer_sid: str | None = None
    summary: str = ""
    started: bool = False

    @property
    def holds_customer(self) -> bool:
        """Someone has the customer, or is being found: not so for a task in wrap-up."""
        return self.status != TaskStatus.WRAPPING.value


class ChannelState(BaseModel):
    """What a channel run hands to the next one on continue-as-new: ids and counters, never the transcript."""

    active_task_sid: str | None = None
    task_count: int = 0
    route_requested: bool = False
    closed: bool = False
    # Recently seen message SIDs: signals are delivered at least once and outbox rows can be re-driven.
    seen_messages: list[str] = Field(default_factory=list)
    finished_tasks: list[str] = Field(default_factory=list)
    open_tasks: dict[str, OpenTask] = Field(default_factory=dict)
    # Times in a row the channel was put back in its queue with nobody holding the customer.
    requeues: int = 0
    # Why the channel last had to route again without the customer writing (shown in the Temporal UI).
    requeue_reason: str | None = None
    # Parked long enough to be marked inactive (re-engaged by the customer's next message or an invite).
    inactive: bool = False
    # Set when the channel must close by policy (requeued too often, or parked too long).
    close_reason: str | None = None


class ChannelInput(BaseModel):
    account_sid: str
    interaction_sid: str
    channel_sid: str
    conversation_sid: str
    channel_type: str = "web"
    state: ChannelState | None = None


class CustomerMessage(BaseModel):
    message_sid: str
    index: int


class TaskEnded(BaseModel):
    task_sid: str
    status: TaskStatus
    # A canceled task: whether its channel routes the customer again (the default, also for histories that
    # predate the field) or parks until the customer writes.
    requeue: bool = True


class CloseChannel(BaseModel):
    reason: str = "closed"


class TaskAdded(BaseModel):
    """The API created a task on the channel (an interaction, an invite, a transfer): start its workflow."""

    task_sid: str
    workspace_sid: str
    transfer_sid: str | None = None
    summary: str = ""
    # The task whose agent let go of the customer when this one was created (a cold transfer's sender): the
    # channel knows at once that it no longer holds the customer, without waiting for that task's progress
    # signal (signals of two children may arrive in either order).
    released_task_sid: str | None = None


class Requeue(BaseModel):
    """Route the channel again: `ended_task_sid` no longer holds the customer (its agent went away)."""

    reason: str
    ended_task_sid: str | None = None


class CloseChannelByPolicy(BaseModel):
    channel_sid: str
    reason: str


class ChannelSnapshot(BaseModel):
    channel_sid: str
    status: ChannelRunStatus
    active_task_sid: str | None
    task_count: int
    run_task_count: int
    open_tasks: list[OpenTask] = Field(default_factory=list)
    requeues: int = 0
    description: str = ""


class CreateChannelTask(BaseModel):
    account_sid: str
    channel_sid: str
    task_sid: str


class CreatedTask(BaseModel):
    task_sid: str
    workspace_sid: str
    # False when the channel already had another open task (the request is then ignored).
    created: bool
    # True when the channel is no longer open (closed or inactive): nothing was created.
    channel_ended: bool = False
    wrapup_timeout: int | None = None


class SetChannelStatus(BaseModel):
    channel_sid: str
    status: InteractionChannelStatus
    error_code: int | None = None
    error_message: str | None = None


# --- Task --------------------------------------------------------------------------------------------


class TaskInput(BaseModel):
    account_sid: str
    task_sid: str
    workspace_sid: str
    channel_sid: str | None = None
    conversation_sid: str | None = None
    # Seconds the agent may stay in wrap-up before the task completes by itself.
    wrapup_timeout: int | None = None


class TaskRef(BaseModel):
    task_sid: str


class RoutingStepSpec(BaseModel):
    step: TaskStep
    # Epoch seconds at which the task leaves this step (cumulative against task age); None = never.
    ends_at: float | None = None
    label: str = ""


class RoutingPlanResult(BaseModel):
    steps: list[RoutingStepSpec]
    ttl_deadline: float
    reasons: list[str] = Field(default_factory=list)
    # Set when routing must not start (the task is no longer pending, or the workflow cannot route it).
    cancel_reason: str | None = None
    # The task had already ended when its workflow planned (canceled before the workflow started: the signal
    # saying so found no workflow): its status, and whether its channel routes the customer again.
    final_status: str | None = None
    requeue: bool = True


class EnterRoutingStep(BaseModel):
    task_sid: str
    step: TaskStep
    # The workflow takes the task's pending reservations from the answer (EnteredStep.reservations), so the
    # ones this step's matching pass makes need no signal back to it. False from workflow code that predates
    # it: every reservation is signalled, as before.
    takes_reservations: bool = False


class EnteredStep(BaseModel):
    # The step's skip_if held and no reservation could be made at once: go on to the next step.
    skipped: bool = False
    # With EnterRoutingStep.takes_reservations: the task's pending reservations after the step's matching pass
    # (RESERVATION_CREATED events, as their signal would have carried them; a retried step returns them again).
    reservations: list[RoutingEvent] = Field(default_factory=list)


class ReservationRef(BaseModel):
    reservation_sid: str


class CancelTask(BaseModel):
    task_sid: str
    reason: str


class CompleteTask(BaseModel):
    task_sid: str
    reason: str


class TaskSnapshot(BaseModel):
    task_sid: str
    status: str
    step_index: int
    pending_reservations: dict[str, float]
    worker_sid: str | None


class RedriveResult(BaseModel):
    dispatched: int
    failed: int


class ReleasedAgents(BaseModel):
    worker_sids: list[str] = Field(default_factory=list)


class TaskProgress(BaseModel):
    """A task's workflow tells its interaction channel that an agent holds the task, or is wrapping it up."""

    task_sid: str
    status: str
    worker_sid: str | None = None
    queue_sid: str | None = None


# --- Webhooks ----------------------------------------------------------------------------------------


class WebhookResult(BaseModel):
    """How a webhook delivery ended: the target's status code and how long it took to answer."""

    status_code: int
    elapsed_ms: float


# --- Conversation timers -----------------------------------------------------------------------------


class TimersInput(BaseModel):
    account_sid: str
    conversation_sid: str


class ApplyTimers(BaseModel):
    """The timer activity's input: which conversation, as of when (the workflow's clock, epoch seconds: the
    durable timer that woke it is the authority on how much time has passed)."""

    conversation_sid: str
    as_of: float


class TimersDue(BaseModel):
    """When the conversation's next timer runs out (epoch seconds), or None: nothing left to watch."""

    next_at: float | None = None


# --- ChannelDelivery ---------------------------------------------------------------------------------


class ChannelDelivery(BaseModel):
    """One message to one participant on an external channel (workflow id `deliver-<IM…>-<MB…>`)."""

    account_sid: str
    conversation_sid: str
    message_sid: str
    participant_sid: str


class ChannelDeliveryFailure(BaseModel):
    delivery: ChannelDelivery
    error_code: int
    reason: str


class ChannelDeliveryResult(BaseModel):
    """`sent` with the provider's message id, `failed` with Twilio's error code, or `skipped` (already sent, or
    the message or participant is gone)."""

    outcome: str
    provider_message_id: str | None = None
    error_code: int | None = None
