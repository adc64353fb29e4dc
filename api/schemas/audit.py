"""/parley/v1/AuditEvents resources (Parley extension): the audit log's events."""

from __future__ import annotations

from api.schemas.common import PageMeta, Public, TwilioDate
from storage.audit.tables import AuditEventRow


def audit_url(base: str) -> str:
    return f"{base}/parley/v1/AuditEvents"


class AuditEventPublic(Public):
    sid: str
    account_sid: str
    action: str
    credential_sid: str | None
    role: str | None
    identity: str | None
    worker_sid: str | None
    subject: str | None
    reason: str | None
    method: str
    path_template: str | None
    path: str
    resource_sid: str | None
    status_code: int
    client_ip: str | None
    user_agent: str | None
    date_created: TwilioDate
    url: str

    @classmethod
    def of(cls, row: AuditEventRow, base: str) -> AuditEventPublic:
        return cls.from_row(row, url=f"{audit_url(base)}/{row.sid}")


class AuditEventList(Public):
    audit_events: list[AuditEventPublic]
    meta: PageMeta
