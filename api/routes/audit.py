"""/parley/v1/AuditEvents (Parley extension): the account's audit log, what its admins and supervisors changed
(api/audit.py records it; docs/security/audit-log.md). Readable with account credentials only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import AdminPrincipal, DbDep, SettingsDep
from api.query import QueryParam, QueryParameters, QueryValues, Window
from api.schemas.audit import AuditEventList, AuditEventPublic, audit_url
from domain.errors import InvalidParameter
from domain.limits import AUDIT_DEFAULT_MINUTES, AUDIT_MAX_MINUTES, TASKROUTER_MAX_PAGE_SIZE
from domain.sids import is_sid
from storage.audit import service as audit

router = APIRouter(prefix="/parley/v1/AuditEvents", tags=["Parley: audit log"])
FILTERS = ("StartDate", "EndDate", "Minutes", "ActorSid", "ResourceSid")
LIST_QUERY = QueryParameters(
    QueryParam.string("ActorSid", "Only what this credential, or the worker of a token, did (a SID)."),
    QueryParam.string("ResourceSid", "Only what was done to this resource (a SID)."),
    page_size=TASKROUTER_MAX_PAGE_SIZE,
    window=Window(default_minutes=AUDIT_DEFAULT_MINUTES, max_minutes=AUDIT_MAX_MINUTES),
)


def _any_sid(query: QueryValues, name: str) -> str | None:
    value = query.str(name)
    if value is not None and not is_sid(value):
        raise InvalidParameter(f"Parameter '{name}' must be a SID, got '{value}'")
    return value


@router.get("", response_model=AuditEventList)
async def list_audit_events(
    principal: AdminPrincipal, db: DbDep, query: Annotated[QueryValues, Depends(LIST_QUERY)], settings: SettingsDep
) -> AuditEventList:
    """The account's audit events, newest first: the last 30 days unless `Minutes`, `StartDate` or `EndDate`
    say otherwise. Filters: `ActorSid` (the credential, or the worker of a token, that acted) and
    `ResourceSid`."""
    page = query.paging()
    start, end = query.time_window()
    filters = audit.AuditFilters(
        start=start,
        end=end,
        actor_sid=_any_sid(query, "ActorSid"),
        resource_sid=_any_sid(query, "ResourceSid"),
    )
    async with db.read() as q:
        result = await audit.events(q, account_sid=principal.account_sid, filters=filters, page=page.request)
    return AuditEventList(
        audit_events=[AuditEventPublic.of(row, settings.base_url) for row in result.items],
        meta=page.meta(
            key="audit_events",
            url=audit_url(settings.base_url),
            has_more=result.has_more,
            filters=query.echo(*FILTERS),
        ),
    )


@router.get("/{sid}", response_model=AuditEventPublic)
async def fetch_audit_event(sid: str, principal: AdminPrincipal, db: DbDep, settings: SettingsDep) -> AuditEventPublic:
    """One audit event."""
    async with db.read() as q:
        row = await audit.get_event(q, account_sid=principal.account_sid, sid=sid)
    return AuditEventPublic.of(row, settings.base_url)
