"""Writing and reading the audit log (storage/audit/tables.py): one insert per recorded action, and the
account's events newest first, filtered by time, actor and resource."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.sids import SidPrefix, new_sid
from storage.audit.tables import IDENTITY_LIMIT, PATH_LIMIT, REASON_LIMIT, USER_AGENT_LIMIT, AuditEventRow
from storage.db import UnitOfWork
from storage.paging import Page, PageRequest, fetch_page


class AuditAction(StrEnum):
    """What an event records (docs/security/audit-log.md)."""

    # A state-changing API request of an admin or a supervisor (api/audit.py).
    REQUEST = "request"
    # Single sign-on to the desktop (api/sso.py): a person signed in, was refused, or was refused a renewal.
    SSO_SIGN_IN = "sso.sign_in"
    SSO_SIGN_IN_REFUSED = "sso.sign_in_refused"
    SSO_REFRESH_REFUSED = "sso.refresh_refused"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One action as the API edge saw it."""

    account_sid: str
    credential_sid: str | None
    role: str | None
    identity: str | None
    worker_sid: str | None
    method: str
    path_template: str | None
    path: str
    resource_sid: str | None
    status_code: int
    client_ip: str | None
    user_agent: str | None
    action: AuditAction = AuditAction.REQUEST
    subject: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditFilters:
    start: datetime | None = None
    end: datetime | None = None
    # The credential, or the worker of a token, that acted.
    actor_sid: str | None = None
    resource_sid: str | None = None


def _cut(value: str | None, limit: int) -> str | None:
    return value[:limit] if value is not None else None


async def record(uow: UnitOfWork, entry: AuditEntry) -> AuditEventRow:
    row = await uow.one(
        AuditEventRow,
        "INSERT INTO audit_events (sid, account_sid, action, credential_sid, role, identity, worker_sid, subject, "
        "reason, method, path_template, path, resource_sid, status_code, client_ip, user_agent) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (
            new_sid(SidPrefix.AUDIT_EVENT),
            entry.account_sid,
            entry.action.value,
            entry.credential_sid,
            entry.role,
            _cut(entry.identity, IDENTITY_LIMIT),
            entry.worker_sid,
            _cut(entry.subject, IDENTITY_LIMIT),
            _cut(entry.reason, REASON_LIMIT),
            entry.method,
            _cut(entry.path_template, PATH_LIMIT),
            _cut(entry.path, PATH_LIMIT),
            entry.resource_sid,
            entry.status_code,
            entry.client_ip,
            _cut(entry.user_agent, USER_AGENT_LIMIT),
        ),
    )
    assert row is not None
    return row


async def events(uow: UnitOfWork, *, account_sid: str, filters: AuditFilters, page: PageRequest) -> Page[AuditEventRow]:
    return await fetch_page(
        uow,
        AuditEventRow,
        "SELECT * FROM audit_events WHERE account_sid = %s "
        "AND (%s::timestamptz IS NULL OR date_created >= %s) AND (%s::timestamptz IS NULL OR date_created <= %s) "
        "AND (%s::text IS NULL OR credential_sid = %s OR worker_sid = %s) "
        "AND (%s::text IS NULL OR resource_sid = %s) "
        "ORDER BY date_created DESC, sid DESC",
        (
            account_sid,
            filters.start,
            filters.start,
            filters.end,
            filters.end,
            filters.actor_sid,
            filters.actor_sid,
            filters.actor_sid,
            filters.resource_sid,
            filters.resource_sid,
        ),
        page,
    )


async def get_event(uow: UnitOfWork, *, account_sid: str, sid: str) -> AuditEventRow:
    return await uow.found(
        AuditEventRow,
        "SELECT * FROM audit_events WHERE account_sid = %s AND sid = %s",
        (account_sid, sid),
        resource=f"/AuditEvents/{sid}",
    )
