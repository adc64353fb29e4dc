"""/taskrouter/v1/Workspaces/{WS}/Workers/{WK}/Channels: a worker's capacity and availability per task
channel, addressed by SID or the task channel's unique name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form

from api.access import workspace_access
from api.deps import CurrentPrincipal, DbDep, SettingsDep
from api.forms.taskrouter import UpdateWorkerChannel
from api.params import WORKSPACE_PATH
from api.query import QueryParameters, QueryValues
from api.schemas.taskrouter import WorkerChannelList, WorkerChannelPublic, ws_url
from domain.limits import TASKROUTER_MAX_PAGE_SIZE
from storage.taskrouter import queries
from storage.taskrouter import service as taskrouter

router = APIRouter(prefix=f"{WORKSPACE_PATH}/Workers/{{worker_sid:sid}}/Channels", tags=["TaskRouter: WorkerChannels"])
LIST_QUERY = QueryParameters(page_size=TASKROUTER_MAX_PAGE_SIZE)


@router.get("", response_model=WorkerChannelList)
async def list_worker_channels(
    workspace_sid: str,
    worker_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(LIST_QUERY)],
    settings: SettingsDep,
) -> WorkerChannelList:
    """A worker's channels: capacity and availability per task channel."""
    page = query.paging()
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        principal.require_worker(workspace_sid, worker_sid)
        await taskrouter.get_worker(q, workspace_sid=workspace_sid, sid=worker_sid)
        result = await queries.worker_channels(q, worker_sid=worker_sid, page=page.request)
    return WorkerChannelList(
        channels=[WorkerChannelPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="channels",
            url=f"{ws_url(settings.base_url, workspace_sid)}/Workers/{worker_sid}/Channels",
            has_more=result.has_more,
        ),
    )


@router.get("/{sid}", response_model=WorkerChannelPublic)
async def fetch_worker_channel(
    workspace_sid: str, worker_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> WorkerChannelPublic:
    """One worker channel, by WC SID or task channel unique name."""
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        principal.require_worker(workspace_sid, worker_sid)
        row = await taskrouter.get_worker_channel(q, workspace_sid=workspace_sid, worker_sid=worker_sid, key=sid)
    return WorkerChannelPublic.of(row, settings.base_url)


@router.post("/{sid}", response_model=WorkerChannelPublic)
async def update_worker_channel(
    workspace_sid: str,
    worker_sid: str,
    sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    form: Annotated[UpdateWorkerChannel, Form()],
    settings: SettingsDep,
) -> WorkerChannelPublic:
    """Change a worker channel's capacity (admins) or availability (an agent may, for itself)."""
    async with db.unit() as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        principal.require_worker(workspace_sid, worker_sid)
        if form.capacity is not None:
            principal.require_admin()  # an agent may go unavailable on a channel, not resize it
        row = await taskrouter.configure_worker_channel(
            uow,
            workspace=workspace,
            worker_sid=worker_sid,
            key=sid,
            capacity=form.capacity,
            available=form.available,
        )
    return WorkerChannelPublic.of(row, settings.base_url)
