"""/taskrouter/v1/Workspaces: create, read, update, delete. A new workspace gets Twilio's default
activities (Offline is the default and timeout activity) and task channels."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request, Response

from api.deps import CurrentPrincipal, DbDep, FormDep, SettingsDep
from api.routes.taskrouter.common import activity_names, load_workspace
from api.serializers.taskrouter import workspace_json
from api.wire import Page
from domain.errors import InvalidParameter
from domain.sids import SidPrefix, new_sid
from storage.db import UnitOfWork

router = APIRouter(prefix="/taskrouter/v1/Workspaces", tags=["TaskRouter: Workspaces"])

DEFAULT_ACTIVITIES = (("Offline", False), ("Available", True), ("Unavailable", False), ("Break", False))
DEFAULT_TASK_CHANNELS = (
    ("Default", "default"),
    ("Voice", "voice"),
    ("Chat", "chat"),
    ("SMS", "sms"),
    ("Video", "video"),
    ("Email", "email"),
)


class QueueOrder(StrEnum):
    FIFO = "FIFO"
    LIFO = "LIFO"


class Template(StrEnum):
    NONE = "NONE"
    FIFO = "FIFO"


async def create_workspace(
    uow: UnitOfWork,
    *,
    account_sid: str,
    friendly_name: str,
    event_callback_url: str | None = None,
    events_filter: str | None = None,
    multi_task_enabled: bool = True,
    prioritize_queue_order: str = "FIFO",
    template: Template | None = None,
) -> dict[str, Any]:
    sid = new_sid(SidPrefix.WORKSPACE)
    await uow.execute(
        "INSERT INTO workspaces (sid, account_sid, friendly_name, event_callback_url, events_filter, "
        "multi_task_enabled, prioritize_queue_order) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            sid,
            account_sid,
            friendly_name,
            event_callback_url,
            events_filter,
            multi_task_enabled,
            prioritize_queue_order,
        ),
    )
    activity_sids: dict[str, str] = {}
    for name, available in DEFAULT_ACTIVITIES:
        activity_sids[name] = new_sid(SidPrefix.ACTIVITY)
        await uow.execute(
            "INSERT INTO activities (sid, account_sid, workspace_sid, friendly_name, available) "
            "VALUES (%s, %s, %s, %s, %s)",
            (activity_sids[name], account_sid, sid, name, available),
        )
    for friendly, unique in DEFAULT_TASK_CHANNELS:
        await uow.execute(
            "INSERT INTO task_channels (sid, account_sid, workspace_sid, friendly_name, unique_name) "
            "VALUES (%s, %s, %s, %s, %s)",
            (new_sid(SidPrefix.TASK_CHANNEL), account_sid, sid, friendly, unique),
        )
    if template is Template.FIFO:
        queue_sid = new_sid(SidPrefix.TASK_QUEUE)
        await uow.execute(
            "INSERT INTO task_queues (sid, account_sid, workspace_sid, friendly_name, target_workers) "
            "VALUES (%s, %s, %s, 'Sample Queue', '1==1')",
            (queue_sid, account_sid, sid),
        )
        config = {"task_routing": {"filters": [], "default_filter": {"queue": queue_sid}}}
        await uow.execute(
            "INSERT INTO workflows (sid, account_sid, workspace_sid, friendly_name, configuration) "
            "VALUES (%s, %s, %s, 'Default Fifo Workflow', %s)",
            (new_sid(SidPrefix.WORKFLOW), account_sid, sid, json.dumps(config)),
        )
    row = await uow.fetchone(
        "UPDATE workspaces SET default_activity_sid = %s, timeout_activity_sid = %s WHERE sid = %s RETURNING *",
        (activity_sids["Offline"], activity_sids["Offline"], sid),
    )
    assert row is not None
    return row


@router.post("", status_code=201)
async def create(request: Request, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep) -> Any:
    principal.require_admin()
    async with db.unit() as uow:
        row = await create_workspace(
            uow,
            account_sid=principal.account_sid,
            friendly_name=form.required_str("FriendlyName", max_length=64),
            event_callback_url=form.str("EventCallbackUrl", max_length=2048),
            events_filter=form.str("EventsFilter"),
            multi_task_enabled=form.bool("MultiTaskEnabled") is not False,
            prioritize_queue_order=(form.enum("PrioritizeQueueOrder", QueueOrder) or QueueOrder.FIFO).value,
            template=form.enum("Template", Template),
        )
        return workspace_json(row, settings.base_url, activity_names=await activity_names(uow, row["sid"]))


@router.get("")
async def list_workspaces(request: Request, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep) -> Any:
    page = Page(request.query_params)
    name = request.query_params.get("FriendlyName")
    async with db.read() as q:
        rows, more = await page.fetch(
            q,
            "SELECT * FROM workspaces WHERE account_sid = %s AND (%s::text IS NULL OR friendly_name = %s) "
            "AND (%s::text IS NULL OR sid = %s) ORDER BY date_created, sid",
            (principal.account_sid, name, name, principal.workspace_sid, principal.workspace_sid),
        )
        items = [workspace_json(r, settings.base_url, activity_names=await activity_names(q, r["sid"])) for r in rows]
    return page.envelope(
        key="workspaces",
        url=f"{settings.base_url}/taskrouter/v1/Workspaces",
        items=items,
        has_more=more,
        filters=[("FriendlyName", name)] if name else [],
    )


@router.get("/{workspace_sid}")
async def fetch(workspace_sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep) -> Any:
    async with db.read() as q:
        row = await load_workspace(q, principal, workspace_sid)
        return workspace_json(row, settings.base_url, activity_names=await activity_names(q, workspace_sid))


@router.post("/{workspace_sid}")
async def update(
    workspace_sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    async with db.unit() as uow:
        await load_workspace(uow, principal, workspace_sid)
        names = await activity_names(uow, workspace_sid)
        for param in ("DefaultActivitySid", "TimeoutActivitySid"):
            value = form.sid(param, SidPrefix.ACTIVITY)
            if value is not None and value not in names:
                raise InvalidParameter(f"{param} {value} is not an activity of this workspace")
        order = form.enum("PrioritizeQueueOrder", QueueOrder)
        updated = await uow.fetchone(
            """
            UPDATE workspaces SET friendly_name = COALESCE(%s, friendly_name),
                   default_activity_sid = COALESCE(%s, default_activity_sid),
                   timeout_activity_sid = COALESCE(%s, timeout_activity_sid),
                   event_callback_url = COALESCE(%s, event_callback_url),
                   events_filter = COALESCE(%s, events_filter),
                   multi_task_enabled = COALESCE(%s, multi_task_enabled),
                   prioritize_queue_order = COALESCE(%s, prioritize_queue_order),
                   date_updated = now()
             WHERE sid = %s RETURNING *
            """,
            (
                form.str("FriendlyName", max_length=64),
                form.str("DefaultActivitySid"),
                form.str("TimeoutActivitySid"),
                form.str("EventCallbackUrl", max_length=2048),
                form.str("EventsFilter"),
                form.bool("MultiTaskEnabled"),
                order.value if order else None,
                workspace_sid,
            ),
        )
        assert updated is not None
        return workspace_json(updated, settings.base_url, activity_names=names)


@router.delete("/{workspace_sid}", status_code=204)
async def delete(workspace_sid: str, principal: CurrentPrincipal, db: DbDep) -> Response:
    principal.require_admin()
    async with db.unit() as uow:
        await load_workspace(uow, principal, workspace_sid)
        # Children first; interaction channels keep their history but lose the task link.
        await uow.execute(
            "UPDATE interaction_channels SET active_task_sid = NULL WHERE active_task_sid IN "
            "(SELECT sid FROM tasks WHERE workspace_sid = %s)",
            (workspace_sid,),
        )
        for table in (
            "reservations",
            "tasks",
            "queue_members",
            "worker_channels",
            "workers",
            "task_queues",
            "workflows",
            "task_channels",
            "taskrouter_events",
        ):
            await uow.execute(f"DELETE FROM {table} WHERE workspace_sid = %s", (workspace_sid,))
        await uow.execute(
            "UPDATE workspaces SET default_activity_sid = NULL, timeout_activity_sid = NULL WHERE sid = %s",
            (workspace_sid,),
        )
        await uow.execute("DELETE FROM activities WHERE workspace_sid = %s", (workspace_sid,))
        await uow.execute("DELETE FROM workspaces WHERE sid = %s", (workspace_sid,))
    return Response(status_code=204)
