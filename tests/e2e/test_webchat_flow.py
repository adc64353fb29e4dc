"""The spine, end to end over HTTP and WebSockets against real processes: a web-chat customer reaches an
agent, they chat, the agent wraps up, the channel parks, and the customer's return routes a new task on the
same interaction channel with the history intact."""

from __future__ import annotations

import json

from temporalio.client import Client, WorkflowExecutionStatus

from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.histories import record_runs
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually
from workflows import search_attributes as sa


async def _accept(admin, center, worker_sid, reservation_sid, token):
    return await ok(
        await admin.post(
            center.path(f"/Workers/{worker_sid}/Reservations/{reservation_sid}"),
            data={"ReservationStatus": "accepted"},
            auth=None,
            headers={"X-Twilio-Token": token},
        )
    )


async def _search_attribute(temporal: Client, workflow_id: str, key):
    description = await temporal.get_workflow_handle(workflow_id).describe()
    return description.typed_search_attributes.get(key)


async def test_customer_reaches_agent_and_back_on_the_same_interaction_channel(parley, admin, agent_token, temporal):
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")})
    alice = center.workers["alice"]
    token = agent_token(center.workspace_sid, alice, identity="alice")
    as_alice = {"auth": None, "headers": {"X-Twilio-Token": token}}
    await ok(
        await admin.post(
            center.path(f"/Workers/{alice}"), data={"ActivitySid": center.activities["Available"]}, **as_alice
        )
    )
    chat = await start_webchat(parley.base_url, center.address_sid, "Carol")
    conversation_sid = chat["conversation_sid"]

    async with (
        RealtimeClient(parley.base_url, token) as agent,
        RealtimeClient(parley.base_url, chat["token"]) as customer,
    ):
        await agent.subscribe(alice)
        await customer.subscribe(conversation_sid)
        first = await customer.send_message(conversation_sid, "Hi, my order is late")
        assert first["index"] == 0 and first["author"] == chat["identity"]

        offer = await agent.wait_event(alice, "reservation.created")
        task_sid = offer["data"]["task_sid"]
        task = await ok(await admin.get(center.path(f"/Tasks/{task_sid}")))
        attributes = json.loads(task["attributes"])
        assert attributes["conversationSid"] == conversation_sid
        assert attributes["customerName"] == "Carol"
        assert task["assignment_status"] == "reserved" and task["task_queue_sid"] == center.queue_sid
        interaction_sid, channel_sid = (
            attributes["flexInteractionSid"],
            attributes["flexInteractionChannelSid"],
        )
        channel = await ok(await admin.get(f"/flex-api/v1/Interactions/{interaction_sid}/Channels/{channel_sid}"))
        assert channel["status"] == "active" and channel["conversation_sid"] == conversation_sid

        # The interaction channel and its task are Temporal workflows, findable by SID and search attributes.
        assert await _search_attribute(temporal, channel_sid, sa.CHANNEL_TYPE) == "web"
        assert (
            await eventually(
                lambda: _search_attribute(temporal, task_sid, sa.QUEUE_SID),
                what="task queue search attribute",
            )
            == center.queue_sid
        )

        reservation = await _accept(admin, center, alice, offer["data"]["reservation_sid"], token)
        assert reservation["reservation_status"] == "accepted"
        assert reservation["routing_decision"]["chosen"]["worker_sid"] == alice
        participants = await ok(await admin.get(f"/conversations/v1/Conversations/{conversation_sid}/Participants"))
        assert {p["identity"] for p in participants["participants"]} == {chat["identity"], "alice"}

        await agent.subscribe(conversation_sid)
        await agent.wait_event(conversation_sid, "message.added", lambda e: e["data"]["body"] == "Hi, my order is late")
        await agent.send_message(conversation_sid, "Sorry Carol, let me check")
        reply = await customer.wait_event(conversation_sid, "message.added", lambda e: e["data"]["author"] == "alice")
        assert reply["data"]["body"] == "Sorry Carol, let me check"
        await customer.send_message(conversation_sid, "Thanks!")
        await agent.wait_event(conversation_sid, "message.added", lambda e: e["data"]["body"] == "Thanks!")

        wrapping = await ok(
            await admin.post(center.path(f"/Tasks/{task_sid}"), data={"AssignmentStatus": "wrapping"}, **as_alice)
        )
        assert wrapping["assignment_status"] == "wrapping"
        completed = await ok(
            await admin.post(
                center.path(f"/Tasks/{task_sid}"),
                data={"AssignmentStatus": "completed", "Reason": "resolved"},
                **as_alice,
            )
        )
        assert completed["assignment_status"] == "completed"
        await customer.wait_event(conversation_sid, "participant.removed", lambda e: e["data"]["identity"] == "alice")

        # The task ends; the channel outlives it, parked.
        result = await temporal.get_workflow_handle(task_sid).result()
        assert result == "completed"

        async def parked():
            return await _search_attribute(temporal, channel_sid, sa.STATUS) == "parked"

        await eventually(parked, what="the channel workflow to report itself parked")
        channel = await ok(await admin.get(f"/flex-api/v1/Interactions/{interaction_sid}/Channels/{channel_sid}"))
        assert channel["status"] == "active" and channel["active_task_sid"] is None

        # The customer comes back: a new task on the same channel, with the whole transcript available.
        await customer.send_message(conversation_sid, "Actually, one more question")
        second = await agent.wait_event(alice, "reservation.created", lambda e: e["data"]["task_sid"] != task_sid)
        second_task = await ok(await admin.get(center.path(f"/Tasks/{second['data']['task_sid']}")))
        assert json.loads(second_task["attributes"])["flexInteractionChannelSid"] == channel_sid
        await _accept(admin, center, alice, second["data"]["reservation_sid"], token)

    messages = await ok(await admin.get(f"/conversations/v1/Conversations/{conversation_sid}/Messages"))
    assert [(m["index"], m["body"]) for m in messages["messages"]] == [
        (0, "Hi, my order is late"),
        (1, "Sorry Carol, let me check"),
        (2, "Thanks!"),
        (3, "Actually, one more question"),
    ]
    async with RealtimeClient(parley.base_url, token) as returning_agent:
        await returning_agent.subscribe(conversation_sid)
        await returning_agent.wait_event(conversation_sid, "message.added", lambda e: e["data"]["index"] == 3)
        replayed = [e["data"]["index"] for e in returning_agent.events(conversation_sid, "message.added")]
        assert replayed == [0, 1, 2, 3]
    description = await temporal.get_workflow_handle(channel_sid).describe()
    assert description.status == WorkflowExecutionStatus.RUNNING
    await record_runs(temporal, channel_sid, "webchat-return")
    await record_runs(temporal, task_sid, "webchat-completed")


async def test_rejected_reservation_is_offered_to_the_next_eligible_agent(parley, admin, agent_token):
    center = await build_contact_center(
        admin, agents={"alice": agent_attributes("alice"), "bob": agent_attributes("bob")}
    )
    tokens = {name: agent_token(center.workspace_sid, sid, identity=name) for name, sid in center.workers.items()}
    async with (
        RealtimeClient(parley.base_url, tokens["alice"]) as alice,
        RealtimeClient(parley.base_url, tokens["bob"]) as bob,
    ):
        sockets = {"alice": alice, "bob": bob}
        for name, sid in center.workers.items():
            await sockets[name].subscribe(sid)
            await ok(
                await admin.post(center.path(f"/Workers/{sid}"), data={"ActivitySid": center.activities["Available"]})
            )
        chat = await start_webchat(parley.base_url, center.address_sid, "Dan")
        async with RealtimeClient(parley.base_url, chat["token"]) as customer:
            await customer.send_message(chat["conversation_sid"], "Hello?")
        first_name = await eventually(lambda: _first_offered(sockets, center.workers), what="a first reservation")
        second_name = "bob" if first_name == "alice" else "alice"
        offer = sockets[first_name].events(center.workers[first_name], "reservation.created")[0]
        rejected = await ok(
            await admin.post(
                center.path(f"/Workers/{center.workers[first_name]}/Reservations/{offer['data']['reservation_sid']}"),
                data={"ReservationStatus": "rejected"},
                auth=None,
                headers={"X-Twilio-Token": tokens[first_name]},
            )
        )
        assert rejected["reservation_status"] == "rejected"
        next_offer = await sockets[second_name].wait_event(center.workers[second_name], "reservation.created")
        assert next_offer["data"]["task_sid"] == offer["data"]["task_sid"]
        reservation = await ok(
            await admin.get(
                center.path(f"/Tasks/{offer['data']['task_sid']}/Reservations/{next_offer['data']['reservation_sid']}")
            )
        )
        excluded = {c["worker_sid"]: c["excluded_because"] for c in reservation["routing_decision"]["candidates"]}
        assert "rejected" in excluded[center.workers[first_name]]
        assert excluded[center.workers[second_name]] is None


async def _first_offered(sockets, workers):
    for name, client in sockets.items():
        if client.events(workers[name], "reservation.created"):
            return name
    return None


async def test_reservation_that_times_out_is_offered_to_the_next_agent(parley, admin, agent_token, temporal):
    center = await build_contact_center(
        admin,
        reservation_timeout=2,
        agents={"alice": agent_attributes("alice"), "bob": agent_attributes("bob")},
    )
    tokens = {name: agent_token(center.workspace_sid, sid, identity=name) for name, sid in center.workers.items()}
    async with (
        RealtimeClient(parley.base_url, tokens["alice"]) as alice,
        RealtimeClient(parley.base_url, tokens["bob"]) as bob,
    ):
        sockets = {"alice": alice, "bob": bob}
        for name, sid in center.workers.items():
            await sockets[name].subscribe(sid)
            await ok(
                await admin.post(center.path(f"/Workers/{sid}"), data={"ActivitySid": center.activities["Available"]})
            )
        chat = await start_webchat(parley.base_url, center.address_sid, "Erin")
        async with RealtimeClient(parley.base_url, chat["token"]) as customer:
            await customer.send_message(chat["conversation_sid"], "Anyone there?")
        first_name = await eventually(lambda: _first_offered(sockets, center.workers), what="a first reservation")
        second_name = "bob" if first_name == "alice" else "alice"
        first_sid = center.workers[first_name]
        # Nobody answers: the Task workflow's timer times the reservation out and routing moves on.
        await sockets[first_name].wait_event(first_sid, "reservation.timeout", timeout=30)
        next_offer = await sockets[second_name].wait_event(
            center.workers[second_name], "reservation.created", timeout=30
        )
        assert (
            next_offer["data"]["task_sid"]
            == sockets[first_name].events(first_sid, "reservation.created")[0]["data"]["task_sid"]
        )
        # Twilio's rule: the worker who let it time out moves to the workspace's timeout activity (Offline).
        worker = await ok(await admin.get(center.path(f"/Workers/{first_sid}")))
        assert worker["activity_name"] == "Offline" and worker["available"] is False
        await record_runs(temporal, next_offer["data"]["task_sid"], "reservation-timeout")
