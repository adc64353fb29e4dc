"""Cumulative statistics counted from a known event log: counts per outcome, waits (avg/min/max/total), the
split by wait time, the window's edges, the queue/workflow/channel/worker scopes, and the time workers spent in
each activity. Events are written as the routing code writes them, with chosen dates and ages."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from domain.events import EventType
from domain.sids import SidPrefix, new_sid
from storage.db import Database, UnitOfWork
from storage.taskrouter import service as taskrouter
from storage.taskrouter import statistics as stats
from storage.taskrouter.models import NewWorkspace

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
QUEUE_A, QUEUE_B = new_sid(SidPrefix.TASK_QUEUE), new_sid(SidPrefix.TASK_QUEUE)
FLOW = new_sid(SidPrefix.WORKFLOW)
CHAT, SMS = new_sid(SidPrefix.TASK_CHANNEL), new_sid(SidPrefix.TASK_CHANNEL)
ALICE, BOB = new_sid(SidPrefix.WORKER), new_sid(SidPrefix.WORKER)


async def _event(
    uow: UnitOfWork, account_sid: str, ws: str, event: EventType, at: datetime, resource: str, **data: Any
) -> None:
    await uow.execute(
        "INSERT INTO taskrouter_events (sid, account_sid, workspace_sid, event_type, resource_type, resource_sid, "
        "actor_type, actor_sid, description, event_data, event_date) "
        "VALUES (%s, %s, %s, %s, 'task', %s, 'workspace', %s, '', %s, %s)",
        (new_sid(SidPrefix.EVENT), account_sid, ws, event.value, resource, ws, Jsonb(data), at),
    )


async def _task_story(
    uow: UnitOfWork,
    account_sid: str,
    ws: str,
    *,
    created: datetime,
    queue: str = QUEUE_A,
    channel: str = CHAT,
    accepted_after: int | None = None,
    canceled_after: int | None = None,
    rejected_by: str | None = None,
    worker: str = ALICE,
    moved_to: str | None = None,
    queue_entered_after: int = 0,
) -> str:
    """One task's events: created, entered `queue`, then its outcome after so many seconds."""
    task = new_sid(SidPrefix.TASK)
    entered = created + timedelta(seconds=queue_entered_after)
    base = {
        "task_sid": task,
        "task_queue_sid": queue,
        "workflow_sid": FLOW,
        "task_channel_sid": channel,
        "task_date_created": int(created.timestamp()),
        "task_queue_entered_date": int(entered.timestamp()),
    }
    await _event(uow, account_sid, ws, EventType.TASK_CREATED, created, task, **base, task_age=0)
    await _event(uow, account_sid, ws, EventType.TASK_QUEUE_ENTERED, entered, task, **base, task_age=0)
    if rejected_by is not None:
        at = created + timedelta(seconds=1)
        reservation = new_sid(SidPrefix.RESERVATION)
        for event in (EventType.RESERVATION_CREATED, EventType.RESERVATION_REJECTED):
            await _event(uow, account_sid, ws, event, at, reservation, **base, task_age=1, worker_sid=rejected_by)
    if moved_to is not None:
        await _event(
            uow, account_sid, ws, EventType.TASK_QUEUE_MOVED, entered, task, **base, target_task_queue_sid=moved_to
        )
    if accepted_after is not None:
        at = created + timedelta(seconds=accepted_after)
        reservation = new_sid(SidPrefix.RESERVATION)
        for event in (EventType.RESERVATION_CREATED, EventType.RESERVATION_ACCEPTED):
            await _event(
                uow, account_sid, ws, event, at, reservation, **base, task_age=accepted_after, worker_sid=worker
            )
        await _event(uow, account_sid, ws, EventType.TASK_COMPLETED, at + timedelta(seconds=60), task, **base)
    if canceled_after is not None:
        at = created + timedelta(seconds=canceled_after)
        await _event(uow, account_sid, ws, EventType.TASK_CANCELED, at, task, **base, task_age=canceled_after)
    return task


async def _log(db: Database, account_sid: str) -> str:
    """Five tasks in the hour after T0, and one before it (outside every window below)."""
    ws = new_sid(SidPrefix.WORKSPACE)
    async with db.unit() as uow:
        await _task_story(uow, account_sid, ws, created=T0 - timedelta(hours=2), accepted_after=500)
        await _task_story(uow, account_sid, ws, created=T0, accepted_after=4, queue_entered_after=1)
        await _task_story(uow, account_sid, ws, created=T0 + timedelta(minutes=1), accepted_after=20, rejected_by=BOB)
        await _task_story(
            uow, account_sid, ws, created=T0 + timedelta(minutes=2), accepted_after=36, worker=BOB, channel=SMS
        )
        await _task_story(uow, account_sid, ws, created=T0 + timedelta(minutes=3), canceled_after=3)
        await _task_story(
            uow, account_sid, ws, created=T0 + timedelta(minutes=4), canceled_after=90, queue=QUEUE_B, moved_to=QUEUE_A
        )
    return ws


HOUR = stats.Window(start=T0, end=T0 + timedelta(hours=1))


async def test_workspace_counts_and_waits_over_the_window(db: Database, account) -> None:
    ws = await _log(db, account.account_sid)
    async with db.read() as q:
        figures = await stats.cumulative(q, stats.Scope(workspace_sid=ws), HOUR)
    assert figures.tasks_created == 5
    assert (figures.tasks_canceled, figures.tasks_completed, figures.tasks_moved) == (2, 3, 1)
    assert (figures.reservations_created, figures.reservations_accepted, figures.reservations_rejected) == (4, 3, 1)
    assert (figures.reservations_timed_out, figures.reservations_canceled, figures.reservations_rescinded) == (0, 0, 0)
    # Accepted after 4, 20 and 36 s; canceled after 3 and 90 s.
    assert figures.wait_duration_until_accepted.model_dump() == {"avg": 20, "min": 4, "max": 36, "total": 60}
    assert figures.avg_task_acceptance_time == 20
    assert figures.wait_duration_until_canceled.model_dump() == {"avg": 47, "min": 3, "max": 90, "total": 93}
    assert figures.split_by_wait_time is None
    assert (figures.start_time, figures.end_time) == (HOUR.start, HOUR.end)


async def test_the_window_edges_decide_what_counts(db: Database, account) -> None:
    ws = await _log(db, account.account_sid)
    # The first two minutes: tasks 2 and 3 were created (task 2's accept at +4 s, task 3's at 1 min 20 s).
    two_minutes = stats.Window(start=T0, end=T0 + timedelta(minutes=1, seconds=30))
    async with db.read() as q:
        figures = await stats.cumulative(q, stats.Scope(workspace_sid=ws), two_minutes)
        earlier = await stats.cumulative(
            q, stats.Scope(workspace_sid=ws), stats.Window(start=T0 - timedelta(hours=3), end=T0 - timedelta(hours=1))
        )
    assert figures.tasks_created == 2
    assert figures.reservations_accepted == 2 and figures.wait_duration_until_accepted.max == 20
    assert earlier.tasks_created == 1 and earlier.wait_duration_until_accepted.total == 500


async def test_split_by_wait_time_puts_each_outcome_below_or_above(db: Database, account) -> None:
    ws = await _log(db, account.account_sid)
    async with db.read() as q:
        window = replace(HOUR, split_by_wait_time=(5, 20, 30))
        figures = await stats.cumulative(q, stats.Scope(workspace_sid=ws), window)
    assert figures.split_by_wait_time is not None
    split = {k: v.model_dump() for k, v in figures.split_by_wait_time.items()}
    # Accepted 4 / 20 / 36 s, canceled 3 / 90 s.
    assert split["5"] == {
        "below": {"tasks_canceled": 1, "reservations_accepted": 1},
        "above": {"tasks_canceled": 1, "reservations_accepted": 2},
    }
    # A wait of exactly the threshold (the accept at 20 s) is above it.
    assert split["20"] == {
        "below": {"tasks_canceled": 1, "reservations_accepted": 1},
        "above": {"tasks_canceled": 1, "reservations_accepted": 2},
    }
    assert split["30"] == {
        "below": {"tasks_canceled": 1, "reservations_accepted": 2},
        "above": {"tasks_canceled": 1, "reservations_accepted": 1},
    }


async def test_queue_workflow_channel_and_worker_scopes(db: Database, account) -> None:
    ws = await _log(db, account.account_sid)
    whole = stats.Scope(workspace_sid=ws)
    async with db.read() as q:
        queue_a = await stats.cumulative(q, replace(whole, task_queue_sid=QUEUE_A), HOUR)
        queue_b = await stats.cumulative(q, replace(whole, task_queue_sid=QUEUE_B), HOUR)
        flow = await stats.cumulative(q, replace(whole, workflow_sid=FLOW), HOUR)
        sms = await stats.cumulative(q, replace(whole, task_channel_sid=SMS), HOUR)
        bob = await stats.cumulative(q, replace(whole, worker_sids=(BOB,)), HOUR)
    assert (queue_a.tasks_entered, queue_a.tasks_moved, queue_a.tasks_canceled) == (4, 0, 1)
    assert (queue_b.tasks_entered, queue_b.tasks_moved, queue_b.tasks_canceled) == (1, 1, 1)
    # Task 2 entered its queue 1 s after creation and was accepted at 4 s.
    assert queue_a.wait_duration_in_queue_until_accepted.model_dump() == {"avg": 20, "min": 3, "max": 36, "total": 59}
    assert (flow.tasks_entered, flow.tasks_completed) == (5, 3)
    assert (sms.tasks_created, sms.reservations_accepted, sms.wait_duration_until_accepted.total) == (1, 1, 36)
    assert (bob.reservations_created, bob.reservations_accepted, bob.reservations_rejected) == (2, 1, 1)


async def test_workers_time_in_each_activity(db: Database, account) -> None:
    async with db.unit() as uow:
        workspace = await taskrouter.create_workspace(
            uow, account_sid=account.account_sid, new=NewWorkspace(friendly_name="Durations")
        )
        activity = {
            row["friendly_name"]: row["sid"]
            for row in await uow.fetchall(
                "SELECT sid, friendly_name FROM activities WHERE workspace_sid = %s", (workspace.sid,)
            )
        }
        workers = []
        for name in ("ann", "ben"):
            worker = await taskrouter.create_worker(
                uow,
                workspace=workspace,
                friendly_name=name,
                attributes=json.dumps({}),
                activity_sid=activity["Offline"],
            )
            workers.append(worker.sid)
        ann = workers[0]
        await uow.execute("UPDATE workers SET date_created = %s WHERE sid = ANY(%s)", (T0 - timedelta(days=1), workers))
        # ann: Offline until +10 min, Available until +40 min, Offline after. ben: Offline all along.
        for at, new, old in ((10, "Available", "Offline"), (40, "Offline", "Available")):
            await uow.execute(
                "INSERT INTO taskrouter_events (sid, account_sid, workspace_sid, event_type, resource_type, "
                "resource_sid, actor_type, actor_sid, description, event_data, event_date) "
                "VALUES (%s, %s, %s, %s, 'worker', %s, 'workspace', %s, '', %s, %s)",
                (
                    new_sid(SidPrefix.EVENT),
                    account.account_sid,
                    workspace.sid,
                    EventType.WORKER_ACTIVITY_UPDATE.value,
                    ann,
                    workspace.sid,
                    Jsonb(
                        {
                            "worker_sid": ann,
                            "worker_activity_sid": activity[new],
                            "worker_previous_activity_sid": activity[old],
                        }
                    ),
                    T0 + timedelta(minutes=at),
                ),
            )
    scope = stats.Scope(workspace_sid=workspace.sid)
    async with db.read() as q:
        both = {d.friendly_name: d for d in await stats.activity_durations(q, scope, HOUR)}
        ann_only = {
            d.friendly_name: d for d in await stats.activity_durations(q, replace(scope, worker_sids=(ann,)), HOUR)
        }
    assert both["Available"].model_dump() == {
        "sid": activity["Available"],
        "friendly_name": "Available",
        "avg": 1800,
        "min": 1800,
        "max": 1800,
        "total": 1800,
    }
    # ann 10 + 20 minutes offline, ben the whole hour.
    assert (both["Offline"].min, both["Offline"].max, both["Offline"].total, both["Offline"].avg) == (
        1800,
        3600,
        5400,
        2700,
    )
    assert ann_only["Offline"].total == 1800 and ann_only["Available"].total == 1800
    assert both["Unavailable"].total == 0
