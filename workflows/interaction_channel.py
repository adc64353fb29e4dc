"""InteractionChannelWorkflow: one per interaction channel (workflow id = the UO… SID), long-lived.

It outlives the tasks routed on it: when the customer writes on a parked channel it creates a new task and
starts a child TaskWorkflow (ABANDON, so continue-as-new never kills it), which reports back by signal: when an
agent takes the task, wraps it up, and when it ends. Its search attributes say where it is (routing, assigned,
wrapping, parked) and which conversation it serves. A routing configuration that cannot work leaves the channel
`failed`, with the reason, instead of retrying forever."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

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
    CreateChannelTask,
    CreatedTask,
    CustomerMessage,
    SetChannelStatus,
    TaskEnded,
    TaskInput,
    TaskProgress,
)
from workflows.steps import run_step, run_step_for
from workflows.task import PATCH_STATUS_FOLLOWS, TaskWorkflow

SEEN_LIMIT = 200
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

    @workflow.signal
    def customer_message(self, message: CustomerMessage) -> None:
        if message.message_sid in self.state.seen_messages or self.state.closed:
            return
        self.state.seen_messages = [*self.state.seen_messages, message.message_sid][-SEEN_LIMIT:]
        if self.state.active_task_sid is None:
            self.state.route_requested = True

    @workflow.signal
    def task_progress(self, progress: TaskProgress) -> None:
        if progress.task_sid != self.state.active_task_sid:
            return
        self.agent_progress = TaskStatus(progress.status)
        self._publish()

    @workflow.signal
    def task_ended(self, ended: TaskEnded) -> None:
        if ended.task_sid not in self.state.finished_tasks:
            self.state.finished_tasks = [*self.state.finished_tasks, ended.task_sid][-SEEN_LIMIT:]
        if self.state.active_task_sid == ended.task_sid:
            self.state.active_task_sid = None
            self.agent_progress = None
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
        )

    @workflow.run
    async def run(self, input: ChannelInput) -> str:
        self._publish()
        while True:
            await workflow.wait_condition(
                lambda: (
                    self.state.closed
                    or (self.state.route_requested and self.state.active_task_sid is None)
                    or self._should_continue_as_new()
                )
            )
            if self.state.closed:
                break
            if self.state.route_requested and self.state.active_task_sid is None:
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
        if created.task_sid in self.state.finished_tasks:
            return True
        self.state.active_task_sid = created.task_sid
        if created.created:
            self.state.task_count += 1
            self.run_task_count += 1
            await workflow.start_child_workflow(
                TaskWorkflow.run,
                TaskInput(
                    account_sid=self.input.account_sid,
                    task_sid=created.task_sid,
                    workspace_sid=created.workspace_sid,
                    channel_sid=self.input.channel_sid,
                    conversation_sid=self.input.conversation_sid,
                ),
                id=created.task_sid,
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=f"Task {created.task_sid} for channel {self.input.channel_sid}",
            )
        self._publish()
        return True

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

    def _status(self) -> ChannelRunStatus:
        if self.state.closed:
            return ChannelRunStatus.CLOSED
        if self.failed:
            return ChannelRunStatus.FAILED
        if self.state.active_task_sid is not None:
            if self.agent_progress is TaskStatus.ASSIGNED:
                return ChannelRunStatus.ASSIGNED
            if self.agent_progress is TaskStatus.WRAPPING:
                return ChannelRunStatus.WRAPPING
            return ChannelRunStatus.ROUTING
        return ChannelRunStatus.PARKED if self.state.task_count else ChannelRunStatus.ACTIVE

    def _publish(self) -> None:
        updates = [
            sa.ACCOUNT_SID.value_set(self.input.account_sid),
            sa.CHANNEL_TYPE.value_set(self.input.channel_type),
            sa.STATUS.value_set(self._status().value),
        ]
        if workflow.patched(PATCH_STATUS_FOLLOWS):
            updates.append(sa.CONVERSATION_SID.value_set(self.input.conversation_sid))
        workflow.upsert_search_attributes(updates)
        workflow.set_current_details(
            f"Channel {self.input.channel_sid} · conversation {self.input.conversation_sid} · "
            f"{self._status().value} · {self.state.task_count} task(s)"
        )
