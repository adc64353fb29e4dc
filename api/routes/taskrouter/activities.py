"""/taskrouter/v1/Workspaces/{WS}/Activities: the states a worker can be in, and whether each is available.
An activity in use (by a worker, a queue or the workspace defaults) cannot be deleted."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response

from api.access import workspace_access
from api.deps import AdminPrincipal, CurrentPrincipal, DbDep, SettingsDep
from api.forms.taskrouter import CreateActivity, UpdateActivity
from api.params import WORKSPACE_PATH
from api.query import QueryParam, QueryParameters, QueryValues
from api.schemas.taskrouter import ActivityList, ActivityPublic, ws_url
from domain.limits import TASKROUTER_MAX_PAGE_SIZE
from storage.taskrouter import queries
from storage.taskrouter import service as taskrouter

router = APIRouter(prefix=f"{WORKSPACE_PATH}/Activities", tags=["TaskRouter: Activities"])

LIST_QUERY = QueryParameters(
    QueryParam.string("FriendlyName", "Only the activity of this friendly name."),
    QueryParam.string(
        "Available", "`true` (or `1`, `yes`): only the available activities; `false` (`0`, `no`): only the others."
    ),
    page_size=TASKROUTER_MAX_PAGE_SIZE,
)


@router.get("", response_model=ActivityList)
async def list_activities(
    workspace_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(LIST_QUERY)],
    settings: SettingsDep,
) -> ActivityList:
    """The workspace's activities. Filters: `FriendlyName`, `Available`."""
    page = query.paging()
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        result = await queries.activities(
            q,
            workspace_sid=workspace_sid,
            friendly_name=query.str("FriendlyName"),
            available=query.bool("Available"),
            page=page.request,
        )
    return ActivityList(
        activities=[ActivityPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="activities",
            url=f"{ws_url(settings.base_url, workspace_sid)}/Activities",
            has_more=result.has_more,
            filters=query.echo("FriendlyName", "Available"),
        ),
    )


@router.post("", status_code=201, response_model=ActivityPublic)
async def create_activity(
    workspace_sid: str,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[CreateActivity, Form()],
    settings: SettingsDep,
) -> ActivityPublic:
    """Create an activity; `Available` is fixed at creation."""
    async with taskrouter.unique(db, "Activity") as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        row = await taskrouter.create_activity(
            uow, workspace=workspace, friendly_name=form.friendly_name, available=form.available
        )
    return ActivityPublic.of(row, settings.base_url)


@router.get("/{sid:sid}", response_model=ActivityPublic)
async def fetch_activity(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> ActivityPublic:
    """One activity."""
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        row = await taskrouter.get_activity(q, workspace_sid=workspace_sid, sid=sid)
    return ActivityPublic.of(row, settings.base_url)


@router.post("/{sid:sid}", response_model=ActivityPublic)
async def update_activity(
    workspace_sid: str,
    sid: str,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[UpdateActivity, Form()],
    settings: SettingsDep,
) -> ActivityPublic:
    """Rename an activity."""
    async with taskrouter.unique(db, "Activity") as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        row = await taskrouter.update_activity(uow, workspace=workspace, sid=sid, friendly_name=form.friendly_name)
    return ActivityPublic.of(row, settings.base_url)


@router.delete("/{sid:sid}", status_code=204)
async def delete_activity(workspace_sid: str, sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    """Delete an activity no worker, queue or workspace default uses (409 otherwise)."""
    async with db.unit() as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        await taskrouter.delete_activity(uow, workspace=workspace, sid=sid)
    return Response(status_code=204)
