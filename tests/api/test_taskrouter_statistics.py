"""TaskRouter statistics through the official `twilio` client, after a known sequence of tasks (one accepted,
one waiting at a higher priority, one canceled): real-time figures match the live tasks and workers, cumulative
ones match the `/Events` log, and every statistics endpoint answers with Twilio's fields."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.support.waiting import eventually

WORKSPACES = "/taskrouter/v1/Workspaces"


@dataclass
class Story:
    ws: Any
    workspace_sid: str
    queue_sid: str
    workflow_sid: str
    alice: str
    bob: str
    accepted: str
    waiting: str
    canceled: str
    activities: dict[str, str]


@pytest.fixture
async def story(twilio: Client) -> Story:
    workspace = twilio.taskrouter.v1.workspaces.create(friendly_name="Statistics story")
    ws = twilio.taskrouter.v1.workspaces(workspace.sid)
    activities = {a.friendly_name: a.sid for a in ws.activities.list()}
    queue = ws.task_queues.create(friendly_name="Support", target_workers="1==1")
    ws.task_queues.create(friendly_name="Nobody", target_workers="1==0")
    config = {"task_routing": {"filters": [], "default_filter": {"queue": queue.sid}}}
    workflow = ws.workflows.create(friendly_name="Support flow", configuration=json.dumps(config))
    alice = ws.workers.create(friendly_name="alice", activity_sid=activities["Available"])
    bob = ws.workers.create(friendly_name="bob")

    first = ws.tasks.create(workflow_sid=workflow.sid, task_channel="chat", attributes="{}")

    async def offered() -> list[Any]:
        return ws.tasks(first.sid).reservations.list(reservation_status="pending")

    [reservation] = await eventually(offered, what="alice's reservation")
    ws.tasks(first.sid).reservations(reservation.sid).update(reservation_status="accepted")

    # alice is full (one chat): this one waits, at priority 5.
    waiting = ws.tasks.create(workflow_sid=workflow.sid, task_channel="chat", attributes="{}", priority=5)
    doomed = ws.tasks.create(workflow_sid=workflow.sid, task_channel="chat", attributes="{}")
    for sid in (waiting.sid, doomed.sid):

        async def queued(sid: str = sid) -> bool:
            return bool(ws.tasks(sid).fetch().task_queue_sid == queue.sid)

        await eventually(queued, what="the task in its queue")
    ws.tasks(doomed.sid).update(assignment_status="canceled", reason="customer left")
    return Story(
        ws=ws,
        workspace_sid=workspace.sid,
        queue_sid=queue.sid,
        workflow_sid=workflow.sid,
        alice=alice.sid,
        bob=bob.sid,
        accepted=first.sid,
        waiting=waiting.sid,
        canceled=doomed.sid,
        activities=activities,
    )


def _by_name(activity_statistics: list[dict[str, Any]]) -> dict[str, int]:
    return {a["friendly_name"]: a["workers"] for a in activity_statistics}


async def test_real_time_figures_are_the_live_tasks_and_workers(story: Story) -> None:
    ws = story.ws
    realtime = ws.real_time_statistics().fetch()
    assert realtime.tasks_by_status == {"pending": 1, "reserved": 0, "assigned": 1, "wrapping": 0}
    assert realtime.total_tasks == 2 and realtime.tasks_by_priority == {"0": 1, "5": 1}
    assert realtime.longest_task_waiting_sid == story.waiting and realtime.longest_task_waiting_age >= 0
    assert realtime.total_workers == 2
    assert _by_name(realtime.activity_statistics) == {"Offline": 1, "Available": 1, "Unavailable": 0, "Break": 0}
    assert realtime.url.endswith(f"/Workspaces/{story.workspace_sid}/RealTimeStatistics")

    queue = ws.task_queues(story.queue_sid).real_time_statistics().fetch()
    assert (queue.total_eligible_workers, queue.total_available_workers, queue.total_tasks) == (2, 1, 2)
    assert queue.longest_relative_task_sid_in_queue == story.waiting
    assert queue.task_queue_sid == story.queue_sid

    # Free capacity on the chat channel: alice is full, so nobody is available for chat in the queue.
    chat = ws.task_queues(story.queue_sid).real_time_statistics().fetch(task_channel="chat")
    assert chat.total_available_workers == 0 and chat.total_tasks == 2
    voice = ws.real_time_statistics().fetch(task_channel="voice")
    assert voice.total_tasks == 0 and voice.longest_task_waiting_sid is None

    flow = ws.workflows(story.workflow_sid).real_time_statistics().fetch()
    assert flow.total_tasks == 2 and flow.tasks_by_status["pending"] == 1

    workers = ws.workers.real_time_statistics().fetch()
    assert workers.total_workers == 2 and _by_name(workers.activity_statistics)["Available"] == 1


async def test_cumulative_figures_agree_with_the_event_log(story: Story) -> None:
    ws = story.ws
    cumulative = ws.cumulative_statistics().fetch(minutes=60)
    assert (cumulative.tasks_created, cumulative.tasks_canceled, cumulative.tasks_completed) == (3, 1, 0)
    assert (cumulative.reservations_created, cumulative.reservations_accepted) == (1, 1)
    assert cumulative.wait_duration_until_accepted["max"] >= cumulative.wait_duration_until_accepted["min"] >= 0
    for event_type, counted in (
        ("task.created", cumulative.tasks_created),
        ("task.canceled", cumulative.tasks_canceled),
        ("reservation.created", cumulative.reservations_created),
        ("reservation.accepted", cumulative.reservations_accepted),
    ):
        assert len(ws.events.list(event_type=event_type, minutes=60)) == counted, event_type

    queue = ws.task_queues(story.queue_sid).cumulative_statistics().fetch(minutes=60, split_by_wait_time="5,60")
    assert (queue.tasks_entered, queue.tasks_canceled, queue.reservations_accepted) == (3, 1, 1)
    assert set(queue.split_by_wait_time) == {"5", "60"}
    below, above = queue.split_by_wait_time["60"]["below"], queue.split_by_wait_time["60"]["above"]
    assert below["reservations_accepted"] + above["reservations_accepted"] == 1
    assert below["tasks_canceled"] + above["tasks_canceled"] == 1

    flow = ws.workflows(story.workflow_sid).cumulative_statistics().fetch(minutes=60)
    assert (flow.tasks_entered, flow.tasks_canceled, flow.reservations_accepted) == (3, 1, 1)

    alice = ws.workers(story.alice).statistics().fetch(minutes=60).cumulative
    assert (alice["reservations_created"], alice["reservations_accepted"], alice["tasks_assigned"]) == (1, 1, 1)
    assert {a["friendly_name"] for a in alice["activity_durations"]} == set(story.activities)
    bob = ws.workers(story.bob).statistics().fetch(minutes=60).cumulative
    assert bob["reservations_created"] == 0


async def test_combined_statistics_and_the_queue_list(story: Story) -> None:
    ws = story.ws
    both = ws.statistics().fetch(minutes=30)
    assert both.realtime["total_tasks"] == 2 and both.cumulative["tasks_created"] == 3

    queue = ws.task_queues(story.queue_sid).statistics().fetch()
    assert queue.realtime["total_eligible_workers"] == 2 and queue.cumulative["tasks_entered"] == 3

    flow = ws.workflows(story.workflow_sid).statistics().fetch()
    assert flow.realtime["total_tasks"] == 2 and flow.cumulative["tasks_entered"] == 3

    listed = {s.task_queue_sid: s for s in ws.task_queues.statistics.list()}
    assert len(listed) == 2
    assert listed[story.queue_sid].realtime["total_tasks"] == 2
    [nobody] = [s for sid, s in listed.items() if sid != story.queue_sid]
    assert nobody.realtime["total_eligible_workers"] == 0 and nobody.cumulative["tasks_entered"] == 0
    only = ws.task_queues.statistics.list(friendly_name="Support")
    assert [s.task_queue_sid for s in only] == [story.queue_sid]

    members = ws.workers.statistics().fetch(task_queue_sid=story.queue_sid)
    assert members.realtime["total_workers"] == 2
    named = ws.workers.statistics().fetch(friendly_name="bob")
    assert named.realtime["total_workers"] == 1 and _by_name(named.realtime["activity_statistics"])["Offline"] == 1
    assert ws.workers.cumulative_statistics().fetch().reservations_accepted == 1


async def test_bulk_real_time_statistics_of_several_queues(story: Story, admin: httpx.AsyncClient) -> None:
    url = f"{WORKSPACES}/{story.workspace_sid}/TaskQueues/RealTimeStatistics"
    queues = [q.sid for q in story.ws.task_queues.list()]
    for body in (queues, {"TaskQueueSids": queues}):
        answer = await admin.post(url, json=body)
        assert answer.status_code == 200, answer.text
        data = answer.json()
        assert data["task_queue_response_count"] == 2
        by_sid = {d["task_queue_sid"]: d for d in data["task_queue_data"]}
        assert by_sid[story.queue_sid]["total_tasks"] == 2
        assert by_sid[story.queue_sid]["tasks_by_status"]["assigned"] == 1
    too_many = await admin.post(url, json=[story.queue_sid] * 51)
    assert too_many.status_code == 400 and "50" in too_many.json()["message"]
    assert (await admin.post(url, content=b"not json", headers={"Content-Type": "application/json"})).status_code == 400
    foreign = await admin.post(url, json=["WQ" + "0" * 32])
    assert foreign.status_code == 404


async def test_bad_statistics_parameters_are_400s(story: Story, admin: httpx.AsyncClient) -> None:
    base = f"{WORKSPACES}/{story.workspace_sid}"
    for path, params, fragment in (
        ("CumulativeStatistics", {"Minutes": "0"}, "Minutes"),
        ("CumulativeStatistics", {"Minutes": "abc"}, "Minutes"),
        ("CumulativeStatistics", {"StartDate": "yesterday"}, "StartDate"),
        ("Statistics", {"StartDate": "2026-12-02T10:00:00Z", "EndDate": "2026-12-01T10:00:00Z"}, "StartDate"),
        ("CumulativeStatistics", {"SplitByWaitTime": "5,soon"}, "SplitByWaitTime"),
    ):
        answer = await admin.get(f"{base}/{path}", params=params)
        assert answer.status_code == 400, (path, params, answer.text)
        assert fragment in answer.json()["message"]
    unknown_channel = await admin.get(f"{base}/RealTimeStatistics", params={"TaskChannel": "carrier-pigeon"})
    assert unknown_channel.status_code == 404
    assert (await admin.get(f"{base}/TaskQueues/WQ{'0' * 32}/Statistics")).status_code == 404


async def test_agents_read_only_their_own_worker_statistics(story: Story, parley, agent_token, twilio: Client) -> None:
    token = agent_token(story.workspace_sid, story.alice)
    async with httpx.AsyncClient(base_url=parley.base_url, headers={"X-Twilio-Token": token}, timeout=30) as agent:
        base = f"{WORKSPACES}/{story.workspace_sid}"
        own = await agent.get(f"{base}/Workers/{story.alice}/Statistics")
        assert own.status_code == 200 and own.json()["cumulative"]["reservations_accepted"] == 1
        assert (await agent.get(f"{base}/Workers/{story.bob}/Statistics")).status_code == 403
        assert (await agent.get(f"{base}/Statistics")).status_code == 403
        assert (await agent.get(f"{base}/TaskQueues/{story.queue_sid}/RealTimeStatistics")).status_code == 403
    other = twilio.taskrouter.v1.workspaces.create(friendly_name="Someone else's")
    with pytest.raises(TwilioRestException) as refused:
        twilio.taskrouter.v1.workspaces(other.sid).workers(story.alice).statistics().fetch()
    assert refused.value.status == 404
