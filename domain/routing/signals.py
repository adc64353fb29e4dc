"""What routing transactions tell a Task workflow (its `routing_event` signal), carried through the outbox."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class RoutingEventKind(StrEnum):
    RESERVATION_CREATED = "reservation_created"
    RESERVATION_ENDED = "reservation_ended"
    TASK_ASSIGNED = "task_assigned"
    TASK_WRAPPING = "task_wrapping"
    TASK_COMPLETED = "task_completed"
    TASK_CANCELED = "task_canceled"
    # The task's attributes or its workflow's configuration changed: route it again from its first step.
    RE_EVALUATE = "re_evaluate"


class RoutingEvent(BaseModel):
    kind: RoutingEventKind
    reservation_sid: str | None = None
    worker_sid: str | None = None
    status: str | None = None
    timeout: int | None = None
    created_at: float | None = None
    # Seconds the reservation had already existed when the signal was handed to Temporal (outbox lag).
    age: float | None = None
    # TASK_CANCELED: whether the task's interaction channel routes the customer again (a timeout, a cancel
    # without a reason) or parks until the customer writes (a person canceled it and said why).
    requeue: bool = True
