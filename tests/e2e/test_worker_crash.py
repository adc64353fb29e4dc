"""The worker can die at any moment (SIGKILL, no shutdown): what was committed is routed once it is back.
Temporal holds the workflow tasks and timers; Postgres holds the state; nothing is redone or lost."""

from __future__ import annotations

from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient


async def test_messages_and_timeouts_survive_a_killed_worker(parley, admin, agent_token):
    center = await build_contact_center(
        admin,
        reservation_timeout=2,
        agents={"omar": agent_attributes("omar"), "pia": agent_attributes("pia")},
    )
    omar, pia = center.workers["omar"], center.workers["pia"]
    await ok(await admin.post(center.path(f"/Workers/{omar}"), data={"ActivitySid": center.activities["Available"]}))
    chat = await start_webchat(parley.base_url, center.address_sid, "Quinn")
    tokens = {name: agent_token(center.workspace_sid, sid, identity=name) for name, sid in center.workers.items()}
    async with (
        RealtimeClient(parley.base_url, tokens["omar"]) as omar_socket,
        RealtimeClient(parley.base_url, tokens["pia"]) as pia_socket,
        RealtimeClient(parley.base_url, chat["token"]) as customer,
    ):
        await omar_socket.subscribe(omar)
        await pia_socket.subscribe(pia)
        parley.worker.stop(kill=True)
        try:
            # Accepted by the api while no worker runs: committed, handed to Temporal, waiting there.
            await customer.send_message(chat["conversation_sid"], "Are you open today?")
        finally:
            parley.worker.start()
        first = await omar_socket.wait_event(omar, "reservation.created", timeout=30)

        # Kill it again while the reservation's timer is running; Pia is the next eligible agent.
        await ok(await admin.post(center.path(f"/Workers/{pia}"), data={"ActivitySid": center.activities["Available"]}))
        parley.worker.stop(kill=True)
        parley.worker.start()
        await omar_socket.wait_event(omar, "reservation.timeout", timeout=30)
        second = await pia_socket.wait_event(pia, "reservation.created", timeout=30)
        assert second["data"]["task_sid"] == first["data"]["task_sid"]
        accepted = await ok(
            await admin.post(
                center.path(f"/Workers/{pia}/Reservations/{second['data']['reservation_sid']}"),
                data={"ReservationStatus": "accepted"},
            )
        )
        assert accepted["reservation_status"] == "accepted"
    reservations = await ok(await admin.get(center.path(f"/Tasks/{first['data']['task_sid']}/Reservations")))
    assert sorted(r["reservation_status"] for r in reservations["reservations"]) == ["accepted", "timeout"]
