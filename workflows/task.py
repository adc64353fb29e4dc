"""TaskWorkflow: one TaskRouter task from creation to completion.

It walks the routing plan's steps (filters and targets with cumulative timeouts), owns every pending
reservation's timeout, and waits through assignment and wrap-up. Matching itself happens in Postgres
(storage/matching.py); this workflow learns about reservations and task changes by `routing_event` signals
written to the outbox in the same transaction, so a crash between the two loses nothing."""

from __future__ import annotations

from temporalio import workflow

from workflows import search_attributes as sa
from workflows.contracts import (
    ActivityName,
    CancelTask,
    EnterRoutingStep,
    ReservationRef,
    RoutingEvent,
    RoutingEventKind,
    RoutingPlanResult,
    TaskEnded,
    TaskInput,
    TaskRef,
    TaskSnapshot,
)
from workflows.steps import run_step, run_step_for

ROUTABLE = ("pending", "reserved")
FINAL = ("completed", "canceled")


@workflow.defn(name="Task")
class TaskWorkflow:
    @workflow.init
    def __init__(self, input: TaskInput) -> None:
        self.input = input
        self.status = "pending"
        self.step_index = -1
        self.pending: dict[str, float] = {}
        self.ended: set[str] = set()
        self.worker_sid: str | None = None
        self.changed = False

    @workflow.signal
    def routing_event(self, event: RoutingEvent) -> None:
        self.changed = True
        if event.kind is RoutingEventKind.RESERVATION_CREATED and event.reservation_sid:
            if event.reservation_sid not in self.ended and self.status in ROUTABLE:
                # The deadline lives on the workflow's clock: now + timeout, less the time the signal spent
                # in the outbox, so a late hand-off does not extend the agent's window.
                remaining = (event.timeout or 120) - max(event.age or 0.0, 0.0)
                self.pending[event.reservation_sid] = workflow.now().timestamp() + remaining
                self.status = "reserved"
        elif event.kind is RoutingEventKind.RESERVATION_ENDED and event.reservation_sid:
            self.ended.add(event.reservation_sid)
            self.pending.pop(event.reservation_sid, None)
            if not self.pending and self.status == "reserved":
                self.status = "pending"
        elif event.kind is RoutingEventKind.TASK_ASSIGNED:
            if self.status in ROUTABLE:
                self.status = "assigned"
            self.worker_sid = event.worker_sid
            self.pending.clear()
        elif event.kind is RoutingEventKind.TASK_WRAPPING:
            if self.status not in FINAL:
                self.status = "wrapping"
        elif event.kind is RoutingEventKind.TASK_COMPLETED:
            self.status = "completed"
            self.pending.clear()
        elif event.kind is RoutingEventKind.TASK_CANCELED:
            self.status = "canceled"
            self.pending.clear()

    @workflow.query
    def snapshot(self) -> TaskSnapshot:
        return TaskSnapshot(
            task_sid=self.input.task_sid,
            status=self.status,
            step_index=self.step_index,
            pending_reservations=dict(self.pending),
            worker_sid=self.worker_sid,
        )

    @workflow.run
    async def run(self, input: TaskInput) -> str:
        self._publish()
        plan: RoutingPlanResult = await run_step_for(
            ActivityName.PLAN_TASK_ROUTING, TaskRef(task_sid=input.task_sid), RoutingPlanResult
        )
        if plan.cancel_reason is not None:
            await self._cancel(plan.cancel_reason)
        else:
            await self._route(plan)
        await workflow.wait_condition(lambda: self.status in FINAL)
        self._publish()
        if input.channel_sid is not None:
            parent = workflow.get_external_workflow_handle(input.channel_sid)
            await parent.signal("task_ended", TaskEnded(task_sid=input.task_sid, status=self.status))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    async def _route(self, plan: RoutingPlanResult) -> None:
        for index, spec in enumerate(plan.steps):
            if self.status not in ROUTABLE:
                return
            self.step_index = index
            workflow.set_current_details(f"Routing step {index + 1}/{len(plan.steps)}: {spec.label}")
            await run_step(
                ActivityName.ENTER_ROUTING_STEP, EnterRoutingStep(task_sid=self.input.task_sid, step=spec.step)
            )
            self._publish(queue_sid=spec.step.get("queue_sid"))
            while self.status in ROUTABLE:
                now = workflow.now().timestamp()
                for reservation_sid in [r for r, deadline in self.pending.items() if deadline <= now]:
                    self.pending.pop(reservation_sid, None)
                    self.ended.add(reservation_sid)
                    await run_step(ActivityName.TIMEOUT_RESERVATION, ReservationRef(reservation_sid=reservation_sid))
                if now >= plan.ttl_deadline:
                    await self._cancel("Task TTL Exceeded")
                    return
                step_over = spec.ends_at is not None and now >= spec.ends_at
                if step_over and not self.pending:
                    break
                deadlines = [*self.pending.values(), plan.ttl_deadline]
                if spec.ends_at is not None and not step_over:
                    deadlines.append(spec.ends_at)
                self.changed = False
                try:
                    await workflow.wait_condition(
                        lambda: self.changed,
                        timeout=max(min(deadlines) - now, 0.001),
                        timeout_summary="next reservation, step or TTL deadline",
                    )
                except TimeoutError:
                    pass
        if self.status in ROUTABLE:
            await self._cancel("Workflow Timeout")

    async def _cancel(self, reason: str) -> None:
        await run_step(ActivityName.CANCEL_TASK, CancelTask(task_sid=self.input.task_sid, reason=reason))
        # The activity's commit also signals us; don't wait for that round trip to know we're done.
        if self.status in ROUTABLE:
            self.status = "canceled"

    def _publish(self, *, queue_sid: str | None = None) -> None:
        updates = [sa.TASK_STATUS.value_set(self.status), sa.ACCOUNT_SID.value_set(self.input.account_sid)]
        if queue_sid:
            updates.append(sa.QUEUE_SID.value_set(queue_sid))
        if self.worker_sid:
            updates.append(sa.WORKER_SID.value_set(self.worker_sid))
        workflow.upsert_search_attributes(updates)
