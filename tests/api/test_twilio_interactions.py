"""The official `twilio` helper library drives every Flex Interactions v1 endpoint against Parley unchanged:
create, fetch and update an interaction; list, fetch and update its channel; list, create and update channel
participants; list and create invites; create, fetch and update transfers (whose JSON body the client posts
from any object with `to_dict()`)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.support.contact_center import agent_attributes, build_contact_center
from tests.support.waiting import eventually


@dataclass
class Body:
    """What the client posts as a transfer's JSON body."""

    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return self.data


@pytest.fixture
def twilio(parley, account) -> Client:
    client = Client(account.account_sid, account.auth_token)
    client.taskrouter.base_url = f"{parley.base_url}/taskrouter"
    client.conversations.base_url = f"{parley.base_url}/conversations"
    client.flex_api.base_url = f"{parley.base_url}/flex-api"
    return client


async def test_twilio_client_drives_interactions_invites_participants_and_transfers(twilio: Client, admin):
    center = await build_contact_center(
        admin, agents={"alice": agent_attributes("alice"), "bob": agent_attributes("bob")}
    )
    ws = twilio.taskrouter.v1.workspaces(center.workspace_sid)
    for name in ("alice", "bob"):
        ws.workers(center.workers[name]).update(activity_sid=center.activities["Available"])
    conversation = twilio.conversations.v1.conversations.create(friendly_name="Noor")
    twilio.conversations.v1.conversations(conversation.sid).participants.create(identity="noor")
    routing = {
        "properties": {
            "workspace_sid": center.workspace_sid,
            "workflow_sid": center.workflow_sid,
            "task_channel_unique_name": "chat",
        }
    }

    interaction = twilio.flex_api.v1.interaction.create(
        channel={"type": "chat", "initiated_by": "customer", "properties": {"media_channel_sid": conversation.sid}},
        routing=routing,
        webhook_ttid="flex_interactionwebhook_a",
    )
    assert interaction.sid.startswith("KD") and interaction.webhook_ttid == "flex_interactionwebhook_a"
    assert twilio.flex_api.v1.interaction(interaction.sid).fetch().channel["type"] == "chat"
    assert (
        twilio.flex_api.v1.interaction(interaction.sid).update(webhook_ttid="flex_interactionwebhook_b").webhook_ttid
        == "flex_interactionwebhook_b"
    )
    [channel] = twilio.flex_api.v1.interaction(interaction.sid).channels.list()
    assert channel.sid == interaction.channel["sid"] and channel.type == "chat"
    handle = twilio.flex_api.v1.interaction(interaction.sid).channels(channel.sid)
    assert handle.fetch().status == "active"

    first_task = interaction.routing["properties"]["sid"]

    async def offer():
        pending = await asyncio.to_thread(lambda: ws.tasks(first_task).reservations.list(reservation_status="pending"))
        return pending[0] if pending else None

    reservation = await eventually(offer, what="the first task's offer")
    ws.tasks(first_task).reservations(reservation.sid).update(reservation_status="accepted")
    holder = reservation.worker_sid
    other = next(sid for sid in center.workers.values() if sid != holder)
    agents = [p for p in handle.participants.list() if p.type == "agent"]
    assert [p.routing_properties["worker_sid"] for p in agents] == [holder]

    supervisor = handle.participants.create(type="supervisor", media_properties={"identity": "sam"})
    assert supervisor.sid.startswith("UT") and supervisor.type == "supervisor"

    invite = handle.invites.create(
        routing={
            "properties": {
                "workspace_sid": center.workspace_sid,
                "queue_sid": center.queue_sid,
                "attributes": {"reason": "consult"},
            }
        }
    )
    assert invite.sid.startswith("KG") and invite.routing["properties"]["routing_target"] == center.queue_sid
    assert [i.sid for i in handle.invites.list()] == [invite.sid]
    ws.tasks(invite.routing["properties"]["sid"]).update(assignment_status="canceled", reason="not needed")

    transfer = handle.transfers.create(body=Body({"type": "warm", "from": agents[0].sid, "to": other, "note": "VIP"}))
    assert (transfer.type, transfer.status, transfer._from, transfer.to) == ("warm", "active", agents[0].sid, other)
    fetched = handle.transfers(transfer.sid).fetch()
    assert fetched.sid == transfer.sid and fetched.note_sid == transfer.note_sid
    taken_back = handle.transfers(transfer.sid).update(body=Body({"status": "failed"}))
    assert taken_back.status == "failed"
    with pytest.raises(TwilioRestException) as refused:
        handle.transfers.create(body=Body({"from": agents[0].sid, "to": agents[0].routing_properties["worker_sid"]}))
    assert refused.value.status == 400

    wrapped = handle.participants(agents[0].sid).update(status="wrapup")
    assert wrapped.sid == agents[0].sid
    assert ws.tasks(first_task).fetch().assignment_status == "wrapping"
    closed = handle.update(status="closed", routing={"status": "closed"})
    assert closed.status == "closed"
    assert ws.tasks(first_task).fetch().assignment_status == "completed"
    assert json.loads(ws.tasks(first_task).fetch().attributes)["flexInteractionSid"] == interaction.sid
    with pytest.raises(TwilioRestException) as again:
        handle.update(status="closed")
    assert again.value.code == 80906
