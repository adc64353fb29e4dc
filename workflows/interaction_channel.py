"""InteractionChannelWorkflow: one per interaction channel (workflow id = the UO… SID), long-lived.

It outlives the tasks routed on it: when the customer writes on a parked channel it creates a new task, and the
API adds others (an invite, a transfer); each runs as a child TaskWorkflow (ABANDON, so continue-as-new never
kills it) that reports back by signal when an agent takes it, wraps it up, and when it ends. The channel keeps
its promise that nobody is left alone with no owner: when a task ends and nobody holds the customer any more
(it timed out, was canceled, a cold transfer found nobody, its agent went offline) the channel routes again, up
to MAX_CHANNEL_REQUEUES times, then closes by policy; a channel parked too long closes too. Its search
attributes and current details say where it is (routing, assigned, transferring, wrapping, parked) in words.
A routing configuration that cannot work leaves the channel `failed`, with the reason, instead of retrying."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

from domain.limits import MAX_CHANNEL_REQUEUES, PARKED_CHANNEL_CLOSE_AFTER, PARKED_CHANNEL_INACTIVE_AFTER
from domain.sids import SidPrefix, sid_from_uuid
from domain.states import ChannelRunStatus, InteractionChannelStatus, TaskStatus
from workflows import search_attributes as sa
from workflows.contracts import (
    ROUTING_CONFIGURATION_ERROR,
    ActivityName,
    ChannelInput,
    ChannelSnapshot,
    ChannelState,
    CloseChannel,
    CloseChannelByPolicy,
    CreateChannelTask,
    CreatedTask,
    CustomerMessage,
    OpenTask,
    Requeue,
    SetChannelStatus,
    TaskAdded,
    TaskEnded,
    TaskInput,
    TaskProgress,
)
from workflows.steps import run_step, run_step_for
from workflows.task import PATCH_STATUS_FOLLOWS, TaskWorkflow

SEEN_LIMIT = 200
# Histories recorded before the channel tracked every task, re-queued the unowned and closed by policy replay
# without it (workflow.patched): the README says how such a change is made to a long-lived workflow.
PATCH_LIFECYCLE = "channel-lifecycle-v2"
PATCH_PARKED_INACTIVE = "parked-goes-inactive"
# Twilio's "generic error" code for a failed channel; the message says what is misconfigured.
ROUTING_FAILED_CODE = 20001


def _configuration_error(error: BaseException | None) -> ApplicationError | None:
    """The non-retryable routing configuration error behind an activity failure, if that is what it was."""
    while error is not None:
        if isinstance(error, ApplicationError) and error.type == ROUTING_CONFIGURATION_ERROR:
            return error
        error = error.__cause__ or getattr(error, "cause", None)
    return None


@workflow.defn(name="InteractionChannel")
class InteractionChannelWorkflow:
    @workflow.init
    def __init__(self, input: ChannelInput) -> None:
        self.input = input
        self.state = input.state.model_copy(deep=True) if input.state else ChannelState()
        self.run_task_count = 0
        # What the active task's workflow last reported (assigned / wrapping); None while it is routing.
        self.agent_progress: TaskStatus | None = None
        self.failed = False
        self.failure = ""
        # While parked, the loop also wakes when the channel stops being parked (to drop the close timer).
        self.watch_parked = False

    def _lifecycle(self) -> bool:
        return workflow.patched(PATCH_LIFECYCLE)

    @workflow.signal
    def customer_message(self, message: CustomerMessage) -> None:
        if message.message_sid in self.state.seen_messages or self.state.closed:
            return
        self.state.seen_messages = [*self.state.seen_messages, message.message_sid][-SEEN_LIMIT:]
        # The message's transaction found nobody holding the customer; Postgres is ahead of this workflow (a
        # task's end reaches it a signal later), so since the lifecycle patch its word is taken: the routing
        # waits until no task here holds the customer, then starts (create_channel_task checks again).
        if (self.state.active_task_sid is None and not self.state.open_tasks) or self._lifecycle():
            self.state.route_requested = True
            # The customer is back: the count of re-queues with nobody there starts again.
            self.state.requeues = 0
            self.state.requeue_reason = None

    @workflow.signal
    def task_added(self, added: TaskAdded) -> None:
        if added.task_sid in self.state.finished_tasks or added.task_sid in self.state.open_tasks:
            return
        self.state.open_tasks[added.task_sid] = OpenTask(
            task_sid=added.task_sid,
            workspace_sid=added.workspace_sid,
            transfer_sid=added.transfer_sid,
            summary=added.summary,
        )
        released = added.released_task_sid
        if released is not None:
            if released == self.state.active_task_sid:
                self.agent_progress = TaskStatus.WRAPPING
            elif released in self.state.open_tasks:
                self.state.open_tasks[released].status = TaskStatus.WRAPPING.value
        self.state.route_requested = False
        self._publish()

    @workflow.signal
    def task_progress(self, progress: TaskProgress) -> None:
        open_task = self.state.open_tasks.get(progress.task_sid)
        if open_task is not None and self._lifecycle():
            open_task.status = progress.status
            open_task.worker_sid = progress.worker_sid
            open_task.queue_sid = progress.queue_sid
            if progress.status == TaskStatus.ASSIGNED.value:
                self.state.requeues = 0
                self.state.requeue_reason = None
                open_task.summary = ""
        if progress.task_sid == self.state.active_task_sid:
            self.agent_progress = TaskStatus(progress.status)
            self._publish()
        elif open_task is not None:
            self._publish()

    @workflow.signal
    def task_ended(self, ended: TaskEnded) -> None:
        if ended.task_sid not in self.state.finished_tasks:
            self.state.finished_tasks = [*self.state.finished_tasks, ended.task_sid][-SEEN_LIMIT:]
        was_open = self.state.open_tasks.pop(ended.task_sid, None) is not None
        if self.state.active_task_sid == ended.task_sid:
            self.state.active_task_sid = None
            self.agent_progress = None
            was_open = True
        if was_open and ended.status is TaskStatus.CANCELED and ended.requeue and self._lifecycle():
            self._requeue_if_unowned(f"task {ended.task_sid} ended {ended.status.value} with nobody holding it")
        if was_open:
            self._publish()

    @workflow.signal
    def requeue(self, request: Requeue) -> None:
        if request.ended_task_sid is not None:
            self.state.open_tasks.pop(request.ended_task_sid, None)
            if self.state.active_task_sid == request.ended_task_sid:
                self.state.active_task_sid = None
                self.agent_progress = None
        self._requeue_if_unowned(request.reason)
        self._publish()

    @workflow.signal
    def close(self, request: CloseChannel) -> None:
        self.state.closed = True

    @workflow.query
    def snapshot(self) -> ChannelSnapshot:
        return ChannelSnapshot(
            channel_sid=self.input.channel_sid,
            status=self._status(),
            active_task_sid=self.state.active_task_sid,
            task_count=self.state.task_count,
            run_task_count=self.run_task_count,
            open_tasks=list(self.state.open_tasks.values()),
            requeues=self.state.requeues,
            description=self._describe(),
        )

    def _holds_customer(self) -> bool:
        if self.state.active_task_sid is not None and self.agent_progress is not TaskStatus.WRAPPING:
            return True
        return any(t.holds_customer for t in self.state.open_tasks.values())

    def _requeue_if_unowned(self, reason: str) -> None:
        """Nobody holds the customer: route the channel again, or close it when that was tried too often."""
        if self.state.closed or self._holds_customer() or self.state.route_requested:
            return
        if self.state.requeues >= MAX_CHANNEL_REQUEUES:
            self.state.close_reason = f"closed by policy after {self.state.requeues} re-queues: {reason}"
            return
        self.state.requeues += 1
        self.state.requeue_reason = reason
        self.state.route_requested = True

    def _may_route(self) -> bool:
        """A new routing task may start: no task is active, or (since the lifecycle patch) none holds the
        customer, e.g. the only agent is in wrap-up after a cold transfer nobody took."""
        if self.state.active_task_sid is None:
            return True
        return bool(self.state.open_tasks) and not self._holds_customer() and self._lifecycle()

    def _has_work(self) -> bool:
        return (
            self.state.closed
            or self.state.close_reason is not None
            or bool(self._unstarted())
            or (self.state.route_requested and self._may_route())
            or self._should_continue_as_new()
            or (self.watch_parked and not self._parked())
        )

    def _unstarted(self) -> list[OpenTask]:
        return [t for t in self.state.open_tasks.values() if not t.started]

    def _parked(self) -> bool:
        return self.state.task_count > 0 and not self.state.open_tasks and self.state.active_task_sid is None

    @workflow.run
    async def run(self, input: ChannelInput) -> str:
        self._publish()
        lifecycle = self._lifecycle()
        while True:
            parked = lifecycle and self._parked()
            # Parked: first the channel goes inactive (PARKED_CHANNEL_INACTIVE_AFTER), then it closes.
            goes_inactive = parked and not self.state.inactive and workflow.patched(PATCH_PARKED_INACTIVE)
            if goes_inactive:
                parked_timeout: timedelta | None = timedelta(seconds=PARKED_CHANNEL_INACTIVE_AFTER)
            elif parked and self.state.inactive:
                parked_timeout = timedelta(seconds=PARKED_CHANNEL_CLOSE_AFTER - PARKED_CHANNEL_INACTIVE_AFTER)
            else:
                parked_timeout = timedelta(seconds=PARKED_CHANNEL_CLOSE_AFTER) if parked else None
            self.watch_parked = parked_timeout is not None
            try:
                await workflow.wait_condition(
                    self._has_work,
                    timeout=parked_timeout,
                    timeout_summary=(
                        ("parked channel goes inactive" if goes_inactive else "parked channel closes by policy")
                        if parked_timeout
                        else None
                    ),
                )
            except TimeoutError:
                if goes_inactive:
                    await run_step(
                        ActivityName.SET_CHANNEL_STATUS,
                        SetChannelStatus(channel_sid=input.channel_sid, status=InteractionChannelStatus.INACTIVE),
                    )
                    self.state.inactive = True
                    self._publish()
                    continue
                self.state.close_reason = f"closed by policy: parked for {PARKED_CHANNEL_CLOSE_AFTER} s"
            if self.state.closed:
                break
            if self.state.close_reason is not None:
                await run_step(
                    ActivityName.CLOSE_CHANNEL_BY_POLICY,
                    CloseChannelByPolicy(channel_sid=input.channel_sid, reason=self.state.close_reason),
                )
                self.state.closed = True
                break
            if self._unstarted():
                for open_task in self._unstarted():
                    await self._start_task(open_task.task_sid, open_task.workspace_sid, None)
                    open_task.started = True
                    self.state.active_task_sid = self.state.active_task_sid or open_task.task_sid
                self._publish()
            elif self.state.route_requested and self._may_route():
                if not await self._route_new_task():
                    return await self._fail()
            elif self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(input.model_copy(update={"state": self.state}))
        await run_step(
            ActivityName.SET_CHANNEL_STATUS,
            SetChannelStatus(channel_sid=input.channel_sid, status=InteractionChannelStatus.CLOSED),
        )
        self._publish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "closed"

    async def _route_new_task(self) -> bool:
        """Create the channel's next task and start its workflow; False if the routing cannot work."""
        self.state.route_requested = False
        task_sid = sid_from_uuid(SidPrefix.TASK, workflow.uuid4())
        try:
            created = await run_step_for(
                ActivityName.CREATE_CHANNEL_TASK,
                CreateChannelTask(
                    account_sid=self.input.account_sid, channel_sid=self.input.channel_sid, task_sid=task_sid
                ),
                CreatedTask,
            )
        except (ActivityError, ApplicationError) as error:
            failure = _configuration_error(error)
            if failure is None:
                raise
            self.failure = failure.message
            return False
        if created.channel_ended or created.task_sid in self.state.finished_tasks:
            return True
        if not created.created and self._lifecycle():
            # Someone else's task holds the customer already (its workflow reports to us); nothing to start.
            return True
        self.state.active_task_sid = created.task_sid
        if created.created:
            if self._lifecycle():
                self.state.open_tasks[created.task_sid] = OpenTask(
                    task_sid=created.task_sid,
                    workspace_sid=created.workspace_sid,
                    summary=(self.state.requeue_reason and f"re-queued: {self.state.requeue_reason}") or "",
                    started=True,
                )
            await self._start_task(created.task_sid, created.workspace_sid, created.wrapup_timeout)
        self._publish()
        return True

    async def _start_task(self, task_sid: str, workspace_sid: str, wrapup_timeout: int | None) -> None:
        self.state.inactive = False  # re-engaged: the task's creation made the channel active again
        self.state.task_count += 1
        self.run_task_count += 1
        await workflow.start_child_workflow(
            TaskWorkflow.run,
            TaskInput(
                account_sid=self.input.account_sid,
                task_sid=task_sid,
                workspace_sid=workspace_sid,
                channel_sid=self.input.channel_sid,
                conversation_sid=self.input.conversation_sid,
                wrapup_timeout=wrapup_timeout,
            ),
            id=task_sid,
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary=f"Task {task_sid} for channel {self.input.channel_sid}",
        )

    async def _fail(self) -> str:
        """The channel's routing is misconfigured: say so on the channel (status failed, with the reason) and end.
        The conversation stays open; the customer's next message opens a new channel once it is fixed."""
        self.failed = True
        await run_step(
            ActivityName.SET_CHANNEL_STATUS,
            SetChannelStatus(
                channel_sid=self.input.channel_sid,
                status=InteractionChannelStatus.FAILED,
                error_code=ROUTING_FAILED_CODE,
                error_message=self.failure,
            ),
        )
        self._publish()
        workflow.set_current_details(f"Channel {self.input.channel_sid} · failed · {self.failure}")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "failed"

    def _should_continue_as_new(self) -> bool:
        return workflow.info().is_continue_as_new_suggested()

    def _transfer(self) -> OpenTask | None:
        return next((t for t in self.state.open_tasks.values() if t.transfer_sid and t.holds_customer), None)

    def _status(self) -> ChannelRunStatus:
        if self.state.closed:
            return ChannelRunStatus.CLOSED
        if self.failed:
            return ChannelRunStatus.FAILED
        transfer = self._transfer()
        if transfer is not None and transfer.status != TaskStatus.ASSIGNED.value:
            return ChannelRunStatus.TRANSFERRING
        statuses = {t.status for t in self.state.open_tasks.values()}
        if self.agent_progress is TaskStatus.ASSIGNED or TaskStatus.ASSIGNED.value in statuses:
            return ChannelRunStatus.ASSIGNED
        if self.state.active_task_sid is not None or self.state.open_tasks:
            if self.agent_progress is TaskStatus.WRAPPING or statuses == {TaskStatus.WRAPPING.value}:
                return ChannelRunStatus.WRAPPING
            return ChannelRunStatus.ROUTING
        if self.state.inactive:
            return ChannelRunStatus.INACTIVE
        return ChannelRunStatus.PARKED if self.state.task_count else ChannelRunStatus.ACTIVE

    def _describe(self) -> str:
        """The channel in words, for the Temporal UI's current details."""
        status = self._status()
        words = f"Channel {self.input.channel_sid} · conversation {self.input.conversation_sid} · {status.value}"
        transfer = self._transfer()
        if transfer is not None and transfer.summary:
            words += f" · {transfer.summary}"
        elif status is ChannelRunStatus.ROUTING and self.state.requeue_reason:
            words += f" · re-queued ({self.state.requeues}/{MAX_CHANNEL_REQUEUES}): {self.state.requeue_reason}"
        agents = sorted({t.worker_sid for t in self.state.open_tasks.values() if t.worker_sid})
        if agents:
            words += f" · agents {', '.join(agents)}"
        return f"{words} · {self.state.task_count} task(s)"

    def _publish(self) -> None:
        updates = [
            sa.ACCOUNT_SID.value_set(self.input.account_sid),
            sa.CHANNEL_TYPE.value_set(self.input.channel_type),
            sa.STATUS.value_set(self._status().value),
        ]
        if workflow.patched(PATCH_STATUS_FOLLOWS):
            updates.append(sa.CONVERSATION_SID.value_set(self.input.conversation_sid))
        if self.state.open_tasks and self._lifecycle():
            newest = list(self.state.open_tasks.values())[-1]
            updates.append(sa.TASK_STATUS.value_set(newest.status))
            if newest.worker_sid:
                updates.append(sa.WORKER_SID.value_set(newest.worker_sid))
            if newest.queue_sid:
                updates.append(sa.QUEUE_SID.value_set(newest.queue_sid))
        workflow.upsert_search_attributes(updates)
        workflow.set_current_details(self._describe())
