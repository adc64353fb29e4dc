"""A routing configuration that cannot work fails once, visibly, instead of retrying forever: the channel is
`failed` with the reason, its workflow ends, and the conversation stays open for when it is fixed."""

from __future__ import annotations

from temporalio.client import WorkflowExecutionStatus

from tests.support.contact_center import build_contact_center, ok, start_webchat
from tests.support.histories import record_runs
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually
from workflows import search_attributes as sa


async def test_a_channel_whose_workflow_was_deleted_fails_once_with_the_reason(parley, admin, temporal, db):
    center = await build_contact_center(admin, agents={})
    # The address still names the workflow; the workflow is gone (deleting it is allowed: no live task uses it).
    await ok(await admin.delete(center.path(f"/Workflows/{center.workflow_sid}")), 204)
    chat = await start_webchat(parley.base_url, center.address_sid, "Flo")
    async with RealtimeClient(parley.base_url, chat["token"]) as customer:
        await customer.send_message(chat["conversation_sid"], "Hello?")

    async def channel_workflow() -> str | None:
        query = f"ParleyConversationSid = '{chat['conversation_sid']}' AND WorkflowType = 'InteractionChannel'"
        found = [run.id async for run in temporal.list_workflows(query)]
        return found[0] if found else None

    channel_sid = await eventually(channel_workflow, what="the channel workflow, found by its conversation SID")
    handle = temporal.get_workflow_handle(channel_sid)
    assert await handle.result() == "failed"
    description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED
    assert description.typed_search_attributes.get(sa.STATUS) == "failed"
    # One attempt, not a retry loop: creating the task failed non-retryably, then the channel was marked failed.
    history = await handle.fetch_history()
    markers = [
        e
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    ]
    assert len(markers) == 2, markers

    async with db.read() as q:
        row = await q.fetchone("SELECT interaction_sid FROM interaction_channels WHERE sid = %s", (channel_sid,))
    channel = await ok(await admin.get(f"/flex-api/v1/Interactions/{row['interaction_sid']}/Channels/{channel_sid}"))
    assert channel["status"] == "failed" and channel["error_code"] == 20001
    assert center.workflow_sid in channel["error_message"]
    conversation = await ok(await admin.get(f"/conversations/v1/Conversations/{chat['conversation_sid']}"))
    assert conversation["state"] == "active"  # the conversation is not lost
    assert (await ok(await admin.get(center.path("/Tasks"))))["tasks"] == []
    await record_runs(temporal, channel_sid, "misconfigured-routing")
