"""/taskrouter/v1/Workspaces: create, read, update, delete. A new workspace gets Twilio's default
activities (Offline is the default and timeout activity) and task channels."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response

from api.access import workspace_access, workspaces_visible
from api.deps import AdminPrincipal, CurrentPrincipal, DbDep, SettingsDep
from api.forms.parse import form_of
from api.forms.taskrouter import CreateWorkspace, UpdateWorkspace
from api.query import QueryParam, QueryParameters, QueryValues
from api.schemas.taskrouter import WorkspaceList, WorkspacePublic
from domain.limits import TASKROUTER_MAX_PAGE_SIZE
from storage.taskrouter import queries
from storage.taskrouter import service as taskrouter
from storage.taskrouter.models import NewWorkspace, WorkspaceChanges

router = APIRouter(prefix="/taskrouter/v1/Workspaces", tags=["TaskRouter: Workspaces"])

LIST_QUERY = QueryParameters(
    QueryParam.string("FriendlyName", "Only the workspace of this friendly name."), page_size=TASKROUTER_MAX_PAGE_SIZE
)


@router.post("", status_code=201, response_model=WorkspacePublic)
async def create_workspace(
    principal: AdminPrincipal, db: DbDep, form: Annotated[CreateWorkspace, Form()], settings: SettingsDep
) -> WorkspacePublic:
    """Create a workspace, with Twilio's default activities (Offline, Available, Unavailable, Break; Offline is
    the default and the timeout activity) and task channels (default, voice, chat, sms, video, email)."""
    async with db.unit() as uow:
        row = await taskrouter.create_workspace(
            uow, account_sid=principal.account_sid, new=NewWorkspace.model_validate(form.model_dump())
        )
    return WorkspacePublic.of(row, settings.base_url)


@router.get("", response_model=WorkspaceList)
async def list_workspaces(
    principal: CurrentPrincipal, db: DbDep, query: Annotated[QueryValues, Depends(LIST_QUERY)], settings: SettingsDep
) -> WorkspaceList:
    """The account's workspaces (an agent or supervisor token: only its own). Filter: `FriendlyName`."""
    page = query.paging()
    async with db.read() as q:
        result = await queries.workspaces(
            q,
            account_sid=principal.account_sid,
            friendly_name=query.str("FriendlyName"),
            only_sid=workspaces_visible(principal),
            page=page.request,
        )
    return WorkspaceList(
        workspaces=[WorkspacePublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="workspaces",
            url=f"{settings.base_url}/taskrouter/v1/Workspaces",
            has_more=result.has_more,
            filters=query.echo("FriendlyName"),
        ),
    )


@router.get("/{workspace_sid}", response_model=WorkspacePublic)
async def fetch_workspace(
    workspace_sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> WorkspacePublic:
    """One workspace."""
    async with db.read() as q:
        row = await workspace_access(q, principal, workspace_sid)
    return WorkspacePublic.of(row, settings.base_url)


@router.post("/{workspace_sid}", response_model=WorkspacePublic)
async def update_workspace(
    workspace_sid: str,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[UpdateWorkspace, Depends(form_of(UpdateWorkspace))],
    settings: SettingsDep,
) -> WorkspacePublic:
    """Change a workspace; only the parameters given change (`EventCallbackUrl=` empty stops the callbacks,
    `EventsFilter=` empty sends every event)."""
    async with db.unit() as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        row = await taskrouter.update_workspace(
            uow, workspace=workspace, changes=WorkspaceChanges.model_validate(form.model_dump())
        )
    return WorkspacePublic.of(row, settings.base_url)


@router.delete("/{workspace_sid}", status_code=204)
async def delete_workspace(workspace_sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    """Delete a workspace with everything in it (interaction channels keep their history)."""
    async with db.unit() as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        await taskrouter.delete_workspace(uow, workspace=workspace)
    return Response(status_code=204)
