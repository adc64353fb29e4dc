"""The routing step a task waits in: one workflow target with its position in the plan, as stored on the task
(`tasks.routing_step`) and handed between the Task workflow and its activities."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.limits import DEFAULT_RESERVATION_TIMEOUT, MAX_PRIORITY, MAX_RESERVATION_TIMEOUT
from domain.routing.workflow_config import OrderClause, RoutingStep, SortDirection


class TaskStep(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    queue_sid: str
    expression: str | None = None
    priority: int | None = Field(default=None, ge=0, le=MAX_PRIORITY)
    order_by: list[OrderClause] = Field(default_factory=list)
    skip_if: str | None = None
    known_worker_sid: str | None = None
    known_worker_friendly_name: str | None = None
    filter_index: int | None = None
    filter_name: str | None = None
    target_index: int = 0
    step_index: int = 0
    reservation_timeout: int = Field(default=DEFAULT_RESERVATION_TIMEOUT, ge=1, le=MAX_RESERVATION_TIMEOUT)
    # A task routed straight to its known worker with `IgnoreCapacity`: offered whatever the worker's activity,
    # channel availability and load (Twilio's documented exception to the capacity rule).
    ignore_capacity: bool = False

    @model_validator(mode="before")
    @classmethod
    def _accept_first_slice_order_by(cls, data: Any) -> Any:
        """Steps recorded by the first slice wrote order_by as [{"key", "descending"}]; read them unchanged."""
        if isinstance(data, dict) and isinstance(data.get("order_by"), list):
            clauses = []
            for clause in data["order_by"]:
                if isinstance(clause, dict) and "key" in clause:
                    direction = SortDirection.DESC if clause.get("descending") else SortDirection.ASC
                    clauses.append({"attribute": clause["key"], "direction": direction})
                else:
                    clauses.append(clause)
            data = {**data, "order_by": clauses}
        return data

    @property
    def has_known_worker(self) -> bool:
        return self.known_worker_sid is not None or self.known_worker_friendly_name is not None

    @property
    def label(self) -> str:
        """How the decision record and the Temporal UI name this step."""
        where = f"filter {self.filter_name!r}" if self.filter_name else f"filter {self.filter_index}"
        if self.filter_index is None:
            where = "default_filter"
        return f"queue {self.queue_sid} ({where}, target {self.target_index})"

    @classmethod
    def of(cls, step: RoutingStep, *, index: int, reservation_timeout: int) -> TaskStep:
        target = step.target
        return cls(
            queue_sid=target.queue_sid,
            expression=target.expression,
            priority=target.priority,
            order_by=list(target.order_by),
            skip_if=target.skip_if,
            known_worker_sid=target.known_worker_sid,
            known_worker_friendly_name=target.known_worker_friendly_name,
            filter_index=step.filter_index,
            filter_name=step.filter_friendly_name,
            target_index=step.target_index,
            step_index=index,
            reservation_timeout=reservation_timeout,
        )
