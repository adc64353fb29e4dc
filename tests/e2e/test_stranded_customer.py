"""Nobody is stranded: a worker who rejected a task or let it time out is not shut out of it for the task's
life (Twilio moves on to the next worker and re-offers when nobody else can take it), through the real api
and worker processes. The scenario that stranded a customer in the first slice, step by step."""

from __future__ import annotations

from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.histories import record_runs
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually


async def test_a_customer_declined_by_every_agent_reaches_one_when_an_agent_comes_back(
    parley, admin, agent_token, temporal
):
    center = await build_contact_center(
        admin,
        reservation_timeout=2,
        agents={"alice": agent_attributes("alice"), "bob": agent_attributes("bob")},
    )
    alice, bob = center.workers["alice"], center.workers["bob"]
    tokens = {sid: agent_token(center.workspace_sid, sid, identity=name) for name, sid in center.workers.items()}

    async def answer(worker_sid: str, reservation_sid: str, **data: str) -> dict:
        return await ok(
            await admin.post(
                center.path(f"/Workers/{worker_sid}/Reservations/{reservation_sid}"),
                data=data,
                auth=None,
                headers={"X-Twilio-Token": tokens[worker_sid]},
            )
        )

    async def set_activity(worker_sid: str, activity: str) -> None:
        await ok(
            await admin.post(center.path(f"/Workers/{worker_sid}"), data={"ActivitySid": center.activities[activity]})
        )

    async with (
        RealtimeClient(parley.base_url, tokens[alice]) as alice_socket,
        RealtimeClient(parley.base_url, tokens[bob]) as bob_socket,
    ):
        await alice_socket.subscribe(alice)
        await bob_socket.subscribe(bob)
        await set_activity(alice, "Available")  # bob stays Offline
        chat = await start_webchat(parley.base_url, center.address_sid, "Ivy")
        async with RealtimeClient(parley.base_url, chat["token"]) as customer:
            await customer.send_message(chat["conversation_sid"], "My parcel never came")

        first = await alice_socket.wait_event(alice, "reservation.created")
        task_sid = first["data"]["task_sid"]
        await answer(alice, first["data"]["reservation_sid"], ReservationStatus="rejected")

        # Nobody else can take it, so alice is offered it again (Twilio does the same; Flex passes
        # WorkerActivitySid on reject to avoid it), and the decision record says why.
        again = await alice_socket.wait_event(
            alice, "reservation.created", lambda e: e["data"]["reservation_sid"] != first["data"]["reservation_sid"]
        )
        assert again["data"]["task_sid"] == task_sid
        record = await ok(
            await admin.get(center.path(f"/Tasks/{task_sid}/Reservations/{again['data']['reservation_sid']}"))
        )
        assert "declined this task before" in record["routing_decision"]["chosen"]["why"]

        # alice rejects and goes Offline: the task waits, and says why.
        await answer(
            alice,
            again["data"]["reservation_sid"],
            ReservationStatus="rejected",
            WorkerActivitySid=center.activities["Offline"],
        )

        async def waiting_reason() -> str | None:
            task = await ok(await admin.get(center.path(f"/Tasks/{task_sid}")))
            return task["routing_status"] if task["assignment_status"] == "pending" else None

        assert "no eligible worker among 2 queue members" in await eventually(waiting_reason, what="a waiting reason")

        # bob comes in and lets his offer time out: Twilio moves him to Offline.
        await set_activity(bob, "Available")
        missed = await bob_socket.wait_event(bob, "reservation.created")
        assert missed["data"]["task_sid"] == task_sid
        await bob_socket.wait_event(bob, "reservation.timeout", timeout=30)
        worker = await ok(await admin.get(center.path(f"/Workers/{bob}")))
        assert worker["activity_name"] == "Offline"

        # bob comes back: the customer is offered to him again (the first slice never offered it again) and he
        # takes it.
        await set_activity(bob, "Available")
        offer = await bob_socket.wait_event(
            bob, "reservation.created", lambda e: e["data"]["reservation_sid"] != missed["data"]["reservation_sid"]
        )
        assert offer["data"]["task_sid"] == task_sid
        accepted = await answer(bob, offer["data"]["reservation_sid"], ReservationStatus="accepted")
        assert accepted["reservation_status"] == "accepted"
    task = await ok(await admin.get(center.path(f"/Tasks/{task_sid}")))
    assert task["assignment_status"] == "assigned"
    reservations = await ok(await admin.get(center.path(f"/Tasks/{task_sid}/Reservations")))
    assert [(r["worker_sid"], r["reservation_status"]) for r in reservations["reservations"]] == [
        (alice, "rejected"),
        (alice, "rejected"),
        (bob, "timeout"),
        (bob, "accepted"),
    ]
    await record_runs(temporal, task_sid, "declined-then-taken")
