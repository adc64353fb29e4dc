"""TaskRouter statistics: the workspace, each queue (one, a page of them, or up to 50 in bulk), each workflow, the
workers and one worker; real-time (from the live rows), cumulative (from the event log over `Minutes` or
`StartDate`..`EndDate`, the last 15 minutes by default) and both at once under `/Statistics`.

Readable by admins and by supervisors of the workspace; an agent may read only its own worker's statistics."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from api.access import workspace_access
from api.auth import Principal, Role
from api.deps import CurrentPrincipal, DbDep, SettingsDep
from api.params import WORKSPACE_PATH
from api.query import TASK_CHANNEL, QueryParam, QueryParameters, QueryValues, Window
from api.schemas.taskrouter import ws_url
from api.schemas.taskrouter_statistics import (
    TaskQueueBulkRealTimeStatistics,
    TaskQueueCumulative,
    TaskQueueCumulativeStatistics,
    TaskQueueData,
    TaskQueueRealTime,
    TaskQueueRealTimeStatistics,
    TaskQueuesStatistics,
    TaskQueuesStatisticsList,
    TaskQueueStatistics,
    WorkerCumulative,
    WorkersCumulative,
    WorkersCumulativeStatistics,
    WorkersRealTime,
    WorkersRealTimeStatistics,
    WorkersStatistics,
    WorkerStatistics,
    WorkflowCumulative,
    WorkflowCumulativeStatistics,
    WorkflowRealTime,
    WorkflowRealTimeStatistics,
    WorkflowStatistics,
    WorkspaceCumulative,
    WorkspaceCumulativeStatistics,
    WorkspaceRealTime,
    WorkspaceRealTimeStatistics,
    WorkspaceStatistics,
)
from domain.errors import InvalidParameter, PermissionDenied
from domain.limits import (
    BULK_QUEUE_STATISTICS_MAX,
    STATISTICS_DEFAULT_MINUTES,
    STATISTICS_MAX_MINUTES,
    TASKROUTER_MAX_PAGE_SIZE,
)
from domain.sids import SidPrefix, is_sid
from storage.db import UnitOfWork
from storage.taskrouter import queries
from storage.taskrouter import service as taskrouter
from storage.taskrouter import statistics as stats

router = APIRouter(prefix=WORKSPACE_PATH, tags=["TaskRouter: Statistics"])

# What each kind of statistics reads: real-time ones the task channel, cumulative ones a time window too (and,
# but for the workers', wait-time splits).
_WINDOW = Window(default_minutes=STATISTICS_DEFAULT_MINUTES, max_minutes=STATISTICS_MAX_MINUTES)
_SPLITS = QueryParam.string(
    "SplitByWaitTime", "Comma-separated wait times in seconds: how many tasks were answered, or abandoned, within each."
)
_FRIENDLY_NAME = QueryParam.string("FriendlyName", "Only the queue of this friendly name.")
REAL_TIME = QueryParameters(TASK_CHANNEL)
CUMULATIVE = QueryParameters(TASK_CHANNEL, _SPLITS, window=_WINDOW)
WORKERS_CUMULATIVE = QueryParameters(TASK_CHANNEL, window=_WINDOW)
WORKERS_STATISTICS = QueryParameters(
    TASK_CHANNEL,
    QueryParam.sid("TaskQueueSid", SidPrefix.TASK_QUEUE, "Only the workers of this queue."),
    QueryParam.string("TaskQueueName", "Only the workers of the queue of this friendly name."),
    QueryParam.string("FriendlyName", "Only the worker of this friendly name."),
    window=_WINDOW,
)
QUEUES_STATISTICS = QueryParameters(
    _FRIENDLY_NAME, TASK_CHANNEL, _SPLITS, page_size=TASKROUTER_MAX_PAGE_SIZE, window=_WINDOW
)


@dataclass(frozen=True, slots=True)
class _Asked:
    """What a statistics request asked for, parsed before any read."""

    channel: str | None
    window: stats.Window | None

    @classmethod
    def of(cls, query: QueryValues, *, cumulative: bool, splits: bool = False) -> _Asked:
        channel = query.str("TaskChannel")
        if not cumulative:
            return cls(channel=channel, window=None)
        start, end = query.time_window()
        now = datetime.now(UTC)
        window = stats.Window(
            start=start or now,
            end=min(end, now) if end else now,
            split_by_wait_time=_thresholds(query) if splits else (),
        )
        return cls(channel=channel, window=window)

    @property
    def cumulative_window(self) -> stats.Window:
        assert self.window is not None
        return self.window


def _thresholds(query: QueryValues) -> tuple[int, ...]:
    values = query.list("SplitByWaitTime")
    try:
        thresholds = tuple(sorted({int(v) for v in values}))
    except ValueError:
        raise InvalidParameter(
            f"Parameter 'SplitByWaitTime' must be comma-separated seconds, got '{','.join(values)}'"
        ) from None
    if any(t < 0 or t > STATISTICS_MAX_MINUTES * 60 for t in thresholds):
        raise InvalidParameter("Parameter 'SplitByWaitTime' values must be between 0 and 30 days in seconds")
    return thresholds


def _deny_agents(principal: Principal) -> None:
    if principal.role is Role.AGENT:
        raise PermissionDenied("An agent token may read only its own worker's statistics")


async def _scope(
    q: UnitOfWork, principal: Principal, workspace_sid: str, asked: _Asked, **narrow: Any
) -> tuple[stats.Scope, str]:
    """Check access and resolve `TaskChannel`; returns the scope and the account."""
    workspace = await workspace_access(q, principal, workspace_sid)
    channel = await stats.task_channel_sid(q, workspace_sid, asked.channel)
    return stats.Scope(workspace_sid=workspace_sid, task_channel_sid=channel, **narrow), workspace.account_sid


# --- workspace -----------------------------------------------------------------------------------------


@router.get("/RealTimeStatistics", response_model=WorkspaceRealTimeStatistics)
async def workspace_real_time(
    workspace_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(REAL_TIME)],
    settings: SettingsDep,
) -> WorkspaceRealTimeStatistics:
    """Tasks by status and priority, the longest waiting task, and workers by activity, now."""
    asked = _Asked.of(query, cumulative=False)
    async with db.read() as q:
        scope, account = await _scope(q, principal, workspace_sid, asked)
        _deny_agents(principal)
        figures = await stats.real_time(q, scope)
    url = f"{ws_url(settings.base_url, workspace_sid)}/RealTimeStatistics"
    return WorkspaceRealTimeStatistics.from_row(figures, account_sid=account, workspace_sid=workspace_sid, url=url)


@router.get("/CumulativeStatistics", response_model=WorkspaceCumulativeStatistics)
async def workspace_cumulative(
    workspace_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(CUMULATIVE)],
    settings: SettingsDep,
) -> WorkspaceCumulativeStatistics:
    """Tasks created, canceled, completed, deleted, moved and timed out, reservations by outcome and waits,
    over the window."""
    asked = _Asked.of(query, cumulative=True, splits=True)
    async with db.read() as q:
        scope, account = await _scope(q, principal, workspace_sid, asked)
        _deny_agents(principal)
        figures = await stats.cumulative(q, scope, asked.cumulative_window)
    url = f"{ws_url(settings.base_url, workspace_sid)}/CumulativeStatistics"
    return WorkspaceCumulativeStatistics.from_row(figures, account_sid=account, workspace_sid=workspace_sid, url=url)


@router.get("/Statistics", response_model=WorkspaceStatistics)
async def workspace_statistics(
    workspace_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(CUMULATIVE)],
    settings: SettingsDep,
) -> WorkspaceStatistics:
    """The real-time and the cumulative statistics together."""
    asked = _Asked.of(query, cumulative=True, splits=True)
    async with db.read() as q:
        scope, account = await _scope(q, principal, workspace_sid, asked)
        _deny_agents(principal)
        realtime = await stats.real_time(q, scope)
        cumulative = await stats.cumulative(q, scope, asked.cumulative_window)
    return WorkspaceStatistics(
        account_sid=account,
        workspace_sid=workspace_sid,
        url=f"{ws_url(settings.base_url, workspace_sid)}/Statistics",
        realtime=WorkspaceRealTime.from_row(realtime),
        cumulative=WorkspaceCumulative.from_row(cumulative),
    )


# --- task queues ---------------------------------------------------------------------------------------


@router.get("/TaskQueues/Statistics", response_model=TaskQueuesStatisticsList)
async def task_queues_statistics(
    workspace_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(QUEUES_STATISTICS)],
    settings: SettingsDep,
) -> TaskQueuesStatisticsList:
    """Real-time and cumulative statistics of a page of the workspace's queues (`FriendlyName` filters)."""
    page = query.paging()
    asked = _Asked.of(query, cumulative=True, splits=True)
    items = []
    async with db.read() as q:
        scope, account = await _scope(q, principal, workspace_sid, asked)
        _deny_agents(principal)
        result = await queries.task_queues(
            q,
            workspace_sid=workspace_sid,
            friendly_name=query.str("FriendlyName"),
            worker_sid=None,
            worker_attributes=None,
            page=page.request,
        )
        for queue in result.items:
            queue_scope = replace(scope, task_queue_sid=queue.sid)
            items.append(
                TaskQueuesStatistics(
                    account_sid=account,
                    workspace_sid=workspace_sid,
                    task_queue_sid=queue.sid,
                    realtime=TaskQueueRealTime.from_row(await stats.real_time(q, queue_scope)),
                    cumulative=TaskQueueCumulative.from_row(
                        await stats.cumulative(q, queue_scope, asked.cumulative_window)
                    ),
                )
            )
    names = ("FriendlyName", "Minutes", "StartDate", "EndDate", "TaskChannel", "SplitByWaitTime")
    return TaskQueuesStatisticsList(
        task_queues_statistics=items,
        meta=page.meta(
            key="task_queues_statistics",
            url=f"{ws_url(settings.base_url, workspace_sid)}/TaskQueues/Statistics",
            has_more=result.has_more,
            filters=query.echo(*names),
        ),
    )


def _bulk_sids(body: bytes) -> list[str]:
    """The bulk request's queue SIDs: a JSON array, or an object holding one (`TaskQueueSids` or any key)."""
    try:
        data = json.loads(body or b"[]")
    except ValueError:
        raise InvalidParameter("The request body must be JSON: a list of TaskQueue SIDs") from None
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        data = lists[0] if len(lists) == 1 else data.get("TaskQueueSids", data.get("task_queue_sids"))
    if not isinstance(data, list) or not all(isinstance(s, str) and is_sid(s, SidPrefix.TASK_QUEUE) for s in data):
        raise InvalidParameter("The request body must be a JSON list of TaskQueue SIDs (WQ…)")
    if not data:
        raise InvalidParameter("Give at least one TaskQueue SID")
    if len(data) > BULK_QUEUE_STATISTICS_MAX:
        raise InvalidParameter(f"At most {BULK_QUEUE_STATISTICS_MAX} TaskQueue SIDs per request, got {len(data)}")
    return list(dict.fromkeys(data))


_BULK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "description": f"Up to {BULK_QUEUE_STATISTICS_MAX} TaskQueue SIDs: a list, or an object "
                    "holding one as `TaskQueueSids`.",
                    "oneOf": [
                        {"type": "array", "items": {"type": "string", "pattern": "^WQ[0-9a-fA-F]{32}$"}},
                        {
                            "type": "object",
                            "properties": {"TaskQueueSids": {"type": "array", "items": {"type": "string"}}},
                        },
                    ],
                }
            }
        },
    }
}


@router.post("/TaskQueues/RealTimeStatistics", response_model=TaskQueueBulkRealTimeStatistics, openapi_extra=_BULK_BODY)
async def task_queues_bulk_real_time(
    workspace_sid: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(REAL_TIME)],
    settings: SettingsDep,
) -> TaskQueueBulkRealTimeStatistics:
    """Real-time statistics of up to 50 queues at once; the JSON body lists their SIDs."""
    sids = _bulk_sids(await request.body())
    asked = _Asked.of(query, cumulative=False)
    data = []
    async with db.read() as q:
        scope, account = await _scope(q, principal, workspace_sid, asked)
        _deny_agents(principal)
        for sid in sids:
            await taskrouter.get_task_queue(q, workspace_sid=workspace_sid, sid=sid)
            figures = await stats.real_time(q, replace(scope, task_queue_sid=sid))
            data.append(TaskQueueData.from_row(figures, task_queue_sid=sid))
    return TaskQueueBulkRealTimeStatistics(
        account_sid=account,
        workspace_sid=workspace_sid,
        url=f"{ws_url(settings.base_url, workspace_sid)}/TaskQueues/RealTimeStatistics",
        task_queue_data=data,
        task_queue_response_count=len(data),
    )


async def _queue_scope(
    q: UnitOfWork, principal: Principal, workspace_sid: str, task_queue_sid: str, asked: _Asked
) -> tuple[stats.Scope, str]:
    scope, account = await _scope(q, principal, workspace_sid, asked, task_queue_sid=task_queue_sid)
    _deny_agents(principal)
    await taskrouter.get_task_queue(q, workspace_sid=workspace_sid, sid=task_queue_sid)
    return scope, account


@router.get("/TaskQueues/{task_queue_sid:sid}/RealTimeStatistics", response_model=TaskQueueRealTimeStatistics)
async def task_queue_real_time(
    workspace_sid: str,
    task_queue_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(REAL_TIME)],
    settings: SettingsDep,
) -> TaskQueueRealTimeStatistics:
    """The queue's waiting and assigned tasks, its longest wait (since creation and since entering the queue),
    and its member workers: eligible (members), available, by activity."""
    asked = _Asked.of(query, cumulative=False)
    async with db.read() as q:
        scope, account = await _queue_scope(q, principal, workspace_sid, task_queue_sid, asked)
        figures = await stats.real_time(q, scope)
    return TaskQueueRealTimeStatistics.from_row(
        figures,
        account_sid=account,
        workspace_sid=workspace_sid,
        task_queue_sid=task_queue_sid,
        url=f"{ws_url(settings.base_url, workspace_sid)}/TaskQueues/{task_queue_sid}/RealTimeStatistics",
    )


@router.get("/TaskQueues/{task_queue_sid:sid}/CumulativeStatistics", response_model=TaskQueueCumulativeStatistics)
async def task_queue_cumulative(
    workspace_sid: str,
    task_queue_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(CUMULATIVE)],
    settings: SettingsDep,
) -> TaskQueueCumulativeStatistics:
    """Tasks that entered, left (moved), were canceled or completed in the queue, its reservations and waits."""
    asked = _Asked.of(query, cumulative=True, splits=True)
    async with db.read() as q:
        scope, account = await _queue_scope(q, principal, workspace_sid, task_queue_sid, asked)
        figures = await stats.cumulative(q, scope, asked.cumulative_window)
    return TaskQueueCumulativeStatistics.from_row(
        figures,
        account_sid=account,
        workspace_sid=workspace_sid,
        task_queue_sid=task_queue_sid,
        url=f"{ws_url(settings.base_url, workspace_sid)}/TaskQueues/{task_queue_sid}/CumulativeStatistics",
    )


@router.get("/TaskQueues/{task_queue_sid:sid}/Statistics", response_model=TaskQueueStatistics)
async def task_queue_statistics(
    workspace_sid: str,
    task_queue_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(CUMULATIVE)],
    settings: SettingsDep,
) -> TaskQueueStatistics:
    """The queue's real-time and cumulative statistics together."""
    asked = _Asked.of(query, cumulative=True, splits=True)
    async with db.read() as q:
        scope, account = await _queue_scope(q, principal, workspace_sid, task_queue_sid, asked)
        realtime = await stats.real_time(q, scope)
        cumulative = await stats.cumulative(q, scope, asked.cumulative_window)
    return TaskQueueStatistics(
        account_sid=account,
        workspace_sid=workspace_sid,
        task_queue_sid=task_queue_sid,
        url=f"{ws_url(settings.base_url, workspace_sid)}/TaskQueues/{task_queue_sid}/Statistics",
        realtime=TaskQueueRealTime.from_row(realtime),
        cumulative=TaskQueueCumulative.from_row(cumulative),
    )


# --- workflows -----------------------------------------------------------------------------------------


async def _workflow_scope(
    q: UnitOfWork, principal: Principal, workspace_sid: str, workflow_sid: str, asked: _Asked
) -> tuple[stats.Scope, str]:
    scope, account = await _scope(q, principal, workspace_sid, asked, workflow_sid=workflow_sid)
    _deny_agents(principal)
    await taskrouter.get_workflow(q, workspace_sid=workspace_sid, sid=workflow_sid)
    return scope, account


@router.get("/Workflows/{workflow_sid:sid}/RealTimeStatistics", response_model=WorkflowRealTimeStatistics)
async def workflow_real_time(
    workspace_sid: str,
    workflow_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(REAL_TIME)],
    settings: SettingsDep,
) -> WorkflowRealTimeStatistics:
    """The workflow's live tasks by status and priority and its longest waiting task."""
    asked = _Asked.of(query, cumulative=False)
    async with db.read() as q:
        scope, account = await _workflow_scope(q, principal, workspace_sid, workflow_sid, asked)
        figures = await stats.real_time(q, scope)
    return WorkflowRealTimeStatistics.from_row(
        figures,
        account_sid=account,
        workspace_sid=workspace_sid,
        workflow_sid=workflow_sid,
        url=f"{ws_url(settings.base_url, workspace_sid)}/Workflows/{workflow_sid}/RealTimeStatistics",
    )


@router.get("/Workflows/{workflow_sid:sid}/CumulativeStatistics", response_model=WorkflowCumulativeStatistics)
async def workflow_cumulative(
    workspace_sid: str,
    workflow_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(CUMULATIVE)],
    settings: SettingsDep,
) -> WorkflowCumulativeStatistics:
    """Tasks that entered the workflow (were created in it), their outcomes, reservations and waits."""
    asked = _Asked.of(query, cumulative=True, splits=True)
    async with db.read() as q:
        scope, account = await _workflow_scope(q, principal, workspace_sid, workflow_sid, asked)
        figures = await stats.cumulative(q, scope, asked.cumulative_window)
    return WorkflowCumulativeStatistics.from_row(
        figures,
        account_sid=account,
        workspace_sid=workspace_sid,
        workflow_sid=workflow_sid,
        url=f"{ws_url(settings.base_url, workspace_sid)}/Workflows/{workflow_sid}/CumulativeStatistics",
    )


@router.get("/Workflows/{workflow_sid:sid}/Statistics", response_model=WorkflowStatistics)
async def workflow_statistics(
    workspace_sid: str,
    workflow_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(CUMULATIVE)],
    settings: SettingsDep,
) -> WorkflowStatistics:
    """The workflow's real-time and cumulative statistics together."""
    asked = _Asked.of(query, cumulative=True, splits=True)
    async with db.read() as q:
        scope, account = await _workflow_scope(q, principal, workspace_sid, workflow_sid, asked)
        realtime = await stats.real_time(q, scope)
        cumulative = await stats.cumulative(q, scope, asked.cumulative_window)
    return WorkflowStatistics(
        account_sid=account,
        workspace_sid=workspace_sid,
        workflow_sid=workflow_sid,
        url=f"{ws_url(settings.base_url, workspace_sid)}/Workflows/{workflow_sid}/Statistics",
        realtime=WorkflowRealTime.from_row(realtime),
        cumulative=WorkflowCumulative.from_row(cumulative),
    )


# --- workers -------------------------------------------------------------------------------------------


async def _workers_cumulative(q: UnitOfWork, scope: stats.Scope, window: stats.Window) -> stats.Cumulative:
    figures = await stats.cumulative(q, scope, window)
    figures.activity_durations = await stats.activity_durations(q, scope, window)
    return figures


@router.get("/Workers/RealTimeStatistics", response_model=WorkersRealTimeStatistics)
async def workers_real_time(
    workspace_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(REAL_TIME)],
    settings: SettingsDep,
) -> WorkersRealTimeStatistics:
    """The workspace's workers by activity, now."""
    asked = _Asked.of(query, cumulative=False)
    async with db.read() as q:
        scope, account = await _scope(q, principal, workspace_sid, asked)
        _deny_agents(principal)
        figures = await stats.real_time(q, scope)
    return WorkersRealTimeStatistics.from_row(
        figures,
        account_sid=account,
        workspace_sid=workspace_sid,
        url=f"{ws_url(settings.base_url, workspace_sid)}/Workers/RealTimeStatistics",
    )


@router.get("/Workers/CumulativeStatistics", response_model=WorkersCumulativeStatistics)
async def workers_cumulative(
    workspace_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(WORKERS_CUMULATIVE)],
    settings: SettingsDep,
) -> WorkersCumulativeStatistics:
    """Reservations by outcome and the time the workers spent in each activity, over the window."""
    asked = _Asked.of(query, cumulative=True)
    async with db.read() as q:
        scope, account = await _scope(q, principal, workspace_sid, asked)
        _deny_agents(principal)
        figures = await _workers_cumulative(q, scope, asked.cumulative_window)
    return WorkersCumulativeStatistics.from_row(
        figures,
        account_sid=account,
        workspace_sid=workspace_sid,
        url=f"{ws_url(settings.base_url, workspace_sid)}/Workers/CumulativeStatistics",
    )


@router.get("/Workers/Statistics", response_model=WorkersStatistics)
async def workers_statistics(
    workspace_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(WORKERS_STATISTICS)],
    settings: SettingsDep,
) -> WorkersStatistics:
    """Real-time and cumulative worker statistics, for the workers of `TaskQueueSid` or `TaskQueueName`, or
    named `FriendlyName` (all of them by default)."""
    asked = _Asked.of(query, cumulative=True)
    async with db.read() as q:
        scope, account = await _scope(q, principal, workspace_sid, asked)
        _deny_agents(principal)
        scope = replace(
            scope,
            worker_sids=await stats.worker_sids(
                q,
                workspace_sid=workspace_sid,
                task_queue_sid=query.sid("TaskQueueSid", SidPrefix.TASK_QUEUE),
                task_queue_name=query.str("TaskQueueName"),
                friendly_name=query.str("FriendlyName"),
            ),
        )
        realtime = await stats.real_time(q, scope)
        cumulative = await _workers_cumulative(q, scope, asked.cumulative_window)
    return WorkersStatistics(
        account_sid=account,
        workspace_sid=workspace_sid,
        url=f"{ws_url(settings.base_url, workspace_sid)}/Workers/Statistics",
        realtime=WorkersRealTime.from_row(realtime),
        cumulative=WorkersCumulative.from_row(cumulative),
    )


@router.get("/Workers/{worker_sid:sid}/Statistics", response_model=WorkerStatistics)
async def worker_statistics(
    workspace_sid: str,
    worker_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(WORKERS_CUMULATIVE)],
    settings: SettingsDep,
) -> WorkerStatistics:
    """One worker's reservations by outcome, tasks assigned and time in each activity (an agent: its own)."""
    asked = _Asked.of(query, cumulative=True)
    async with db.read() as q:
        scope, account = await _scope(q, principal, workspace_sid, asked, worker_sids=(worker_sid,))
        principal.require_worker(workspace_sid, worker_sid)
        await taskrouter.get_worker(q, workspace_sid=workspace_sid, sid=worker_sid)
        figures = await _workers_cumulative(q, scope, asked.cumulative_window)
    return WorkerStatistics(
        account_sid=account,
        workspace_sid=workspace_sid,
        worker_sid=worker_sid,
        url=f"{ws_url(settings.base_url, workspace_sid)}/Workers/{worker_sid}/Statistics",
        cumulative=WorkerCumulative.from_row(figures),
    )
