"""Trivial workflows for the Temporal engine floors: one counts signals and ends after the expected number;
the parent/child pair is the routing floor's shape. Import-pure (the workflow sandbox re-imports this module)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.workflow import ParentClosePolicy


@workflow.defn(name="BenchSink")
class SinkWorkflow:
    def __init__(self) -> None:
        self.count = 0

    @workflow.run
    async def run(self, expected: int) -> int:
        await workflow.wait_condition(lambda: self.count >= expected)
        return self.count

    @workflow.signal
    def ping(self, n: int) -> None:
        self.count += 1


@activity.defn(name="BenchNoop")
async def noop(n: int) -> int:
    return n


@workflow.defn(name="BenchChild")
class ChildWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        return n


@workflow.defn(name="BenchParent")
class ParentWorkflow:
    """The routing floor's shape: a workflow that runs one local activity and starts one child (as a task's
    routing runs its planning step and the channel starts the task workflow)."""

    @workflow.run
    async def run(self, n: int) -> int:
        await workflow.execute_local_activity(noop, n, start_to_close_timeout=timedelta(seconds=10))
        await workflow.start_child_workflow(
            ChildWorkflow.run,
            n,
            id=f"{workflow.info().workflow_id}-child",
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        return n
