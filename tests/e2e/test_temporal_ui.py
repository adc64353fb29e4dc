"""What the Temporal UI shows follows the conversation: a task's and its channel's search attributes change with
every status (assigned, wrapping, parked), both are found by the conversation's CH… SID, the current details
say where a task is, and the outbox sweeper is one long-lived workflow rather than a run every few seconds."""

from __future__ import annotations

from temporalio.client import Client

from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually
from workers.build import LEGACY_SCHEDULE_ID
from workflows import search_attributes as sa
from workflows.outbox_sweeper import SWEEPER_ID


async def _attributes(temporal: Client, workflow_id: str) -> dict[str, str | None]:
    described = (await temporal.get_workflow_handle(workflow_id).describe()).typed_search_attributes
    return {key.name: described.get(key) for key in sa.ALL}


async def _details(temporal: Client, workflow_id: str) -> str:
    metadata = await temporal.get_workflow_handle(workflow_id).query("__temporal_workflow_metadata")
    return str(metadata.get("currentDetails", "")) if isinstance(metadata, dict) else str(metadata.current_details)


async def test_search_attributes_and_details_follow_every_status(parley, admin, agent_token, temporal):
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")})
    alice = center.workers["alice"]
    token = agent_token(center.workspace_sid, alice, identity="alice")
    as_alice = {"auth": None, "headers": {"X-Twilio-Token": token}}
    await ok(await admin.post(center.path(f"/Workers/{alice}"), data={"ActivitySid": center.activities["Available"]}))
    chat = await start_webchat(parley.base_url, center.address_sid, "Gia")
    conversation_sid = chat["conversation_sid"]
    async with (
        RealtimeClient(parley.base_url, token) as agent,
        RealtimeClient(parley.base_url, chat["token"]) as customer,
    ):
        await agent.subscribe(alice)
        await customer.send_message(conversation_sid, "Hi")
        offer = await agent.wait_event(alice, "reservation.created")
    task_sid = offer["data"]["task_sid"]
    channel_sid = offer["data"]["interaction_channel_sid"]

    async def status_is(workflow_id: str, key: str, value: str):
        async def check():
            attributes = await _attributes(temporal, workflow_id)
            return attributes if attributes[key] == value else None

        return await eventually(check, what=f"{workflow_id} {key} = {value}")

    await status_is(task_sid, "ParleyTaskStatus", "reserved")
    await status_is(channel_sid, "ParleyStatus", "routing")
    await ok(
        await admin.post(
            center.path(f"/Workers/{alice}/Reservations/{offer['data']['reservation_sid']}"),
            data={"ReservationStatus": "accepted"},
            **as_alice,
        )
    )
    task = await status_is(task_sid, "ParleyTaskStatus", "assigned")
    assert task["ParleyWorkerSid"] == alice and task["ParleyQueueSid"] == center.queue_sid
    assert task["ParleyConversationSid"] == conversation_sid
    channel = await status_is(channel_sid, "ParleyStatus", "assigned")
    assert channel["ParleyConversationSid"] == conversation_sid
    details = await _details(temporal, task_sid)
    assert "assigned" in details and alice in details and "Routing step" not in details

    # Found in the UI by the SID an agent sees: the channel and its task.
    found = {w.id async for w in temporal.list_workflows(f"ParleyConversationSid = '{conversation_sid}'")}
    assert found == {channel_sid, task_sid}

    await ok(await admin.post(center.path(f"/Tasks/{task_sid}"), data={"AssignmentStatus": "wrapping"}, **as_alice))
    await status_is(task_sid, "ParleyTaskStatus", "wrapping")
    await status_is(channel_sid, "ParleyStatus", "wrapping")
    await ok(
        await admin.post(
            center.path(f"/Tasks/{task_sid}"), data={"AssignmentStatus": "completed", "Reason": "done"}, **as_alice
        )
    )
    await status_is(task_sid, "ParleyTaskStatus", "completed")
    await status_is(channel_sid, "ParleyStatus", "parked")


async def test_the_outbox_sweeper_is_one_long_lived_workflow(parley, temporal):
    running = [
        w async for w in temporal.list_workflows("WorkflowType = 'OutboxSweeper' AND ExecutionStatus = 'Running'")
    ]
    assert [w.id for w in running] == [SWEEPER_ID]
    every_run = {w.id async for w in temporal.list_workflows("WorkflowType = 'OutboxSweeper'")}
    assert every_run == {SWEEPER_ID}  # its history is continued as new under one id, never a run per sweep
    schedules = [s.id async for s in await temporal.list_schedules()]
    assert LEGACY_SCHEDULE_ID not in schedules
