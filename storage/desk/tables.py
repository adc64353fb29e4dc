"""Private notes (`NO…`) and canned responses (`CQ…`), Parley extensions. A note's body is sealed at rest like
a message's; canned responses are the workspace's own wording, not customer data, and stay readable."""

from __future__ import annotations

from datetime import datetime

from pydantic import field_validator
from sqlmodel import Field, SQLModel, UniqueConstraint

from storage import crypto
from storage.columns import account_fk, created_at, sid_pk, updated_at


class PrivateNoteRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    conversation_sid: str = Field(foreign_key="conversations.sid", index=True, max_length=34)
    author: str = Field(max_length=256)  # the writer's identity
    worker_sid: str | None = Field(default=None, max_length=34)
    body: str
    date_created: datetime | None = created_at()

    _open_body = field_validator("body", mode="before")(crypto.opened)


class PrivateNote(PrivateNoteRow, table=True):
    __tablename__ = "private_notes"


class CannedResponseRow(SQLModel):
    sid: str = sid_pk()
    account_sid: str = account_fk()
    workspace_sid: str = Field(foreign_key="workspaces.sid", index=True, max_length=34)
    title: str = Field(max_length=100)
    shortcut: str | None = Field(default=None, max_length=32)
    body: str = Field(max_length=1600)
    date_created: datetime | None = created_at()
    date_updated: datetime | None = updated_at()


class CannedResponse(CannedResponseRow, table=True):
    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("workspace_sid", "shortcut"),)
