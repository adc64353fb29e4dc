"""A task that keeps being declined is not offered forever: after MAX_ASSIGNMENT_COUNT moves from pending to
reserved, TaskRouter cancels it with its reason (and the task's workflow hears of it)."""

from __future__ import annotations

import json

from domain.limits import MAX_ASSIGNMENT_COUNT, MAX_ASSIGNMENT_COUNT_REASON
from domain.outbox import SignalTaskWorkflow, parse_command
from domain.routing.signals import RoutingEventKind
from domain.routing.step import TaskStep
from domain.sids import SidPrefix, new_sid
from domain.states import ReservationStatus, TaskStatus
from storage.db import Database
from storage.taskrouter import routing
from storage.taskrouter import service as taskrouter
from storage.taskrouter.models import NewWorkspace, TaskQueueFields
from storage.taskrouter.tables import TaskRow
from tests.support import outbox


async def _one_agent_and_a_task(db: Database, account_sid: str) -> tuple[str, str, str]:
    async with db.unit() as uow:
        workspace = await taskrouter.create_workspace(
            uow, account_sid=account_sid, new=NewWorkspace(friendly_name="Max")
        )
        queue = await taskrouter.create_task_queue(
            uow, workspace=workspace, fields=TaskQueueFields(friendly_name="All")
        )
        available = await uow.fetchone(
            "SELECT sid FROM activities WHERE workspace_sid = %s AND friendly_name = 'Available'", (workspace.sid,)
        )
        worker = await taskrouter.create_worker(
            uow, workspace=workspace, friendly_name="solo", attributes=json.dumps({}), activity_sid=available["sid"]
        )
        channel = await uow.fetchone(
            "SELECT sid FROM task_channels WHERE workspace_sid = %s AND unique_name = 'chat'", (workspace.sid,)
        )
        task = await routing.insert_task(
            uow,
            sid=new_sid(SidPrefix.TASK),
            account_sid=account_sid,
            workspace_sid=workspace.sid,
            workflow_sid=None,
            task_channel_sid=channel["sid"],
            attributes="{}",
        )
    return worker.sid, task.sid, queue.sid


async def _pending_reservation(db: Database, task_sid: str) -> str:
    async with db.read() as q:
        row = await q.fetchone(
            "SELECT sid FROM reservations WHERE task_sid = %s AND reservation_status = 'pending'", (task_sid,)
        )
    assert row is not None
    return str(row["sid"])


async def _task(db: Database, task_sid: str) -> TaskRow:
    async with db.read() as q:
        row = await q.one(TaskRow, "SELECT * FROM tasks WHERE sid = %s", (task_sid,))
    assert row is not None
    return row


async def test_a_task_declined_max_assignment_count_times_is_canceled(db, account):
    worker_sid, task_sid, queue_sid = await _one_agent_and_a_task(db, account.account_sid)
    async with db.unit() as uow:
        await routing.enter_step(uow, task_sid=task_sid, step=TaskStep(queue_sid=queue_sid))
    assert (await _task(db, task_sid)).assignment_count == 1

    # Each rejection re-offers it to the only worker; every pending → reserved move counts.
    for _ in range(2):
        async with db.unit() as uow:
            reservation_sid = await _pending_reservation(db, task_sid)
            await routing.update_reservation(uow, reservation_sid=reservation_sid, status=ReservationStatus.REJECTED)
    task = await _task(db, task_sid)
    assert task.assignment_status is TaskStatus.RESERVED and task.assignment_count == 3

    # Fast-forward to the last allowed assignment, then decline once more.
    async with db.unit() as uow:
        await uow.execute("UPDATE tasks SET assignment_count = %s WHERE sid = %s", (MAX_ASSIGNMENT_COUNT, task_sid))
    async with db.unit() as uow:
        reservation_sid = await _pending_reservation(db, task_sid)
        await routing.update_reservation(uow, reservation_sid=reservation_sid, status=ReservationStatus.REJECTED)
        signals = await outbox.payloads(uow, uow.outbox_ids)
    task = await _task(db, task_sid)
    assert task.assignment_status is TaskStatus.CANCELED
    assert task.reason == MAX_ASSIGNMENT_COUNT_REASON
    async with db.read() as q:
        live = await q.fetchone(
            "SELECT count(*) AS n FROM reservations WHERE task_sid = %s AND reservation_status = 'pending'", (task_sid,)
        )
        slots = await q.fetchone(
            "SELECT sum(reserved_tasks) AS reserved FROM worker_channels WHERE worker_sid = %s", (worker_sid,)
        )
    assert live["n"] == 0 and slots["reserved"] == 0
    commands = [parse_command(payload) for payload in signals]
    assert any(
        isinstance(c, SignalTaskWorkflow) and c.event.kind is RoutingEventKind.TASK_CANCELED for c in commands
    ), commands
