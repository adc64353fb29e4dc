"""The backing services SIGKILLed under load: the Temporal dev server (its state in SQLite, restarted on the same
port) while customers send and tasks are routed, and the PostgreSQL cluster (crash recovery from the WAL) while
customers send over REST and the WebSocket. A send the api could not accept (connection refused, 5xx, 503 while
the database is down, an error frame) is retried with the same idempotency key; every acknowledged message is
stored once, in order; every task reaches an agent; nothing stays in the outbox; the routing invariants hold."""

from __future__ import annotations

import asyncio

from tests.faults.support import (
    Sender,
    SocketSender,
    accept_all,
    assert_exactly_once_in_order,
    assert_routing_invariants,
    rows,
    set_available,
    when,
)
from tests.support.contact_center import agent_attributes, build_contact_center, start_webchat
from tests.support.waiting import eventually

MESSAGES = 20


async def _outbox_drained(database_url: str, account_sid: str) -> None:
    async def drained() -> bool:
        found = await rows(
            database_url,
            "SELECT count(*) AS n FROM outbox WHERE account_sid = %s AND dispatched_at IS NULL",
            (account_sid,),
        )
        return found[0]["n"] == 0

    await eventually(drained, timeout=60, what="every outbox row handed to Temporal")


async def test_temporal_killed_while_customers_send_and_tasks_are_routed(faults, admin, account):
    center = await build_contact_center(admin, agents={"ann": agent_attributes("ann"), "ben": agent_attributes("ben")})
    await set_available(admin, center, "ann", "ben")
    chats = [await start_webchat(faults.base_url, center.address_sid, f"Customer {n}") for n in range(3)]
    senders = [Sender(lambda: faults.base_url, c["conversation_sid"], c["token"], f"t{n}") for n, c in enumerate(chats)]

    async def killer() -> None:
        await when(lambda: all(len(s.acked) >= 3 for s in senders), "3 sends acked by each customer")
        faults.temporal.kill()
        # The api commits to PostgreSQL; what it could not hand to Temporal waits in the outbox.
        before = sum(len(s.acked) + s.failures for s in senders)
        await when(lambda: sum(len(s.acked) + s.failures for s in senders) >= before + 6, "sends while it is down")
        await asyncio.to_thread(faults.temporal.start)

    await asyncio.gather(*(s.send_all(MESSAGES) for s in senders), killer())
    for sender, chat in zip(senders, chats, strict=True):
        await assert_exactly_once_in_order(admin, chat["conversation_sid"], sender.acked)
    tasks = await accept_all(admin, center, faults.database_url, expected_tasks=len(chats), timeout=90)
    assert len(tasks) == len(chats), tasks
    await _outbox_drained(faults.database_url, account.account_sid)
    await assert_routing_invariants(faults.database_url, center.workspace_sid)


async def test_postgres_killed_while_customers_send(faults, admin, account):
    center = await build_contact_center(admin, agents={"ann": agent_attributes("ann")})
    await set_available(admin, center, "ann")
    over_rest = await start_webchat(faults.base_url, center.address_sid, "Rita")
    over_socket = await start_webchat(faults.base_url, center.address_sid, "Sam")
    rest = Sender(lambda: faults.base_url, over_rest["conversation_sid"], over_rest["token"], "pg-rest")
    socket = SocketSender(lambda: faults.base_url, over_socket["conversation_sid"], over_socket["token"], "pg-ws")

    async def killer() -> None:
        await when(lambda: len(rest.acked) >= 5 and len(socket.acked) >= 5, "5 sends acked by each")
        faults.postgres.kill()
        failures = (rest.failures, socket.failures)
        await when(
            lambda: rest.failures > failures[0] and socket.failures > failures[1], "both customers see the outage"
        )
        await asyncio.to_thread(faults.postgres.start)

    await asyncio.gather(rest.send_all(MESSAGES), socket.send_all(MESSAGES), killer())
    assert faults.api.proc is not None and faults.api.proc.poll() is None, "the api died with its database"
    assert faults.worker.proc is not None and faults.worker.proc.poll() is None, "the worker died with its database"
    await assert_exactly_once_in_order(admin, over_rest["conversation_sid"], rest.acked)
    await assert_exactly_once_in_order(admin, over_socket["conversation_sid"], socket.acked)
    tasks = await accept_all(admin, center, faults.database_url, expected_tasks=2, timeout=90)
    assert len(tasks) == 2, tasks
    await _outbox_drained(faults.database_url, account.account_sid)
    await assert_routing_invariants(faults.database_url, center.workspace_sid)
