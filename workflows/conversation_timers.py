"""ConversationTimersWorkflow: carries out a conversation's `Timers.Inactive` and `Timers.Closed` (workflow id
`conversation-timers-<CH…>`). It sleeps on a durable timer until the earliest deadline, then lets its activity
apply whatever ran out; messages move the deadlines on in the database (no signal per message), so waking
early just finds the next deadline. The API signals `reschedule` (through the outbox) when the timers or the
state change. It ends when the conversation is closed or has no timer left."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.contracts import ActivityName, ApplyTimers, TimersDue, TimersInput

WORKFLOW_ID_PREFIX = "conversation-timers-"


def workflow_id(conversation_sid: str) -> str:
    return f"{WORKFLOW_ID_PREFIX}{conversation_sid}"


@workflow.defn(name="ConversationTimers")
class ConversationTimersWorkflow:
    def __init__(self) -> None:
        self._rescheduled = False

    @workflow.signal
    def reschedule(self) -> None:
        self._rescheduled = True

    @workflow.run
    async def run(self, input: TimersInput) -> None:
        while True:
            self._rescheduled = False
            due: TimersDue = await workflow.execute_activity(
                ActivityName.APPLY_CONVERSATION_TIMERS,
                ApplyTimers(conversation_sid=input.conversation_sid, as_of=workflow.now().timestamp()),
                result_type=TimersDue,
                start_to_close_timeout=timedelta(seconds=30),
            )
            if due.next_at is None and not self._rescheduled:
                workflow.set_current_details("No timer left to watch")
                return
            if due.next_at is not None:
                delay = max(due.next_at - workflow.now().timestamp(), 0.0)
                workflow.set_current_details(f"Next timer in {delay:.0f} s")
                try:
                    await workflow.wait_condition(lambda: self._rescheduled, timeout=timedelta(seconds=delay))
                except TimeoutError:
                    pass
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(input)
