"""The routing decision record kept with every reservation: the step, every candidate considered, why each
was excluded and why the winner won. Stored as JSON on the reservation; answers "why did this go to Bob?"."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Exclusion(StrEnum):
    """Why a queue member was not offered the task, in the order the rules are checked."""

    KNOWN_WORKER_UNRESOLVED = "known_worker_unresolved"
    NOT_THE_KNOWN_WORKER = "not_the_known_worker"
    HOLDS_RESERVATION = "holds_reservation"
    ACTIVITY_UNAVAILABLE = "activity_unavailable"
    NO_WORKER_CHANNEL = "no_worker_channel"
    CHANNEL_UNAVAILABLE = "channel_unavailable"
    AT_CAPACITY = "at_capacity"
    SINGLE_TASKING_BUSY = "single_tasking_busy"
    EXPRESSION_FALSE = "expression_false"
    DECLINED_BEFORE = "declined_before"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class StepSummary(_Record):
    queue_sid: str
    filter_index: int | None
    filter_name: str | None
    target_index: int
    step_index: int
    expression: str | None
    order_by: list[str]


class CandidateVerdict(_Record):
    worker_sid: str
    friendly_name: str
    # None when the worker was eligible (whether or not it was the one chosen).
    excluded_because: str | None
    exclusion: Exclusion | None = None


class ChosenWorker(_Record):
    worker_sid: str
    friendly_name: str
    rank: int
    why: str


class RoutingDecision(_Record):
    step: StepSummary
    summary: str
    candidates: list[CandidateVerdict]
    candidates_total: int
    eligible: int
    # The worker this record's reservation went to; None in the record of a task that is still waiting.
    chosen: ChosenWorker | None = None
