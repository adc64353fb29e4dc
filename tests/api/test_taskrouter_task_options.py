"""Task creation's routing options through the official `twilio` client: `RoutingTarget` (a worker or a
queue), `IgnoreCapacity` (true by default for a worker target), `TaskQueueSid` without a workflow, and
`VirtualStartTime` (what FIFO serves by), plus the update's `VirtualStartTime` and `TaskChannel`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from tests.support.waiting import eventually


class Team:
    def __init__(self, twilio: Client) -> None:
        workspace = twilio.taskrouter.v1.workspaces.create(friendly_name="Options")
        self.ws = twilio.taskrouter.v1.workspaces(workspace.sid)
        self.activity = {a.friendly_name: a.sid for a in self.ws.activities.list()}
        self.queue = self.ws.task_queues.create(friendly_name="All", target_workers="1==1").sid
        config = {"task_routing": {"filters": [], "default_filter": {"queue": self.queue}}}
        self.flow = self.ws.workflows.create(friendly_name="All", configuration=json.dumps(config)).sid

    def worker(self, name: str, activity: str = "Offline") -> str:
        sid: str = self.ws.workers.create(friendly_name=name, activity_sid=self.activity[activity]).sid
        return sid

    async def offered(self, task_sid: str) -> Any:
        async def pending() -> list[Any]:
            return self.ws.tasks(task_sid).reservations.list(reservation_status="pending")

        [reservation] = await eventually(pending, what="a pending reservation")
        return reservation

    async def waiting(self, task_sid: str) -> Any:
        async def why() -> Any:
            task = self.ws.tasks(task_sid).fetch()
            return task if task.assignment_status == "pending" and task.task_queue_sid else None

        return await eventually(why, what="the task waiting in a queue")


def _error(call: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as raised:
        call()
    return raised.value


async def test_a_worker_target_ignores_capacity_by_default(twilio: Client) -> None:
    team = Team(twilio)
    alice = team.worker("alice")  # Offline
    task = team.ws.tasks.create(routing_target=alice, attributes="{}", task_channel="chat")
    assert task.routing_target == alice and task.ignore_capacity is True
    reservation = await team.offered(task.sid)
    assert reservation.worker_sid == alice
    assert team.ws.tasks(task.sid).fetch().task_queue_sid == team.queue
    # Full on chat (capacity 1, one offer out): a second direct task still reaches her.
    again = team.ws.tasks.create(routing_target=alice, attributes="{}", task_channel="chat")
    assert (await team.offered(again.sid)).worker_sid == alice
    channel = team.ws.workers(alice).worker_channels("chat").fetch()
    assert channel.available_capacity_percentage == 0


async def test_a_worker_target_that_respects_capacity_waits_for_the_worker(
    twilio: Client, admin: httpx.AsyncClient
) -> None:
    team = Team(twilio)
    alice, bob = team.worker("alice"), team.worker("bob", "Available")
    task = team.ws.tasks.create(routing_target=alice, ignore_capacity=False, attributes="{}")
    assert task.ignore_capacity is False

    async def routed() -> str | None:
        body = (await admin.get(f"/taskrouter/v1/Workspaces/{task.workspace_sid}/Tasks/{task.sid}")).json()
        return body["routing_status"] if body["assignment_status"] == "pending" else None

    # Matching ran (it wrote why the task waits) and offered it to nobody.
    assert "no eligible worker" in await eventually(routed, what="the task's routing status")
    # bob is free, but the task is alice's.
    assert team.ws.tasks(task.sid).reservations.list() == []
    team.ws.workers(alice).update(activity_sid=team.activity["Available"])
    assert (await team.offered(task.sid)).worker_sid == alice
    assert team.ws.workers(bob).worker_channels("default").fetch().available_capacity_percentage == 100


async def test_a_queue_target_or_a_queue_alone_routes_straight_to_the_queue(twilio: Client) -> None:
    team = Team(twilio)
    other = team.ws.task_queues.create(friendly_name="Other", target_workers="1==1").sid
    carol = team.worker("carol", "Available")
    by_target = team.ws.tasks.create(routing_target=other, attributes="{}")
    assert by_target.workflow_sid is None
    reservation = await team.offered(by_target.sid)
    assert reservation.worker_sid == carol
    assert team.ws.tasks(by_target.sid).fetch().task_queue_sid == other

    ws2 = Team(twilio)
    dave = ws2.worker("dave", "Available")
    queue_only = ws2.ws.tasks.create(task_queue_sid=ws2.queue, attributes="{}")
    assert (await ws2.offered(queue_only.sid)).worker_sid == dave


async def test_bad_routing_options_are_400s_that_write_nothing(twilio: Client) -> None:
    team = Team(twilio)
    team.ws.task_queues(team.queue).update(target_workers="1==0")
    loner = team.worker("loner")
    cases = [
        ({"ignore_capacity": True}, "IgnoreCapacity"),
        ({"ignore_capacity": True, "routing_target": team.queue}, "IgnoreCapacity"),
        ({"routing_target": "WK" + "0" * 32}, "RoutingTarget"),
        ({"routing_target": "WT" + "0" * 32}, "RoutingTarget"),
        ({"routing_target": loner}, "no TaskQueue"),
        ({"task_queue_sid": "WQ" + "0" * 32}, "TaskQueueSid"),
        ({"virtual_start_time": datetime.now(UTC) + timedelta(hours=1)}, "VirtualStartTime"),
    ]
    for params, fragment in cases:
        error = _error(lambda params=params: team.ws.tasks.create(attributes="{}", **params))
        assert error.status == 400 and fragment in error.msg, (params, error.msg)
    assert team.ws.tasks.list() == []


async def test_virtual_start_time_decides_who_is_served_first(twilio: Client) -> None:
    team = Team(twilio)
    erin = team.worker("erin")
    now = datetime.now(UTC).replace(microsecond=0)
    newer = team.ws.tasks.create(workflow_sid=team.flow, attributes="{}")
    older = team.ws.tasks.create(workflow_sid=team.flow, attributes="{}", virtual_start_time=now - timedelta(hours=1))
    assert older.virtual_start_time == now - timedelta(hours=1)
    for sid in (newer.sid, older.sid):
        await team.waiting(sid)
    team.ws.workers(erin).update(activity_sid=team.activity["Available"])
    assert (await team.offered(older.sid)).worker_sid == erin
    assert team.ws.tasks(newer.sid).fetch().assignment_status == "pending"

    moved = team.ws.tasks(newer.sid).update(virtual_start_time=now - timedelta(days=1))
    assert moved.virtual_start_time == now - timedelta(days=1)
    assert moved.date_created == newer.date_created
    future = _error(lambda: team.ws.tasks(newer.sid).update(virtual_start_time=now + timedelta(days=1)))
    assert future.status == 400 and "VirtualStartTime" in future.msg


async def test_the_update_names_the_tasks_own_channel(twilio: Client) -> None:
    team = Team(twilio)
    task = team.ws.tasks.create(workflow_sid=team.flow, attributes="{}", task_channel="chat")
    updated = team.ws.tasks(task.sid).update(task_channel="chat", priority=3)
    assert updated.priority == 3
    error = _error(lambda: team.ws.tasks(task.sid).update(task_channel="voice", priority=4))
    assert error.status == 404
    assert team.ws.tasks(task.sid).fetch().priority == 3


async def test_the_task_list_filters_by_routing_target_and_add_ons(twilio: Client) -> None:
    team = Team(twilio)
    other = team.ws.task_queues.create(friendly_name="Other", target_workers="1==0").sid
    routed = team.ws.tasks.create(routing_target=other, attributes="{}")
    with_addons = team.ws.tasks.create(workflow_sid=team.flow, attributes=json.dumps({"addons": {"voicebase": {}}}))
    plain = team.ws.tasks.create(workflow_sid=team.flow, attributes=json.dumps({"type": "chat"}))
    assert [t.sid for t in team.ws.tasks.list(routing_target=other)] == [routed.sid]
    assert [t.sid for t in team.ws.tasks.list(has_addons=True)] == [with_addons.sid]
    assert {t.sid for t in team.ws.tasks.list(has_addons=False)} == {routed.sid, plain.sid}
    assert [t.sid for t in team.ws.tasks.list(has_addons=False, routing_target=other)] == [routed.sid]


async def test_workers_and_queues_list_in_the_ordering_asked(twilio: Client) -> None:
    team = Team(twilio)
    for name in ("mia", "ava", "zoe"):
        team.worker(name)
    names = [w.friendly_name for w in team.ws.workers.list()]
    assert names == ["mia", "ava", "zoe"]  # by date created, the default
    assert [w.friendly_name for w in team.ws.workers.list(ordering="FriendlyName:asc")] == ["ava", "mia", "zoe"]
    assert [w.friendly_name for w in team.ws.workers.list(ordering="DateCreated:desc")] == ["zoe", "ava", "mia"]
    team.ws.task_queues.create(friendly_name="Billing", target_workers="1==1")
    assert [q.friendly_name for q in team.ws.task_queues.list(ordering="FriendlyName:desc")] == ["Billing", "All"]
    assert [q.friendly_name for q in team.ws.task_queues.list()] == ["All", "Billing"]
    with pytest.raises(TwilioException, match=r"HTTP 400.*Unsupported Ordering 'Salary:asc'"):
        team.ws.workers.list(ordering="Salary:asc")
