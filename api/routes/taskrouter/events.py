"""/taskrouter/v1/Workspaces/{WS}/Events: the workspace's event log, newest first, filtered by type, resource
and time window (the last 15 minutes unless asked otherwise). Not readable with an agent token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request

from api.deps import CurrentPrincipal, DbDep, QueryDep, SettingsDep
from api.routes.taskrouter.common import WORKSPACE_PATH, Listing, Where, deny_agents, load_in_workspace, load_workspace
from api.serializers.taskrouter import event_json
from api.wire import Params
from domain.errors import InvalidParameter
from domain.sids import SidPrefix

router = APIRouter(prefix=f"{WORKSPACE_PATH}/Events", tags=["TaskRouter: Events"])

_EVENT_REFERENCES = (
    ("TaskSid", SidPrefix.TASK, "task_sid"),
    ("WorkerSid", SidPrefix.WORKER, "worker_sid"),
    ("ReservationSid", SidPrefix.RESERVATION, "reservation_sid"),
    ("TaskQueueSid", SidPrefix.TASK_QUEUE, "task_queue_sid"),
    ("WorkflowSid", SidPrefix.WORKFLOW, "workflow_sid"),
)


def _date(params: Params, name: str) -> datetime | None:
    value = params.str(name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidParameter(f"Parameter '{name}' must be an ISO 8601 date-time, got '{value}'") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _event_window(query: Params) -> tuple[datetime | None, datetime | None]:
    start, end = _date(query, "StartDate"), _date(query, "EndDate")
    minutes = query.int("Minutes", minimum=1, maximum=43200)
    if minutes is None and start is None and end is None:
        minutes = 15
    if minutes is not None:
        since = datetime.now(UTC) - timedelta(minutes=minutes)
        start = max(start, since) if start else since
    if start and end and start > end:
        raise InvalidParameter("Parameter 'StartDate' must not be after 'EndDate'")
    return start, end


@router.get("")
async def list_events(
    workspace_sid: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    query: QueryDep,
    settings: SettingsDep,
) -> Any:
    listing = Listing(request, settings, workspace_sid, "Events", key="events")
    where = Where("workspace_sid = %s", workspace_sid)
    where.add(query.str("EventType"), "event_type = %s")
    where.add(query.sid("Sid", SidPrefix.EVENT), "sid = %s")
    for param, prefix, key in _EVENT_REFERENCES:
        where.add(query.sid(param, prefix), f"(resource_sid = %s OR event_data->>'{key}' = %s)")
    where.add(
        query.str("TaskChannel"),
        "(event_data->>'task_channel_sid' = %s OR event_data->>'task_channel_unique_name' = %s)",
    )
    start, end = _event_window(query)
    where.add(start, "event_date >= %s")
    where.add(end, "event_date <= %s")
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        deny_agents(principal, "events")
        rows, more = await listing.fetch(
            q,
            f"SELECT * FROM taskrouter_events WHERE {where.sql} ORDER BY event_date DESC, sid DESC",
            where.args,
        )
    return listing.envelope(
        [event_json(r, settings.base_url) for r in rows],
        more,
        (
            "EventType",
            "Sid",
            *(p for p, _, _ in _EVENT_REFERENCES),
            "TaskChannel",
            "Minutes",
            "StartDate",
            "EndDate",
        ),
    )


@router.get("/{sid:sid}")
async def fetch_event(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        deny_agents(principal, "events")
        row = await load_in_workspace(q, "taskrouter_events", "Events", workspace_sid, sid)
    return event_json(row, settings.base_url)
