"""The outbox's commands: side effects a transaction records and that must happen after it commits (start or
signal a workflow; later, deliver to a channel or call a webhook). One pydantic model per kind, in a
discriminated union, so a row is validated when it is written and dispatched by type, never by string."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from domain.routing.signals import RoutingEvent
from domain.webhooks import WebhookDelivery


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account_sid: str


class InteractionChannelRef(BaseModel):
    """Enough to signal-with-start an InteractionChannel workflow (workflow id = channel_sid)."""

    model_config = ConfigDict(frozen=True)

    account_sid: str
    interaction_sid: str
    channel_sid: str
    conversation_sid: str
    channel_type: str


class StartTaskWorkflow(_Command):
    """Start the Task workflow of a task created through the REST API (channel tasks start as children)."""

    type: Literal["start_task_workflow"] = "start_task_workflow"
    task_sid: str
    workspace_sid: str


class SignalTaskWorkflow(_Command):
    """Tell a task's workflow that its routing state changed (a reservation was created or ended, ...)."""

    type: Literal["signal_task_workflow"] = "signal_task_workflow"
    task_sid: str
    event: RoutingEvent


class RouteCustomerMessage(_Command):
    """A customer wrote on a channel with no open task: (re)start routing on the channel's workflow."""

    type: Literal["route_customer_message"] = "route_customer_message"
    channel: InteractionChannelRef
    message_sid: str
    index: int


class CloseInteractionChannel(_Command):
    """The channel was closed through the API: end its workflow (starting it first if it never ran)."""

    type: Literal["close_interaction_channel"] = "close_interaction_channel"
    channel: InteractionChannelRef
    reason: str = "closed"


class StartChannelTask(_Command):
    """A task was created on a channel by the API (an interaction, an invite, a transfer): the channel's workflow
    starts its Task workflow as a child, so the channel knows every task routed on it."""

    type: Literal["start_channel_task"] = "start_channel_task"
    channel: InteractionChannelRef
    task_sid: str
    workspace_sid: str
    transfer_sid: str | None = None
    # In words, for the Temporal UI: "warm transfer from alice to bob".
    summary: str = ""
    # A task whose agent let go of the customer when this one was created (a cold transfer's sender).
    released_task_sid: str | None = None


class RequeueChannel(_Command):
    """Nobody holds the customer any more (an agent went offline mid-chat): route the channel again."""

    type: Literal["requeue_channel"] = "requeue_channel"
    channel: InteractionChannelRef
    reason: str
    ended_task_sid: str | None = None


class DeliverWebhook(_Command):
    """Call a webhook target after the action committed (retried by its own workflow until it answers)."""

    type: Literal["deliver_webhook"] = "deliver_webhook"
    delivery: WebhookDelivery


class ScheduleConversationTimers(_Command):
    """A conversation's timers were set or restarted: wake (or start) its ConversationTimers workflow."""

    type: Literal["schedule_conversation_timers"] = "schedule_conversation_timers"
    conversation_sid: str


class CallAssignmentCallback(_Command):
    """A reservation was made in a workflow with an AssignmentCallbackUrl: POST it (then the fallback URL) and
    carry out the instruction the answer gives (reservation.accept / reject)."""

    type: Literal["call_assignment_callback"] = "call_assignment_callback"
    reservation_sid: str


class DeliverChannelMessage(_Command):
    """A message for a participant on an external channel (SMS, WhatsApp, Messenger): send it through the
    provider (its own workflow retries with backoff until the provider takes it, honouring throttling)."""

    type: Literal["deliver_channel_message"] = "deliver_channel_message"
    conversation_sid: str
    message_sid: str
    participant_sid: str


OutboxCommand = Annotated[
    StartTaskWorkflow
    | SignalTaskWorkflow
    | RouteCustomerMessage
    | CloseInteractionChannel
    | StartChannelTask
    | RequeueChannel
    | DeliverWebhook
    | ScheduleConversationTimers
    | CallAssignmentCallback
    | DeliverChannelMessage,
    Field(discriminator="type"),
]
OUTBOX_COMMAND: TypeAdapter[OutboxCommand] = TypeAdapter(OutboxCommand)


def parse_command(payload: object) -> OutboxCommand:
    """A stored row's payload back as its command; raises pydantic.ValidationError for a poison row."""
    return OUTBOX_COMMAND.validate_python(payload)
