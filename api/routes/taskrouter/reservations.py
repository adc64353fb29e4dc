"""Reservations, reachable from the task (`/Tasks/{WT}/Reservations`) and from the worker
(`/Workers/{WK}/Reservations`). Updating one is how an agent accepts, rejects, wraps up or completes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response

from api.access import workspace_access
from api.auth import Principal, Role
from api.deps import CurrentPrincipal, DbDep, IfMatchDep, SettingsDep, set_etag
from api.forms.taskrouter import UpdateReservation
from api.params import WORKSPACE_PATH
from api.query import QueryParam, QueryParameters, QueryValues
from api.schemas.taskrouter import ReservationList, ReservationPublic, ws_url
from domain.errors import InvalidParameter, PermissionDenied
from domain.limits import TASKROUTER_MAX_PAGE_SIZE
from domain.sids import SidPrefix
from domain.states import ReservationStatus
from storage.db import Database, UnitOfWork
from storage.taskrouter import queries, routing
from storage.taskrouter.models import ReservationView

router = APIRouter(prefix=WORKSPACE_PATH, tags=["TaskRouter: Reservations"])

# Flex's reservation `Instruction`s that make sense for messaging tasks (voice instructions are refused).
INSTRUCTIONS = {"accept": ReservationStatus.ACCEPTED, "reject": ReservationStatus.REJECTED}
_STATUS = QueryParam.one_of(
    "ReservationStatus", [s.value for s in ReservationStatus], "Only the reservations in this status."
)
TASK_LIST_QUERY = QueryParameters(
    _STATUS,
    QueryParam.sid("WorkerSid", SidPrefix.WORKER, "Only the reservations of this worker."),
    page_size=TASKROUTER_MAX_PAGE_SIZE,
)
WORKER_LIST_QUERY = QueryParameters(_STATUS, page_size=TASKROUTER_MAX_PAGE_SIZE)


async def _load(
    q: UnitOfWork,
    principal: Principal,
    workspace_sid: str,
    *,
    reservation_sid: str,
    task_sid: str | None = None,
    worker_sid: str | None = None,
) -> ReservationView:
    row = await queries.get_reservation(
        q, workspace_sid=workspace_sid, reservation_sid=reservation_sid, task_sid=task_sid, worker_sid=worker_sid
    )
    if principal.role is Role.AGENT and row.worker_sid != principal.worker_sid:
        raise PermissionDenied("An agent may only see and answer its own reservations")
    return row


async def _list(
    db: Database,
    query: QueryValues,
    principal: Principal,
    workspace_sid: str,
    base_url: str,
    *,
    task_sid: str | None,
    worker_sid: str | None,
    url: str,
) -> ReservationList:
    page = query.paging()
    status = query.enum("ReservationStatus", ReservationStatus)
    worker_filter = worker_sid or query.sid("WorkerSid", SidPrefix.WORKER)
    if principal.role is Role.AGENT:
        if worker_filter is not None and worker_filter != principal.worker_sid:
            raise PermissionDenied("An agent may only list its own reservations")
        worker_filter = principal.worker_sid
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        result = await queries.reservations(
            q,
            workspace_sid=workspace_sid,
            task_sid=task_sid,
            worker_sid=worker_filter,
            status=status,
            page=page.request,
        )
    return ReservationList(
        reservations=[ReservationPublic.of(r, base_url, worker_scoped=worker_sid is not None) for r in result.items],
        meta=page.meta(
            key="reservations",
            url=url,
            has_more=result.has_more,
            filters=[("ReservationStatus", status.value if status else None)],
        ),
    )


async def _update(
    db: Database,
    response: Response,
    principal: Principal,
    form: UpdateReservation,
    expected: int | None,
    workspace_sid: str,
    base_url: str,
    *,
    reservation_sid: str,
    task_sid: str | None = None,
    worker_sid: str | None = None,
) -> ReservationPublic:
    status = form.reservation_status
    instruction = (form.instruction or "").strip().lower()
    if status is None and instruction:
        if instruction not in INSTRUCTIONS:
            raise InvalidParameter(f"Instruction '{instruction}' is not supported for messaging tasks")
        status = INSTRUCTIONS[instruction]
    if status is None:
        raise InvalidParameter("ReservationStatus (or Instruction) is required")
    activity_sid = form.worker_activity_sid
    async with db.unit() as uow:
        await workspace_access(uow, principal, workspace_sid)
        await _load(
            uow, principal, workspace_sid, reservation_sid=reservation_sid, task_sid=task_sid, worker_sid=worker_sid
        )
        await routing.update_reservation(
            uow,
            reservation_sid=reservation_sid,
            status=status,
            worker_activity_sid=activity_sid,
            expected_version=expected,
        )
        row = await _load(uow, principal, workspace_sid, reservation_sid=reservation_sid)
    set_etag(response, row.version)
    return ReservationPublic.of(row, base_url, worker_scoped=worker_sid is not None)


# --- task-scoped -------------------------------------------------------------------------------------


@router.get("/Tasks/{task_sid}/Reservations", response_model=ReservationList)
async def list_task_reservations(
    workspace_sid: str,
    task_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(TASK_LIST_QUERY)],
    settings: SettingsDep,
) -> ReservationList:
    """A task's reservations (an agent token: its own). Filters: `ReservationStatus`, `WorkerSid`."""
    url = f"{ws_url(settings.base_url, workspace_sid)}/Tasks/{task_sid}/Reservations"
    return await _list(
        db,
        query,
        principal,
        workspace_sid,
        settings.base_url,
        task_sid=task_sid,
        worker_sid=None,
        url=url,
    )


@router.get("/Tasks/{task_sid}/Reservations/{reservation_sid}", response_model=ReservationPublic)
async def fetch_task_reservation(
    workspace_sid: str,
    task_sid: str,
    reservation_sid: str,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
) -> ReservationPublic:
    """One reservation, with `routing_decision`: why it went to this worker."""
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        row = await _load(q, principal, workspace_sid, reservation_sid=reservation_sid, task_sid=task_sid)
    set_etag(response, row.version)
    return ReservationPublic.of(row, settings.base_url)


@router.post("/Tasks/{task_sid}/Reservations/{reservation_sid}", response_model=ReservationPublic)
async def update_task_reservation(
    workspace_sid: str,
    task_sid: str,
    reservation_sid: str,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    form: Annotated[UpdateReservation, Form()],
    expected: IfMatchDep,
    settings: SettingsDep,
) -> ReservationPublic:
    """Accept, reject (optionally moving the worker to `WorkerActivitySid`), wrap up or complete. Honours
    `If-Match`."""
    return await _update(
        db,
        response,
        principal,
        form,
        expected,
        workspace_sid,
        settings.base_url,
        reservation_sid=reservation_sid,
        task_sid=task_sid,
    )


# --- worker-scoped -----------------------------------------------------------------------------------


@router.get("/Workers/{worker_sid}/Reservations", response_model=ReservationList)
async def list_worker_reservations(
    workspace_sid: str,
    worker_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(WORKER_LIST_QUERY)],
    settings: SettingsDep,
) -> ReservationList:
    """A worker's reservations. Filter: `ReservationStatus`."""
    principal.require_worker(workspace_sid, worker_sid)
    url = f"{ws_url(settings.base_url, workspace_sid)}/Workers/{worker_sid}/Reservations"
    return await _list(
        db,
        query,
        principal,
        workspace_sid,
        settings.base_url,
        task_sid=None,
        worker_sid=worker_sid,
        url=url,
    )


@router.get("/Workers/{worker_sid}/Reservations/{reservation_sid}", response_model=ReservationPublic)
async def fetch_worker_reservation(
    workspace_sid: str,
    worker_sid: str,
    reservation_sid: str,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
) -> ReservationPublic:
    """One of a worker's reservations, with `routing_decision`."""
    principal.require_worker(workspace_sid, worker_sid)
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        row = await _load(q, principal, workspace_sid, reservation_sid=reservation_sid, worker_sid=worker_sid)
    set_etag(response, row.version)
    return ReservationPublic.of(row, settings.base_url, worker_scoped=True)


@router.post("/Workers/{worker_sid}/Reservations/{reservation_sid}", response_model=ReservationPublic)
async def update_worker_reservation(
    workspace_sid: str,
    worker_sid: str,
    reservation_sid: str,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    form: Annotated[UpdateReservation, Form()],
    expected: IfMatchDep,
    settings: SettingsDep,
) -> ReservationPublic:
    """Accept, reject, wrap up or complete one of the worker's reservations. Honours `If-Match`."""
    principal.require_worker(workspace_sid, worker_sid)
    return await _update(
        db,
        response,
        principal,
        form,
        expected,
        workspace_sid,
        settings.base_url,
        reservation_sid=reservation_sid,
        worker_sid=worker_sid,
    )
