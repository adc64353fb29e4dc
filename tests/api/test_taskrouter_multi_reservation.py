"""Multi-reservation (`MaxReservedWorkers` > 1) through the official `twilio` client: a task is offered to
several workers at once, the first accept wins and the other offers are rescinded, a second accept is refused,
and every worker channel's counters come back to what it holds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.support.waiting import eventually


def _team(twilio: Client, names: list[str], max_reserved: int) -> tuple[Any, str, dict[str, str]]:
    workspace = twilio.taskrouter.v1.workspaces.create(friendly_name=f"Multi {max_reserved}")
    ws = twilio.taskrouter.v1.workspaces(workspace.sid)
    available = next(a.sid for a in ws.activities.list(friendly_name="Available"))
    queue = ws.task_queues.create(friendly_name="All", target_workers="1==1", max_reserved_workers=max_reserved)
    config = {"task_routing": {"filters": [], "default_filter": {"queue": queue.sid}}}
    flow = ws.workflows.create(friendly_name="All", configuration=json.dumps(config))
    workers = {name: ws.workers.create(friendly_name=name, activity_sid=available).sid for name in names}
    return ws, flow.sid, workers


async def _pending(ws: Any, task_sid: str, count: int) -> list[Any]:
    async def offered() -> list[Any]:
        found = ws.tasks(task_sid).reservations.list(reservation_status="pending")
        return found if len(found) == count else []

    return await eventually(offered, what=f"{count} pending reservations")


async def test_first_accept_wins_and_the_other_offers_are_rescinded(twilio: Client) -> None:
    ws, flow, workers = _team(twilio, ["ann", "ben", "cy"], max_reserved=2)
    task = ws.tasks.create(workflow_sid=flow, attributes="{}")
    offers = await _pending(ws, task.sid, 2)
    assert len({r.worker_sid for r in offers}) == 2
    assert ws.tasks(task.sid).fetch().assignment_status == "reserved"

    winner, loser = offers
    ws.tasks(task.sid).reservations(winner.sid).update(reservation_status="accepted")
    assert ws.tasks(task.sid).reservations(loser.sid).fetch().reservation_status == "rescinded"
    assert ws.tasks(task.sid).fetch().assignment_status == "assigned"
    with pytest.raises(TwilioRestException) as late:
        ws.tasks(task.sid).reservations(loser.sid).update(reservation_status="accepted")
    assert late.value.status in (400, 409)

    assert ws.workers(winner.worker_sid).worker_channels("default").fetch().assigned_tasks == 1
    for sid in workers.values():
        channel = ws.workers(sid).worker_channels("default").fetch()
        # Nothing stays reserved: the rescinded offer gave its slot back.
        assert channel.assigned_tasks == (1 if sid == winner.worker_sid else 0)
        assert channel.available_capacity_percentage == (0 if sid == winner.worker_sid else 100)
    events = {e.event_type for e in ws.events.list(task_sid=task.sid)}
    assert {"reservation.created", "reservation.accepted", "reservation.rescinded"} <= events


async def test_rejections_keep_the_task_reserved_until_every_offer_ends(twilio: Client) -> None:
    ws, flow, _ = _team(twilio, ["ann", "ben"], max_reserved=2)
    task = ws.tasks.create(workflow_sid=flow, attributes="{}")
    first, second = await _pending(ws, task.sid, 2)
    ws.tasks(task.sid).reservations(first.sid).update(reservation_status="rejected")
    # One offer is still open: the task stays reserved, not back to pending.
    assert ws.tasks(task.sid).fetch().assignment_status == "reserved"
    ws.tasks(task.sid).reservations(second.sid).update(reservation_status="accepted")
    assert ws.tasks(task.sid).fetch().assignment_status == "assigned"
    statuses = sorted(r.reservation_status for r in ws.tasks(task.sid).reservations.list())
    # ann, who rejected, may have been offered it again (nobody else was free); that offer is rescinded.
    assert statuses[:2] == ["accepted", "rejected"] and set(statuses[2:]) <= {"rescinded"}, statuses


async def test_cancel_while_several_offers_are_pending_cancels_them_all(twilio: Client) -> None:
    ws, flow, workers = _team(twilio, ["ann", "ben", "cy"], max_reserved=3)
    task = ws.tasks.create(workflow_sid=flow, attributes="{}")
    await _pending(ws, task.sid, 3)
    ws.tasks(task.sid).update(assignment_status="canceled", reason="customer left")
    statuses = {r.reservation_status for r in ws.tasks(task.sid).reservations.list()}
    assert statuses == {"canceled"}
    for sid in workers.values():
        assert ws.workers(sid).worker_channels("default").fetch().available_capacity_percentage == 100
