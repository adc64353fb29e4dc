"""The transactional outbox: side effects written in the same transaction as the state change, dispatched
right after commit, re-driven by the sweeper with backoff, dead-lettered after too many attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import field_validator
from sqlalchemy import BigInteger, Column, DateTime, Index, func, text
from sqlmodel import Field, SQLModel

from storage import crypto
from storage.columns import created_at, default, jsonb, tstz


class OutboxRow(SQLModel):
    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    account_sid: str = Field(max_length=34)
    # The command's type (domain.outbox); the payload is the command as JSON, sealed (storage/crypto.py).
    kind: str = Field(max_length=32)
    dedupe_key: str = Field(max_length=128, unique=True)
    payload: dict[str, Any] = jsonb()
    attempts: int = default(0)
    last_error: str | None = None
    created_at: datetime | None = created_at()
    # The sweeper leaves a row alone until then: a failing row backs off instead of blocking newer ones.
    next_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    dispatched_at: datetime | None = tstz()
    # Set when the row gave up (attempts exhausted or a payload that can never be dispatched).
    dead_at: datetime | None = tstz()

    _open = field_validator("payload", mode="before")(crypto.opened_document)


class OutboxEntry(OutboxRow, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_due",
            "next_attempt_at",
            postgresql_where=text("dispatched_at IS NULL AND dead_at IS NULL"),
        ),
        Index("ix_outbox_dead", "account_sid", "dead_at", postgresql_where=text("dead_at IS NOT NULL")),
    )
