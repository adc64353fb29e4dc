"""TaskRouter workspace resources over real HTTP: activities, task channels, task queues, workflows, workers,
worker channels and events, with Twilio's status codes, paging envelope and error bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from domain.sids import SidPrefix, new_sid
from tests.support.waiting import eventually

WORKSPACES = "/taskrouter/v1/Workspaces"


@pytest.fixture
async def ws(admin: httpx.AsyncClient) -> AsyncIterator[str]:
    created = await admin.post(WORKSPACES, data={"FriendlyName": f"resources-{new_sid(SidPrefix.WORKSPACE)[-8:]}"})
    assert created.status_code == 201, created.text
    sid: str = created.json()["sid"]
    yield sid
    assert (await admin.delete(f"{WORKSPACES}/{sid}")).status_code == 204


def url(ws: str, path: str) -> str:
    return f"{WORKSPACES}/{ws}/{path}"


async def create(admin: httpx.AsyncClient, ws: str, path: str, **form: Any) -> dict[str, Any]:
    response = await admin.post(url(ws, path), data=form)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def activity_sid(admin: httpx.AsyncClient, ws: str, name: str) -> str:
    listing = (await admin.get(url(ws, "Activities"), params={"FriendlyName": name})).json()
    sid: str = listing["activities"][0]["sid"]
    return sid


def assert_error(response: httpx.Response, status: int, *fragments: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    for fragment in fragments:
        assert fragment in body["message"], body["message"]


def agent(parley: Any, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=parley.base_url, headers={"X-Twilio-Token": token}, timeout=30)


# --- activities --------------------------------------------------------------------------------------


async def test_activity_crud_round_trip(admin: httpx.AsyncClient, ws: str) -> None:
    created = await create(admin, ws, "Activities", FriendlyName="Lunch", Available="true")
    assert created["sid"].startswith("WA") and created["available"] is True
    assert created["url"].endswith(f"/Workspaces/{ws}/Activities/{created['sid']}")

    fetched = await admin.get(url(ws, f"Activities/{created['sid']}"))
    assert fetched.status_code == 200 and fetched.json()["friendly_name"] == "Lunch"

    updated = await admin.post(url(ws, f"Activities/{created['sid']}"), data={"FriendlyName": "Long lunch"})
    assert updated.status_code == 200 and updated.json()["friendly_name"] == "Long lunch"

    available = (await admin.get(url(ws, "Activities"), params={"Available": "true"})).json()
    assert {a["friendly_name"] for a in available["activities"]} == {"Available", "Long lunch"}
    assert available["meta"]["key"] == "activities"

    deleted = await admin.delete(url(ws, f"Activities/{created['sid']}"))
    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(await admin.get(url(ws, f"Activities/{created['sid']}")), 404)


async def test_activity_in_use_or_default_cannot_be_deleted(admin: httpx.AsyncClient, ws: str) -> None:
    offline = await activity_sid(admin, ws, "Offline")
    assert_error(await admin.delete(url(ws, f"Activities/{offline}")), 409, "default")
    lunch = await create(admin, ws, "Activities", FriendlyName="Lunch")
    await create(admin, ws, "Workers", FriendlyName="eater", ActivitySid=lunch["sid"])
    assert_error(await admin.delete(url(ws, f"Activities/{lunch['sid']}")), 409, "worker")


async def test_activities_page_size_two_pages_through_all(admin: httpx.AsyncClient, ws: str) -> None:
    await create(admin, ws, "Activities", FriendlyName="Training")
    first = (await admin.get(url(ws, "Activities"), params={"PageSize": 2})).json()
    seen = [a["sid"] for a in first["activities"]]
    assert len(seen) == 2 and first["meta"]["page_size"] == 2
    next_url = first["meta"]["next_page_url"]
    assert next_url is not None
    while next_url:
        page = (await admin.get(next_url)).json()
        seen += [a["sid"] for a in page["activities"]]
        next_url = page["meta"]["next_page_url"]
    everything = (await admin.get(url(ws, "Activities"))).json()["activities"]
    assert len(seen) == len(set(seen)) == len(everything) == 5


async def test_missing_friendly_name_is_a_400_naming_it(admin: httpx.AsyncClient, ws: str) -> None:
    for path in ("Activities", "TaskQueues", "Workers", "TaskChannels"):
        assert_error(await admin.post(url(ws, path), data={}), 400, "FriendlyName")


# --- task channels -----------------------------------------------------------------------------------


async def test_task_channel_crud_by_sid_and_unique_name(admin: httpx.AsyncClient, ws: str) -> None:
    worker = await create(admin, ws, "Workers", FriendlyName="alice")
    channel = await create(admin, ws, "TaskChannels", FriendlyName="WhatsApp", UniqueName="whatsapp")
    assert channel["sid"].startswith("TC") and channel["channel_optimized_routing"] is False

    by_name = await admin.get(url(ws, "TaskChannels/whatsapp"))
    assert by_name.status_code == 200 and by_name.json()["sid"] == channel["sid"]
    updated = await admin.post(
        url(ws, "TaskChannels/whatsapp"), data={"FriendlyName": "WA", "ChannelOptimizedRouting": "true"}
    )
    assert updated.json()["friendly_name"] == "WA" and updated.json()["channel_optimized_routing"] is True

    # Existing workers get a channel for the new task channel at once.
    wc = await admin.get(url(ws, f"Workers/{worker['sid']}/Channels/whatsapp"))
    assert wc.status_code == 200 and wc.json()["configured_capacity"] == 1

    listing = (await admin.get(url(ws, "TaskChannels"))).json()
    assert listing["meta"]["key"] == "channels" and "whatsapp" in {c["unique_name"] for c in listing["channels"]}

    assert (await admin.delete(url(ws, f"TaskChannels/{channel['sid']}"))).status_code == 204
    assert_error(await admin.get(url(ws, "TaskChannels/whatsapp")), 404)


async def test_duplicate_task_channel_unique_name_conflicts(admin: httpx.AsyncClient, ws: str) -> None:
    response = await admin.post(url(ws, "TaskChannels"), data={"FriendlyName": "Chat 2", "UniqueName": "chat"})
    assert_error(response, 409, "chat")


# --- task queues -------------------------------------------------------------------------------------


async def test_task_queue_crud_round_trip(admin: httpx.AsyncClient, ws: str) -> None:
    available = await activity_sid(admin, ws, "Available")
    queue = await create(
        admin,
        ws,
        "TaskQueues",
        FriendlyName="Support",
        TargetWorkers="skills HAS 'support'",
        MaxReservedWorkers="3",
        TaskOrder="LIFO",
        AssignmentActivitySid=available,
    )
    assert queue["sid"].startswith("WQ")
    assert (queue["max_reserved_workers"], queue["task_order"]) == (3, "LIFO")
    assert queue["assignment_activity_name"] == "Available"

    fetched = await admin.get(url(ws, f"TaskQueues/{queue['sid']}"))
    assert fetched.status_code == 200 and fetched.json()["target_workers"] == "skills HAS 'support'"

    updated = await admin.post(
        url(ws, f"TaskQueues/{queue['sid']}"), data={"FriendlyName": "Support EN", "TaskOrder": "fifo"}
    )
    assert updated.status_code == 200
    assert (updated.json()["friendly_name"], updated.json()["task_order"]) == ("Support EN", "FIFO")

    listing = (await admin.get(url(ws, "TaskQueues"), params={"FriendlyName": "Support EN"})).json()
    assert [q["sid"] for q in listing["task_queues"]] == [queue["sid"]]
    assert listing["meta"]["key"] == "task_queues" and "FriendlyName=Support+EN" in listing["meta"]["url"]

    assert (await admin.delete(url(ws, f"TaskQueues/{queue['sid']}"))).status_code == 204
    assert_error(await admin.get(url(ws, f"TaskQueues/{queue['sid']}")), 404)


async def test_task_queue_defaults(admin: httpx.AsyncClient, ws: str) -> None:
    queue = await create(admin, ws, "TaskQueues", FriendlyName="Everyone")
    assert (queue["target_workers"], queue["max_reserved_workers"], queue["task_order"]) == (
        "1==1",
        1,
        "FIFO",
    )


async def test_bad_target_workers_is_a_400_with_the_position(admin: httpx.AsyncClient, ws: str) -> None:
    response = await admin.post(url(ws, "TaskQueues"), data={"FriendlyName": "Q", "TargetWorkers": "skills HAS"})
    assert_error(response, 400, "TargetWorkers", "position 10")
    assert (await admin.get(url(ws, "TaskQueues"), params={"FriendlyName": "Q"})).json()["task_queues"] == []


async def test_task_queue_rejects_out_of_range_and_foreign_values(admin: httpx.AsyncClient, ws: str) -> None:
    bad = {
        "MaxReservedWorkers": "51",
        "TaskOrder": "RANDOM",
        "ReservationActivitySid": new_sid(SidPrefix.ACTIVITY),
    }
    for param, value in bad.items():
        response = await admin.post(url(ws, "TaskQueues"), data={"FriendlyName": "Q", param: value})
        assert_error(response, 400, param)


async def test_queue_membership_follows_worker_attributes(admin: httpx.AsyncClient, ws: str) -> None:
    support = await create(admin, ws, "TaskQueues", FriendlyName="Support", TargetWorkers="skills HAS 'support'")
    sales = await create(admin, ws, "TaskQueues", FriendlyName="Sales", TargetWorkers="skills HAS 'sales'")
    worker = await create(admin, ws, "Workers", FriendlyName="bob", Attributes=json.dumps({"skills": ["support"]}))

    async def queues_of(worker_sid: str) -> set[str]:
        listing = (await admin.get(url(ws, "TaskQueues"), params={"WorkerSid": worker_sid})).json()
        assert "WorkerSid=" in listing["meta"]["url"]
        return {q["sid"] for q in listing["task_queues"]}

    assert await queues_of(worker["sid"]) == {support["sid"]}
    await admin.post(url(ws, f"Workers/{worker['sid']}"), data={"Attributes": json.dumps({"skills": ["sales"]})})
    assert await queues_of(worker["sid"]) == {sales["sid"]}
    await admin.post(url(ws, f"TaskQueues/{support['sid']}"), data={"TargetWorkers": "1==1"})
    assert await queues_of(worker["sid"]) == {support["sid"], sales["sid"]}

    members = (await admin.get(url(ws, "Workers"), params={"TaskQueueSid": sales["sid"]})).json()["workers"]
    assert [w["sid"] for w in members] == [worker["sid"]]


# --- workflows ---------------------------------------------------------------------------------------


def routing_to(queue_sid: str) -> str:
    return json.dumps({"task_routing": {"filters": [], "default_filter": {"queue": queue_sid}}})


async def test_workflow_crud_round_trip(admin: httpx.AsyncClient, ws: str) -> None:
    queue = await create(admin, ws, "TaskQueues", FriendlyName="Everyone")
    workflow = await create(
        admin,
        ws,
        "Workflows",
        FriendlyName="Main",
        Configuration=routing_to(queue["sid"]),
        AssignmentCallbackUrl="https://example.com/assign",
        TaskReservationTimeout="30",
    )
    assert workflow["sid"].startswith("WW") and workflow["task_reservation_timeout"] == 30
    assert workflow["assignment_callback_url"] == "https://example.com/assign"
    assert json.loads(workflow["configuration"])["task_routing"]["default_filter"]["queue"] == queue["sid"]

    fetched = await admin.get(url(ws, f"Workflows/{workflow['sid']}"))
    assert fetched.status_code == 200 and fetched.json()["friendly_name"] == "Main"

    updated = await admin.post(
        url(ws, f"Workflows/{workflow['sid']}"),
        data={"FriendlyName": "Primary", "ReEvaluateTasks": "true", "AssignmentCallbackUrl": ""},
    )
    assert updated.status_code == 200
    assert updated.json()["friendly_name"] == "Primary" and updated.json()["assignment_callback_url"] is None

    listing = (await admin.get(url(ws, "Workflows"))).json()
    assert listing["meta"]["key"] == "workflows" and [w["sid"] for w in listing["workflows"]] == [workflow["sid"]]

    # A queue a workflow routes to cannot disappear underneath it.
    assert_error(await admin.delete(url(ws, f"TaskQueues/{queue['sid']}")), 409, workflow["sid"])
    assert (await admin.delete(url(ws, f"Workflows/{workflow['sid']}"))).status_code == 204
    assert_error(await admin.get(url(ws, f"Workflows/{workflow['sid']}")), 404)


async def test_bad_configuration_json_is_a_400(admin: httpx.AsyncClient, ws: str) -> None:
    response = await admin.post(url(ws, "Workflows"), data={"FriendlyName": "W", "Configuration": "{not json"})
    assert_error(response, 400, "Configuration", "JSON")


async def test_workflow_naming_an_unknown_queue_is_a_400(admin: httpx.AsyncClient, ws: str) -> None:
    missing = new_sid(SidPrefix.TASK_QUEUE)
    response = await admin.post(url(ws, "Workflows"), data={"FriendlyName": "W", "Configuration": routing_to(missing)})
    assert_error(response, 400, "Configuration", missing)


async def test_workflow_requires_configuration(admin: httpx.AsyncClient, ws: str) -> None:
    assert_error(await admin.post(url(ws, "Workflows"), data={"FriendlyName": "W"}), 400, "Configuration")


# --- workers -----------------------------------------------------------------------------------------


async def test_worker_gets_default_activity_and_a_channel_per_task_channel(admin: httpx.AsyncClient, ws: str) -> None:
    worker = await create(admin, ws, "Workers", FriendlyName="carol")
    assert worker["sid"].startswith("WK")
    assert (worker["activity_name"], worker["available"], worker["attributes"]) == ("Offline", False, "{}")
    assert worker["date_status_changed"] is not None

    channels = (await admin.get(url(ws, f"Workers/{worker['sid']}/Channels"))).json()
    task_channels = (await admin.get(url(ws, "TaskChannels"))).json()["channels"]
    assert channels["meta"]["key"] == "channels"
    assert {c["task_channel_unique_name"] for c in channels["channels"]} == {t["unique_name"] for t in task_channels}
    assert all(c["sid"].startswith("WC") and c["worker_sid"] == worker["sid"] for c in channels["channels"])


async def test_worker_crud_round_trip_with_etag(admin: httpx.AsyncClient, ws: str) -> None:
    available = await activity_sid(admin, ws, "Available")
    worker = await create(
        admin,
        ws,
        "Workers",
        FriendlyName="dave",
        ActivitySid=available,
        Attributes=json.dumps({"languages": ["en"]}),
    )
    assert (worker["activity_name"], worker["available"]) == ("Available", True)

    fetched = await admin.get(url(ws, f"Workers/{worker['sid']}"))
    assert fetched.status_code == 200 and json.loads(fetched.json()["attributes"]) == {"languages": ["en"]}
    etag = fetched.headers["ETag"]

    updated = await admin.post(
        url(ws, f"Workers/{worker['sid']}"),
        headers={"If-Match": etag},
        data={"FriendlyName": "David", "Attributes": json.dumps({"languages": ["fr"]})},
    )
    assert updated.status_code == 200 and updated.json()["friendly_name"] == "David"
    assert updated.headers["ETag"] != etag

    stale = await admin.post(
        url(ws, f"Workers/{worker['sid']}"), headers={"If-Match": etag}, data={"FriendlyName": "Dave"}
    )
    assert_error(stale, 412)

    by_expression = await admin.get(url(ws, "Workers"), params={"TargetWorkersExpression": "languages HAS 'fr'"})
    assert [w["sid"] for w in by_expression.json()["workers"]] == [worker["sid"]]
    assert (await admin.get(url(ws, "Workers"), params={"ActivityName": "Offline"})).json()["workers"] == []

    assert (await admin.delete(url(ws, f"Workers/{worker['sid']}"))).status_code == 204
    assert_error(await admin.get(url(ws, f"Workers/{worker['sid']}")), 404)


async def test_duplicate_worker_friendly_name_conflicts(admin: httpx.AsyncClient, ws: str) -> None:
    await create(admin, ws, "Workers", FriendlyName="Erin")
    assert_error(await admin.post(url(ws, "Workers"), data={"FriendlyName": "erin"}), 409, "erin")


async def test_non_json_attributes_are_a_400(admin: httpx.AsyncClient, ws: str) -> None:
    for attributes in ("{not json", "[1, 2]"):
        response = await admin.post(url(ws, "Workers"), data={"FriendlyName": "frank", "Attributes": attributes})
        assert_error(response, 400, "Attributes")
    assert (await admin.get(url(ws, "Workers"))).json()["workers"] == []


async def test_worker_activity_change_is_in_the_event_log(admin: httpx.AsyncClient, ws: str) -> None:
    worker = await create(admin, ws, "Workers", FriendlyName="grace")
    available = await activity_sid(admin, ws, "Available")
    moved = await admin.post(url(ws, f"Workers/{worker['sid']}"), data={"ActivitySid": available})
    assert moved.status_code == 200 and moved.json()["available"] is True

    events = (await admin.get(url(ws, "Events"), params={"WorkerSid": worker["sid"]})).json()
    assert events["meta"]["key"] == "events"
    changes = [e for e in events["events"] if e["event_type"] == "worker.activity.update"]
    assert len(changes) == 1 and changes[0]["resource_sid"] == worker["sid"]
    assert changes[0]["event_data"]["worker_activity_sid"] == available

    one = await admin.get(url(ws, f"Events/{changes[0]['sid']}"))
    assert one.status_code == 200 and one.json()["event_type"] == "worker.activity.update"
    typed = (await admin.get(url(ws, "Events"), params={"EventType": "worker.activity.update"})).json()
    assert [e["sid"] for e in typed["events"]] == [changes[0]["sid"]]


# --- worker channels ---------------------------------------------------------------------------------


async def test_worker_channel_capacity_and_availability_update(admin: httpx.AsyncClient, ws: str) -> None:
    worker = await create(admin, ws, "Workers", FriendlyName="heidi")
    chat = await admin.post(url(ws, f"Workers/{worker['sid']}/Channels/chat"), data={"Capacity": "3"})
    assert chat.status_code == 200
    assert (chat.json()["configured_capacity"], chat.json()["task_channel_unique_name"]) == (3, "chat")

    by_sid = await admin.post(
        url(ws, f"Workers/{worker['sid']}/Channels/{chat.json()['sid']}"), data={"Available": "false"}
    )
    assert by_sid.json()["available"] is False and by_sid.json()["configured_capacity"] == 3
    assert_error(
        await admin.post(url(ws, f"Workers/{worker['sid']}/Channels/chat"), data={"Capacity": "-1"}),
        400,
        "Capacity",
    )
    assert_error(await admin.get(url(ws, f"Workers/{worker['sid']}/Channels/carrier-pigeon")), 404)


# --- agents ------------------------------------------------------------------------------------------


async def test_agent_changes_its_own_activity_but_not_another_worker(
    admin: httpx.AsyncClient, ws: str, parley: Any, agent_token: Callable[..., str]
) -> None:
    me = await create(admin, ws, "Workers", FriendlyName="ivan")
    other = await create(admin, ws, "Workers", FriendlyName="judy")
    available = await activity_sid(admin, ws, "Available")
    async with agent(parley, agent_token(ws, me["sid"])) as client:
        assert_error(await client.post(url(ws, f"Workers/{other['sid']}"), data={"ActivitySid": available}), 403)
        assert_error(await client.get(url(ws, f"Workers/{other['sid']}")), 403)
        assert_error(await client.post(url(ws, f"Workers/{me['sid']}"), data={"Attributes": "{}"}), 403)
        assert_error(await client.post(url(ws, f"Workers/{me['sid']}/Channels/chat"), data={"Capacity": "5"}), 403)

        mine = await client.post(url(ws, f"Workers/{me['sid']}"), data={"ActivitySid": available})
        assert mine.status_code == 200 and mine.json()["activity_name"] == "Available"
        assert (await client.get(url(ws, f"Workers/{me['sid']}"))).status_code == 200
        channel = await client.post(url(ws, f"Workers/{me['sid']}/Channels/chat"), data={"Available": "false"})
        assert channel.status_code == 200 and channel.json()["available"] is False
    assert (await admin.get(url(ws, f"Workers/{other['sid']}"))).json()["activity_name"] == "Offline"


# --- resources with routing history ------------------------------------------------------------------


async def wait_for_reservation(admin: httpx.AsyncClient, ws: str, worker_sid: str) -> dict[str, Any]:
    async def pending() -> dict[str, Any] | None:
        listing = (await admin.get(url(ws, f"Workers/{worker_sid}/Reservations"))).json()
        return next((r for r in listing["reservations"] if r["reservation_status"] == "pending"), None)

    return await eventually(pending, what=f"a pending reservation for {worker_sid}")


async def test_resources_in_use_by_a_live_task_cannot_be_deleted_until_it_ends(
    admin: httpx.AsyncClient, ws: str
) -> None:
    queue = await create(admin, ws, "TaskQueues", FriendlyName="Everyone")
    workflow = await create(admin, ws, "Workflows", FriendlyName="Main", Configuration=routing_to(queue["sid"]))
    available = await activity_sid(admin, ws, "Available")
    worker = await create(admin, ws, "Workers", FriendlyName="kim", ActivitySid=available)
    task = await create(admin, ws, "Tasks", WorkflowSid=workflow["sid"], TaskChannel="chat")
    reservation = await wait_for_reservation(admin, ws, worker["sid"])

    assert_error(await admin.delete(url(ws, f"Workers/{worker['sid']}")), 409, "reservation")
    assert_error(await admin.delete(url(ws, f"Workflows/{workflow['sid']}")), 409, "task")
    assert_error(await admin.delete(url(ws, "TaskChannels/chat")), 409, "task")

    accepted = await admin.post(
        url(ws, f"Tasks/{task['sid']}/Reservations/{reservation['sid']}"),
        data={"ReservationStatus": "accepted"},
    )
    assert accepted.status_code == 200, accepted.text
    chat = (await admin.get(url(ws, f"Workers/{worker['sid']}/Channels/chat"))).json()
    assert (chat["assigned_tasks"], chat["available_capacity_percentage"]) == (1, 0)
    completed = await admin.post(
        url(ws, f"Tasks/{task['sid']}"), data={"AssignmentStatus": "completed", "Reason": "done"}
    )
    assert completed.status_code == 200, completed.text

    events = (await admin.get(url(ws, "Events"), params={"TaskSid": task["sid"]})).json()["events"]
    assert {"task.created", "reservation.accepted", "task.completed"} <= {e["event_type"] for e in events}

    # Finished history does not pin the worker or the workflow.
    assert (await admin.delete(url(ws, f"Workers/{worker['sid']}"))).status_code == 204
    assert (await admin.delete(url(ws, f"Workflows/{workflow['sid']}"))).status_code == 204
    assert (await admin.delete(url(ws, f"TaskQueues/{queue['sid']}"))).status_code == 204


async def test_agents_list_their_colleagues_but_not_events(
    admin: httpx.AsyncClient, ws: str, parley: Any, agent_token: Callable[..., str]
) -> None:
    me = await create(admin, ws, "Workers", FriendlyName="liam")
    async with agent(parley, agent_token(ws, me["sid"])) as client:
        # The transfer directory: an agent sees who it could hand a customer to.
        assert [w["sid"] for w in (await client.get(url(ws, "Workers"))).json()["workers"]] == [me["sid"]]
        assert_error(await client.get(url(ws, "Events")), 403)
        assert (await client.get(url(ws, "Activities"))).status_code == 200
    supervisor = agent_token(ws, None, role="supervisor")
    async with agent(parley, supervisor) as client:
        assert [w["sid"] for w in (await client.get(url(ws, "Workers"))).json()["workers"]] == [me["sid"]]
        assert_error(await client.post(url(ws, f"Workers/{me['sid']}"), data={"FriendlyName": "x"}), 403)
