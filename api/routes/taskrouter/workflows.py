"""/taskrouter/v1/Workspaces/{WS}/Workflows: routing configurations that send tasks to task queues, with
optional assignment callbacks. A configuration may only name queues of its own workspace."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.access import workspace_access
from api.deps import AdminPrincipal, CurrentPrincipal, DbDep, SettingsDep
from api.forms.parse import form_of
from api.forms.taskrouter import CreateWorkflow, WorkflowBody, WorkflowForm
from api.params import WORKSPACE_PATH
from api.query import QueryParam, QueryParameters, QueryValues
from api.schemas.taskrouter import WorkflowList, WorkflowPublic, ws_url
from domain.errors import InvalidParameter
from domain.limits import TASKROUTER_MAX_PAGE_SIZE
from domain.routing import WorkflowConfiguration, WorkflowConfigurationError, parse_workflow_configuration
from storage.taskrouter import queries
from storage.taskrouter import service as taskrouter
from storage.taskrouter.models import WorkflowFields

router = APIRouter(prefix=f"{WORKSPACE_PATH}/Workflows", tags=["TaskRouter: Workflows"])
_CALLBACKS = WorkflowBody.clearable
LIST_QUERY = QueryParameters(
    QueryParam.string("FriendlyName", "Only the workflow of this friendly name."), page_size=TASKROUTER_MAX_PAGE_SIZE
)


def _fields(form: WorkflowBody) -> tuple[WorkflowFields, WorkflowConfiguration | None]:
    """The columns to write and the parsed configuration. A callback URL sent empty is cleared."""
    values = form.model_dump(exclude={"re_evaluate_tasks", *_CALLBACKS})
    for column in _CALLBACKS:
        if form.given(column):
            values[column] = getattr(form, column) or None
    config = None
    if form.configuration is not None:
        try:
            config = parse_workflow_configuration(form.configuration)
        except WorkflowConfigurationError as exc:
            raise InvalidParameter(f"Parameter 'Configuration' is invalid: {exc}") from None
    return WorkflowFields.model_validate(values), config


@router.get("", response_model=WorkflowList)
async def list_workflows(
    workspace_sid: str,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(LIST_QUERY)],
    settings: SettingsDep,
) -> WorkflowList:
    """The workspace's workflows. Filter: `FriendlyName`."""
    page = query.paging()
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
            filters=query.echo("FriendlyName"),
        ),
    )


@router.post("", status_code=201, response_model=WorkflowPublic)
async def create_workflow(
    workspace_sid: str,
    request: Request,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[CreateWorkflow, Depends(form_of(CreateWorkflow))],
    settings: SettingsDep,
) -> WorkflowPublic:
    """Create a workflow; its configuration is validated (with the path of anything wrong) and may only name
    queues of this workspace."""
    fields, config = _fields(form)
    assert config is not None
    async with taskrouter.unique(db, "Workflow") as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        row = await taskrouter.create_workflow(uow, workspace=workspace, fields=fields, config=config)
    return WorkflowPublic.of(row, settings.base_url)


@router.get("/{sid:sid}", response_model=WorkflowPublic)
async def fetch_workflow(
    workspace_sid: str, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> WorkflowPublic:
    """One workflow."""
    async with db.read() as q:
        await workspace_access(q, principal, workspace_sid)
        row = await taskrouter.get_workflow(q, workspace_sid=workspace_sid, sid=sid)
    return WorkflowPublic.of(row, settings.base_url)


@router.post("/{sid:sid}", response_model=WorkflowPublic)
async def update_workflow(
    workspace_sid: str,
    sid: str,
    request: Request,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[WorkflowForm, Depends(form_of(WorkflowForm))],
    settings: SettingsDep,
) -> WorkflowPublic:
    """Change a workflow; tasks already routing keep the configuration they entered with unless
    `ReEvaluateTasks=true`, which routes every waiting task of it again through the new configuration."""
    fields, config = _fields(form)
    async with taskrouter.unique(db, "Workflow") as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        row = await taskrouter.update_workflow(
            uow,
            workspace=workspace,
            sid=sid,
            fields=fields,
            config=config,
            re_evaluate=bool(form.re_evaluate_tasks),
        )
    return WorkflowPublic.of(row, settings.base_url)


@router.delete("/{sid:sid}", status_code=204)
async def delete_workflow(workspace_sid: str, sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    """Delete a workflow no live task uses (409 otherwise); finished tasks keep their history."""
    async with db.unit() as uow:
        workspace = await workspace_access(uow, principal, workspace_sid)
        await taskrouter.delete_workflow(uow, workspace=workspace, sid=sid)
    return Response(status_code=204)
