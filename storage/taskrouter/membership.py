"""Queue membership: `target_workers` evaluated against each worker's attributes, cached in queue_members and
recomputed in the transaction that changes a worker's attributes or a queue's expression. Also the worker
channels every worker has, one per task channel."""

from __future__ import annotations

from domain.limits import DEFAULT_WORKER_CHANNEL_CAPACITY
from domain.routing import parse_expression
from storage.attributes import attributes_of
from storage.db import UnitOfWork


async def refresh_for_worker(uow: UnitOfWork, worker_sid: str) -> None:
    worker = await uow.fetchone("SELECT workspace_sid, attributes FROM workers WHERE sid = %s", (worker_sid,))
    if worker is None:
        return
    await uow.execute("DELETE FROM queue_members WHERE worker_sid = %s", (worker_sid,))
    document = attributes_of(worker["attributes"])
    for queue in await uow.fetchall(
        "SELECT sid, target_workers FROM task_queues WHERE workspace_sid = %s", (worker["workspace_sid"],)
    ):
        if queue["target_workers"].strip() and parse_expression(queue["target_workers"]).evaluate(document):
            await uow.execute(
                "INSERT INTO queue_members (queue_sid, worker_sid, workspace_sid) VALUES (%s, %s, %s)",
                (queue["sid"], worker_sid, worker["workspace_sid"]),
            )


async def refresh_for_queue(uow: UnitOfWork, queue_sid: str) -> None:
    queue = await uow.fetchone("SELECT workspace_sid, target_workers FROM task_queues WHERE sid = %s", (queue_sid,))
    if queue is None:
        return
    await uow.execute("DELETE FROM queue_members WHERE queue_sid = %s", (queue_sid,))
    if not queue["target_workers"].strip():
        return  # an empty expression: no worker ever matches (Twilio)
    expression = parse_expression(queue["target_workers"])
    for worker in await uow.fetchall(
        "SELECT sid, attributes FROM workers WHERE workspace_sid = %s", (queue["workspace_sid"],)
    ):
        if expression.evaluate(attributes_of(worker["attributes"])):
            await uow.execute(
                "INSERT INTO queue_members (queue_sid, worker_sid, workspace_sid) VALUES (%s, %s, %s)",
                (queue_sid, worker["sid"], queue["workspace_sid"]),
            )


async def ensure_worker_channels(uow: UnitOfWork, *, workspace_sid: str, worker_sid: str | None = None) -> None:
    """One worker channel per (worker, task channel), created on demand with Twilio's default capacity."""
    await uow.execute(
        """
        INSERT INTO worker_channels (sid, account_sid, workspace_sid, worker_sid, task_channel_sid,
                                     configured_capacity, available, assigned_tasks, reserved_tasks)
        SELECT 'WC' || md5(w.sid || tc.sid), w.account_sid, w.workspace_sid, w.sid, tc.sid, %s, true, 0, 0
          FROM workers w JOIN task_channels tc ON tc.workspace_sid = w.workspace_sid
         WHERE w.workspace_sid = %s AND (%s::text IS NULL OR w.sid = %s)
        ON CONFLICT (worker_sid, task_channel_sid) DO NOTHING
        """,
        (DEFAULT_WORKER_CHANNEL_CAPACITY, workspace_sid, worker_sid, worker_sid),
    )
