"""Entering a routing step as the Task workflow's activity does it, in two transactions (placed, then offered),
against the real PostgreSQL: a burst of arrivals shares matching passes, the reservations a step's own pass
makes come back in its answer instead of a signal, and a pass that read a task before it was placed in another
step neither reserves it nor gives it a waiting reason."""

from __future__ import annotations

from typing import Any

import pytest

from domain.routing.step import TaskStep
from domain.sids import SidPrefix, new_sid
from storage.db import Database
from storage.taskrouter import matching, routing
from tests.storage.test_matching_scope import Floor


async def _signals(db: Database, task_sid: str) -> list[dict[str, Any]]:
    """The outbox's signals of the task's reservations to its workflow (`WR…:created`)."""
    async with db.read() as q:
        return await q.fetchall(
            "SELECT dedupe_key FROM outbox WHERE dedupe_key IN "
            "(SELECT sid || ':created' FROM reservations WHERE task_sid = %s)",
            (task_sid,),
        )


async def _new_task(db: Database, center: dict[str, Any]) -> str:
    """A pending task of the center's workspace on the chat channel, in no step yet."""
    sid = new_sid(SidPrefix.TASK)
    async with db.unit() as uow:
        await uow.execute(
            "INSERT INTO tasks (sid, account_sid, workspace_sid, task_channel_sid, priority, attributes) "
            "VALUES (%s, %s, %s, %s, 0, '{}')",
            (sid, center["account"], center["ws"], center["chat"]),
        )
    return sid


@pytest.fixture
async def center(db: Database, account: Any) -> dict[str, Any]:
    """A workspace with one queue and `ann`, available with room for three chats."""
    async with db.unit() as uow:
        floor = await Floor(uow, account.account_sid).open()
        queue = await floor.queue("Everyone")
        ann = await floor.worker("ann", tier=1, capacity=3)
        await floor.members(queue)
        await floor.available(ann)
    return {"account": account.account_sid, "ws": floor.ws, "chat": floor.chat, "queue": queue, "ann": ann}


async def _place(db: Database, task_sid: str, step: TaskStep) -> None:
    async with db.unit() as uow:
        assert await routing.place_in_step(uow, task_sid=task_sid, step=step) is not None


async def _offer(db: Database, task_sid: str, step: TaskStep, *, takes: bool) -> routing.StepEntered:
    async with db.unit() as uow:
        return await routing.offer_in_step(uow, task_sid=task_sid, step=step, takes_reservations=takes)


async def test_the_reservations_of_a_step_come_back_in_its_answer_without_a_signal(
    db: Database, center: dict[str, Any]
) -> None:
    step = TaskStep(queue_sid=center["queue"], reservation_timeout=60)
    taken, told = await _new_task(db, center), await _new_task(db, center)
    made: list[str] = []
    for task_sid, takes in ((taken, True), (told, False)):
        await _place(db, task_sid, step)
        entered = await _offer(db, task_sid, step, takes=takes)
        assert entered.task.assignment_status == "reserved"
        if takes:
            [reservation] = entered.reservations
            assert (reservation.task_sid, reservation.worker_sid, reservation.timeout) == (taken, center["ann"], 60)
            made.append(reservation.sid)
            assert await _signals(db, taken) == []
        else:
            assert entered.reservations == ()
            assert len(await _signals(db, told)) == 1
    # A retried step (its answer lost) hands back the reservation it made the first time, and makes no other.
    again = await _offer(db, taken, step, takes=True)
    assert [r.sid for r in again.reservations] == made


async def test_a_burst_of_placed_tasks_is_offered_by_one_matching_pass(
    db: Database, center: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    step = TaskStep(queue_sid=center["queue"], reservation_timeout=60)
    tasks = [await _new_task(db, center) for _ in range(3)]
    for task_sid in tasks:
        await _place(db, task_sid, step)
    passes = 0
    real_match = matching.match

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal passes
        passes += 1
        return await real_match(*args, **kwargs)

    monkeypatch.setattr(routing, "match", counted)
    answers = [await _offer(db, task_sid, step, takes=True) for task_sid in tasks]
    assert passes == 1  # the first offer's pass planned all three; the others found their task reserved
    assert [len(a.reservations) for a in answers] == [1, 1, 1]
    # The first pass made the others' reservations, and signalled them (their steps' passes did not run).
    assert await _signals(db, tasks[0]) == []
    assert [len(await _signals(db, t)) for t in tasks[1:]] == [1, 1]


async def test_a_pass_that_read_a_task_before_it_moved_step_leaves_it_alone(
    db: Database, center: dict[str, Any]
) -> None:
    """A matching pass reads a task, then the task is placed in another step (without the workspace lock)
    before the pass writes: the pass neither reserves the task nor records why it waits, so the new step's
    own offer plans it."""
    first = TaskStep(queue_sid=center["queue"], reservation_timeout=60)
    task_sid = await _new_task(db, center)
    await _place(db, task_sid, first)
    async with db.unit() as uow:
        versions: dict[str, int] = {}
        [loaded] = await matching._load_tasks(uow, "t.sid = %s", (task_sid,), versions=versions)
    moved = TaskStep(queue_sid=center["queue"], reservation_timeout=30, filter_name="second")
    await _place(db, task_sid, moved)
    async with db.unit() as uow:
        workspace = await uow.one(matching.WorkspaceRow, "SELECT * FROM workspaces WHERE sid = %s", (center["ws"],))
        assert workspace is not None
        workers = await matching._load_workers(uow, center["ws"])
        plan = matching.plan_matching(matching.WorkspaceRules(), [loaded], workers, {center["queue"]: [center["ann"]]})
        [offer] = plan.offers
        assert (
            await matching._reserve(uow, workspace, loaded, versions, workers[center["ann"]], offer, signal=True)
            is None
        )
        assert await uow.fetchone("SELECT 1 FROM reservations WHERE task_sid = %s", (task_sid,)) is None
        await matching._record_waiting(uow, {task_sid: "planned in its old step"}, versions)
        row = await uow.fetchone("SELECT waiting_reason FROM tasks WHERE sid = %s", (task_sid,))
        assert row is not None and row["waiting_reason"] is None
    entered = await _offer(db, task_sid, moved, takes=True)
    [reservation] = entered.reservations
    assert reservation.timeout == 30  # offered in the step it is in now
