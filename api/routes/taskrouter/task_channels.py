"""/taskrouter/v1/Workspaces/{WS}/TaskChannels: the kinds of work (voice, chat…), addressed by SID or unique
name. Creating one gives every worker a channel for it; deleting one removes those worker channels."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response

from api.access import workspace_access
from api.deps import AdminPrincipal, CurrentPrincipal, DbDep, SettingsDep
from api.forms.taskrouter import CreateTaskChannel, UpdateTaskChannel
from api.params import WORKSPACE_PATH
from api.query import QueryParameters, QueryValues
from api.schemas.taskrouter import TaskChannelList, TaskChannelPublic, ws_url
from domain.limits import TASKROUTER_MAX_PAGE_SIZE
from storage.taskrouter import queries
from storage.taskrouter import service as taskrouter

router = APIRouter(prefix=f"{WORKSPACE_PATH}/TaskChannels", tags=["TaskRouter: TaskChannels"])
LIST_QUERY = QueryParameters(page_size=TASKROUTER_MAX_PAGE_SIZE)


@router.get("", response_model=TaskChannelList)
async def list_task_channels(
    workspace_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(LIST_QUERY)],
    settings: SettingsDep,
) -> TaskChannelList:
    """The workspace's task channels."""
    page = query.paging()
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        result = await queries.task_channels(q, workspace_sid=workspace_sid, page=page.request)
    return TaskChannelList(
        channels=[TaskChannelPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="channels", url=f"{ws_url(settings.base_url, workspace_sid)}/TaskChannels", has_more=result.has_more
        ),
    )


@router.post("", status_code=201, response_model=TaskChannelPublic)
async def create_task_channel(
    workspace_sid: str,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[CreateTaskChannel, Form()],
    settings: SettingsDep,
) -> TaskChannelPublic:
    """Create a task channel; every worker gets a worker channel for it (capacity 1)."""
    async with taskrouter.unique(db, "TaskChannel") as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        row = await taskrouter.create_task_channel(
            uow,
            workspace=workspace,
            friendly_name=form.friendly_name,
            unique_name=form.unique_name,
            optimized=form.channel_optimized_routing,
        )
    return TaskChannelPublic.of(row, settings.base_url)


@router.get("/{sid}", response_model=TaskChannelPublic)
async def fetch_task_channel(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> TaskChannelPublic:
    """One task channel, by SID or unique name."""
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        row = await taskrouter.get_task_channel(q, workspace_sid=workspace_sid, key=sid)
    return TaskChannelPublic.of(row, settings.base_url)


@router.post("/{sid}", response_model=TaskChannelPublic)
async def update_task_channel(
    workspace_sid: str,
    sid: str,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[UpdateTaskChannel, Form()],
    settings: SettingsDep,
) -> TaskChannelPublic:
    """Change a task channel's name or channel-optimized routing."""
    async with db.unit() as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        row = await taskrouter.update_task_channel(
            uow,
            workspace=workspace,
            key=sid,
            friendly_name=form.friendly_name,
            optimized=form.channel_optimized_routing,
        )
    return TaskChannelPublic.of(row, settings.base_url)


@router.delete("/{sid}", status_code=204)
async def delete_task_channel(workspace_sid: str, sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    """Delete a task channel no task uses (409 otherwise), with its worker channels."""
    async with db.unit() as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        await taskrouter.delete_task_channel(uow, workspace=workspace, key=sid)
    return Response(status_code=204)
