"""/parley/v1/AuditEvents (Parley extension): the account's audit log, what its admins and supervisors changed
(api/audit.py records it; docs/security/audit-log.md). Readable with account credentials only."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import AdminPrincipal, DbDep, QueryDep, SettingsDep
from api.paging import echo, paging
from api.params import time_window
from api.schemas.audit import AuditEventList, AuditEventPublic, audit_url
from api.wire import Params
from domain.errors import InvalidParameter
from domain.limits import AUDIT_DEFAULT_MINUTES, AUDIT_MAX_MINUTES
from domain.sids import is_sid
from storage.audit import service as audit

router = APIRouter(prefix="/parley/v1/AuditEvents", tags=["Parley: audit log"])
FILTERS = ("StartDate", "EndDate", "Minutes", "ActorSid", "ResourceSid")


def _any_sid(query: Params, name: str) -> str | None:
    value = query.str(name)
    if value is not None and not is_sid(value):
        raise InvalidParameter(f"Parameter '{name}' must be a SID, got '{value}'")
    return value


@router.get("", response_model=AuditEventList)
async def list_audit_events(
    request: Request, principal: AdminPrincipal, db: DbDep, query: QueryDep, settings: SettingsDep
) -> AuditEventList:
    """The account's audit events, newest first: the last 30 days unless `Minutes`, `StartDate` or `EndDate`
    say otherwise. Filters: `ActorSid` (the credential, or the worker of a token, that acted) and
    `ResourceSid`."""
    page = paging(request.query_params)
    start, end = time_window(query, default_minutes=AUDIT_DEFAULT_MINUTES, max_minutes=AUDIT_MAX_MINUTES)
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
            filters=echo(request.query_params, *FILTERS),
        ),
    )


@router.get("/{sid}", response_model=AuditEventPublic)
async def fetch_audit_event(sid: str, principal: AdminPrincipal, db: DbDep, settings: SettingsDep) -> AuditEventPublic:
    """One audit event."""
    async with db.read() as q:
        row = await audit.get_event(q, account_sid=principal.account_sid, sid=sid)
    return AuditEventPublic.of(row, settings.base_url)
