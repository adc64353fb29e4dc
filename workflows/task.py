"""TaskWorkflow: one TaskRouter task from creation to completion.

It walks the routing plan's steps (filters and targets with cumulative timeouts, skipping a step whose
`skip_if` holds), owns every pending reservation's timeout, and waits through assignment and wrap-up.
Matching itself happens in Postgres (storage/taskrouter/matching.py); this workflow learns about reservations
and task changes by `routing_event` signals written to the outbox in the same transaction, so a crash between
the two loses nothing. Every status change is reflected in its search attributes and reported to the
interaction channel it serves."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import TemporalError

from domain.limits import (
    DEFAULT_RESERVATION_TIMEOUT,
    TASK_TTL_REASON,
    WORKFLOW_TIMEOUT_REASON,
    WRAPUP_TIMEOUT_REASON,
)
from domain.states import TaskStatus
from workflows import search_attributes as sa
from workflows.contracts import (
    ActivityName,
    CancelTask,
    CompleteTask,
    EnteredStep,
    EnterRoutingStep,
    ReservationRef,
    RoutingEvent,
    RoutingEventKind,
    RoutingPlanResult,
    RoutingStepSpec,
    TaskEnded,
    TaskInput,
    TaskProgress,
    TaskRef,
    TaskSnapshot,
)
from workflows.steps import run_step, run_step_for

# Histories recorded before these behaviours existed replay without them (workflow.patched).
PATCH_STATUS_FOLLOWS = "status-follows-every-change"
PATCH_SKIP_IF = "skip-if"
# One patch for two savings (each patch costs every new workflow a TemporalChangeVersion upsert):
# - the step's answer carries the task's pending reservations, and the ones its own matching pass made are not
#   signalled back (one signal and one workflow task less per routed task);
# - search attributes are upserted only when they change, and not before the first step is entered (planning
#   and entering run in the same workflow task, so that upsert was never seen); each upsert is a history event
#   and a visibility write.
PATCH_LEAN_ROUTING = "lean-routing"


@workflow.defn(name="Task")
class TaskWorkflow:
    @workflow.init
    def __init__(self, input: TaskInput) -> None:
        self.input = input
        self.status = TaskStatus.PENDING
        self.step_index = -1
        self.step_label = ""
        self.queue_sid: str | None = None
        self.pending: dict[str, float] = {}
        self.ended: set[str] = set()
        self.worker_sid: str | None = None
        self.changed = False
        # A canceled task's channel routes again unless a person canceled it (RoutingEvent.requeue).
        self.requeue = True
        # The task's attributes or its workflow changed (ReEvaluateTasks): plan its routing again once no
        # reservation of it is pending.
        self.reevaluate = False
        self.reports: set[asyncio.Task[None]] = set()
        self.published: tuple[tuple[str, object], ...] | None = None

    def _reserved(self, event: RoutingEvent, age: float) -> None:
        """A reservation of this task was made: its deadline lives on the workflow's clock, now + timeout less
        `age` (how long it already existed), so a late hand-off does not extend the agent's window."""
        if event.reservation_sid and event.reservation_sid not in self.ended and self.status.is_routable:
            remaining = (event.timeout or DEFAULT_RESERVATION_TIMEOUT) - max(age, 0.0)
            self.pending[event.reservation_sid] = workflow.now().timestamp() + remaining
            self.status = TaskStatus.RESERVED

    @workflow.signal
    def routing_event(self, event: RoutingEvent) -> None:
        self.changed = True
        before = self.status
        if event.kind is RoutingEventKind.RESERVATION_CREATED and event.reservation_sid:
            self._reserved(event, event.age or 0.0)
        elif event.kind is RoutingEventKind.RESERVATION_ENDED and event.reservation_sid:
            self.ended.add(event.reservation_sid)
            self.pending.pop(event.reservation_sid, None)
            if not self.pending and self.status is TaskStatus.RESERVED:
                self.status = TaskStatus.PENDING
        elif event.kind is RoutingEventKind.TASK_ASSIGNED:
            if self.status.is_routable:
                self.status = TaskStatus.ASSIGNED
            self.worker_sid = event.worker_sid
            self.pending.clear()
        elif event.kind is RoutingEventKind.TASK_WRAPPING:
            if not self.status.is_final:
                self.status = TaskStatus.WRAPPING
        elif event.kind is RoutingEventKind.TASK_COMPLETED:
            self.status = TaskStatus.COMPLETED
            self.pending.clear()
        elif event.kind is RoutingEventKind.TASK_CANCELED:
            self.status = TaskStatus.CANCELED
            self.requeue = event.requeue
            self.pending.clear()
        elif event.kind is RoutingEventKind.RE_EVALUATE:
            self.reevaluate = self.status.is_routable
        if self.status is not before:
            self._describe()
            if not self.status.is_final and workflow.patched(PATCH_STATUS_FOLLOWS):
                self._publish()
                if self.status in (TaskStatus.ASSIGNED, TaskStatus.WRAPPING) and self.input.channel_sid:
                    # Not awaited in the handler: a signal handler must not block on another workflow.
                    report = asyncio.create_task(self._report_progress(self.input.channel_sid))
                    self.reports.add(report)
                    report.add_done_callback(self.reports.discard)

    @workflow.query
    def snapshot(self) -> TaskSnapshot:
        return TaskSnapshot(
            task_sid=self.input.task_sid,
            status=self.status.value,
            step_index=self.step_index,
            pending_reservations=dict(self.pending),
            worker_sid=self.worker_sid,
        )

    @workflow.run
    async def run(self, input: TaskInput) -> str:
        if not workflow.patched(PATCH_LEAN_ROUTING):
            self._publish()
        while True:
            plan: RoutingPlanResult = await run_step_for(
                ActivityName.PLAN_TASK_ROUTING, TaskRef(task_sid=input.task_sid), RoutingPlanResult
            )
            self.reevaluate = False
            if plan.final_status is not None and not self.status.is_final:
                # Ended before this workflow ran: the signal that would have said so found no workflow.
                self.status = TaskStatus(plan.final_status)
                self.requeue = plan.requeue
                self.pending.clear()
            if plan.cancel_reason is not None:
                await self._cancel(plan.cancel_reason)
                break
            if not await self._route(plan):
                break
            # Re-evaluation: the same task, planned again with its new attributes or workflow.
            self.step_index = -1
        if input.wrapup_timeout is not None:
            await self._wrap_up_within(input.wrapup_timeout)
        await workflow.wait_condition(lambda: self.status.is_final)
        self._describe()
        self._publish()
        if input.channel_sid is not None:
            parent = workflow.get_external_workflow_handle(input.channel_sid)
            ended = TaskEnded(task_sid=input.task_sid, status=self.status, requeue=self.requeue)
            await parent.signal("task_ended", ended)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status.value

    async def _route(self, plan: RoutingPlanResult) -> bool:
        """Walk the plan's steps; True when the task is to be planned again (re-evaluation)."""
        for index, spec in enumerate(plan.steps):
            if not self.status.is_routable:
                return False
            self.step_index = index
            self.step_label = f"routing step {index + 1}/{len(plan.steps)}: {spec.label}"
            self.queue_sid = spec.step.queue_sid
            self._describe()
            if await self._enter(spec):
                continue  # skip_if held: straight on to the next step
            self._publish()
            while self.status.is_routable:
                now = workflow.now().timestamp()
                for reservation_sid in [r for r, deadline in self.pending.items() if deadline <= now]:
                    self.pending.pop(reservation_sid, None)
                    self.ended.add(reservation_sid)
                    await run_step(ActivityName.TIMEOUT_RESERVATION, ReservationRef(reservation_sid=reservation_sid))
                if now >= plan.ttl_deadline:
                    await self._cancel(TASK_TTL_REASON)
                    return False
                if self.reevaluate and not self.pending and self.status.is_routable:
                    return True
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
        if self.status.is_routable:
            await self._cancel(WORKFLOW_TIMEOUT_REASON)
        return False

    async def _wrap_up_within(self, seconds: int) -> None:
        """An agent in wrap-up for longer than the channel allows has its task completed for it."""
        await workflow.wait_condition(lambda: self.status.is_final or self.status is TaskStatus.WRAPPING)
        if self.status.is_final:
            return
        try:
            await workflow.wait_condition(
                lambda: self.status.is_final, timeout=seconds, timeout_summary="wrap-up timeout"
            )
        except TimeoutError:
            await run_step(
                ActivityName.COMPLETE_TASK, CompleteTask(task_sid=self.input.task_sid, reason=WRAPUP_TIMEOUT_REASON)
            )

    async def _enter(self, spec: RoutingStepSpec) -> bool:
        """Enter a step; True when its skip_if held and no reservation could be made at once."""
        request = EnterRoutingStep(task_sid=self.input.task_sid, step=spec.step)
        if not workflow.patched(PATCH_SKIP_IF):
            await run_step(ActivityName.ENTER_ROUTING_STEP, request)
            return False
        takes = workflow.patched(PATCH_LEAN_ROUTING)
        entered = await run_step_for(
            ActivityName.ENTER_ROUTING_STEP, request.model_copy(update={"takes_reservations": takes}), EnteredStep
        )
        if takes:
            now = workflow.now().timestamp()
            for event in entered.reservations:
                # Made during this step's activity (or an earlier try of it): aged by the time since then.
                self._reserved(event, now - event.created_at if event.created_at is not None else 0.0)
            if self.status is TaskStatus.RESERVED:
                self._describe()
        return entered.skipped

    async def _cancel(self, reason: str) -> None:
        await run_step(ActivityName.CANCEL_TASK, CancelTask(task_sid=self.input.task_sid, reason=reason))
        # The activity's commit also signals us; don't wait for that round trip to know we're done.
        if self.status.is_routable:
            self.status = TaskStatus.CANCELED

    def _describe(self) -> None:
        """The Temporal UI's "current details": where the task is now, in words."""
        if self.status.is_routable:
            details = f"Task {self.input.task_sid} · {self.status.value} · {self.step_label or 'planning routing'}"
        elif self.worker_sid:
            details = f"Task {self.input.task_sid} · {self.status.value} · worker {self.worker_sid}"
        else:
            details = f"Task {self.input.task_sid} · {self.status.value}"
        workflow.set_current_details(details)

    def _publish(self) -> None:
        updates = [sa.TASK_STATUS.value_set(self.status.value), sa.ACCOUNT_SID.value_set(self.input.account_sid)]
        if self.queue_sid:
            updates.append(sa.QUEUE_SID.value_set(self.queue_sid))
        if self.worker_sid:
            updates.append(sa.WORKER_SID.value_set(self.worker_sid))
        if self.input.conversation_sid:
            updates.append(sa.CONVERSATION_SID.value_set(self.input.conversation_sid))
        if workflow.patched(PATCH_LEAN_ROUTING):
            values = tuple((u.key.name, u.value) for u in updates)
            if values == self.published:
                return
            self.published = values
        workflow.upsert_search_attributes(updates)

    async def _report_progress(self, channel_sid: str) -> None:
        """Tell the interaction channel an agent holds (or is wrapping up) its task, so its status follows.
        The signal reaches the channel's current run even after it continued as new."""
        progress = TaskProgress(
            task_sid=self.input.task_sid, status=self.status.value, worker_sid=self.worker_sid, queue_sid=self.queue_sid
        )
        try:
            await workflow.get_external_workflow_handle(channel_sid).signal("task_progress", progress)
        except TemporalError:
            workflow.logger.info("channel %s did not take task progress (it has ended)", channel_sid)
