"""/taskrouter/v1/Workspaces: create, read, update, delete. A new workspace gets Twilio's default
activities (Offline is the default and timeout activity) and task channels."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.access import workspace_access, workspaces_visible
from api.deps import AdminPrincipal, CurrentPrincipal, DbDep, FormDep, SettingsDep
from api.paging import echo, paging
from api.params import optional_name, required_name
from api.schemas.taskrouter import WorkspaceList, WorkspacePublic
from domain.limits import CALLBACK_URL_LIMIT
from domain.routing.engine import QueueOrder
from domain.sids import SidPrefix
from storage.taskrouter import queries
from storage.taskrouter import service as taskrouter
from storage.taskrouter.models import NewWorkspace, Template, WorkspaceChanges

router = APIRouter(prefix="/taskrouter/v1/Workspaces", tags=["TaskRouter: Workspaces"])


@router.post("", status_code=201, response_model=WorkspacePublic)
async def create_workspace(
    principal: AdminPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> WorkspacePublic:
    new = NewWorkspace(
        friendly_name=required_name(form),
        event_callback_url=form.str("EventCallbackUrl", max_length=CALLBACK_URL_LIMIT),
        events_filter=form.str("EventsFilter"),
        multi_task_enabled=form.bool("MultiTaskEnabled") is not False,
        prioritize_queue_order=form.enum("PrioritizeQueueOrder", QueueOrder) or QueueOrder.FIFO,
        template=form.enum("Template", Template),
    )
    async with db.unit() as uow:
        row = await taskrouter.create_workspace(uow, account_sid=principal.account_sid, new=new)
    return WorkspacePublic.of(row, settings.base_url)


@router.get("", response_model=WorkspaceList)
async def list_workspaces(
    request: Request, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> WorkspaceList:
    page = paging(request.query_params)
    name = request.query_params.get("FriendlyName")
    async with db.read() as q:
        result = await queries.workspaces(
            q,
            account_sid=principal.account_sid,
            friendly_name=name,
            only_sid=workspaces_visible(principal),
            page=page.request,
        )
    url = f"{settings.base_url}/taskrouter/v1/Workspaces"
    return WorkspaceList(
        workspaces=[WorkspacePublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="workspaces", url=url, has_more=result.has_more, filters=echo(request.query_params, "FriendlyName")
        ),
    )


@router.get("/{workspace_sid}", response_model=WorkspacePublic)
async def fetch_workspace(
    workspace_sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> WorkspacePublic:
    async with db.read() as q:
        row = await workspace_access(q, principal, workspace_sid)
    return WorkspacePublic.of(row, settings.base_url)


@router.post("/{workspace_sid}", response_model=WorkspacePublic)
async def update_workspace(
    workspace_sid: str, principal: AdminPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> WorkspacePublic:
    changes = WorkspaceChanges(
        friendly_name=optional_name(form),
        default_activity_sid=form.sid("DefaultActivitySid", SidPrefix.ACTIVITY),
        timeout_activity_sid=form.sid("TimeoutActivitySid", SidPrefix.ACTIVITY),
        event_callback_url=form.str("EventCallbackUrl", max_length=CALLBACK_URL_LIMIT),
        events_filter=form.str("EventsFilter"),
        multi_task_enabled=form.bool("MultiTaskEnabled"),
        prioritize_queue_order=form.enum("PrioritizeQueueOrder", QueueOrder),
    )
    async with db.unit() as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        row = await taskrouter.update_workspace(uow, workspace=workspace, changes=changes)
    return WorkspacePublic.of(row, settings.base_url)


@router.delete("/{workspace_sid}", status_code=204)
async def delete_workspace(workspace_sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    async with db.unit() as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        await taskrouter.delete_workspace(uow, workspace=workspace)
    return Response(status_code=204)
