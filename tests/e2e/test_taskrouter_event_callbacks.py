"""TaskRouter event callbacks over the wire: a workspace's EventCallbackUrl gets a form POST per recorded event in
its EventsFilter, with Twilio's parameters, signed with the account's auth token (checked with the official
`twilio.request_validator.RequestValidator`), delivered from the outbox by the webhook workflow, retried until
it answers, and never twice. Each test has its own account, so its receiver hears only its own workspace."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from domain.limits import EVENT_CALLBACK_TIMEOUT, WEBHOOK_TIMEOUT
from storage.accounts.service import Credentials, create_account
from storage.db import Database
from tests.support import outbox
from tests.support.contact_center import ok
from tests.support.histories import record_handle
from tests.support.waiting import eventually
from tests.support.webhooks import Answer, Receiver

WORKSPACES = "/taskrouter/v1/Workspaces"
SLOW_ANSWER = 6.0  # seconds: over a Conversations webhook's budget, within an event callback's
LIFECYCLE = [
    "task.created",
    "reservation.created",
    "reservation.accepted",
    "reservation.wrapup",
    "reservation.completed",
    "task.completed",
]


@pytest.fixture
async def tenant(db: Database) -> Credentials:
    async with db.unit() as uow:
        return await create_account(uow, friendly_name="Event callback tests")


@pytest.fixture
async def api(parley: Any, tenant: Credentials) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=parley.base_url, auth=(tenant.account_sid, tenant.auth_token), timeout=30
    ) as client:
        yield client


async def callbacks(db: Database, url: str) -> list[dict[str, Any]]:
    """The event callbacks recorded for `url` (each in its event's transaction), oldest first."""
    async with db.read() as q:
        return await outbox.deliveries(q, scope="workspace", url=url)


async def delivered(temporal: Client, delivery_id: str) -> dict[str, Any]:
    """The result of a callback's delivery workflow, once the outbox has started it (after its commit)."""
    handle = temporal.get_workflow_handle(f"webhook-{delivery_id}")

    async def started() -> bool:
        try:
            await handle.describe()
        except RPCError:
            return False
        return True

    await eventually(started, what=f"the delivery workflow of {delivery_id}")
    result: dict[str, Any] = await handle.result()
    return result


async def routed_workspace(api: httpx.AsyncClient, **fields: str) -> dict[str, Any]:
    """A workspace (with `fields`) whose one queue takes every task, and one available worker in it."""
    workspace = await ok(await api.post(WORKSPACES, data={"FriendlyName": "Callbacks", **fields}), 201)
    ws = f"{WORKSPACES}/{workspace['sid']}"
    queue = await ok(await api.post(f"{ws}/TaskQueues", data={"FriendlyName": "All", "TargetWorkers": "1==1"}), 201)
    config = {"task_routing": {"filters": [], "default_filter": {"queue": queue["sid"]}}}
    workflow = await ok(
        await api.post(f"{ws}/Workflows", data={"FriendlyName": "All", "Configuration": json.dumps(config)}), 201
    )
    activities = (await ok(await api.get(f"{ws}/Activities", params={"FriendlyName": "Available"})))["activities"]
    worker = await ok(
        await api.post(
            f"{ws}/Workers", data={"FriendlyName": "ada", "ActivitySid": activities[0]["sid"], "Attributes": "{}"}
        ),
        201,
    )
    return {**workspace, "path": ws, "queue": queue, "workflow": workflow, "worker": worker}


async def pending_reservation(api: httpx.AsyncClient, ws: dict[str, Any], task_sid: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        listing = await ok(await api.get(f"{ws['path']}/Tasks/{task_sid}/Reservations"))
        return next((r for r in listing["reservations"] if r["reservation_status"] == "pending"), None)

    return await eventually(probe, what=f"a pending reservation for {task_sid}")


async def test_a_task_lifecycle_reaches_the_callback_url_filtered_signed_and_once(
    api: httpx.AsyncClient, receiver: Receiver, tenant: Credentials, temporal: Client, db: Database
) -> None:
    url = receiver.url("/events")
    ws = await routed_workspace(api, EventCallbackUrl=url, EventsFilter=",".join(LIFECYCLE))
    assert ws["event_callback_url"] == url and ws["events_filter"] == ",".join(LIFECYCLE)
    task = await ok(
        await api.post(
            f"{ws['path']}/Tasks",
            data={"WorkflowSid": ws["workflow"]["sid"], "Attributes": '{"topic": "billing"}', "Priority": "3"},
        ),
        201,
    )
    reservation = await pending_reservation(api, ws, task["sid"])
    task_path = f"{ws['path']}/Tasks/{task['sid']}"
    await ok(await api.post(f"{task_path}/Reservations/{reservation['sid']}", data={"ReservationStatus": "accepted"}))
    await ok(await api.post(task_path, data={"AssignmentStatus": "wrapping"}))
    await ok(await api.post(task_path, data={"AssignmentStatus": "completed", "Reason": "resolved"}))

    # Every callback was fixed in its event's transaction: these are all there will ever be.
    recorded = await callbacks(db, url)
    assert Counter(d["event"] for d in recorded) == Counter(LIFECYCLE)
    for delivery in recorded:
        # Each one's workflow delivered it on its first attempt (the receiver answers 200).
        assert (await delivered(temporal, delivery["delivery_id"]))["status_code"] == 200
    received = receiver.requests
    assert Counter(r.event for r in received) == Counter(LIFECYCLE)  # nothing outside the filter, each once
    assert len({r.form["Sid"] for r in received}) == len(LIFECYCLE)
    for request in received:
        form = request.form
        assert request.method == "POST" and request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert request.signed_by(tenant.auth_token) and not request.signed_by("not-the-token")
        assert request.headers["i-twilio-idempotency-token"] == form["Sid"] and form["Sid"].startswith("EV")
        assert form["AccountSid"] == tenant.account_sid
        assert (form["WorkspaceSid"], form["WorkspaceName"]) == (ws["sid"], "Callbacks")
        assert form["EventDescription"] and form["ResourceSid"]
        assert int(form["TimestampMs"]) // 1000 == int(form["Timestamp"])
        assert form["TaskSid"] == task["sid"] and form["TaskAttributes"] == '{"topic": "billing"}'
        assert form["TaskPriority"] == "3" and int(form["TaskAge"]) >= 0
        assert form["WorkflowSid"] == ws["workflow"]["sid"] and form["WorkflowName"] == "All"
        assert form["TaskChannelUniqueName"] == "default" and form["TaskChannelSid"].startswith("TC")
        assert int(form["TaskDateCreated"]) > 0
        # The same event is in the Event resource, under the same SID.
        event = await ok(await api.get(f"{ws['path']}/Events/{form['Sid']}"))
        assert event["event_type"] == form["EventType"] and event["resource_sid"] == form["ResourceSid"]
        assert event["event_date_ms"] == int(form["TimestampMs"])
        if form["EventType"].startswith("reservation."):
            assert (form["ResourceType"], form["ResourceSid"]) == ("reservation", reservation["sid"])
            assert form["ReservationSid"] == reservation["sid"] and form["WorkerSid"] == ws["worker"]["sid"]
            assert (form["WorkerName"], form["WorkerActivityName"]) == ("ada", "Available")
            assert form["TaskQueueSid"] == ws["queue"]["sid"] and form["TaskQueueName"] == "All"
        else:
            assert (form["ResourceType"], form["ResourceSid"]) == ("task", task["sid"])
    by_type = {r.event: r.form for r in received}
    assert by_type["task.created"]["TaskAssignmentStatus"] == "pending"
    assert by_type["reservation.accepted"]["TaskAssignmentStatus"] == "assigned"
    assert by_type["reservation.wrapup"]["TaskAssignmentStatus"] == "wrapping"
    completed = by_type["task.completed"]
    assert completed["TaskAssignmentStatus"] == "completed" and completed["TaskCompletedReason"] == "resolved"
    assert "TaskCanceledReason" not in completed  # a null field is not sent


async def test_a_failing_receiver_gets_the_event_again_and_it_is_delivered_once(
    api: httpx.AsyncClient, receiver: Receiver, tenant: Credentials, temporal: Client, db: Database
) -> None:
    answers = iter([Answer(503), Answer(204)])
    receiver.script = lambda _: next(answers, Answer(204))
    url = receiver.url("/flaky")
    ws = await routed_workspace(api, EventCallbackUrl=url, EventsFilter="task.created")
    task = await ok(await api.post(f"{ws['path']}/Tasks", data={"WorkflowSid": ws["workflow"]["sid"]}), 201)
    [delivery] = await callbacks(db, url)
    assert (await delivered(temporal, delivery["delivery_id"]))["status_code"] == 204
    handle = temporal.get_workflow_handle(f"webhook-{delivery['delivery_id']}")
    attempts = receiver.of("task.created")
    assert len(attempts) == 2  # refused once, then delivered; the workflow is over, nothing sends it again
    assert {a.form["TaskSid"] for a in attempts} == {task["sid"]}
    assert len({a.headers["i-twilio-idempotency-token"] for a in attempts}) == 1
    assert len({a.body for a in attempts}) == 1 and all(a.signed_by(tenant.auth_token) for a in attempts)
    history = await handle.fetch_history()
    started = [
        e.activity_task_started_event_attributes
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert [s.attempt for s in started] == [2] and "HTTP 503" in started[0].last_failure.message
    await record_handle(handle, "WebhookDelivery", "taskrouter-event-retried")


async def test_an_event_callback_has_fifteen_seconds_to_answer(
    api: httpx.AsyncClient, receiver: Receiver, temporal: Client, db: Database
) -> None:
    """Twilio gives a workspace's EventCallbackUrl 15 s (Conversations webhooks get 5): a receiver that takes
    longer than 5 s is still delivered to on the first attempt."""
    assert WEBHOOK_TIMEOUT < SLOW_ANSWER < EVENT_CALLBACK_TIMEOUT
    receiver.script = lambda _: Answer(204, delay=SLOW_ANSWER)
    url = receiver.url("/slow")
    ws = await routed_workspace(api, EventCallbackUrl=url, EventsFilter="task.created")
    await ok(await api.post(f"{ws['path']}/Tasks", data={"WorkflowSid": ws["workflow"]["sid"]}), 201)
    [delivery] = await callbacks(db, url)
    assert (await delivered(temporal, delivery["delivery_id"]))["status_code"] == 204
    history = await temporal.get_workflow_handle(f"webhook-{delivery['delivery_id']}").fetch_history()
    started = [
        e.activity_task_started_event_attributes
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert [s.attempt for s in started] == [1]
    assert len(receiver.of("task.created")) == 1


async def test_a_bad_callback_url_or_filter_is_a_400_that_writes_nothing(api: httpx.AsyncClient) -> None:
    for fields, fragment in (
        ({"EventCallbackUrl": "ftp://example.com/events"}, "EventCallbackUrl"),
        ({"EventCallbackUrl": "file:///etc/passwd"}, "EventCallbackUrl"),
        ({"EventsFilter": "task.created,task.exploded"}, "task.exploded"),
    ):
        response = await api.post(WORKSPACES, data={"FriendlyName": "Rejected", **fields})
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["status"] == 400 and fragment in body["message"] and body["code"]
    assert (await ok(await api.get(WORKSPACES, params={"FriendlyName": "Rejected"})))["workspaces"] == []

    workspace = await ok(await api.post(WORKSPACES, data={"FriendlyName": "Kept"}), 201)
    path = f"{WORKSPACES}/{workspace['sid']}"
    for fields in ({"EventCallbackUrl": "javascript:alert(1)"}, {"EventsFilter": "nope"}):
        assert (await api.post(path, data={"FriendlyName": "Changed", **fields})).status_code == 400
    fetched = await ok(await api.get(path))
    assert (fetched["friendly_name"], fetched["event_callback_url"], fetched["events_filter"]) == ("Kept", None, None)
    events = (await ok(await api.get(f"{path}/Events")))["events"]
    # The workspace and what it comes with; the refused updates recorded nothing.
    kinds = [e["event_type"] for e in events]
    assert kinds.count("workspace.created") == 1 and "workspace.updated" not in kinds, kinds
    assert set(kinds) == {"workspace.created", "activity.created", "task-channel.created"}, kinds


async def test_clearing_the_callback_url_stops_deliveries(
    api: httpx.AsyncClient, receiver: Receiver, temporal: Client, db: Database
) -> None:
    url = receiver.url("/cleared")
    ws = await routed_workspace(api, EventCallbackUrl=url, EventsFilter="task.created")
    first = await ok(await api.post(f"{ws['path']}/Tasks", data={"WorkflowSid": ws["workflow"]["sid"]}), 201)
    [hook] = await receiver.wait_for("task.created")
    assert hook.form["TaskSid"] == first["sid"]

    cleared = await ok(await api.post(ws["path"], data={"EventCallbackUrl": ""}))
    assert cleared["event_callback_url"] is None and cleared["events_filter"] == "task.created"
    second = await ok(await api.post(f"{ws['path']}/Tasks", data={"WorkflowSid": ws["workflow"]["sid"]}), 201)
    # The second task's event is recorded; its callback would have been recorded in the same transaction.
    [event] = (
        await ok(await api.get(f"{ws['path']}/Events", params={"TaskSid": second["sid"], "EventType": "task.created"}))
    )["events"]
    recorded = await callbacks(db, url)
    assert [d["delivery_id"] for d in recorded] == [hook.form["Sid"]] and event["sid"] != hook.form["Sid"]
    await delivered(temporal, hook.form["Sid"])
    assert [r.form["TaskSid"] for r in receiver.of("task.created")] == [first["sid"]]

    # Set again (with no filter: every event), callbacks resume.
    await ok(await api.post(ws["path"], data={"EventCallbackUrl": url, "EventsFilter": ""}))
    third = await ok(await api.post(f"{ws['path']}/Tasks", data={"WorkflowSid": ws["workflow"]["sid"]}), 201)
    resumed = await receiver.wait_for("task.created", count=2)
    assert resumed[-1].form["TaskSid"] == third["sid"]
    assert {"workspace.updated", "task.created"} <= {d["event"] for d in await callbacks(db, url)}
