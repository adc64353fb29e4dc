"""Delivery plumbing: the real-time event log (per-stream sequence numbers) and the transactional outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.tables.base import created_at, default, jsonb, tstz


class RealtimeEvent(SQLModel, table=True):
    """What WebSocket clients receive. `stream` is a conversation (CH…) or a worker (WK…) SID; `seq` is
    gap-free per stream, so a reconnecting client resumes from its last seq without loss or duplicates."""

    __tablename__ = "realtime_events"
    __table_args__ = (UniqueConstraint("stream", "seq"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    account_sid: str = Field(max_length=34)
    stream: str = Field(max_length=34)
    seq: int
    type: str = Field(max_length=64)
    data: dict[str, Any] = jsonb()
    created_at: datetime | None = created_at()


class OutboxEntry(SQLModel, table=True):
    """A side effect that must happen after a commit (signal a workflow, start one). Written in the same
    transaction as the state change, dispatched right after commit, re-driven by the sweeper if that fails."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "created_at", postgresql_where=text("dispatched_at IS NULL")),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    account_sid: str = Field(max_length=34)
    kind: str = Field(max_length=32)
    dedupe_key: str = Field(max_length=128, unique=True)
    payload: dict[str, Any] = jsonb()
    attempts: int = default(0)
    last_error: str | None = None
    created_at: datetime | None = created_at()
    dispatched_at: datetime | None = tstz()
