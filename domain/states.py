"""Every lifecycle Parley tracks, as enums with their transition tables: TaskRouter tasks and reservations,
Flex interaction channels and participants, Conversations. Values are Twilio's wire values."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from domain.errors import Conflict

S = TypeVar("S", bound=StrEnum)


class TaskStatus(StrEnum):
    PENDING = "pending"
    RESERVED = "reserved"
    ASSIGNED = "assigned"
    WRAPPING = "wrapping"
    COMPLETED = "completed"
    CANCELED = "canceled"

    @property
    def is_routable(self) -> bool:
        """Still looking for a worker: matching may offer it."""
        return self in ROUTABLE_TASK

    @property
    def is_live(self) -> bool:
        return self not in FINAL_TASK

    @property
    def is_final(self) -> bool:
        return self in FINAL_TASK


ROUTABLE_TASK = frozenset({TaskStatus.PENDING, TaskStatus.RESERVED})
HELD_TASK = frozenset({TaskStatus.ASSIGNED, TaskStatus.WRAPPING})
FINAL_TASK = frozenset({TaskStatus.COMPLETED, TaskStatus.CANCELED})
LIVE_TASK = ROUTABLE_TASK | HELD_TASK
# A task that has the customer, or is finding someone for them (a task in wrap-up does neither).
HOLDING_TASK = ROUTABLE_TASK | {TaskStatus.ASSIGNED}

# Twilio's task lifecycle: an assigned task can only end completed, never canceled; a finished task never moves.
TASK_TRANSITIONS: Mapping[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PENDING: frozenset({TaskStatus.RESERVED, TaskStatus.CANCELED}),
    TaskStatus.RESERVED: frozenset({TaskStatus.PENDING, TaskStatus.ASSIGNED, TaskStatus.CANCELED}),
    TaskStatus.ASSIGNED: frozenset({TaskStatus.WRAPPING, TaskStatus.COMPLETED}),
    TaskStatus.WRAPPING: frozenset({TaskStatus.COMPLETED}),
    TaskStatus.COMPLETED: frozenset(),
    TaskStatus.CANCELED: frozenset(),
}
# What a REST caller may ask for with AssignmentStatus; the others are reached only by routing.
TASK_STATUSES_SET_BY_API = frozenset({TaskStatus.CANCELED, TaskStatus.WRAPPING, TaskStatus.COMPLETED})


class ReservationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    TIMEOUT = "timeout"
    CANCELED = "canceled"
    RESCINDED = "rescinded"
    WRAPPING = "wrapping"
    COMPLETED = "completed"


# The reservation holds a slot of the worker channel: reserved_tasks while pending, assigned_tasks after accept.
LIVE_RESERVATION = frozenset({ReservationStatus.PENDING, ReservationStatus.ACCEPTED, ReservationStatus.WRAPPING})
DECLINED_RESERVATION = frozenset({ReservationStatus.REJECTED, ReservationStatus.TIMEOUT})
# A pending reservation ends in one of these without being accepted.
UNACCEPTED_END = frozenset(
    {ReservationStatus.REJECTED, ReservationStatus.TIMEOUT, ReservationStatus.CANCELED, ReservationStatus.RESCINDED}
)

RESERVATION_TRANSITIONS: Mapping[ReservationStatus, frozenset[ReservationStatus]] = {
    ReservationStatus.PENDING: frozenset({ReservationStatus.ACCEPTED, *UNACCEPTED_END}),
    ReservationStatus.ACCEPTED: frozenset({ReservationStatus.WRAPPING, ReservationStatus.COMPLETED}),
    ReservationStatus.WRAPPING: frozenset({ReservationStatus.COMPLETED}),
    ReservationStatus.REJECTED: frozenset(),
    ReservationStatus.TIMEOUT: frozenset(),
    ReservationStatus.CANCELED: frozenset(),
    ReservationStatus.RESCINDED: frozenset(),
    ReservationStatus.COMPLETED: frozenset(),
}
# ReservationStatus values a worker (or admin) may set through the REST API.
RESERVATION_STATUSES_SET_BY_API = frozenset(
    {
        ReservationStatus.ACCEPTED,
        ReservationStatus.REJECTED,
        ReservationStatus.WRAPPING,
        ReservationStatus.COMPLETED,
    }
)


class InteractionChannelStatus(StrEnum):
    """Flex's channel status (`interaction_channel_enum_channel_status`)."""

    SETUP = "setup"
    ACTIVE = "active"
    FAILED = "failed"
    CLOSED = "closed"
    INACTIVE = "inactive"
    PAUSE = "pause"
    TRANSFER = "transfer"


# A channel in neither is open: bound to its conversation, where inbound messages find it (one per conversation).
ENDED_CHANNEL = frozenset({InteractionChannelStatus.CLOSED, InteractionChannelStatus.FAILED})


class ChannelUpdateStatus(StrEnum):
    """What `POST /Interactions/{KD}/Channels/{UO}` accepts as `Status`."""

    CLOSED = "closed"
    INACTIVE = "inactive"


class InteractionParticipantType(StrEnum):
    SUPERVISOR = "supervisor"
    CUSTOMER = "customer"
    EXTERNAL = "external"
    AGENT = "agent"
    UNKNOWN = "unknown"


class InteractionParticipantStatus(StrEnum):
    """`active` is Parley's state for a participant still in the channel; Twilio's update enum is wrapup/closed."""

    ACTIVE = "active"
    WRAPUP = "wrapup"
    CLOSED = "closed"


INTERACTION_PARTICIPANT_TRANSITIONS: Mapping[InteractionParticipantStatus, frozenset[InteractionParticipantStatus]] = {
    InteractionParticipantStatus.ACTIVE: frozenset(
        {InteractionParticipantStatus.WRAPUP, InteractionParticipantStatus.CLOSED}
    ),
    InteractionParticipantStatus.WRAPUP: frozenset({InteractionParticipantStatus.CLOSED}),
    InteractionParticipantStatus.CLOSED: frozenset(),
}


class TransferType(StrEnum):
    """`interaction_transfer_enum_transfer_type`: Parley carries out cold and warm; external is not offered."""

    WARM = "warm"
    COLD = "cold"
    EXTERNAL = "external"


class TransferStatus(StrEnum):
    ACTIVE = "active"  # waiting for the receiver to accept
    FAILED = "failed"  # declined, timed out, canceled by the sender, or the channel closed first
    COMPLETED = "completed"  # the receiver accepted and holds the customer


class ChannelRunStatus(StrEnum):
    """Where an InteractionChannel workflow is in its life (the Temporal UI's `ParleyStatus`)."""

    ACTIVE = "active"  # open, no task routed yet
    ROUTING = "routing"  # a task is pending or reserved
    ASSIGNED = "assigned"  # an agent holds the task
    WRAPPING = "wrapping"  # the agent is wrapping up
    TRANSFERRING = "transferring"  # a transfer waits for its receiver
    PARKED = "parked"  # tasks came and went; waiting for the customer
    INACTIVE = "inactive"  # parked for PARKED_CHANNEL_INACTIVE_AFTER; still re-engages
    FAILED = "failed"  # routing is misconfigured; the channel could not route
    CLOSED = "closed"


class ConversationState(StrEnum):
    INITIALIZING = "initializing"
    ACTIVE = "active"
    INACTIVE = "inactive"
    CLOSED = "closed"


class DeliveryStatus(StrEnum):
    """A message's delivery to one non-chat participant (a Receipt's `status`)."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNDELIVERED = "undelivered"

    @property
    def rank(self) -> int:
        """Progress: a receipt only moves forward (a late `sent` after `delivered` changes nothing); failed and
        undelivered are final."""
        return _DELIVERY_RANK[self]


_DELIVERY_RANK = {
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
    DeliveryStatus.UNDELIVERED: 4,
    DeliveryStatus.FAILED: 4,
}


class StateChangeReason(StrEnum):
    """Why a conversation changed state (`onConversationStateUpdated`'s `Reason`)."""

    API = "API"  # a REST update
    TIMER = "TIMER"  # Timers.Inactive / Timers.Closed ran out
    EVENT = "EVENT"  # something happened: a message re-activated it, its interaction channel closed


CONVERSATION_TRANSITIONS: Mapping[ConversationState, frozenset[ConversationState]] = {
    ConversationState.INITIALIZING: frozenset(
        {ConversationState.ACTIVE, ConversationState.INACTIVE, ConversationState.CLOSED}
    ),
    ConversationState.ACTIVE: frozenset({ConversationState.INACTIVE, ConversationState.CLOSED}),
    ConversationState.INACTIVE: frozenset({ConversationState.ACTIVE, ConversationState.CLOSED}),
    ConversationState.CLOSED: frozenset(),
}


def check_transition(table: Mapping[S, frozenset[S]], current: S, wanted: S, *, what: str) -> None:
    """Raise Conflict (409) unless `current → wanted` is in the transition table."""
    if wanted not in table.get(current, frozenset()):
        raise Conflict(f"{what} is {current}; it cannot become {wanted}")
