"""Real-time fan-out: every api process LISTENs on one channel; NOTIFY carries only (stream, seq); the hub
reads the event rows and pushes them to the WebSockets subscribed to that stream. The hub also keeps its
agents' presence fresh (storage/taskrouter/presence.py), so a desktop that vanished is noticed.

Per stream, sequence numbers are allocated under the stream row's lock and so commit in order. A subscriber
remembers the last seq it was sent and every delivery reads "everything after that", so a late or lost
notification, or a reconnect of the LISTEN connection, never loses or duplicates an event."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from api.schemas.common import iso
from api.schemas.conversations import MessagePublic
from domain.limits import AGENT_PRESENCE_GRACE, PRESENCE_HEARTBEATS_PER_GRACE
from domain.realtime import StreamEvent
from storage.conversations import receipts
from storage.db import Database, UnitOfWork
from storage.realtime import service as realtime
from storage.realtime.service import MAX_BATCH
from storage.taskrouter import presence

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Subscription:
    stream: str
    last_seq: int
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


async def read_events(q: UnitOfWork, *, stream: str, after: int, base_url: str) -> list[dict[str, Any]]:
    """Event frames after `after`, with `message.added` carrying the Message resource."""
    batch = await realtime.read_events(q, stream=stream, after=after)
    # An updated message (an edit, a delivery receipt) carries its delivery summary; added ones have none yet.
    updated = [e.data["message_sid"] for e in batch.events if e.type == StreamEvent.MESSAGE_UPDATED]
    summaries = await receipts.delivery_summaries(q, updated)
    frames = []
    for event in batch.events:
        data: dict[str, Any] = event.data
        if event.type in realtime.MESSAGE_RESOURCE_EVENTS:
            message = batch.messages.get(data["message_sid"])
            data = (
                MessagePublic.of(message, base_url, delivery=summaries.get(message.sid)).model_dump()
                if message is not None
                else {"sid": data["message_sid"], "index": data["index"], "deleted": True}
            )
        frames.append(
            {
                "type": "event",
                "stream": event.stream,
                "seq": event.seq,
                "event": event.type,
                "data": data,
                "date": iso(event.created_at),
            }
        )
    return frames


class RealtimeHub:
    def __init__(self, db: Database, *, base_url: str = "", presence_grace: float = AGENT_PRESENCE_GRACE) -> None:
        self.db = db
        self.base_url = base_url
        self.subscriptions: dict[str, set[Subscription]] = {}
        # Agents (worker SIDs) with a desktop socket open on this process, and how many sockets each.
        self.agents: Counter[str] = Counter()
        self.presence_interval = presence_grace / PRESENCE_HEARTBEATS_PER_GRACE
        self._presence: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._pending: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever())
        self._presence = asyncio.create_task(self._heartbeat_forever())
        await asyncio.wait_for(self._connected.wait(), timeout=30)

    async def stop(self) -> None:
        for task in (self._task, self._presence):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def agent_connected(self, worker_sid: str) -> None:
        self.agents[worker_sid] += 1
        async with self.db.unit() as uow:
            await presence.seen(uow, worker_sids=[worker_sid])

    def agent_disconnected(self, worker_sid: str) -> None:
        """The socket closed: its presence is simply no longer refreshed (a reload reconnects in time)."""
        self.agents[worker_sid] -= 1
        if self.agents[worker_sid] <= 0:
            del self.agents[worker_sid]

    async def _heartbeat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.presence_interval)
            if not self.agents:
                continue
            try:
                async with self.db.unit() as uow:
                    await presence.seen(uow, worker_sids=list(self.agents))
            except Exception as exc:
                log.warning("agent presence heartbeat failed (%s); retrying", exc)

    async def subscribe(self, stream: str, after: int) -> Subscription:
        subscription = Subscription(stream=stream, last_seq=after)
        self.subscriptions.setdefault(stream, set()).add(subscription)
        # Catch up from the log after registering, so nothing committed in between is missed.
        await self._deliver(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subs = self.subscriptions.get(subscription.stream)
        if subs is not None:
            subs.discard(subscription)
            if not subs:
                del self.subscriptions[subscription.stream]

    async def _deliver(self, subscription: Subscription) -> None:
        async with subscription.lock:
            while True:
                async with self.db.read() as q:
                    events = await read_events(
                        q, stream=subscription.stream, after=subscription.last_seq, base_url=self.base_url
                    )
                for event in events:
                    subscription.queue.put_nowait(event)
                    subscription.last_seq = event["seq"]
                if len(events) < MAX_BATCH:
                    return

    def _on_ephemeral(self, stream: str, event: dict[str, Any]) -> None:
        frame = {"type": "event", "stream": stream, "event": event.get("event"), "data": event.get("data") or {}}
        for subscription in list(self.subscriptions.get(stream, ())):
            subscription.queue.put_nowait(frame)

    async def _on_notify(self, stream: str) -> None:
        for subscription in list(self.subscriptions.get(stream, ())):
            try:
                await self._deliver(subscription)
            except Exception:
                log.exception("realtime delivery failed for %s", stream)

    async def _listen_forever(self) -> None:
        backoff = 0.2
        while True:
            try:
                async with realtime.listen(self.db.url) as notified:
                    self._connected.set()
                    backoff = 0.2
                    # Anything committed while we were disconnected is picked up by a catch-up pass.
                    for stream in list(self.subscriptions):
                        await self._on_notify(stream)
                    async for notification in notified:
                        stream = notification.stream
                        if stream not in self.subscriptions:
                            continue
                        if notification.ephemeral is not None:
                            self._on_ephemeral(stream, notification.ephemeral)
                        else:
                            task = asyncio.create_task(self._on_notify(stream))
                            self._pending.add(task)
                            task.add_done_callback(self._pending.discard)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("realtime LISTEN connection lost (%s); reconnecting", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
