"""The audit log: one row per administrative or supervisor action (api/audit.py writes it) and per single sign-on
to the desktop or refusal of one (api/sso.py), who did what to which resource, when and from where. Never a
request body: those carry customer data and secrets; never a token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from storage.columns import created_at, sid_pk

PATH_LIMIT = 2048
USER_AGENT_LIMIT = 512
IDENTITY_LIMIT = 256
ACTION_LIMIT = 32
REASON_LIMIT = 512


class AuditEventRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = Field(foreign_key="accounts.sid", max_length=34)
    # What kind of event (storage/audit/service.py AuditAction): an API request, or a single sign-on one.
    action: str = Field(default="request", max_length=ACTION_LIMIT)
    # Who: the credential used (Account or API key SID of Basic auth, signing key SID of a token), the role
    # it acted in, and for a token its identity and worker. A refused sign-in may have no credential or role.
    credential_sid: str | None = Field(default=None, max_length=34)
    role: str | None = Field(default=None, max_length=16)
    identity: str | None = Field(default=None, max_length=IDENTITY_LIMIT)
    worker_sid: str | None = Field(default=None, max_length=34)
    # A single sign-on's subject at the identity provider (its `sub`), and why a sign-in was refused.
    subject: str | None = Field(default=None, max_length=IDENTITY_LIMIT)
    reason: str | None = Field(default=None, max_length=REASON_LIMIT)
    # What: the route's path template and the concrete path, the resource acted on, and how it answered.
    method: str = Field(max_length=8)
    path_template: str | None = Field(default=None, max_length=PATH_LIMIT)
    path: str = Field(max_length=PATH_LIMIT)
    resource_sid: str | None = Field(default=None, max_length=34)
    status_code: int
    # From where.
    client_ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=USER_AGENT_LIMIT)
    date_created: datetime | None = created_at()


class AuditEvent(AuditEventRow, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_account_date", "account_sid", "date_created"),)
