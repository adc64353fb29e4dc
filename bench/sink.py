"""A trivial workflow for the Temporal engine floor: it counts signals and ends after the expected number.
Import-pure (the workflow sandbox re-imports this module)."""

from __future__ import annotations

from temporalio import workflow


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
