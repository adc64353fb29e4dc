"""Reading a stream's events after a sequence number, with the messages `message.added` events refer to (one
query each), for the realtime hub's fan-out and for a reconnecting client's replay."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from psycopg import AsyncConnection

from domain.realtime import StreamEvent
from storage.conversations.tables import MessageRow
from storage.db import NOTIFY_CHANNEL, UnitOfWork
from storage.realtime.tables import RealtimeEventRow

MAX_BATCH = 500


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
    message_sids = [e.data["message_sid"] for e in events if e.type == StreamEvent.MESSAGE_ADDED]
    messages: dict[str, MessageRow] = {}
    if message_sids:
        for m in await uow.all(MessageRow, "SELECT * FROM messages WHERE sid = ANY(%s)", (message_sids,)):
            messages[m.sid] = m
    return StreamBatch(events=events, messages=messages)


@asynccontextmanager
async def listen(database_url: str) -> AsyncIterator[AsyncIterator[str]]:
    """A dedicated connection LISTENing for committed events; yields the stream SID of each notification."""
    async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")

        async def streams() -> AsyncIterator[str]:
            async for notify in conn.notifies():
                try:
                    yield str(json.loads(notify.payload)["stream"])
                except (ValueError, KeyError, TypeError):
                    continue

        yield streams()
