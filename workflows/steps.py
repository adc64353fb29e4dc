"""How workflows run their persistence steps: as local activities, called by name (workflows may not import
`activities/`). Routing steps are short, idempotent Postgres transactions; running them inside the workflow
task saves a server round trip per step (bench/RESULTS.md shows what that buys)."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.contracts import ROUTING_CONFIGURATION_ERROR, ActivityName

T = TypeVar("T", bound=BaseModel)

# A routing configuration that cannot work is not retried (the activity also marks it non-retryable).
RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=10),
    non_retryable_error_types=[ROUTING_CONFIGURATION_ERROR],
)
TIMEOUT = timedelta(seconds=30)


async def run_step(name: ActivityName, arg: BaseModel) -> None:
    await workflow.execute_local_activity(name, arg, start_to_close_timeout=TIMEOUT, retry_policy=RETRY)


async def run_step_for(name: ActivityName, arg: BaseModel, result_type: type[T]) -> T:
    result: T = await workflow.execute_local_activity(
        name, arg, result_type=result_type, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
    )
    return result
