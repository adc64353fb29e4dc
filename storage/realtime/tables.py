"""The real-time event log: what WebSocket clients receive, per stream, with gap-free sequence numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import field_validator
from sqlalchemy import BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage import crypto
from storage.columns import created_at, jsonb


class RealtimeEventRow(SQLModel):
    """`stream` is a conversation (CH…) or a worker (WK…) SID; `seq` is gap-free per stream, so a reconnecting
    client resumes from its last seq without loss or duplicates."""

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    account_sid: str = Field(max_length=34)
    stream: str = Field(max_length=34)
    seq: int
    type: str = Field(max_length=64)
    data: dict[str, Any] = jsonb()
    created_at: datetime | None = created_at()

    _open = field_validator("data", mode="before")(crypto.opened_values)


class RealtimeEvent(RealtimeEventRow, table=True):
    __tablename__ = "realtime_events"
    __table_args__ = (UniqueConstraint("stream", "seq"),)
