"""What a matching pass reads, against the real PostgreSQL: only the workers that can take work and the tasks
of their queues, best first, in batches. These cases check that the pruning never changes the outcome: a free
worker finds an eligible task behind a whole batch of ineligible ones, the workspace's queue-kind priority holds
across batches, IgnoreCapacity tasks reach their busy worker, and an offer's decision record still lists every
queue member with why it was passed over."""

from __future__ import annotations

import json

from domain.limits import MATCHING_TASK_BATCH
from domain.routing.decision import Exclusion
from domain.routing.engine import QueueOrder
from domain.routing.step import TaskStep
from domain.sids import SidPrefix, new_sid
from storage.db import Database, UnitOfWork
from storage.taskrouter import membership, routing
from storage.taskrouter.matching import match, reference_plan
from storage.taskrouter.models import NewWorkspace
from storage.taskrouter.service import create_workspace
from storage.taskrouter.tables import WorkerRow


class Floor:
    def __init__(self, uow: UnitOfWork, account_sid: str) -> None:
        self.uow, self.account_sid = uow, account_sid

    async def open(self, prioritize: QueueOrder = QueueOrder.FIFO) -> Floor:
        workspace = await create_workspace(
            self.uow,
            account_sid=self.account_sid,
            new=NewWorkspace(friendly_name=f"Scope {new_sid(SidPrefix.WORKSPACE)[-6:]}"),
        )
        self.ws = workspace.sid
        await self.uow.execute(
            "UPDATE workspaces SET prioritize_queue_order = %s WHERE sid = %s", (prioritize, self.ws)
        )
        rows = await self.uow.fetchall("SELECT sid, friendly_name FROM activities WHERE workspace_sid = %s", (self.ws,))
        self.activity = {r["friendly_name"]: r["sid"] for r in rows}
        chat = await self.uow.fetchone(
            "SELECT sid FROM task_channels WHERE workspace_sid = %s AND unique_name = 'chat'", (self.ws,)
        )
        self.chat = chat["sid"]
        return self

    async def queue(self, name: str, order: QueueOrder = QueueOrder.FIFO) -> str:
        sid = new_sid(SidPrefix.TASK_QUEUE)
        await self.uow.execute(
            "INSERT INTO task_queues (sid, account_sid, workspace_sid, friendly_name, target_workers, task_order) "
            "VALUES (%s, %s, %s, %s, '1==1', %s)",
            (sid, self.account_sid, self.ws, name, order.value),
        )
        return sid

    async def worker(self, name: str, tier: int, *, available: bool = False, capacity: int = 1) -> str:
        sid = new_sid(SidPrefix.WORKER)
        await self.uow.execute(
            "INSERT INTO workers (sid, account_sid, workspace_sid, friendly_name, attributes, activity_sid, "
            "available, date_status_changed) VALUES (%s, %s, %s, %s, %s, %s, %s, now())",
            (
                sid,
                self.account_sid,
                self.ws,
                name,
                json.dumps({"tier": tier}),
                self.activity["Available" if available else "Offline"],
                available,
            ),
        )
        await membership.ensure_worker_channels(self.uow, workspace_sid=self.ws, worker_sid=sid)
        await self.uow.execute(
            "UPDATE worker_channels SET configured_capacity = %s WHERE worker_sid = %s", (capacity, sid)
        )
        return sid

    async def members(self, *queues: str) -> None:
        for queue in queues:
            await membership.refresh_for_queue(self.uow, queue)

    async def task(self, queue: str, *, expression: str | None = None, priority: int = 0, **step: object) -> str:
        sid = new_sid(SidPrefix.TASK)
        await self.uow.execute(
            "INSERT INTO tasks (sid, account_sid, workspace_sid, task_channel_sid, priority, attributes, "
            "ignore_capacity) VALUES (%s, %s, %s, %s, %s, '{}', %s)",
            (sid, self.account_sid, self.ws, self.chat, priority, bool(step.get("ignore_capacity"))),
        )
        await routing.enter_step(
            self.uow,
            task_sid=sid,
            step=TaskStep(queue_sid=queue, expression=expression, reservation_timeout=120, **step),  # type: ignore[arg-type]
        )
        return sid

    async def available(self, worker_sid: str) -> None:
        worker = await self.uow.one(WorkerRow, "SELECT * FROM workers WHERE sid = %s", (worker_sid,))
        assert worker is not None
        await routing.set_worker_activity(self.uow, worker=worker, activity_sid=self.activity["Available"])

    async def offers(self, task_sid: str) -> list[dict]:
        return await self.uow.fetchall(
            "SELECT worker_sid, reservation_status, decision FROM reservations WHERE task_sid = %s", (task_sid,)
        )


async def test_a_free_worker_finds_an_eligible_task_behind_a_batch_of_ineligible_ones(db: Database, account) -> None:
    async with db.unit() as uow:
        floor = await Floor(uow, account.account_sid).open()
        queue = await floor.queue("Deep")
        ann = await floor.worker("ann", tier=1)
        await floor.members(queue)
        # More than a batch of older, higher-priority tasks that only a tier-9 worker may take.
        for _ in range(MATCHING_TASK_BATCH + 20):
            await floor.task(queue, expression="worker.tier == 9", priority=5)
        mine = await floor.task(queue)
        await floor.available(ann)
        assert [o["worker_sid"] for o in await floor.offers(mine)] == [ann]
        assert (await reference_plan(uow, floor.ws)).offers == []


async def test_the_preferred_queue_kind_is_served_first_across_batches(db: Database, account) -> None:
    async with db.unit() as uow:
        floor = await Floor(uow, account.account_sid).open(prioritize=QueueOrder.FIFO)
        fifo, lifo = await floor.queue("Fifo"), await floor.queue("Lifo", QueueOrder.LIFO)
        ben = await floor.worker("ben", tier=1)
        await floor.members(fifo, lifo)
        for _ in range(MATCHING_TASK_BATCH + 5):
            await floor.task(fifo, expression="worker.tier == 9")
        fifo_task = await floor.task(fifo)
        lifo_task = await floor.task(lifo)
        await floor.available(ben)
        # FIFO queues come first in this workspace, even when their eligible task is beyond the first batch.
        assert [o["worker_sid"] for o in await floor.offers(fifo_task)] == [ben]
        assert await floor.offers(lifo_task) == []


async def test_an_ignore_capacity_task_reaches_its_busy_worker(db: Database, account) -> None:
    async with db.unit() as uow:
        floor = await Floor(uow, account.account_sid).open()
        queue = await floor.queue("Direct")
        cy = await floor.worker("cy", tier=1)  # Offline, so no pass loads it as a free worker
        await floor.members(queue)
        direct = await floor.task(queue, known_worker_sid=cy, ignore_capacity=True)
        [offer] = await floor.offers(direct)
        assert offer["worker_sid"] == cy and "IgnoreCapacity" in offer["decision"]["chosen"]["why"]
        # Respecting capacity, the same task would wait.
        waiting = await floor.task(queue, known_worker_sid=cy)
        assert await floor.offers(waiting) == []
        assert await match(uow, floor.ws) == []


async def test_an_offers_record_lists_the_members_that_could_take_no_work(db: Database, account) -> None:
    async with db.unit() as uow:
        floor = await Floor(uow, account.account_sid).open()
        queue = await floor.queue("Record")
        dee = await floor.worker("dee", tier=1, available=True)
        eve = await floor.worker("eve", tier=1)  # Offline
        fay = await floor.worker("fay", tier=1, available=True)
        await floor.members(queue)
        first = await floor.task(queue)
        second = await floor.task(queue)  # the remaining free worker takes it
        third = await floor.task(queue)  # nobody left
        chosen = {}
        for task_sid in (first, second):
            [offer] = await floor.offers(task_sid)
            chosen[task_sid] = offer
        record = chosen[second]["decision"]
        verdicts = {c["worker_sid"]: c["exclusion"] for c in record["candidates"]}
        assert set(verdicts) == {dee, eve, fay} and record["candidates_total"] == 3
        assert verdicts[eve] == Exclusion.ACTIVITY_UNAVAILABLE.value
        taken = chosen[first]["worker_sid"]
        assert verdicts[taken] == Exclusion.AT_CAPACITY.value
        assert record["summary"].startswith("1 eligible of 3 queue members")
        reason = await uow.fetchone("SELECT waiting_reason FROM tasks WHERE sid = %s", (third,))
        assert reason["waiting_reason"].startswith("no eligible worker among 3 queue members")
        # dee and fay have room on other channels, so the pass loaded them; eve could take nothing at all.
        assert reason["waiting_reason"].endswith("(1 unavailable or at capacity, not listed)")
