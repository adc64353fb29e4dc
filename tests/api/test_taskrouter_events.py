"""TaskRouter's Event resource over real HTTP, read with the official `twilio` client: every event type Parley
records, in the sequence a task, a worker and the workspace's configuration go through, with Twilio's
`event_data` fields (snake_case), `resource_url` / `actor_url`, and the list filters."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from twilio.rest import Client
from twilio.rest.taskrouter.v1.workspace.event import EventInstance

from domain.sids import SidPrefix, new_sid
from tests.support.waiting import eventually

WORKSPACES = "/taskrouter/v1/Workspaces"
TASK_FIELDS = (
    "task_sid",
    "task_attributes",
    "task_age",
    "task_priority",
    "task_assignment_status",
    "task_channel_sid",
    "task_channel_unique_name",
    "task_queue_sid",
    "task_queue_name",
    "workflow_sid",
    "workflow_name",
    "task_date_created",
    "task_queue_entered_date",
    "workspace_sid",
    "workspace_name",
)
WORKER_FIELDS = (
    "worker_sid",
    "worker_name",
    "worker_attributes",
    "worker_activity_sid",
    "worker_activity_name",
    "worker_version",
)


@pytest.fixture
def twilio(parley: Any, account: Any) -> Client:
    client = Client(account.account_sid, account.auth_token)
    client.taskrouter.base_url = f"{parley.base_url}/taskrouter"
    return client


@pytest.fixture
async def ws(admin: httpx.AsyncClient) -> AsyncIterator[dict[str, Any]]:
    created = await admin.post(WORKSPACES, data={"FriendlyName": f"events-{new_sid(SidPrefix.WORKSPACE)[-8:]}"})
    assert created.status_code == 201, created.text
    yield created.json()
    assert (await admin.delete(f"{WORKSPACES}/{created.json()['sid']}")).status_code == 204


async def post(admin: httpx.AsyncClient, ws: dict[str, Any], path: str, status: int = 201, **form: Any) -> Any:
    response = await admin.post(f"{WORKSPACES}/{ws['sid']}/{path}", data=form)
    assert response.status_code == status, response.text
    return response.json()


async def activity(admin: httpx.AsyncClient, ws: dict[str, Any], name: str) -> str:
    listing = (await admin.get(f"{WORKSPACES}/{ws['sid']}/Activities", params={"FriendlyName": name})).json()
    sid: str = listing["activities"][0]["sid"]
    return sid


def events(twilio: Client, ws: dict[str, Any], **filters: Any) -> list[EventInstance]:
    """The workspace's events matching `filters`, oldest first (the resource lists newest first)."""
    return list(reversed(twilio.taskrouter.v1.workspaces(ws["sid"]).events.list(**filters)))


def one(found: list[EventInstance], event_type: str, **data: Any) -> EventInstance:
    matching = [
        e for e in found if e.event_type == event_type and all(e.event_data.get(k) == v for k, v in data.items())
    ]
    assert len(matching) == 1, (event_type, data, [(e.event_type, e.event_data) for e in found])
    return matching[0]


def routing(*targets: dict[str, Any]) -> str:
    return json.dumps(
        {"task_routing": {"filters": [{"filter_friendly_name": "all", "expression": "1==1", "targets": list(targets)}]}}
    )


def ws_url(parley: Any, ws: dict[str, Any]) -> str:
    return f"{parley.base_url}{WORKSPACES}/{ws['sid']}"


async def test_a_task_through_two_queues_records_every_event_with_twilios_fields(
    admin: httpx.AsyncClient, twilio: Client, ws: dict[str, Any], parley: Any
) -> None:
    nobody = await post(admin, ws, "TaskQueues", FriendlyName="Nobody", TargetWorkers="1==0")
    everyone = await post(admin, ws, "TaskQueues", FriendlyName="Everyone", TargetWorkers="1==1")
    workflow = await post(
        admin,
        ws,
        "Workflows",
        FriendlyName="Escalating",
        Configuration=routing({"queue": nobody["sid"], "timeout": 2}, {"queue": everyone["sid"]}),
    )
    worker = await post(admin, ws, "Workers", FriendlyName="ada", Attributes='{"skills": ["chat"]}')
    await post(admin, ws, f"Workers/{worker['sid']}", 200, ActivitySid=await activity(admin, ws, "Available"))
    attributes = json.dumps({"topic": "billing"})
    task = await post(
        admin, ws, "Tasks", WorkflowSid=workflow["sid"], TaskChannel="chat", Attributes=attributes, Priority="5"
    )
    path = f"Tasks/{task['sid']}"

    async def pending() -> dict[str, Any] | None:
        listing = (await admin.get(f"{WORKSPACES}/{ws['sid']}/{path}/Reservations")).json()["reservations"]
        return next((r for r in listing if r["reservation_status"] == "pending"), None)

    # Nobody is in the first queue: the task waits out its 2 s target there, then moves on.
    reservation = await eventually(pending, timeout=20, what="a reservation in the second queue")
    reservation_path = f"{path}/Reservations/{reservation['sid']}"
    await post(admin, ws, reservation_path, 200, ReservationStatus="accepted")
    await post(admin, ws, path, 200, AssignmentStatus="wrapping")
    await post(admin, ws, path, 200, AssignmentStatus="completed", Reason="resolved")

    found = events(twilio, ws, task_sid=task["sid"])
    assert Counter(e.event_type for e in found) == Counter(
        [
            "task.created",
            "workflow.entered",
            "workflow.target-matched",
            "task-queue.entered",
            "task-queue.timeout",
            "task-queue.moved",
            "task-queue.entered",
            "reservation.created",
            "reservation.accepted",
            "reservation.wrapup",
            "task.wrapup",
            "reservation.completed",
            "task.completed",
        ]
    )
    created = datetime.fromisoformat(task["date_created"].replace("Z", "+00:00"))
    base = ws_url(parley, ws)
    for event in found:
        data = event.event_data
        assert set(TASK_FIELDS) <= set(data), (event.event_type, sorted(set(TASK_FIELDS) - set(data)))
        assert data["task_sid"] == task["sid"] and data["task_attributes"] == attributes
        assert data["task_priority"] == 5 and data["task_channel_unique_name"] == "chat"
        assert data["task_channel_sid"] == task["task_channel_sid"]
        assert (data["workflow_sid"], data["workflow_name"]) == (workflow["sid"], "Escalating")
        assert data["task_date_created"] == int(created.timestamp())
        assert isinstance(data["task_age"], int) and 0 <= data["task_age"] <= 60
        assert (data["workspace_sid"], data["workspace_name"]) == (ws["sid"], ws["friendly_name"])
        assert event.source == "twilio" and event.source_ip_address is None
        assert abs(event.event_date_ms - event.event_date.timestamp() * 1000) < 1000  # event_date has no ms
        assert event.url == f"{base}/Events/{event.sid}"
        if event.resource_type == "reservation":
            assert event.resource_url == f"{base}/Tasks/{task['sid']}/Reservations/{reservation['sid']}"
            assert set(WORKER_FIELDS) <= set(data)
            assert data["reservation_sid"] == reservation["sid"]
            assert (data["worker_sid"], data["worker_name"]) == (worker["sid"], "ada")
            assert data["worker_attributes"] == '{"skills": ["chat"]}'
            assert data["worker_activity_name"] == "Available"
            assert data["task_queue_sid"] == everyone["sid"] and data["task_queue_name"] == "Everyone"
            assert isinstance(data["task_queue_entered_date"], int)
        else:
            assert event.resource_type == "task" and event.resource_url == f"{base}/Tasks/{task['sid']}"
        # The REST API created the task (an account acts); the rest is the workspace's own doing.
        if event.event_type == "task.created":
            assert (event.actor_type, event.actor_url) == ("account", None)
        else:
            assert (event.actor_type, event.actor_url) == ("workspace", base)

    assert one(found, "task.created").event_data["task_assignment_status"] == "pending"
    assert one(found, "task.created").event_data["task_queue_sid"] is None
    assert one(found, "task-queue.entered", task_queue_sid=nobody["sid"]).event_data["task_queue_name"] == "Nobody"
    one(found, "task-queue.entered", task_queue_sid=everyone["sid"])
    assert one(found, "task-queue.timeout").event_data["task_queue_sid"] == nobody["sid"]
    moved = one(found, "task-queue.moved").event_data
    assert (moved["task_queue_sid"], moved["target_task_queue_sid"]) == (nobody["sid"], everyone["sid"])
    for event_type, status in (
        ("reservation.created", "reserved"),
        ("reservation.accepted", "assigned"),
        ("reservation.wrapup", "wrapping"),
        ("task.wrapup", "wrapping"),
        ("reservation.completed", "completed"),
        ("task.completed", "completed"),
    ):
        assert one(found, event_type).event_data["task_assignment_status"] == status, event_type
    done = one(found, "task.completed").event_data
    assert done["task_completed_reason"] == "resolved" and done["reason"] == "resolved"

    # The list filters, each on the fields above.
    reservation_events = events(twilio, ws, reservation_sid=reservation["sid"])
    assert sorted(e.event_type for e in reservation_events) == [
        "reservation.accepted",
        "reservation.completed",
        "reservation.created",
        "reservation.wrapup",
    ]
    first_queue = events(twilio, ws, task_queue_sid=nobody["sid"])
    assert sorted(e.event_type for e in first_queue) == [
        "task-queue.created",
        "task-queue.entered",
        "task-queue.moved",
        "task-queue.timeout",
    ]
    assert "task-queue.moved" in {e.event_type for e in events(twilio, ws, task_queue_sid=everyone["sid"])}
    by_worker = Counter(e.event_type for e in events(twilio, ws, worker_sid=worker["sid"]))
    assert by_worker == Counter(
        [
            "worker.created",
            "worker.activity.update",
            "reservation.created",
            "reservation.accepted",
            "reservation.wrapup",
            "reservation.completed",
        ]
    )
    by_workflow = {e.event_type for e in events(twilio, ws, workflow_sid=workflow["sid"])}
    assert {"workflow.created", "workflow.entered", "task.completed"} <= by_workflow
    # The channel's own creation (the workspace comes with it) and the task's events.
    [channel_created, *of_task] = events(twilio, ws, task_channel="chat")
    assert channel_created.event_type == "task-channel.created"
    assert channel_created.event_data["task_channel_sid"] == task["task_channel_sid"]
    assert all(e.event_data["task_sid"] == task["sid"] for e in of_task)
    by_channel_sid = events(twilio, ws, task_channel=task["task_channel_sid"])
    assert {e.sid for e in by_channel_sid} == {e.sid for e in found} | {channel_created.sid}
    typed = events(twilio, ws, event_type="task-queue.moved")
    assert [e.sid for e in typed] == [one(found, "task-queue.moved").sid]
    by_sid = (await admin.get(f"{WORKSPACES}/{ws['sid']}/Events", params={"Sid": typed[0].sid})).json()["events"]
    assert [e["sid"] for e in by_sid] == [typed[0].sid]
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert events(twilio, ws, start_date=later) == []
    earlier = created - timedelta(minutes=1)
    assert events(twilio, ws, task_sid=task["sid"], end_date=earlier) == []
    assert len(events(twilio, ws, task_sid=task["sid"], minutes=5)) == len(found)


async def test_a_skipped_target_and_a_workflow_timeout_are_recorded_where_they_happen(
    admin: httpx.AsyncClient, twilio: Client, ws: dict[str, Any]
) -> None:
    first = await post(admin, ws, "TaskQueues", FriendlyName="First", TargetWorkers="1==0")
    last = await post(admin, ws, "TaskQueues", FriendlyName="Last", TargetWorkers="1==0")
    workflow = await post(
        admin,
        ws,
        "Workflows",
        FriendlyName="Runs out",
        Configuration=routing(
            {"queue": first["sid"], "timeout": 1, "skip_if": "workers.available == 0"},
            {"queue": last["sid"], "timeout": 1},
        ),
    )
    task = await post(admin, ws, "Tasks", WorkflowSid=workflow["sid"])

    async def canceled() -> dict[str, Any] | None:
        fetched = (await admin.get(f"{WORKSPACES}/{ws['sid']}/Tasks/{task['sid']}")).json()
        return fetched if fetched["assignment_status"] == "canceled" else None

    assert (await eventually(canceled, what="the task canceled by its workflow"))["reason"] == "Workflow Timeout"
    found = events(twilio, ws, task_sid=task["sid"])
    assert Counter(e.event_type for e in found) == Counter(
        [
            "task.created",
            "workflow.entered",
            "workflow.target-matched",
            "task-queue.entered",
            "workflow.skipped",
            "task-queue.moved",
            "task-queue.entered",
            "task-queue.timeout",
            "workflow.timeout",
            "task.canceled",
        ]
    )
    assert one(found, "workflow.skipped").event_data["task_queue_sid"] == first["sid"]
    moved = one(found, "task-queue.moved").event_data
    assert (moved["task_queue_sid"], moved["target_task_queue_sid"]) == (first["sid"], last["sid"])
    # The skipped queue did not time out; the last one did, and then the workflow.
    assert one(found, "task-queue.timeout").event_data["task_queue_sid"] == last["sid"]
    timeout = one(found, "workflow.timeout").event_data
    assert timeout["task_canceled_reason"] == "Workflow Timeout" and timeout["workflow_sid"] == workflow["sid"]
    assert timeout["task_assignment_status"] == "canceled"
    canceled_event = one(found, "task.canceled").event_data
    assert canceled_event["task_canceled_reason"] == "Workflow Timeout"
    assert canceled_event["task_assignment_status"] == "canceled"


async def test_worker_events_carry_the_worker_activity_and_channel_fields(
    admin: httpx.AsyncClient, twilio: Client, ws: dict[str, Any], parley: Any
) -> None:
    offline, available = await activity(admin, ws, "Offline"), await activity(admin, ws, "Available")
    worker = await post(admin, ws, "Workers", FriendlyName="grace", Attributes='{"a": 1}')
    await post(admin, ws, f"Workers/{worker['sid']}", 200, Attributes='{"a": 2}')
    await post(admin, ws, f"Workers/{worker['sid']}", 200, ActivitySid=available)
    await post(admin, ws, f"Workers/{worker['sid']}/Channels/chat", 200, Capacity="3")
    await post(admin, ws, f"Workers/{worker['sid']}/Channels/chat", 200, Available="false")

    found = events(twilio, ws, worker_sid=worker["sid"])
    assert [e.event_type for e in found] == [
        "worker.created",
        "worker.attributes.update",
        "worker.activity.update",
        "worker.capacity.update",
        "worker.channel.availability.update",
    ]
    base = ws_url(parley, ws)
    for event in found:
        assert set(WORKER_FIELDS) <= set(event.event_data), event.event_type
        assert event.resource_type == "worker" and event.resource_url == f"{base}/Workers/{worker['sid']}"
        assert event.actor_url == base and event.event_data["worker_name"] == "grace"
    created = one(found, "worker.created").event_data
    assert (created["worker_activity_sid"], created["worker_activity_name"]) == (offline, "Offline")
    assert created["worker_attributes"] == '{"a": 1}' and created["worker_version"] == 0
    assert one(found, "worker.attributes.update").event_data["worker_attributes"] == '{"a": 2}'
    moved = one(found, "worker.activity.update").event_data
    assert (moved["worker_activity_sid"], moved["worker_activity_name"]) == (available, "Available")
    assert (moved["worker_previous_activity_sid"], moved["worker_previous_activity_name"]) == (offline, "Offline")
    assert isinstance(moved["worker_time_in_previous_activity"], int)
    assert isinstance(moved["worker_time_in_previous_activity_ms"], int)
    assert 0 <= moved["worker_time_in_previous_activity_ms"] < 60_000
    assert moved["worker_time_in_previous_activity"] == moved["worker_time_in_previous_activity_ms"] // 1000
    capacity = one(found, "worker.capacity.update").event_data
    assert capacity["task_channel_unique_name"] == "chat"
    assert (capacity["worker_channel_previous_capacity"], capacity["worker_channel_configured_capacity"]) == (1, 3)
    assert (capacity["worker_channel_available_capacity"], capacity["worker_channel_task_count"]) == (100, 0)
    assert capacity["worker_channel_available"] is True
    availability = one(found, "worker.channel.availability.update").event_data
    assert availability["worker_channel_available"] is False and availability["task_channel_sid"].startswith("TC")

    assert (await admin.delete(f"{WORKSPACES}/{ws['sid']}/Workers/{worker['sid']}")).status_code == 204
    gone = one(events(twilio, ws, worker_sid=worker["sid"]), "worker.deleted").event_data
    assert (gone["worker_name"], gone["worker_activity_name"]) == ("grace", "Available")


async def test_configuration_events_carry_their_resource_fields_and_urls(
    admin: httpx.AsyncClient, twilio: Client, ws: dict[str, Any], parley: Any
) -> None:
    base = ws_url(parley, ws)
    lunch = await post(admin, ws, "Activities", FriendlyName="Lunch", Available="false")
    await post(admin, ws, f"Activities/{lunch['sid']}", 200, FriendlyName="Long lunch")
    assert (await admin.delete(f"{WORKSPACES}/{ws['sid']}/Activities/{lunch['sid']}")).status_code == 204
    channel = await post(admin, ws, "TaskChannels", FriendlyName="WhatsApp", UniqueName="whatsapp")
    await post(admin, ws, "TaskChannels/whatsapp", 200, ChannelOptimizedRouting="true")
    assert (await admin.delete(f"{WORKSPACES}/{ws['sid']}/TaskChannels/whatsapp")).status_code == 204
    queue = await post(admin, ws, "TaskQueues", FriendlyName="Sales", TargetWorkers="1==1")
    await post(admin, ws, f"TaskQueues/{queue['sid']}", 200, TargetWorkers="skills HAS 'sales'")
    workflow = await post(admin, ws, "Workflows", FriendlyName="Sales", Configuration=routing({"queue": queue["sid"]}))
    await post(admin, ws, f"Workflows/{workflow['sid']}", 200, FriendlyName="Sales desk")
    assert (await admin.delete(f"{WORKSPACES}/{ws['sid']}/Workflows/{workflow['sid']}")).status_code == 204
    assert (await admin.delete(f"{WORKSPACES}/{ws['sid']}/TaskQueues/{queue['sid']}")).status_code == 204
    await admin.post(f"{WORKSPACES}/{ws['sid']}", data={"FriendlyName": ws["friendly_name"] + "!"})

    found = events(twilio, ws)
    kinds = [e.event_type for e in found]
    # The workspace, then what it comes with (4 activities, 6 task channels), then this test's changes.
    assert kinds == [
        "workspace.created",
        *["activity.created"] * 4,
        *["task-channel.created"] * 6,
        "activity.created",
        "activity.updated",
        "activity.deleted",
        "task-channel.created",
        "task-channel.updated",
        "task-channel.deleted",
        "task-queue.created",
        "task-queue.expression.updated",
        "workflow.created",
        "workflow.updated",
        "workflow.deleted",
        "task-queue.deleted",
        "workspace.updated",
    ]
    for event in found:
        assert event.event_data["workspace_sid"] == ws["sid"] and event.actor_url == base
    assert one(found, "workspace.created").resource_url == base
    defaults = [e.event_data["activity_name"] for e in found[1:5]]
    assert defaults == ["Offline", "Available", "Unavailable", "Break"]
    assert [e.event_data["task_channel_unique_name"] for e in found[5:11]] == [
        "default",
        "voice",
        "chat",
        "sms",
        "video",
        "email",
    ]
    assert one(found, "workspace.updated").event_data["workspace_name"] == ws["friendly_name"] + "!"
    found = found[11:]
    updated = one(found, "activity.updated")
    assert updated.resource_url == f"{base}/Activities/{lunch['sid']}"
    assert (updated.event_data["activity_name"], updated.event_data["activity_available"]) == ("Long lunch", False)
    channel_event = one(found, "task-channel.updated")
    assert channel_event.resource_url == f"{base}/TaskChannels/{channel['sid']}"
    assert channel_event.event_data["task_channel_optimized_routing"] is True
    assert channel_event.event_data["task_channel_unique_name"] == "whatsapp"
    expression = one(found, "task-queue.expression.updated")
    assert expression.resource_url == f"{base}/TaskQueues/{queue['sid']}"
    assert expression.event_data["task_queue_target_expression"] == "skills HAS 'sales'"
    renamed = one(found, "workflow.updated")
    assert renamed.resource_url == f"{base}/Workflows/{workflow['sid']}"
    assert (renamed.event_data["workflow_sid"], renamed.event_data["workflow_name"]) == (workflow["sid"], "Sales desk")


async def test_a_re_evaluated_task_moves_queue_without_a_timeout(
    admin: httpx.AsyncClient, twilio: Client, ws: dict[str, Any]
) -> None:
    english = await post(admin, ws, "TaskQueues", FriendlyName="English", TargetWorkers="1==0")
    french = await post(admin, ws, "TaskQueues", FriendlyName="French", TargetWorkers="1==0")
    configuration = {
        "task_routing": {
            "filters": [
                {"filter_friendly_name": "fr", "expression": "lang == 'fr'", "targets": [{"queue": french["sid"]}]}
            ],
            "default_filter": {"queue": english["sid"]},
        }
    }
    workflow = await post(admin, ws, "Workflows", FriendlyName="By language", Configuration=json.dumps(configuration))
    task = await post(admin, ws, "Tasks", WorkflowSid=workflow["sid"], Attributes='{"lang": "en"}')

    async def entered(queue_sid: str) -> list[EventInstance] | None:
        found = events(twilio, ws, task_sid=task["sid"])
        hit = [e for e in found if e.event_type == "task-queue.entered" and e.event_data["task_queue_sid"] == queue_sid]
        return found if hit else None

    await eventually(lambda: entered(english["sid"]), what="the task in the English queue")
    # New attributes match the other filter: Twilio re-evaluates the workflow, and the task moves.
    await post(admin, ws, f"Tasks/{task['sid']}", 200, Attributes='{"lang": "fr"}')
    found = await eventually(lambda: entered(french["sid"]), what="the task moved to the French queue")
    assert Counter(e.event_type for e in found) == Counter(
        [
            "task.created",
            "workflow.entered",
            "workflow.target-matched",
            "task-queue.entered",
            "task.updated",
            "workflow.target-matched",
            "task-queue.moved",
            "task-queue.entered",
        ]
    )
    moved = one(found, "task-queue.moved").event_data
    assert (moved["task_queue_sid"], moved["target_task_queue_sid"]) == (english["sid"], french["sid"])
    assert moved["task_attributes"] == '{"lang": "fr"}'
    assert one(found, "task.updated").event_data["task_attributes"] == '{"lang": "fr"}'


async def test_a_fifo_template_workspace_records_the_queue_and_workflow_it_comes_with(
    admin: httpx.AsyncClient, twilio: Client
) -> None:
    created = await admin.post(WORKSPACES, data={"FriendlyName": "fifo-events", "Template": "FIFO"})
    assert created.status_code == 201, created.text
    ws = created.json()
    try:
        found = events(twilio, ws)
        queue = one(found, "task-queue.created").event_data
        workflow = one(found, "workflow.created").event_data
        queues = (await admin.get(f"{WORKSPACES}/{ws['sid']}/TaskQueues")).json()["task_queues"]
        workflows = (await admin.get(f"{WORKSPACES}/{ws['sid']}/Workflows")).json()["workflows"]
        assert [(q["sid"], q["friendly_name"]) for q in queues] == [(queue["task_queue_sid"], "Sample Queue")]
        assert [(w["sid"], w["friendly_name"]) for w in workflows] == [
            (workflow["workflow_sid"], "Default Fifo Workflow")
        ]
        assert [e.event_type for e in found][-2:] == ["task-queue.created", "workflow.created"]
    finally:
        assert (await admin.delete(f"{WORKSPACES}/{ws['sid']}")).status_code == 204
