"""/taskrouter/v1/Workspaces/{WS}/Workflows: routing configurations that send tasks to task queues, with
optional assignment callbacks. A configuration may only name queues of its own workspace."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.access import workspace_access
from api.deps import AdminPrincipal, CurrentPrincipal, DbDep, FormDep, QueryDep, SettingsDep
from api.paging import echo, paging
from api.params import WORKSPACE_PATH, callback_url, optional_name, required_name
from api.schemas.taskrouter import WorkflowList, WorkflowPublic, ws_url
from api.wire import Params
from domain.errors import InvalidParameter
from domain.limits import MAX_RESERVATION_TIMEOUT
from domain.routing import WorkflowConfiguration, WorkflowConfigurationError, parse_workflow_configuration
from storage.taskrouter import queries
from storage.taskrouter import service as taskrouter
from storage.taskrouter.models import WorkflowFields

router = APIRouter(prefix=f"{WORKSPACE_PATH}/Workflows", tags=["TaskRouter: Workflows"])
_CALLBACKS = (
    ("AssignmentCallbackUrl", "assignment_callback_url"),
    ("FallbackAssignmentCallbackUrl", "fallback_assignment_callback_url"),
)


def _workflow_fields(form: Params, *, creating: bool) -> tuple[WorkflowFields, WorkflowConfiguration | None]:
    text = form.required_str("Configuration") if creating else form.str("Configuration")
    values: dict[str, object] = {
        "friendly_name": required_name(form) if creating else optional_name(form),
        "task_reservation_timeout": form.int("TaskReservationTimeout", minimum=1, maximum=MAX_RESERVATION_TIMEOUT),
        "configuration": text,
    }
    for param, column in _CALLBACKS:
        url = callback_url(form, param)
        if form.has(param):
            values[column] = url or None  # an empty value on update clears the callback
    form.bool("ReEvaluateTasks")  # validated; tasks keep the configuration they entered with for now
    config = None
    if text is not None:
        try:
            config = parse_workflow_configuration(text)
        except WorkflowConfigurationError as exc:
            raise InvalidParameter(f"Parameter 'Configuration' is invalid: {exc}") from None
    return WorkflowFields.model_validate(values), config


@router.get("", response_model=WorkflowList)
async def list_workflows(
    workspace_sid: str, request: Request, principal: CurrentPrincipal, db: DbDep, query: QueryDep, settings: SettingsDep
) -> WorkflowList:
    page = paging(request.query_params)
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        result = await queries.workflows(
            q, workspace_sid=workspace_sid, friendly_name=query.str("FriendlyName"), page=page.request
        )
    return WorkflowList(
        workflows=[WorkflowPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="workflows",
            url=f"{ws_url(settings.base_url, workspace_sid)}/Workflows",
            has_more=result.has_more,
            filters=echo(request.query_params, "FriendlyName"),
        ),
    )


@router.post("", status_code=201, response_model=WorkflowPublic)
async def create_workflow(
    workspace_sid: str, principal: AdminPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> WorkflowPublic:
    fields, config = _workflow_fields(form, creating=True)
    assert config is not None
    async with taskrouter.unique(db, "Workflow") as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        row = await taskrouter.create_workflow(uow, workspace=workspace, fields=fields, config=config)
    return WorkflowPublic.of(row, settings.base_url)


@router.get("/{sid:sid}", response_model=WorkflowPublic)
async def fetch_workflow(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> WorkflowPublic:
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        row = await taskrouter.get_workflow(q, workspace_sid=workspace_sid, sid=sid)
    return WorkflowPublic.of(row, settings.base_url)


@router.post("/{sid:sid}", response_model=WorkflowPublic)
async def update_workflow(
    workspace_sid: str, sid: str, principal: AdminPrincipal, db: DbDep, form: FormDep, settings: SettingsDep
) -> WorkflowPublic:
    fields, config = _workflow_fields(form, creating=False)
    async with taskrouter.unique(db, "Workflow") as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        row = await taskrouter.update_workflow(uow, workspace=workspace, sid=sid, fields=fields, config=config)
    return WorkflowPublic.of(row, settings.base_url)


@router.delete("/{sid:sid}", status_code=204)
async def delete_workflow(workspace_sid: str, sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    async with db.unit() as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        await taskrouter.delete_workflow(uow, workspace=workspace, sid=sid)
    return Response(status_code=204)
