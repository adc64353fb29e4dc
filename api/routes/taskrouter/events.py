"""/taskrouter/v1/Workspaces/{WS}/Events: the workspace's event log, newest first, filtered by type, resource
and time window (the last 15 minutes unless asked otherwise). Not readable with an agent token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.access import workspace_access
from api.auth import Principal, Role
from api.deps import CurrentPrincipal, DbDep, SettingsDep
from api.params import WORKSPACE_PATH
from api.query import TASK_CHANNEL, QueryParam, QueryParameters, QueryValues, Window
from api.schemas.taskrouter import EventList, EventPublic, ws_url
from domain.errors import PermissionDenied
from domain.limits import EVENTS_DEFAULT_MINUTES, EVENTS_MAX_MINUTES, TASKROUTER_MAX_PAGE_SIZE
from domain.sids import SidPrefix
from storage.taskrouter import queries

router = APIRouter(prefix=f"{WORKSPACE_PATH}/Events", tags=["TaskRouter: Events"])

LIST_QUERY = QueryParameters(
    QueryParam.string("EventType", "Only the events of this type (`task.created`, `reservation.accepted`, …)."),
    QueryParam.sid("Sid", SidPrefix.EVENT, "Only this event."),
    *(
        QueryParam.sid(param, prefix, f"Only the events that concern this {param.removesuffix('Sid')}.")
        for param, prefix, _ in queries.EVENT_REFERENCES
    ),
    TASK_CHANNEL,
    page_size=TASKROUTER_MAX_PAGE_SIZE,
    window=Window(default_minutes=EVENTS_DEFAULT_MINUTES, max_minutes=EVENTS_MAX_MINUTES),
)


def _deny_agents(principal: Principal) -> None:
    if principal.role is Role.AGENT:
        raise PermissionDenied("An agent token may not read events")


@router.get("", response_model=EventList)
async def list_events(
    workspace_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(LIST_QUERY)],
    settings: SettingsDep,
) -> EventList:
    """The workspace's event log, newest first (not readable with an agent token): the last 15 minutes unless
    `Minutes`, `StartDate` or `EndDate` say otherwise. Filters: `EventType`, `Sid`, `TaskSid`, `WorkerSid`,
    `ReservationSid`, `TaskQueueSid`, `WorkflowSid`, `TaskChannel`."""
    page = query.paging()
    references = tuple(
        (key, sid) for param, prefix, key in queries.EVENT_REFERENCES if (sid := query.sid(param, prefix)) is not None
    )
    start, end = query.time_window()
    filters = queries.EventFilters(
        event_type=query.str("EventType"),
        sid=query.sid("Sid", SidPrefix.EVENT),
        references=references,
        task_channel=query.str("TaskChannel"),
        start=start,
        end=end,
    )
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        _deny_agents(principal)
        result = await queries.events(q, workspace_sid=workspace_sid, filters=filters, page=page.request)
    names = (
        "EventType",
        "Sid",
        *(p for p, _, _ in queries.EVENT_REFERENCES),
        "TaskChannel",
        "Minutes",
        "StartDate",
        "EndDate",
    )
    return EventList(
        events=[EventPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="events",
            url=f"{ws_url(settings.base_url, workspace_sid)}/Events",
            has_more=result.has_more,
            filters=query.echo(*names),
        ),
    )


@router.get("/{sid:sid}", response_model=EventPublic)
async def fetch_event(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> EventPublic:
    """One event."""
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        _deny_agents(principal)
        row = await queries.get_event(q, workspace_sid=workspace_sid, sid=sid)
    return EventPublic.of(row, settings.base_url)
