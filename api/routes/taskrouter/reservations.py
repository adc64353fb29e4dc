"""Reservations, reachable from the task (`/Tasks/{WT}/Reservations`) and from the worker
(`/Workers/{WK}/Reservations`). Updating one is how an agent accepts, rejects, wraps up or completes."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request, Response

from api.auth import Principal, Role
from api.deps import CurrentPrincipal, DbDep, FormDep, SettingsDep
from api.routes.taskrouter.common import load_workspace
from api.serializers.taskrouter import RESERVATION_SELECT, reservation_json
from api.wire import Page, Params
from domain.errors import InvalidParameter, NotFound, PermissionDenied
from domain.sids import SidPrefix
from storage import routing
from storage.db import Database, UnitOfWork

router = APIRouter(prefix="/taskrouter/v1/Workspaces/{workspace_sid}", tags=["TaskRouter: Reservations"])


class ReservationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    TIMEOUT = "timeout"
    CANCELED = "canceled"
    RESCINDED = "rescinded"
    WRAPPING = "wrapping"
    COMPLETED = "completed"


INSTRUCTIONS = {"accept": ReservationStatus.ACCEPTED, "reject": ReservationStatus.REJECTED}


async def _load(
    q: UnitOfWork,
    principal: Principal,
    workspace_sid: str,
    *,
    reservation_sid: str,
    task_sid: str | None = None,
    worker_sid: str | None = None,
) -> dict[str, Any]:
    row = await q.fetchone(
        RESERVATION_SELECT + " WHERE r.sid = %s AND r.workspace_sid = %s "
        "AND (%s::text IS NULL OR r.task_sid = %s) AND (%s::text IS NULL OR r.worker_sid = %s)",
        (reservation_sid, workspace_sid, task_sid, task_sid, worker_sid, worker_sid),
    )
    if row is None:
        raise NotFound(f"The requested resource /Reservations/{reservation_sid} was not found")
    if principal.role is Role.AGENT and row["worker_sid"] != principal.worker_sid:
        raise PermissionDenied("An agent may only see and answer its own reservations")
    return row


async def _list(
    db: Database,
    request: Request,
    principal: Principal,
    workspace_sid: str,
    base_url: str,
    *,
    task_sid: str | None,
    worker_sid: str | None,
    url: str,
) -> Any:
    page = Page(request.query_params)
    params = Params(request.query_params)
    status = params.enum("ReservationStatus", ReservationStatus)
    worker_filter = worker_sid or params.sid("WorkerSid", SidPrefix.WORKER)
    if principal.role is Role.AGENT:
        if worker_filter is not None and worker_filter != principal.worker_sid:
            raise PermissionDenied("An agent may only list its own reservations")
        worker_filter = principal.worker_sid
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        rows, more = await page.fetch(
            q,
            RESERVATION_SELECT + " WHERE r.workspace_sid = %s AND (%s::text IS NULL OR r.task_sid = %s) "
            "AND (%s::text IS NULL OR r.worker_sid = %s) AND (%s::text IS NULL OR r.reservation_status = %s) "
            "ORDER BY r.date_created, r.sid",
            (workspace_sid, task_sid, task_sid, worker_filter, worker_filter, status, status),
        )
    return page.envelope(
        key="reservations",
        url=url,
        items=[reservation_json(r, base_url, worker_scoped=worker_sid is not None) for r in rows],
        has_more=more,
        filters=[("ReservationStatus", status.value)] if status else [],
    )


async def _update(
    db: Database,
    request: Request,
    response: Response,
    principal: Principal,
    form: Params,
    workspace_sid: str,
    base_url: str,
    *,
    reservation_sid: str,
    task_sid: str | None = None,
    worker_sid: str | None = None,
) -> Any:
    status = form.enum("ReservationStatus", ReservationStatus)
    instruction = (form.str("Instruction") or "").lower()
    if status is None and instruction:
        if instruction not in INSTRUCTIONS:
            raise InvalidParameter(f"Instruction '{instruction}' is not supported for messaging tasks")
        status = INSTRUCTIONS[instruction]
    if status is None:
        raise InvalidParameter("ReservationStatus (or Instruction) is required")
    activity_sid = form.sid("WorkerActivitySid", SidPrefix.ACTIVITY)
    if_match = request.headers.get("if-match")
    async with db.unit() as uow:
        await load_workspace(uow, principal, workspace_sid)
        row = await _load(
            uow,
            principal,
            workspace_sid,
            reservation_sid=reservation_sid,
            task_sid=task_sid,
            worker_sid=worker_sid,
        )
        await routing.update_reservation(
            uow,
            reservation_sid=reservation_sid,
            status=status.value,
            worker_activity_sid=activity_sid,
            expected_version=int(if_match.strip('"')) if if_match and if_match.strip('"').isdigit() else None,
        )
        row = await _load(uow, principal, workspace_sid, reservation_sid=reservation_sid)
    response.headers["ETag"] = str(row["version"])
    return reservation_json(row, base_url, worker_scoped=worker_sid is not None)


# --- task-scoped -------------------------------------------------------------------------------------


@router.get("/Tasks/{task_sid}/Reservations")
async def list_task_reservations(
    workspace_sid: str,
    task_sid: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
) -> Any:
    url = f"{settings.base_url}/taskrouter/v1/Workspaces/{workspace_sid}/Tasks/{task_sid}/Reservations"
    return await _list(
        db, request, principal, workspace_sid, settings.base_url, task_sid=task_sid, worker_sid=None, url=url
    )


@router.get("/Tasks/{task_sid}/Reservations/{reservation_sid}")
async def fetch_task_reservation(
    workspace_sid: str,
    task_sid: str,
    reservation_sid: str,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
) -> Any:
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        row = await _load(q, principal, workspace_sid, reservation_sid=reservation_sid, task_sid=task_sid)
    response.headers["ETag"] = str(row["version"])
    return reservation_json(row, settings.base_url)


@router.post("/Tasks/{task_sid}/Reservations/{reservation_sid}")
async def update_task_reservation(
    workspace_sid: str,
    task_sid: str,
    reservation_sid: str,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    form: FormDep,
    settings: SettingsDep,
) -> Any:
    return await _update(
        db,
        request,
        response,
        principal,
        form,
        workspace_sid,
        settings.base_url,
        reservation_sid=reservation_sid,
        task_sid=task_sid,
    )


# --- worker-scoped -----------------------------------------------------------------------------------


@router.get("/Workers/{worker_sid}/Reservations")
async def list_worker_reservations(
    workspace_sid: str,
    worker_sid: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
) -> Any:
    principal.require_worker(workspace_sid, worker_sid)
    url = f"{settings.base_url}/taskrouter/v1/Workspaces/{workspace_sid}/Workers/{worker_sid}/Reservations"
    return await _list(
        db,
        request,
        principal,
        workspace_sid,
        settings.base_url,
        task_sid=None,
        worker_sid=worker_sid,
        url=url,
    )


@router.get("/Workers/{worker_sid}/Reservations/{reservation_sid}")
async def fetch_worker_reservation(
    workspace_sid: str,
    worker_sid: str,
    reservation_sid: str,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
) -> Any:
    principal.require_worker(workspace_sid, worker_sid)
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        row = await _load(q, principal, workspace_sid, reservation_sid=reservation_sid, worker_sid=worker_sid)
    response.headers["ETag"] = str(row["version"])
    return reservation_json(row, settings.base_url, worker_scoped=True)


@router.post("/Workers/{worker_sid}/Reservations/{reservation_sid}")
async def update_worker_reservation(
    workspace_sid: str,
    worker_sid: str,
    reservation_sid: str,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    form: FormDep,
    settings: SettingsDep,
) -> Any:
    principal.require_worker(workspace_sid, worker_sid)
    return await _update(
        db,
        request,
        response,
        principal,
        form,
        workspace_sid,
        settings.base_url,
        reservation_sid=reservation_sid,
        worker_sid=worker_sid,
    )
