"""Engine floors, measured in the same run as the scenarios: what PostgreSQL and Temporal cost bare, without
Parley in between (ARCHITECTURE §3 measured these once; here they are re-measured beside every result)."""

from __future__ import annotations

import asyncio
import uuid

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client
from temporalio.worker import Worker

from bench.cpu import CpuMeter
from bench.sink import SinkWorkflow
from bench.stats import Figure, closed_loop

FLOOR_TASK_QUEUE = "bench-floor"
PG_POOL_SIZE = 16  # the api's default PARLEY_DB_POOL_SIZE


async def postgres_transaction(database_url: str, meter: CpuMeter, *, concurrency: int, ops: int) -> Figure:
    """The hot path's shape on scratch tables: bump a per-conversation counter under its row lock
    (UPDATE … RETURNING), insert the message, pg_notify; one conversation row per concurrent loop."""
    async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("CREATE TABLE bench_conversations (id int PRIMARY KEY, last_index int NOT NULL)")
        await conn.execute(
            "CREATE TABLE bench_messages (conversation_id int, index int, body text, "
            "created_at timestamptz DEFAULT now(), PRIMARY KEY (conversation_id, index))"
        )
        await conn.execute("INSERT INTO bench_conversations SELECT g, -1 FROM generate_series(0, %s) g", (concurrency,))
    pool: AsyncConnectionPool = AsyncConnectionPool(
        database_url, min_size=PG_POOL_SIZE, max_size=PG_POOL_SIZE, open=False
    )
    await pool.open(wait=True)

    async def transaction(i: int, j: int) -> None:
        async with pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE bench_conversations SET last_index = last_index + 1 WHERE id = %s RETURNING last_index",
                (i,),
            )
            row = await cur.fetchone()
            assert row is not None
            await conn.execute(
                "WITH m AS (INSERT INTO bench_messages (conversation_id, index, body) VALUES (%s, %s, %s)) "
                "SELECT pg_notify('bench_events', %s)",
                (i, row[0], f"message {j}", f"{i}:{row[0]}"),
            )

    try:
        run = await closed_loop(concurrency, ops, transaction, meter)
    finally:
        await pool.close()
        async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute("DROP TABLE bench_messages, bench_conversations")
    return Figure(
        "pg",
        "Floor: PostgreSQL tx (UPDATE…RETURNING + INSERT + pg_notify)",
        f"{concurrency} loops, pool {PG_POOL_SIZE}",
        ops,
        run.seconds,
        run.latencies_ms,
        run.cpu,
    )


async def temporal_signals(
    client: Client, meter: CpuMeter, *, alone: int, concurrent: int, starts: int, concurrency: int = 50
) -> list[Figure]:
    """Signals into running trivial workflows (alone, then `concurrency` senders each into its own workflow),
    and signal-with-start of new workflows, with the workflows run by a worker in this process."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"

    async def start_sink(workflow_id: str, expected: int) -> None:
        await client.start_workflow(SinkWorkflow.run, expected, id=workflow_id, task_queue=FLOOR_TASK_QUEUE)

    async with Worker(client, task_queue=FLOOR_TASK_QUEUE, workflows=[SinkWorkflow]):
        await start_sink(f"{prefix}-alone", alone)
        alone_handle = client.get_workflow_handle(f"{prefix}-alone")
        lone = await closed_loop(1, alone, lambda i, j: alone_handle.signal(SinkWorkflow.ping, j), meter)

        per_workflow = concurrent // concurrency
        await asyncio.gather(*(start_sink(f"{prefix}-{i}", per_workflow) for i in range(concurrency)))
        handles = [client.get_workflow_handle(f"{prefix}-{i}") for i in range(concurrency)]
        many = await closed_loop(
            concurrency,
            per_workflow * concurrency,
            lambda i, j: handles[i].signal(SinkWorkflow.ping, j),
            meter,
        )

        async def signal_with_start(i: int, j: int) -> None:
            await client.start_workflow(
                SinkWorkflow.run,
                1,
                id=f"{prefix}-sws-{i}-{j}",
                task_queue=FLOOR_TASK_QUEUE,
                start_signal="ping",
                start_signal_args=[0],
            )

        started = await closed_loop(concurrency, starts, signal_with_start, meter)
        # Let the worker finish the workflows it was handed before it shuts down.
        await asyncio.gather(alone_handle.result(), *(h.result() for h in handles))
    return [
        Figure("signal1", "Floor: Temporal signal, alone", "1", alone, lone.seconds, lone.latencies_ms, lone.cpu),
        Figure(
            "signal",
            "Floor: Temporal signal",
            f"{concurrency} (one workflow each)",
            per_workflow * concurrency,
            many.seconds,
            many.latencies_ms,
            many.cpu,
        ),
        Figure(
            "sws",
            "Floor: Temporal signal-with-start (new workflow)",
            str(concurrency),
            starts,
            started.seconds,
            started.latencies_ms,
            started.cpu,
        ),
    ]
