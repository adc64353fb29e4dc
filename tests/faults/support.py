"""What the fault scenarios share: a client that sends as a real one would (retrying a send that got no answer
with the same idempotency key), and the checks run once the faults are over."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from storage.db import Database
from storage.taskrouter.matching import reference_plan
from tests.storage.test_routing_invariants import CHECKS
from tests.support.contact_center import ContactCenter, ok
from tests.support.waiting import eventually

# What a client sees from a process that is down or restarting, or from an api whose database is: the send was
# not accepted, and the client sends it again with the same key.
NOT_ACCEPTED = (httpx.TransportError, OSError)
RETRYABLE_STATUS = {500, 502, 503, 504}


@dataclass
class Sender:
    """One customer sending `count` messages in order over REST, each with its own idempotency key, each retried
    until it is acknowledged (201). `acked` grows as acknowledgements arrive; `failures` counts the sends that
    were not accepted and were retried."""

    base_url: Callable[[], str]
    conversation_sid: str
    token: str
    prefix: str
    acked: list[str] = field(default_factory=list)
    failures: int = 0
    statuses: list[int] = field(default_factory=list)

    def body(self, n: int) -> str:
        return f"{self.prefix}-{n:03d}"

    async def send_all(self, count: int) -> None:
        for n in range(count):
            body = self.body(n)
            while True:
                try:
                    async with httpx.AsyncClient(base_url=self.base_url(), timeout=40) as client:
                        response = await client.post(
                            f"/conversations/v1/Conversations/{self.conversation_sid}/Messages",
                            data={"Body": body},
                            headers={"X-Twilio-Token": self.token, "I-Twilio-Idempotency-Token": f"key-{body}"},
                        )
                except NOT_ACCEPTED:
                    self.failures += 1
                    await asyncio.sleep(0.1)  # a client's back-off before the retry, not a wait for an outcome
                    continue
                if response.status_code in RETRYABLE_STATUS:
                    self.statuses.append(response.status_code)
                    self.failures += 1
                    await asyncio.sleep(0.1)
                    continue
                assert response.status_code == 201, f"send {body}: {response.status_code} {response.text}"
                assert response.json()["body"] == body
                self.acked.append(body)
                break


async def message_bodies(admin: httpx.AsyncClient, conversation_sid: str) -> list[str]:
    """Every message of the conversation, in index order."""
    bodies: list[str] = []
    url: str | None = f"/conversations/v1/Conversations/{conversation_sid}/Messages?PageSize=100"
    while url:
        listed = await ok(await admin.get(url))
        bodies += [m["body"] for m in listed["messages"]]
        url = listed["meta"].get("next_page_url")
    return bodies


async def assert_exactly_once_in_order(admin: httpx.AsyncClient, conversation_sid: str, sent: list[str]) -> None:
    """Every acknowledged send is in the conversation exactly once, in the order it was sent."""
    prefixes = {body.rsplit("-", 1)[0] for body in sent}
    stored = [b for b in await message_bodies(admin, conversation_sid) if b and b.rsplit("-", 1)[0] in prefixes]
    assert stored == sent, f"stored {stored}\nsent   {sent}"


async def rows(database_url: str, sql: str, params: Any = None) -> list[dict[str, Any]]:
    """A query on a fresh connection: the suite's pools may hold connections to a PostgreSQL that was killed."""
    async with await psycopg.AsyncConnection.connect(database_url, row_factory=dict_row) as conn:
        cur = await conn.execute(sql, params)
        return await cur.fetchall()


async def assert_routing_invariants(database_url: str, workspace_sid: str) -> None:
    """tests/storage/test_routing_invariants.py's checks (one task one accepted reservation, counters equal to the
    reservations that exist, nothing held by a finished task), plus: nothing waits that could be offered."""
    for name, sql in CHECKS.items():
        found = await rows(database_url, sql, {"ws": workspace_sid} if "%(ws)s" in sql else None)
        assert not found, f"invariant broken: {name}: {found}"
    database = Database(database_url, max_size=1)
    await database.open()
    try:
        async with database.read() as q:
            missed = (await reference_plan(q, workspace_sid)).offers
    finally:
        await database.close()
    assert missed == [], f"a waiting task could be offered but was not: {missed}"
    leaked = await rows(
        database_url,
        """
        SELECT wc.sid, wc.reserved_tasks, wc.assigned_tasks,
               (SELECT count(*) FROM reservations r WHERE r.worker_channel_sid = wc.sid
                   AND r.reservation_status = 'pending') AS pending,
               (SELECT count(*) FROM tasks t JOIN reservations r ON r.task_sid = t.sid
                 WHERE r.worker_channel_sid = wc.sid AND r.reservation_status IN ('accepted', 'wrapping')
                   AND t.assignment_status IN ('assigned', 'wrapping')) AS assigned
          FROM worker_channels wc WHERE wc.workspace_sid = %s""",
        (workspace_sid,),
    )
    for channel in leaked:
        assert channel["reserved_tasks"] == channel["pending"], f"reservation leaked: {channel}"
        assert channel["assigned_tasks"] == channel["assigned"], f"assignment leaked: {channel}"


async def tasks_of(database_url: str, workspace_sid: str) -> list[dict[str, Any]]:
    return await rows(
        database_url,
        "SELECT sid, assignment_status FROM tasks WHERE workspace_sid = %s ORDER BY date_created",
        (workspace_sid,),
    )


async def accept_all(
    admin: httpx.AsyncClient, center: ContactCenter, database_url: str, *, expected_tasks: int, timeout: float = 60
) -> list[dict[str, Any]]:
    """Accept every offer until `expected_tasks` tasks exist and each is with an agent (assigned) or final; fail
    if one stays pending or reserved (a stuck task)."""

    async def settled() -> list[dict[str, Any]] | None:
        pending = await rows(
            database_url,
            "SELECT sid, task_sid, worker_sid FROM reservations WHERE workspace_sid = %s "
            "AND reservation_status = 'pending'",
            (center.workspace_sid,),
        )
        for reservation in pending:
            response = await admin.post(
                center.path(f"/Tasks/{reservation['task_sid']}/Reservations/{reservation['sid']}"),
                data={"ReservationStatus": "accepted"},
            )
            # 409/404: it moved on meanwhile (timed out, the task was canceled); the next round sees where to.
            assert response.status_code in (200, 404, 409), response.text
        tasks = await tasks_of(database_url, center.workspace_sid)
        done = len(tasks) >= expected_tasks and all(
            t["assignment_status"] in ("assigned", "wrapping", "completed", "canceled") for t in tasks
        )
        return tasks if done else None

    return await eventually(settled, timeout=timeout, what=f"{expected_tasks} task(s) with an agent or final")


async def set_available(admin: httpx.AsyncClient, center: ContactCenter, *names: str) -> None:
    for name in names:
        await ok(
            await admin.post(
                center.path(f"/Workers/{center.workers[name]}"), data={"ActivitySid": center.activities["Available"]}
            )
        )


async def when(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """`eventually` for a plain (not awaitable) condition on the test's own state."""

    async def probe() -> Any:
        return condition()

    return await eventually(probe, timeout=timeout, what=what)


@dataclass
class SocketSender:
    """One customer sending `count` messages in order over the WebSocket (`send_message` with a
    `client_message_id`), reconnecting and sending again with the same id when the socket dies before the ack."""

    base_url: Callable[[], str]
    conversation_sid: str
    token: str
    prefix: str
    acked: list[str] = field(default_factory=list)
    failures: int = 0

    async def send_all(self, count: int) -> None:
        import websockets

        n = 0
        frame_ids = iter(range(1, 1_000_000))
        while n < count:
            url = self.base_url().replace("http://", "ws://") + f"/v1/Realtime?token={self.token}"
            try:
                async with websockets.connect(url, open_timeout=5) as ws:
                    ready = json.loads(await ws.recv())
                    assert ready["type"] == "ready", ready
                    while n < count:
                        body = f"{self.prefix}-{n:03d}"
                        frame_id = str(next(frame_ids))
                        await ws.send(
                            json.dumps(
                                {
                                    "type": "send_message",
                                    "id": frame_id,
                                    "conversation_sid": self.conversation_sid,
                                    "body": body,
                                    "client_message_id": f"key-{body}",
                                }
                            )
                        )
                        while True:
                            frame = json.loads(await ws.recv())
                            if frame.get("id") == frame_id:
                                break
                        if frame["type"] != "ack":
                            # An error frame (the api's database unreachable): not accepted, send it again.
                            self.failures += 1
                            await asyncio.sleep(0.1)
                            continue
                        assert frame["message"]["body"] == body
                        self.acked.append(body)
                        n += 1
            except (websockets.ConnectionClosed, websockets.InvalidStatus, OSError, TimeoutError):
                self.failures += 1
                await asyncio.sleep(0.1)  # a client's back-off before reconnecting
