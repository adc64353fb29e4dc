"""Routing activities: the persistence steps of the Task and InteractionChannel workflows. Each is one use case
(storage/…/service.py, storage/taskrouter/routing.py), idempotent (keyed by SIDs minted in the workflow) so
Temporal's at-least-once retries are harmless. A routing configuration that cannot work is raised as a
non-retryable error: retrying would only repeat it forever."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.errors import Conflict, RoutingConfigurationError
from domain.limits import AGENT_PRESENCE_GRACE, DEFAULT_RESERVATION_TIMEOUT, WORKFLOW_TIMEOUT_REASON
from domain.routing import WorkflowConfigurationError, parse_workflow_configuration, plan_routing
from domain.routing.step import TaskStep
from domain.sids import SidPrefix
from domain.states import ReservationStatus, TaskStatus
from storage.attributes import attributes_of
from storage.db import Database, UnitOfWork
from storage.interactions import service as interactions
from storage.taskrouter import presence, routing
from storage.taskrouter.matching import reservation_created
from storage.taskrouter.tables import TaskRow, WorkflowRow
from workflows.contracts import (
    ROUTING_CONFIGURATION_ERROR,
    ActivityName,
    CancelTask,
    CloseChannelByPolicy,
    CompleteTask,
    CreateChannelTask,
    CreatedTask,
    EnteredStep,
    EnterRoutingStep,
    ReleasedAgents,
    ReservationRef,
    RoutingPlanResult,
    RoutingStepSpec,
    SetChannelStatus,
    TaskRef,
)


def _known_agent_step(attributes: dict, steps: list[RoutingStepSpec], created: float) -> RoutingStepSpec | None:
    """A returning customer's previous agent is offered the task alone for a while, in the first queue the
    workflow would use; then the workflow's own steps follow."""
    known = attributes.get("knownAgent")
    if not steps or not isinstance(known, dict) or not isinstance(known.get("worker_sid"), str):
        return None
    window = known.get("window")
    if not isinstance(window, int) or window <= 0:
        return None
    first = steps[0].step
    step = first.model_copy(
        update={"known_worker_sid": known["worker_sid"], "filter_name": "known agent", "skip_if": None}
    )
    return RoutingStepSpec(
        step=step,
        ends_at=created + window,
        label=f"the customer's previous agent {known['worker_sid']} first, for {window} s",
    )


class RoutingActivities:
    def __init__(self, db: Database, *, presence_grace: float = AGENT_PRESENCE_GRACE) -> None:
        self.db = db
        self.presence_grace = presence_grace

    @asynccontextmanager
    async def _unit(self) -> AsyncIterator[UnitOfWork]:
        try:
            async with self.db.unit() as uow:
                yield uow
        except RoutingConfigurationError as exc:
            raise ApplicationError(exc.message, type=ROUTING_CONFIGURATION_ERROR, non_retryable=True) from exc

    @activity.defn(name=ActivityName.PLAN_TASK_ROUTING)
    async def plan_task_routing(self, ref: TaskRef) -> RoutingPlanResult:
        async with self.db.read() as q:
            task = await q.one(TaskRow, "SELECT * FROM tasks WHERE sid = %s", (ref.task_sid,))
            if task is None:
                return RoutingPlanResult(steps=[], ttl_deadline=0, cancel_reason="Task no longer exists")
            workflow_row = (
                await q.one(WorkflowRow, "SELECT * FROM workflows WHERE sid = %s", (task.workflow_sid,))
                if task.workflow_sid
                else None
            )
        assert task.date_created is not None
        created = task.date_created.timestamp()
        ttl_deadline = created + task.timeout
        if not task.assignment_status.is_routable:
            final = task.assignment_status.is_final
            return RoutingPlanResult(
                steps=[],
                ttl_deadline=ttl_deadline,
                cancel_reason=None,
                final_status=task.assignment_status.value if final else None,
                requeue=not task.parks_channel,
            )
        if task.routing_target is not None:
            return self._direct_plan(task, workflow_row, ttl_deadline)
        if workflow_row is None:
            return RoutingPlanResult(steps=[], ttl_deadline=ttl_deadline, cancel_reason="Task has no workflow")
        try:
            config = parse_workflow_configuration(workflow_row.configuration)
        except WorkflowConfigurationError as exc:
            return RoutingPlanResult(
                steps=[], ttl_deadline=ttl_deadline, cancel_reason=f"Workflow configuration is invalid: {exc}"
            )
        attributes = attributes_of(task.attributes)
        plan = plan_routing(config, attributes)
        steps = [
            RoutingStepSpec(
                step=TaskStep.of(step, index=index, reservation_timeout=workflow_row.task_reservation_timeout),
                ends_at=None if step.cumulative_timeout is None else created + step.cumulative_timeout,
                label=f"queue {step.target.queue_sid}"
                + (f" (filter '{step.filter_friendly_name}')" if step.filter_friendly_name else ""),
            )
            for index, step in enumerate(plan.steps)
        ]
        known = _known_agent_step(attributes, steps, created)
        if known is not None:
            steps.insert(0, known)
            plan.reason.insert(0, known.label)
        async with self.db.unit() as uow:
            await routing.record_routing_plan(
                uow,
                task=task,
                workflow_name=workflow_row.friendly_name,
                reasons=list(plan.reason),
                has_targets=bool(steps),
            )
        if not steps:
            return RoutingPlanResult(
                steps=[],
                ttl_deadline=ttl_deadline,
                reasons=list(plan.reason),
                cancel_reason="No filter matched and the workflow has no default_filter",
            )
        return RoutingPlanResult(steps=steps, ttl_deadline=ttl_deadline, reasons=list(plan.reason))

    @staticmethod
    def _direct_plan(task: TaskRow, workflow_row: WorkflowRow | None, ttl_deadline: float) -> RoutingPlanResult:
        """A task routed straight to a worker or a queue (an invite or a transfer): one step, its queue, and for
        a worker the known-worker rule, waiting until the task's own timeout."""
        target = task.routing_target or ""
        to_worker = target.startswith(SidPrefix.WORKER)
        queue_sid = task.task_queue_sid if to_worker else target
        if not queue_sid:
            return RoutingPlanResult(steps=[], ttl_deadline=ttl_deadline, cancel_reason="Routing target has no queue")
        step = TaskStep(
            queue_sid=queue_sid,
            known_worker_sid=target if to_worker else None,
            ignore_capacity=to_worker and task.ignore_capacity,
            filter_name="routing target",
            reservation_timeout=workflow_row.task_reservation_timeout if workflow_row else DEFAULT_RESERVATION_TIMEOUT,
        )
        reason = f"routed straight to {'worker' if to_worker else 'queue'} {target}"
        return RoutingPlanResult(
            steps=[RoutingStepSpec(step=step, label=reason)], ttl_deadline=ttl_deadline, reasons=[reason]
        )

    @activity.defn(name=ActivityName.ENTER_ROUTING_STEP)
    async def enter_routing_step(self, request: EnterRoutingStep) -> EnteredStep:
        # Two transactions: placed in the step without the workspace lock, then offered under it, so that the
        # arrivals of a burst are placed side by side and share matching passes (routing.offer_in_step).
        async with self._unit() as uow:
            placed = await routing.place_in_step(uow, task_sid=request.task_sid, step=request.step)
        if placed is None:
            return EnteredStep()
        async with self._unit() as uow:
            entered = await routing.offer_in_step(
                uow, task_sid=request.task_sid, step=request.step, takes_reservations=request.takes_reservations
            )
        return EnteredStep(skipped=entered.skipped, reservations=[reservation_created(r) for r in entered.reservations])

    @activity.defn(name=ActivityName.TIMEOUT_RESERVATION)
    async def timeout_reservation(self, ref: ReservationRef) -> None:
        try:
            async with self._unit() as uow:
                await routing.update_reservation(
                    uow, reservation_sid=ref.reservation_sid, status=ReservationStatus.TIMEOUT
                )
        except Conflict:
            # Accepted or rejected before the timer fired: the agent won the race, nothing to do.
            activity.logger.info("reservation %s was no longer pending at its timeout", ref.reservation_sid)

    @activity.defn(name=ActivityName.CANCEL_TASK)
    async def cancel_task(self, request: CancelTask) -> None:
        try:
            async with self._unit() as uow:
                if request.reason == WORKFLOW_TIMEOUT_REASON:
                    await routing.cancel_on_workflow_timeout(uow, task_sid=request.task_sid)
                else:
                    await routing.update_task_status(
                        uow, task_sid=request.task_sid, status=TaskStatus.CANCELED, reason=request.reason
                    )
        except Conflict:
            activity.logger.info("task %s was no longer cancelable", request.task_sid)

    @activity.defn(name=ActivityName.RELEASE_ABSENT_AGENTS)
    async def release_absent_agents(self) -> ReleasedAgents:
        async with self._unit() as uow:
            released = await presence.release_absent(uow, grace_seconds=self.presence_grace)
        if released:
            activity.logger.info("agents %s vanished without signing out: set offline, chats re-queued", released)
        return ReleasedAgents(worker_sids=released)

    @activity.defn(name=ActivityName.COMPLETE_TASK)
    async def complete_task(self, request: CompleteTask) -> None:
        try:
            async with self._unit() as uow:
                await routing.update_task_status(
                    uow, task_sid=request.task_sid, status=TaskStatus.COMPLETED, reason=request.reason
                )
        except Conflict:
            activity.logger.info("task %s was no longer in wrap-up", request.task_sid)

    @activity.defn(name=ActivityName.CLOSE_CHANNEL_BY_POLICY)
    async def close_channel_by_policy(self, request: CloseChannelByPolicy) -> None:
        async with self._unit() as uow:
            await interactions.close_channel_by_policy(uow, channel_sid=request.channel_sid, reason=request.reason)

    @activity.defn(name=ActivityName.CREATE_CHANNEL_TASK)
    async def create_channel_task(self, request: CreateChannelTask) -> CreatedTask:
        async with self._unit() as uow:
            task = await interactions.create_channel_task(
                uow, channel_sid=request.channel_sid, task_sid=request.task_sid
            )
        return CreatedTask(
            task_sid=task.task_sid,
            workspace_sid=task.workspace_sid,
            created=task.created,
            channel_ended=task.channel_ended,
            wrapup_timeout=task.wrapup_timeout,
        )

    @activity.defn(name=ActivityName.SET_CHANNEL_STATUS)
    async def set_channel_status(self, request: SetChannelStatus) -> None:
        async with self._unit() as uow:
            await interactions.set_channel_status(
                uow,
                channel_sid=request.channel_sid,
                status=request.status,
                error_code=request.error_code,
                error_message=request.error_message,
            )
