"""A long-lived channel continues as new when Temporal suggests it (the test server suggests it after a few
dozen events) and loses nothing: its counters carry over and task children, started with ABANDON, keep
reporting back to whichever run is current."""

from __future__ import annotations

import json

from temporalio.client import WorkflowExecutionStatus

from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually
from workflows.interaction_channel import InteractionChannelWorkflow

VISITS = 4


async def test_returning_customer_channel_continues_as_new_without_losing_state(parley, admin, agent_token, temporal):
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")})
    alice = center.workers["alice"]
    token = agent_token(center.workspace_sid, alice, identity="alice")
    as_alice = {"auth": None, "headers": {"X-Twilio-Token": token}}
    await ok(await admin.post(center.path(f"/Workers/{alice}"), data={"ActivitySid": center.activities["Available"]}))
    chat = await start_webchat(parley.base_url, center.address_sid, "Frank")
    conversation_sid = chat["conversation_sid"]
    channel_sid = None
    async with (
        RealtimeClient(parley.base_url, token) as agent,
        RealtimeClient(parley.base_url, chat["token"]) as customer,
    ):
        await agent.subscribe(alice)
        seen: set[str] = set()
        for visit in range(VISITS):
            await customer.send_message(conversation_sid, f"visit {visit}")
            offer = await agent.wait_event(alice, "reservation.created", lambda e: e["data"]["task_sid"] not in seen)
            task_sid = offer["data"]["task_sid"]
            seen.add(task_sid)
            task = await ok(await admin.get(center.path(f"/Tasks/{task_sid}")))
            channel_sid = json.loads(task["attributes"])["flexInteractionChannelSid"]
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
            assert await temporal.get_workflow_handle(task_sid).result() == "completed"
            handle = temporal.get_workflow_handle_for(InteractionChannelWorkflow.run, channel_sid)

            async def parked(expected: int = visit + 1, handle=handle):
                snapshot = await handle.query(InteractionChannelWorkflow.snapshot)
                return snapshot.active_task_sid is None and snapshot.task_count == expected and snapshot

            await eventually(parked, what=f"channel parked after visit {visit}")

    runs = [run async for run in temporal.list_workflows(f"WorkflowId = '{channel_sid}'")]
    statuses = [run.status for run in runs]
    assert WorkflowExecutionStatus.CONTINUED_AS_NEW in statuses, statuses
    assert statuses.count(WorkflowExecutionStatus.RUNNING) == 1
    snapshot = await temporal.get_workflow_handle_for(InteractionChannelWorkflow.run, channel_sid).query(
        InteractionChannelWorkflow.snapshot
    )
    assert snapshot.task_count == VISITS
    assert snapshot.run_task_count < VISITS  # the current run did not route every task itself
