"""/taskrouter/v1/Workspaces/{WS}/Workflows: routing configurations that send tasks to task queues, with
optional assignment callbacks. A configuration may only name queues of its own workspace."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from api.deps import CurrentPrincipal, DbDep, FormDep, QueryDep, SettingsDep
from api.routes.taskrouter.common import (
    LIVE_TASK,
    WORKSPACE_PATH,
    Listing,
    Row,
    Where,
    count,
    ensure_unique,
    insert,
    load_in_workspace,
    load_workspace,
    log_event,
    optional_name,
    unit,
    update,
)
from api.serializers.taskrouter import workflow_json
from api.wire import Params
from domain.errors import Conflict, InvalidParameter
from domain.routing import WorkflowConfiguration, WorkflowConfigurationError, parse_workflow_configuration
from domain.sids import SidPrefix, new_sid
from storage.db import UnitOfWork
from storage.matching import lock_workspace

router = APIRouter(prefix=f"{WORKSPACE_PATH}/Workflows", tags=["TaskRouter: Workflows"])


def _url(form: Params, param: str) -> str | None:
    value = form.str(param, max_length=2048)
    if value and not value.startswith(("http://", "https://")):
        raise InvalidParameter(f"Parameter '{param}' must be an http(s) URL, got '{value}'")
    return value


def _workflow_fields(form: Params, *, creating: bool) -> tuple[dict[str, Any], WorkflowConfiguration | None]:
    fields: dict[str, Any] = {
        "friendly_name": form.required_str("FriendlyName", max_length=64) if creating else optional_name(form),
        "task_reservation_timeout": form.int("TaskReservationTimeout", minimum=1, maximum=86400),
        "configuration": form.required_str("Configuration") if creating else form.str("Configuration"),
    }
    for param, column in (
        ("AssignmentCallbackUrl", "assignment_callback_url"),
        ("FallbackAssignmentCallbackUrl", "fallback_assignment_callback_url"),
    ):
        url = _url(form, param)
        if form.has(param):
            # An empty value on update clears the callback.
            fields[column] = url or None
    form.bool("ReEvaluateTasks")  # validated; tasks keep the configuration they entered with for now
    config = None
    if fields["configuration"] is not None:
        try:
            config = parse_workflow_configuration(fields["configuration"])
        except WorkflowConfigurationError as exc:
            raise InvalidParameter(f"Parameter 'Configuration' is invalid: {exc}") from None
    return {c: v for c, v in fields.items() if v is not None or c.endswith("_callback_url")}, config


async def _check_workflow_queues(uow: UnitOfWork, workspace_sid: str, config: WorkflowConfiguration | None) -> None:
    if config is None:
        return
    wanted = sorted(config.queue_sids())
    found = {
        r["sid"]
        for r in await uow.fetchall(
            "SELECT sid FROM task_queues WHERE workspace_sid = %s AND sid = ANY(%s)", (workspace_sid, wanted)
        )
    }
    missing = [sid for sid in wanted if sid not in found]
    if missing:
        raise InvalidParameter(
            f"Parameter 'Configuration' refers to TaskQueue {', '.join(missing)}, "
            "which is not a queue of this workspace"
        )


def _workflow_data(row: Row) -> dict[str, Any]:
    return {"workflow_sid": row["sid"], "workflow_name": row["friendly_name"]}


@router.get("")
async def list_workflows(
    workspace_sid: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    query: QueryDep,
    settings: SettingsDep,
) -> Any:
    listing = Listing(request, settings, workspace_sid, "Workflows", key="workflows")
    where = Where("workspace_sid = %s", workspace_sid)
    where.add(query.str("FriendlyName"), "friendly_name = %s")
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        rows, more = await listing.fetch(
            q, f"SELECT * FROM workflows WHERE {where.sql} ORDER BY date_created, sid", where.args
        )
    return listing.envelope([workflow_json(r, settings.base_url) for r in rows], more, ("FriendlyName",))


@router.post("", status_code=201)
async def create_workflow(
    workspace_sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    fields, config = _workflow_fields(form, creating=True)
    async with unit(db, "Workflow") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await _check_workflow_queues(uow, workspace_sid, config)
        await ensure_unique(uow, "workflows", workspace_sid, "friendly_name", fields["friendly_name"], "Workflow")
        row = await insert(
            uow,
            "workflows",
            {
                "sid": new_sid(SidPrefix.WORKFLOW),
                "account_sid": workspace["account_sid"],
                "workspace_sid": workspace_sid,
                "task_reservation_timeout": 120,
                **fields,
            },
        )
        await log_event(
            uow,
            workspace,
            "workflow.created",
            "workflow",
            row["sid"],
            f"Workflow {row['friendly_name']} created",
            **_workflow_data(row),
        )
    return workflow_json(row, settings.base_url)


@router.get("/{sid:sid}")
async def fetch_workflow(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> Any:
    async with db.read() as q:
        await load_workspace(q, principal, workspace_sid)
        row = await load_in_workspace(q, "workflows", "Workflows", workspace_sid, sid)
    return workflow_json(row, settings.base_url)


@router.post("/{sid:sid}")
async def update_workflow(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> Any:
    principal.require_admin()
    fields, config = _workflow_fields(form, creating=False)
    async with unit(db, "Workflow") as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        row = await load_in_workspace(uow, "workflows", "Workflows", workspace_sid, sid)
        await _check_workflow_queues(uow, workspace_sid, config)
        if "friendly_name" in fields:
            await ensure_unique(
                uow,
                "workflows",
                workspace_sid,
                "friendly_name",
                fields["friendly_name"],
                "Workflow",
                exclude=sid,
            )
        if fields:
            row = await update(uow, "workflows", sid, fields)
            await log_event(
                uow,
                workspace,
                "workflow.updated",
                "workflow",
                sid,
                f"Workflow {row['friendly_name']} updated",
                **_workflow_data(row),
            )
    return workflow_json(row, settings.base_url)


@router.delete("/{sid:sid}", status_code=204)
async def delete_workflow(workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep) -> Response:
    principal.require_admin()
    async with db.unit() as uow:
        workspace = await load_workspace(uow, principal, workspace_sid)
        await lock_workspace(uow, workspace_sid)
        row = await load_in_workspace(uow, "workflows", "Workflows", workspace_sid, sid)
        tasks = await count(
            uow, "tasks WHERE workflow_sid = %s AND assignment_status = ANY(%s)", (sid, list(LIVE_TASK))
        )
        if tasks:
            raise Conflict(f"Workflow {sid} cannot be deleted while {tasks} live task(s) use it")
        # Finished tasks keep their history without the workflow (tasks.workflow_sid is a foreign key).
        await uow.execute("UPDATE tasks SET workflow_sid = NULL WHERE workflow_sid = %s", (sid,))
        await uow.execute("DELETE FROM workflows WHERE sid = %s", (sid,))
        await log_event(
            uow,
            workspace,
            "workflow.deleted",
            "workflow",
            sid,
            f"Workflow {row['friendly_name']} deleted",
            **_workflow_data(row),
        )
    return Response(status_code=204)
