"""The events of the realtime streams (docs/realtime.md): a conversation stream (CH…) and a worker stream (WK…)."""

from __future__ import annotations

from enum import StrEnum


class StreamEvent(StrEnum):
    # conversation streams
    MESSAGE_ADDED = "message.added"
    MESSAGE_UPDATED = "message.updated"
    MESSAGE_REMOVED = "message.removed"
    PARTICIPANT_ADDED = "participant.added"
    PARTICIPANT_UPDATED = "participant.updated"
    PARTICIPANT_REMOVED = "participant.removed"
    CONVERSATION_UPDATED = "conversation.updated"
    CONVERSATION_STATE_UPDATED = "conversation.state_updated"
    TYPING = "typing"  # ephemeral: live subscribers only, no seq
    # worker streams
    RESERVATION_CREATED = "reservation.created"
    RESERVATION_ACCEPTED = "reservation.accepted"
    RESERVATION_REJECTED = "reservation.rejected"
    RESERVATION_TIMEOUT = "reservation.timeout"
    RESERVATION_CANCELED = "reservation.canceled"
    RESERVATION_RESCINDED = "reservation.rescinded"
    RESERVATION_WRAPPING = "reservation.wrapping"
    RESERVATION_COMPLETED = "reservation.completed"
    WORKER_ACTIVITY_UPDATE = "worker.activity.update"

    @classmethod
    def for_reservation(cls, status: str) -> StreamEvent:
        return cls(f"reservation.{status}")
