"""Routing invariants under concurrent interleavings (ARCHITECTURE §4), against the real PostgreSQL.

Eight connections race random routing operations — accept, reject, time out, wrap up, complete, cancel,
worker availability flips, capacity raises, new tasks entering the queue — and after every operation a
single-snapshot SQL check asserts the invariants:
  1. a task has at most one accepted reservation and a worker at most one live reservation per task;
  2. a worker channel's pending + assigned reservations never exceed its capacity, and its counters equal
     the reservations that exist;
  3. no missed wake-up: once the storm is over, an unpruned pass over every task, worker and membership of the
     workspace (the oracle: matching itself loads only the workers that can take work) finds nothing to offer;
  4. every task is completed, canceled, or visibly live (a pending one says why it waits)."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from domain.errors import Conflict
from domain.routing.step import TaskStep
from domain.sids import SidPrefix, new_sid
from domain.states import ReservationStatus, TaskStatus
from storage.db import Database
from storage.taskrouter import membership, routing
from storage.taskrouter.matching import match, reference_plan
from storage.taskrouter.models import NewWorkspace
from storage.taskrouter.service import create_workspace
from storage.taskrouter.tables import WorkerChannelRow, WorkerRow

CONNECTIONS = 8
# (workers, initial tasks, operations): the small storm interleaves tightly; the large one has a backlog several
# matching batches deep and many workers, where the pass reads only what can change hands.
SMALL = (6, 25, 240)
LARGE = (40, 300, 600)

CHECKS = {
    "two accepted reservations for one task": """
        SELECT task_sid FROM reservations WHERE reservation_status IN ('accepted', 'wrapping', 'completed')
        GROUP BY task_sid HAVING count(*) > 1""",
    "two live reservations of one worker for one task": """
        SELECT task_sid, worker_sid FROM reservations WHERE reservation_status IN ('pending', 'accepted', 'wrapping')
        GROUP BY task_sid, worker_sid HAVING count(*) > 1""",
    "worker channel over capacity or counters out of step": """
        SELECT wc.sid, wc.configured_capacity, wc.reserved_tasks, wc.assigned_tasks, live.pending, live.assigned
          FROM worker_channels wc
          LEFT JOIN LATERAL (
               SELECT count(*) FILTER (WHERE reservation_status = 'pending') AS pending,
                      count(*) FILTER (WHERE reservation_status IN ('accepted', 'wrapping')) AS assigned
                 FROM reservations r WHERE r.worker_channel_sid = wc.sid) live ON true
         WHERE wc.workspace_sid = %(ws)s
           AND (live.pending + live.assigned > wc.configured_capacity
                OR live.pending <> wc.reserved_tasks OR live.assigned <> wc.assigned_tasks)""",
    "assigned task without exactly one accepted reservation": """
        SELECT t.sid FROM tasks t WHERE t.workspace_sid = %(ws)s AND t.assignment_status IN ('assigned', 'wrapping')
           AND (SELECT count(*) FROM reservations r WHERE r.task_sid = t.sid
                 AND r.reservation_status IN ('accepted', 'wrapping')) <> 1""",
    "finished task still holding a live reservation": """
        SELECT t.sid FROM tasks t JOIN reservations r ON r.task_sid = t.sid
         WHERE t.workspace_sid = %(ws)s AND t.assignment_status IN ('completed', 'canceled')
           AND r.reservation_status IN ('pending', 'accepted', 'wrapping')""",
}


async def _setup(db: Database, account_sid: str, rng: random.Random, workers_count: int) -> dict:
    async with db.unit() as uow:
        workspace = await create_workspace(uow, account_sid=account_sid, new=NewWorkspace(friendly_name="Invariants"))
        ws = workspace.sid
        queue_sid = new_sid(SidPrefix.TASK_QUEUE)
        await uow.execute(
            "INSERT INTO task_queues (sid, account_sid, workspace_sid, friendly_name, target_workers, "
            "max_reserved_workers) VALUES (%s, %s, %s, 'All', 'tier >= 1', 2)",
            (queue_sid, account_sid, ws),
        )
        activities = {
            r["friendly_name"]: r["sid"]
            for r in await uow.fetchall("SELECT sid, friendly_name FROM activities WHERE workspace_sid = %s", (ws,))
        }
        channel = await uow.fetchone(
            "SELECT sid FROM task_channels WHERE workspace_sid = %s AND unique_name = 'chat'", (ws,)
        )
        workers = []
        for n in range(workers_count):
            sid = new_sid(SidPrefix.WORKER)
            await uow.execute(
                "INSERT INTO workers (sid, account_sid, workspace_sid, friendly_name, attributes, activity_sid, "
                "available, date_status_changed) VALUES (%s, %s, %s, %s, %s, %s, false, now())",
                (sid, account_sid, ws, f"w{n}", json.dumps({"tier": 1 + n % 3}), activities["Offline"]),
            )
            await membership.ensure_worker_channels(uow, workspace_sid=ws, worker_sid=sid)
            await uow.execute(
                "UPDATE worker_channels SET configured_capacity = %s WHERE worker_sid = %s AND task_channel_sid = %s",
                (rng.randint(1, 3), sid, channel["sid"]),
            )
            workers.append(sid)
        await membership.refresh_for_queue(uow, queue_sid)
    return {
        "ws": ws,
        "account_sid": account_sid,
        "queue_sid": queue_sid,
        "channel_sid": channel["sid"],
        "activities": activities,
        "workers": workers,
    }


async def _new_task(db: Database, env: dict, rng: random.Random) -> None:
    async with db.unit() as uow:
        sid = new_sid(SidPrefix.TASK)
        await uow.execute(
            "INSERT INTO tasks (sid, account_sid, workspace_sid, task_channel_sid, priority, attributes) "
            "VALUES (%s, %s, %s, %s, %s, '{}')",
            (sid, env["account_sid"], env["ws"], env["channel_sid"], rng.randint(0, 3)),
        )
        expression = rng.choice([None, "worker.tier >= 2", "worker.tier == 1"])
        await routing.enter_step(
            uow,
            task_sid=sid,
            step=TaskStep(queue_sid=env["queue_sid"], expression=expression, reservation_timeout=120),
        )


async def _pick(db: Database, sql: str, params: tuple, rng: random.Random) -> str | None:
    async with db.read() as q:
        rows = await q.fetchall(sql, params)
    return rng.choice(rows)["sid"] if rows else None


async def _operate(db: Database, env: dict, rng: random.Random) -> None:
    ws = env["ws"]
    kind = rng.choices(
        ["accept", "reject", "timeout", "wrap", "complete", "cancel", "flip", "capacity", "task"],
        weights=[5, 2, 2, 1, 3, 1, 3, 1, 2],
    )[0]
    pending = "SELECT sid FROM reservations WHERE workspace_sid = %s AND reservation_status = 'pending'"
    if kind in ("accept", "reject", "timeout"):
        sid = await _pick(db, pending, (ws,), rng)
        if sid:
            status = {
                "accept": ReservationStatus.ACCEPTED,
                "reject": ReservationStatus.REJECTED,
                "timeout": ReservationStatus.TIMEOUT,
            }[kind]
            async with db.unit() as uow:
                await routing.update_reservation(uow, reservation_sid=sid, status=status)
    elif kind in ("wrap", "complete"):
        sid = await _pick(
            db,
            "SELECT sid FROM tasks WHERE workspace_sid = %s AND assignment_status IN ('assigned', 'wrapping')",
            (ws,),
            rng,
        )
        if sid:
            async with db.unit() as uow:
                await routing.update_task_status(
                    uow, task_sid=sid, status=TaskStatus.WRAPPING if kind == "wrap" else TaskStatus.COMPLETED
                )
    elif kind == "cancel":
        sid = await _pick(
            db,
            "SELECT sid FROM tasks WHERE workspace_sid = %s AND assignment_status IN ('pending', 'reserved')",
            (ws,),
            rng,
        )
        if sid:
            async with db.unit() as uow:
                await routing.update_task_status(uow, task_sid=sid, status=TaskStatus.CANCELED, reason="test")
    elif kind == "flip":
        worker_sid = rng.choice(env["workers"])
        activity = env["activities"][rng.choice(["Available", "Offline"])]
        async with db.unit() as uow:
            worker = await uow.one(WorkerRow, "SELECT * FROM workers WHERE sid = %s", (worker_sid,))
            await routing.set_worker_activity(
                uow, worker=worker, activity_sid=activity, reject_pending=rng.random() < 0.5
            )
    elif kind == "capacity":
        async with db.unit() as uow:
            channel = await uow.one(
                WorkerChannelRow,
                "SELECT * FROM worker_channels WHERE worker_sid = %s AND task_channel_sid = %s",
                (rng.choice(env["workers"]), env["channel_sid"]),
            )
            await routing.update_worker_channel(
                uow, channel=channel, capacity=channel.configured_capacity + 1, available=None
            )
    else:
        await _new_task(db, env, rng)


async def _check(db: Database, ws: str) -> None:
    async with db.read() as q:
        for name, sql in CHECKS.items():
            rows = await q.fetchall(sql, {"ws": ws} if "%(ws)s" in sql else None)
            assert not rows, f"invariant broken: {name}: {rows}"


@pytest.mark.parametrize(
    ("seed", "size"), [(7, SMALL), (42, SMALL), (2026, SMALL), (11, LARGE)], ids=["7", "42", "2026", "large"]
)
async def test_routing_invariants_hold_under_concurrent_operations(database_url, account, seed, size):
    workers_count, initial_tasks, operations = size
    rng = random.Random(seed)
    db = Database(database_url, max_size=CONNECTIONS)
    await db.open()
    try:
        env = await _setup(db, account.account_sid, rng, workers_count)
        for _ in range(initial_tasks):
            await _new_task(db, env, rng)
        remaining = iter(range(operations))
        conflicts = 0

        async def racer(racer_seed: int) -> None:
            nonlocal conflicts
            local = random.Random(racer_seed)
            for _ in remaining:
                try:
                    await _operate(db, env, local)
                except Conflict:
                    conflicts += 1  # lost a race (e.g. accepting what was just rejected): the expected outcome
                await _check(db, env["ws"])

        await asyncio.gather(*(racer(seed * 100 + n) for n in range(CONNECTIONS)))

        async with db.read() as q:
            missed = (await reference_plan(q, env["ws"])).offers
        assert missed == [], "a waiting task could be offered but was not (missed wake-up)"
        async with db.unit() as uow:
            assert await match(uow, env["ws"]) == []
        await _check(db, env["ws"])
        async with db.read() as q:
            tasks = await q.fetchall(
                "SELECT sid, assignment_status, routing_step, waiting_reason FROM tasks WHERE workspace_sid = %s",
                (env["ws"],),
            )
            offers = await q.fetchone("SELECT count(*) AS n FROM reservations WHERE workspace_sid = %s", (env["ws"],))
        assert offers["n"] > min(initial_tasks, operations // 4)  # the storm really exercised routing
        for task in tasks:
            assert task["assignment_status"] in (
                "pending",
                "reserved",
                "assigned",
                "wrapping",
                "completed",
                "canceled",
            )
            if task["assignment_status"] == "pending":
                assert task["routing_step"] and task["waiting_reason"], task
    finally:
        await db.close()
