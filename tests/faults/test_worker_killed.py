"""The worker SIGKILLed at chosen points of routing: while offers are being made (mid-reservation), while a
transfer is under way (mid-transfer), and across the continue-as-new of a long-lived interaction channel.
After each restart every task reaches an agent or a final state, no reservation is leaked, and the routing
invariants hold."""

from __future__ import annotations

import asyncio
import json

from temporalio.client import WorkflowExecutionStatus

from tests.e2e.test_interactions import answer, live_chat, pending_offer, task, transfer, transfer_status
from tests.faults.support import (
    Sender,
    accept_all,
    assert_exactly_once_in_order,
    assert_routing_invariants,
    rows,
    set_available,
)
from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually
from workflows.interaction_channel import InteractionChannelWorkflow

CHATS = 6


async def _reservations(database_url: str, workspace_sid: str) -> int:
    found = await rows(
        database_url, "SELECT count(*) AS n FROM reservations WHERE workspace_sid = %s", (workspace_sid,)
    )
    return int(found[0]["n"])


async def test_offers_made_while_the_worker_dies_are_neither_lost_nor_leaked(faults, admin):
    center = await build_contact_center(
        admin, agents={name: agent_attributes(name) for name in ("ann", "ben", "cai")}, chat_capacity=2
    )
    await set_available(admin, center, "ann", "ben", "cai")
    chats = [await start_webchat(faults.base_url, center.address_sid, f"Customer {n}") for n in range(CHATS)]
    senders = [Sender(lambda: faults.base_url, c["conversation_sid"], c["token"], f"c{n}") for n, c in enumerate(chats)]
    sending = asyncio.gather(*(s.send_all(1) for s in senders))

    # Killed as soon as the first offer exists, and again once half the tasks have one: each time some tasks
    # are between "offer written" and "offer announced / timer started", others not yet routed.
    for offers in (1, CHATS // 2):

        async def made(wanted: int = offers) -> bool:
            return await _reservations(faults.database_url, center.workspace_sid) >= wanted

        await eventually(made, timeout=60, what=f"{offers} offer(s)")
        faults.restart_worker()
    await sending

    tasks = await accept_all(admin, center, faults.database_url, expected_tasks=CHATS)
    assert len(tasks) == CHATS and all(t["assignment_status"] == "assigned" for t in tasks), tasks
    for sender, chat in zip(senders, chats, strict=True):
        await assert_exactly_once_in_order(admin, chat["conversation_sid"], sender.acked)
    await assert_routing_invariants(faults.database_url, center.workspace_sid)


async def test_a_warm_transfer_survives_the_worker_dying_at_each_step(faults, admin):
    center = await build_contact_center(
        admin, agents={"alice": agent_attributes("alice"), "bob": agent_attributes("bob")}
    )
    chat = await live_chat(faults, admin, center)
    await set_available(admin, center, "bob")

    sent = await transfer(admin, chat, type="warm", to=center.workers["bob"], note="mid-transfer")
    faults.restart_worker()  # the transfer's task was just created: routing it and the channel's wait are in flight
    offer = await pending_offer(admin, center, "bob", sent["task_sid"])
    await answer(admin, center, offer, "accepted")
    faults.restart_worker()  # bob accepted: the hand-over (alice leaves, bob holds) is in flight
    done = await transfer_status(admin, chat, sent["sid"], "completed")
    assert done["reason"] is None

    async def handed_over() -> bool:
        original = await task(admin, center, chat.task_sid)
        received = await task(admin, center, sent["task_sid"])
        return original["assignment_status"] == "wrapping" and received["assignment_status"] == "assigned"

    await eventually(handed_over, timeout=30, what="alice wrapping, bob assigned")
    reservations = await ok(await admin.get(center.path(f"/Tasks/{sent['task_sid']}/Reservations")))
    assert [r["reservation_status"] for r in reservations["reservations"]] == ["accepted"]
    channel_tasks = await rows(
        faults.database_url, "SELECT sid FROM tasks WHERE workspace_sid = %s", (center.workspace_sid,)
    )
    assert len(channel_tasks) == 2, channel_tasks  # alice's and the transfer's: nothing re-created on replay
    await assert_routing_invariants(faults.database_url, center.workspace_sid)


VISITS = 5


async def test_a_channel_continues_as_new_across_worker_kills_without_losing_a_visit(
    faults, admin, agent_token, temporal
):
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")})
    alice = center.workers["alice"]
    token = agent_token(center.workspace_sid, alice, identity="alice")
    as_alice = {"auth": None, "headers": {"X-Twilio-Token": token}}
    await set_available(admin, center, "alice")
    chat = await start_webchat(faults.base_url, center.address_sid, "Frank")
    conversation_sid = chat["conversation_sid"]
    sent: list[str] = []
    channel_sid = ""
    seen: set[str] = set()
    async with RealtimeClient(faults.base_url, token) as agent:
        await agent.subscribe(alice)
        for visit in range(VISITS):
            sender = Sender(lambda: faults.base_url, conversation_sid, chat["token"], f"visit{visit}")
            await sender.send_all(2)
            sent += sender.acked
            if visit % 2 == 0:
                faults.restart_worker()  # the message's routing (the channel's signal, a new task child) in flight
            offer = await agent.wait_event(
                alice, "reservation.created", lambda e: e["data"]["task_sid"] not in seen, timeout=60
            )
            task_sid = offer["data"]["task_sid"]
            seen.add(task_sid)
            if not channel_sid:
                fetched = await ok(await admin.get(center.path(f"/Tasks/{task_sid}")))
                channel_sid = json.loads(fetched["attributes"])["flexInteractionChannelSid"]
            await ok(
                await admin.post(
                    center.path(f"/Workers/{alice}/Reservations/{offer['data']['reservation_sid']}"),
                    data={"ReservationStatus": "accepted"},
                    **as_alice,
                )
            )
            await ok(
                await admin.post(
                    center.path(f"/Tasks/{task_sid}"),
                    data={"AssignmentStatus": "completed", "Reason": "done"},
                    **as_alice,
                )
            )
            if visit % 2 == 1:
                faults.restart_worker()  # the task child's completion reaching the channel, a continue-as-new due
            assert await temporal.get_workflow_handle(task_sid).result() == "completed"
            handle = temporal.get_workflow_handle_for(InteractionChannelWorkflow.run, channel_sid)

            async def parked(expected: int = visit + 1, handle=handle):
                snapshot = await handle.query(InteractionChannelWorkflow.snapshot)
                return snapshot.active_task_sid is None and snapshot.task_count == expected and snapshot

            await eventually(parked, timeout=60, what=f"channel parked after visit {visit}")

    runs = [run async for run in temporal.list_workflows(f"WorkflowId = '{channel_sid}'")]
    statuses = [run.status for run in runs]
    assert WorkflowExecutionStatus.CONTINUED_AS_NEW in statuses, statuses
    assert statuses.count(WorkflowExecutionStatus.RUNNING) == 1
    snapshot = await temporal.get_workflow_handle_for(InteractionChannelWorkflow.run, channel_sid).query(
        InteractionChannelWorkflow.snapshot
    )
    assert snapshot.task_count == VISITS
    assert len(seen) == VISITS
    await assert_exactly_once_in_order(admin, conversation_sid, sent)
    await assert_routing_invariants(faults.database_url, center.workspace_sid)
