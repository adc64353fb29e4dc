"""/taskrouter/v1/Workspaces/{WS}/Workers: agents, their attributes and current activity. Versioned by ETag
(If-Match); profile and activity changes refresh queue membership and may offer waiting tasks at once."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from api.deps import CurrentPrincipal, DbDep, FormDep, QueryDep, SettingsDep
from api.routes.taskrouter.common import (
    WORKSPACE_PATH,
    Listing,
    Row,
    Where,
    count,
    deny_agents,
    ensure_unique,
    insert,
    load_in_workspace,
    load_workspace,
    log_event,
    optional_name,
    parse_param_expression,
    require_activity,
    unit,
)
from api.serializers.taskrouter import worker_json
from core.settings import Settings
from domain.errors import Conflict, InvalidParameter, NotFound
from domain.sids import SidPrefix, new_sid
from storage.db import UnitOfWork
from storage.matching import lock_workspace, match
from storage.routing import ensure_worker_channels, refresh_membership_for_worker, set_worker_activity

router = APIRouter(prefix=f"{WORKSPACE_PATH}/Workers", tags=["TaskRouter: Workers"])

LIVE_RESERVATION = ("pending", "accepted", "wrapping")
_WORKER_SELECT = (
    "SELECT w.*, a.friendly_name AS activity_name FROM workers w JOIN activities a ON a.sid = w.activity_sid"
)


async def _load_worker(q: UnitOfWork, workspace_sid: str, worker_sid: str) -> Row:
    row = await q.fetchone(f"{_WORKER_SELECT} WHERE w.sid = %s AND w.workspace_sid = %s", (worker_sid, workspace_sid))
    if row is None:
        raise NotFound(f"The requested resource /Workspaces/{workspace_sid}/Workers/{worker_sid} was not found")
    return row


def _worker_out(row: Row, settings: Settings, response: Response) -> dict[str, Any]:
    response.headers["ETag"] = str(row["version"])
    return worker_json(row, settings.base_url, activity_name=row["activity_name"])


def _worker_context(row: Row) -> dict[str, Any]:
    try:
        attributes = json.loads(row["attributes"] or "{}")
    except json.JSONDecodeError:
        attributes = {}
    return {
        **(attributes if isinstance(attributes, dict) else {}),
        "sid": row["sid"],
        "friendly_name": row["friendly_name"],
        "activity_sid": row["activity_sid"],
        "activity_name": row["activity_name"],
    }


def _worker_data(row: Row) -> dict[str, Any]:
    return {
        "worker_sid": row["sid"],
        "worker_name": row["friendly_name"],
        "worker_attributes": row["attributes"],
        "worker_activity_sid": row["activity_sid"],
        "worker_version": row["version"],
    }


def _if_match(request: Request) -> int | None:
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    try:
        return int(raw.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise Conflict(f"If-Match '{raw}' does not match the worker's current ETag", status=412) from None


def _check_version(worker: Row, expected: int | None) -> None:
    if expected is not None and worker["version"] != expected:
        raise Conflict(f"If-Match does not match the worker's current ETag ({worker['version']})", status=412)


@router.get("")
async def list_workers(
    workspace_sid: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    query: QueryDep,
    settings: SettingsDep,
) -> Any:
    listing = Listing(request, settings, workspace_sid, "Workers", key="workers")
    where = Where("w.workspace_sid = %s", workspace_sid)
    where.add(query.str("ActivityName"), "a.friendly_name = %s")
    where.add(query.sid("ActivitySid", SidPrefix.ACTIVITY), "w.activity_sid = %s")
    where.add(query.bool("Available"), "w.available = %s")
    where.add(query.str("FriendlyName"), "w.friendly_name = %s")
    where.add(
        query.sid("TaskQueueSid", SidPrefix.TASK_QUEUE),
        "EXISTS (SELECT 1 FROM queue_members m WHERE m.worker_sid = w.sid AND m.queue_sid = %s)",
    )
    where.add(
        query.str("TaskQueueName"),
        "EXISTS (SELECT 1 FROM queue_members m JOIN task_queues tq "
        "ON tq.sid = m.queue_sid WHERE m.worker_sid = w.sid AND tq.friendly_name = %s)",
    )
    text = query.str("TargetWorkersExpression")
    expression = parse_param_expression(text, "TargetWorkersExpression") if text is not None else None
    sql = f"{_WORKER_SELECT} WHERE {where.sql} ORDER BY w.date_created, w.sid"
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        deny_agents(principal, "workers")
        if expression is None:
            rows, more = await listing.fetch(q, sql, where.args)
        else:
            rows, more = listing.cut(
                [r for r in await q.fetchall(sql, where.args) if expression.evaluate(_worker_context(r))]
            )
    return listing.envelope(
        [worker_json(r, settings.base_url, activity_name=r["activity_name"]) for r in rows],
        more,
        (
            "ActivityName",
            "ActivitySid",
            "Available",
            "FriendlyName",
            "TaskQueueSid",
            "TaskQueueName",
            "TargetWorkersExpression",
        ),
    )


@router.post("", status_code=201)
async def create_worker(
    workspace_sid: str,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    form: FormDep,
    settings: SettingsDep,
) -> Any:
    principal.require_admin()
    name = form.required_str("FriendlyName", max_length=64)
    attributes = form.json_object("Attributes", max_length=4096) or "{}"
    activity_sid = form.sid("ActivitySid", SidPrefix.ACTIVITY)
    async with unit(db, "Worker") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await lock_workspace(uow, workspace_sid)
        activity_sid = activity_sid or workspace["default_activity_sid"]
        if activity_sid is None:
            raise InvalidParameter("Parameter 'ActivitySid' is required: the workspace has no default")
        activity = await require_activity(uow, workspace_sid, activity_sid, "ActivitySid")
        await ensure_unique(uow, "workers", workspace_sid, "friendly_name", name, "Worker", casefold=True)
        sid = new_sid(SidPrefix.WORKER)
        await insert(
            uow,
            "workers",
            {
                "sid": sid,
                "account_sid": workspace["account_sid"],
                "workspace_sid": workspace_sid,
                "friendly_name": name,
                "attributes": attributes,
                "activity_sid": activity_sid,
                "available": activity["available"],
                "date_status_changed": uow.now,
            },
        )
        await ensure_worker_channels(uow, workspace_sid=workspace_sid, worker_sid=sid)
        await refresh_membership_for_worker(uow, sid)
        row = await _load_worker(uow, workspace_sid, sid)
        await log_event(
            uow,
            workspace,
            "worker.created",
            "worker",
            sid,
            f"Worker {name} created",
            **_worker_data(row),
            worker_activity_name=row["activity_name"],
        )
        if activity["available"]:
            await match(uow, workspace_sid)
    return _worker_out(row, settings, response)


@router.get("/{sid:sid}")
async def fetch_worker(
    workspace_sid: str,
    sid: str,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
) -> Any:
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        principal.require_worker(workspace_sid, sid)
        row = await _load_worker(q, workspace_sid, sid)
    return _worker_out(row, settings, response)


async def _update_profile(
    uow: UnitOfWork, workspace: Row, worker: Row, name: str | None, attributes: str | None
) -> Row:
    changes = {c: v for c, v in (("friendly_name", name), ("attributes", attributes)) if v is not None}
    if not changes:
        return worker
    sets = "".join(f"{column} = %s, " for column in changes)
    row = await uow.fetchone(
        f"UPDATE workers SET {sets}version = version + 1, date_updated = now() WHERE sid = %s RETURNING *",
        (*changes.values(), worker["sid"]),
    )
    assert row is not None
    if attributes is not None:
        await refresh_membership_for_worker(uow, worker["sid"])
        await log_event(
            uow,
            workspace,
            "worker.attributes.update",
            "worker",
            worker["sid"],
            f"Worker {row['friendly_name']} attributes updated",
            **_worker_data(row),
        )
    # Queue membership and known-worker steps may now match waiting tasks.
    await match(uow, workspace["sid"])
    return row


@router.post("/{sid:sid}")
async def update_worker(
    workspace_sid: str,
    sid: str,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    db: DbDep,
    form: FormDep,
    settings: SettingsDep,
) -> Any:
    name = optional_name(form)
    attributes = form.json_object("Attributes", max_length=4096)
    activity_sid = form.sid("ActivitySid", SidPrefix.ACTIVITY)
    reject_pending = bool(form.bool("RejectPendingReservations"))
    expected = _if_match(request)
    async with unit(db, "Worker") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        principal.require_worker(workspace_sid, sid)
        if name is not None or attributes is not None:
            principal.require_admin()
        await lock_workspace(uow, workspace_sid)
        worker = await load_in_workspace(uow, "workers", "Workers", workspace_sid, sid, for_update=True)
        _check_version(worker, expected)
        if name is not None:
            await ensure_unique(
                uow, "workers", workspace_sid, "friendly_name", name, "Worker", exclude=sid, casefold=True
            )
        if activity_sid is not None:
            await require_activity(uow, workspace_sid, activity_sid, "ActivitySid")
        worker = await _update_profile(uow, workspace, worker, name, attributes)
        if activity_sid is not None:
            await set_worker_activity(uow, worker=worker, activity_sid=activity_sid, reject_pending=reject_pending)
        row = await _load_worker(uow, workspace_sid, sid)
    return _worker_out(row, settings, response)


@router.delete("/{sid:sid}", status_code=204)
async def delete_worker(
    workspace_sid: str, sid: str, request: Request, principal: CurrentPrincipal, db: DbDep
) -> Response:
    principal.require_admin()
    expected = _if_match(request)
    async with db.unit() as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await lock_workspace(uow, workspace_sid)
        worker = await load_in_workspace(uow, "workers", "Workers", workspace_sid, sid, for_update=True)
        _check_version(worker, expected)
        live = await count(
            uow,
            "reservations WHERE worker_sid = %s AND reservation_status = ANY(%s)",
            (sid, list(LIVE_RESERVATION)),
        )
        if live:
            raise Conflict(
                f"Worker {sid} cannot be deleted while it has {live} pending, accepted or wrapping reservation(s)"
            )
        # Finished reservations reference the worker and its channels; like Twilio, they go with it.
        for table, column in (
            ("reservations", "worker_sid"),
            ("worker_channels", "worker_sid"),
            ("queue_members", "worker_sid"),
            ("workers", "sid"),
        ):
            await uow.execute(f"DELETE FROM {table} WHERE {column} = %s", (sid,))
        await log_event(
            uow,
            workspace,
            "worker.deleted",
            "worker",
            sid,
            f"Worker {worker['friendly_name']} deleted",
            **_worker_data(worker),
        )
    return Response(status_code=204)
