"""Reading a stream's events after a sequence number, with the messages `message.added` events refer to (one
query each), for the realtime hub's fan-out and for a reconnecting client's replay."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from domain.realtime import StreamEvent
from storage.conversations.tables import MessageRow
from storage.db import NOTIFY_CHANNEL, UnitOfWork
from storage.realtime.tables import RealtimeEventRow

MAX_BATCH = 500


# Events whose frame carries the Message resource itself.
MESSAGE_RESOURCE_EVENTS = frozenset({StreamEvent.MESSAGE_ADDED, StreamEvent.MESSAGE_UPDATED})


@dataclass(frozen=True, slots=True)
class StreamBatch:
    events: list[RealtimeEventRow]
    messages: dict[str, MessageRow]


async def read_events(uow: UnitOfWork, *, stream: str, after: int, limit: int = MAX_BATCH) -> StreamBatch:
    events = await uow.all(
        RealtimeEventRow,
        "SELECT * FROM realtime_events WHERE stream = %s AND seq > %s ORDER BY seq LIMIT %s",
        (stream, after, limit),
    )
    message_sids = [e.data["message_sid"] for e in events if e.type in MESSAGE_RESOURCE_EVENTS]
    messages: dict[str, MessageRow] = {}
    if message_sids:
        for m in await uow.all(MessageRow, "SELECT * FROM messages WHERE sid = ANY(%s)", (message_sids,)):
            messages[m.sid] = m
    return StreamBatch(events=events, messages=messages)


@dataclass(frozen=True, slots=True)
class Notification:
    """A committed event on `stream` (read it from the log), or an ephemeral one carried whole (typing)."""

    stream: str
    ephemeral: dict[str, Any] | None = None


@asynccontextmanager
async def listen(database_url: str) -> AsyncIterator[AsyncIterator[Notification]]:
    """A dedicated connection LISTENing for committed events and ephemeral signals."""
    async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")

        async def streams() -> AsyncIterator[Notification]:
            async for notify in conn.notifies():
                try:
                    payload = json.loads(notify.payload)
                    ephemeral = payload.get("ephemeral")
                    yield Notification(str(payload["stream"]), ephemeral if isinstance(ephemeral, dict) else None)
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue

        yield streams()


async def signal(uow: UnitOfWork, *, stream: str, event: StreamEvent, data: dict[str, Any]) -> None:
    """An ephemeral event (typing): sent to the stream's live subscribers on every api process, never stored,
    never replayed, and without a `seq`."""
    await uow.execute(
        "SELECT pg_notify(%s, %s)",
        (NOTIFY_CHANNEL, json.dumps({"stream": stream, "ephemeral": {"event": event.value, "data": data}})),
    )
