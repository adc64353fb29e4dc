"""The interaction channel's lifecycle through the real api and worker processes: transfers cold and warm,
invites, interactions created through the API, a supervisor joining, and every way a customer could be left
with nobody (each must end re-queued, back with the sender, or closed by policy)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx

from domain.limits import (
    AGENT_GONE_REASON,
    CHANNEL_CLOSED_REASON,
    MAX_CHANNEL_REQUEUES,
    TRANSFER_DECLINED_REASON,
    TRANSFER_TIMEOUT_REASON,
)
from domain.states import ChannelRunStatus
from tests.conftest import PRESENCE_GRACE
from tests.support.contact_center import (
    ContactCenter,
    agent_attributes,
    build_contact_center,
    ok,
    start_webchat,
)
from tests.support.histories import record_runs
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually
from workflows import search_attributes as sa
from workflows.interaction_channel import InteractionChannelWorkflow

FLEX = "/flex-api/v1/Interactions"


@dataclass
class LiveChat:
    """A web chat a customer started and alice accepted: what the tests act on."""

    center: ContactCenter
    conversation_sid: str
    interaction_sid: str
    channel_sid: str
    task_sid: str
    alice_participant: str
    customer_token: str = ""

    @property
    def channel_path(self) -> str:
        return f"{FLEX}/{self.interaction_sid}/Channels/{self.channel_sid}"


async def _center(admin: httpx.AsyncClient, **kwargs: Any) -> ContactCenter:
    return await build_contact_center(
        admin, agents={"alice": agent_attributes("alice"), "bob": agent_attributes("bob")}, **kwargs
    )


async def set_activity(admin: httpx.AsyncClient, center: ContactCenter, name: str, activity: str) -> None:
    await ok(
        await admin.post(
            center.path(f"/Workers/{center.workers[name]}"), data={"ActivitySid": center.activities[activity]}
        )
    )


async def pending_offer(admin: httpx.AsyncClient, center: ContactCenter, worker: str, task_sid: str | None = None):
    """The worker's pending reservation (for `task_sid`, or any), once it exists."""

    async def probe():
        found = await ok(
            await admin.get(
                center.path(f"/Workers/{center.workers[worker]}/Reservations"), params={"ReservationStatus": "pending"}
            )
        )
        return next((r for r in found["reservations"] if task_sid in (None, r["task_sid"])), None)

    return await eventually(probe, what=f"an offer to {worker}")


async def answer(admin: httpx.AsyncClient, center: ContactCenter, reservation: dict, status: str) -> dict:
    return await ok(
        await admin.post(
            center.path(f"/Tasks/{reservation['task_sid']}/Reservations/{reservation['sid']}"),
            data={"ReservationStatus": status},
        )
    )


async def task(admin: httpx.AsyncClient, center: ContactCenter, task_sid: str) -> dict:
    return await ok(await admin.get(center.path(f"/Tasks/{task_sid}")))


async def live_chat(parley, admin: httpx.AsyncClient, center: ContactCenter, text: str = "Where is my order?"):
    """A customer writes; alice (the only agent available) accepts."""
    await set_activity(admin, center, "alice", "Available")
    chat = await start_webchat(parley.base_url, center.address_sid, "Ivy")
    async with RealtimeClient(parley.base_url, chat["token"]) as customer:
        await customer.send_message(chat["conversation_sid"], text)
    offer = await pending_offer(admin, center, "alice")
    await answer(admin, center, offer, "accepted")
    attributes = json.loads((await task(admin, center, offer["task_sid"]))["attributes"])
    interaction, channel = attributes["flexInteractionSid"], attributes["flexInteractionChannelSid"]
    participants = await ok(await admin.get(f"{FLEX}/{interaction}/Channels/{channel}/Participants"))
    [alice] = [
        p
        for p in participants["participants"]
        if p["type"] == "agent" and p["routing_properties"]["worker_sid"] == center.workers["alice"]
    ]
    return LiveChat(
        center, chat["conversation_sid"], interaction, channel, offer["task_sid"], alice["sid"], chat["token"]
    )


async def transfer(admin: httpx.AsyncClient, chat: LiveChat, status: int = 201, **body: Any) -> dict:
    return await ok(
        await admin.post(f"{chat.channel_path}/Transfers", json={"from": chat.alice_participant, **body}), status
    )


async def transfer_status(admin: httpx.AsyncClient, chat: LiveChat, sid: str, wanted: str) -> dict:
    async def probe():
        row = await ok(await admin.get(f"{chat.channel_path}/Transfers/{sid}"))
        return row if row["status"] == wanted else None

    return await eventually(probe, what=f"transfer {wanted}", timeout=30)


async def channel_tasks(admin: httpx.AsyncClient, chat: LiveChat) -> list[dict]:
    listed = await ok(await admin.get(chat.center.path("/Tasks"), params={"PageSize": "100"}))
    return [
        t for t in listed["tasks"] if json.loads(t["attributes"]).get("flexInteractionChannelSid") == chat.channel_sid
    ]


async def requeued_task(admin: httpx.AsyncClient, chat: LiveChat, known: set[str]) -> dict:
    """A new routing task on the channel, besides the ones already seen."""

    async def probe():
        fresh = [t for t in await channel_tasks(admin, chat) if t["sid"] not in known]
        return next((t for t in fresh if t["assignment_status"] in ("pending", "reserved")), None)

    return await eventually(probe, what="the channel routed again", timeout=30)


async def transfer_events(admin: httpx.AsyncClient, chat: LiveChat) -> dict[str, dict[str, Any]]:
    """The task.transfer-* events of the sender's task (TaskRouter's event log), by type."""
    listed = await ok(await admin.get(chat.center.path("/Events"), params={"TaskSid": chat.task_sid}))
    return {e["event_type"]: e["event_data"] for e in listed["events"] if e["event_type"].startswith("task.transfer")}


async def participant_identities(admin: httpx.AsyncClient, conversation_sid: str) -> set[str]:
    listed = await ok(await admin.get(f"/conversations/v1/Conversations/{conversation_sid}/Participants"))
    return {p["identity"] for p in listed["participants"] if p["identity"]}


# --- transfers ---------------------------------------------------------------------------------------


async def test_warm_transfer_hands_the_customer_over_only_when_the_receiver_accepts(parley, admin, temporal):
    center = await _center(admin)
    chat = await live_chat(parley, admin, center)
    await set_activity(admin, center, "bob", "Available")

    sent = await transfer(admin, chat, type="warm", to=center.workers["bob"], note="Wants a refund, order 1182")
    assert (sent["type"], sent["status"], sent["from"], sent["to"]) == (
        "warm",
        "active",
        chat.alice_participant,
        center.workers["bob"],
    )
    assert sent["sid"].startswith("UX") and sent["note_sid"].startswith("KQ")
    offer = await pending_offer(admin, center, "bob", sent["task_sid"])
    # The Temporal UI says what the channel is doing, in words and in its search attributes.
    channel_workflow = temporal.get_workflow_handle(chat.channel_sid)

    async def transferring():
        snapshot = await channel_workflow.query(InteractionChannelWorkflow.snapshot)
        return snapshot if snapshot.status is ChannelRunStatus.TRANSFERRING else None

    snapshot = await eventually(transferring, what="the channel to say it is transferring")
    assert "warm transfer from alice to bob, waiting for bob" in snapshot.description
    described = await channel_workflow.describe()
    assert described.typed_search_attributes.get(sa.STATUS) == "transferring"
    assert described.typed_search_attributes.get(sa.CONVERSATION_SID) == chat.conversation_sid
    # Until bob accepts, alice still holds the customer.
    assert (await task(admin, center, chat.task_sid))["assignment_status"] == "assigned"
    attributes = json.loads((await task(admin, center, offer["task_sid"]))["attributes"])
    assert attributes["transferMeta"]["note"] == "Wants a refund, order 1182"
    assert attributes["transferMeta"]["mode"] == "WARM"
    assert attributes["transferMeta"]["originalTask"] == chat.task_sid
    assert attributes["conversationSid"] == chat.conversation_sid
    assert attributes["flexChannelInviteSid"].startswith("KG")
    # A second transfer cannot race the first.
    await transfer(admin, chat, status=409, type="cold", to=center.queue_sid)

    await answer(admin, center, offer, "accepted")
    done = await transfer_status(admin, chat, sent["sid"], "completed")

    async def bob_holds():
        attributes = (await channel_workflow.describe()).typed_search_attributes
        return attributes.get(sa.WORKER_SID) == center.workers["bob"] and attributes.get(sa.STATUS) == "assigned"

    await eventually(bob_holds, what="the channel's search attributes to follow the hand-over")
    assert done["reason"] is None
    assert (await task(admin, center, chat.task_sid))["assignment_status"] == "wrapping"
    transfer_log = await transfer_events(admin, chat)
    assert set(transfer_log) == {"task.transfer-initiated", "task.transfer-completed"}
    initiated = transfer_log["task.transfer-initiated"]
    assert (initiated["transfer_sid"], initiated["transfer_mode"], initiated["transfer_type"]) == (
        sent["sid"],
        "WARM",
        "WORKER",
    )
    assert initiated["transfer_to"] == center.workers["bob"] and initiated["transfer_task_sid"] == sent["task_sid"]
    assert initiated["transfer_initiating_worker_sid"] == center.workers["alice"]
    assert transfer_log["task.transfer-completed"]["transfer_status"] == "COMPLETE"
    assert {"alice", "bob"} <= await participant_identities(admin, chat.conversation_sid)
    invites = await ok(await admin.get(f"{chat.channel_path}/Invites"))
    assert [i["sid"] for i in invites["invites"]] == [attributes["flexChannelInviteSid"]]
    assert invites["invites"][0]["routing"]["properties"]["sid"] == offer["task_sid"]
    await record_runs(temporal, chat.channel_sid, "warm-transfer")
    await record_runs(temporal, sent["task_sid"], "warm-transfer-accepted")


async def test_a_declined_warm_transfer_leaves_the_customer_with_the_sender(parley, admin):
    center = await _center(admin)
    chat = await live_chat(parley, admin, center)
    await set_activity(admin, center, "bob", "Available")
    sent = await transfer(admin, chat, type="warm", to=center.workers["bob"])
    offer = await pending_offer(admin, center, "bob", sent["task_sid"])
    await answer(admin, center, offer, "rejected")
    failed = await transfer_status(admin, chat, sent["sid"], "failed")
    assert failed["reason"] == TRANSFER_DECLINED_REASON
    transfer_log = await transfer_events(admin, chat)
    assert set(transfer_log) == {"task.transfer-initiated", "task.transfer-failed"}
    assert transfer_log["task.transfer-failed"]["transfer_failed_reason"] == TRANSFER_DECLINED_REASON
    assert (await task(admin, center, sent["task_sid"]))["assignment_status"] == "canceled"
    assert (await task(admin, center, chat.task_sid))["assignment_status"] == "assigned"
    # alice can transfer again, now that the first one is over.
    again = await transfer(admin, chat, type="warm", to=center.queue_sid)
    assert again["status"] == "active"


async def test_a_declined_offer_of_a_transfer_to_a_queue_is_a_failed_attempt_not_a_failed_transfer(parley, admin):
    center = await _center(admin, chat_capacity=1)  # alice, holding the chat, has no room for its transfer
    chat = await live_chat(parley, admin, center)
    await set_activity(admin, center, "bob", "Available")
    sent = await transfer(admin, chat, type="warm", to=center.queue_sid)
    offer = await pending_offer(admin, center, "bob", sent["task_sid"])
    await answer(admin, center, offer, "rejected")

    async def attempt_failed():
        return (await transfer_events(admin, chat)).get("task.transfer-attempt-failed")

    failed = await eventually(attempt_failed, what="task.transfer-attempt-failed")
    assert (failed["transfer_sid"], failed["transfer_status"], failed["transfer_type"]) == (
        sent["sid"],
        "INITIATED",
        "QUEUE",
    )
    assert offer["sid"] in failed["transfer_failed_reason"] and "rejected" in failed["transfer_failed_reason"]
    # The transfer goes on: the queue may still find someone.
    assert (await ok(await admin.get(f"{chat.channel_path}/Transfers/{sent['sid']}")))["status"] == "active"
    assert "task.transfer-failed" not in await transfer_events(admin, chat)


async def test_a_cold_transfer_nobody_takes_puts_the_customer_back_in_the_queue(parley, admin, temporal):
    center = await _center(admin)
    chat = await live_chat(parley, admin, center)
    await set_activity(admin, center, "bob", "Available")
    sent = await transfer(admin, chat, type="cold", to=center.workers["bob"], timeout=2)
    # Cold: alice leaves at once.
    assert (await task(admin, center, chat.task_sid))["assignment_status"] == "wrapping"
    await pending_offer(admin, center, "bob", sent["task_sid"])
    failed = await transfer_status(admin, chat, sent["sid"], "failed")
    assert failed["reason"].startswith(TRANSFER_TIMEOUT_REASON)
    # Nobody holds the customer: the channel routes again through its workflow.
    again = await requeued_task(admin, chat, {chat.task_sid, sent["task_sid"]})
    assert json.loads(again["attributes"])["conversationSid"] == chat.conversation_sid
    await record_runs(temporal, chat.channel_sid, "cold-transfer-requeued")
    await record_runs(temporal, sent["task_sid"], "cold-transfer-timed-out")


async def test_a_transfer_that_cannot_happen_says_why(parley, admin):
    center = await _center(admin)
    chat = await live_chat(parley, admin, center)
    # bob is Offline.
    refused = await admin.post(
        f"{chat.channel_path}/Transfers", json={"from": chat.alice_participant, "to": center.workers["bob"]}
    )
    assert refused.status_code == 400 and "activity 'Offline' is unavailable" in refused.json()["message"]
    to_self = await admin.post(
        f"{chat.channel_path}/Transfers", json={"from": chat.alice_participant, "to": center.workers["alice"]}
    )
    assert to_self.status_code == 400 and "itself" in to_self.json()["message"]
    bad = await admin.post(f"{chat.channel_path}/Transfers", json={"from": chat.alice_participant, "to": "nobody"})
    assert bad.status_code == 400
    external = await admin.post(
        f"{chat.channel_path}/Transfers",
        json={"from": chat.alice_participant, "to": center.queue_sid, "type": "external"},
    )
    assert external.status_code == 400 and "external" in external.text
    assert [t["sid"] for t in await channel_tasks(admin, chat)] == [chat.task_sid]


async def test_two_transfers_at_once_never_both_start(parley, admin):
    center = await _center(admin)
    chat = await live_chat(parley, admin, center)
    body = {"from": chat.alice_participant, "to": center.queue_sid, "type": "warm"}
    first, second = await asyncio.gather(
        admin.post(f"{chat.channel_path}/Transfers", json=body),
        admin.post(f"{chat.channel_path}/Transfers", json=body),
    )
    assert sorted([first.status_code, second.status_code]) == [201, 409], (first.text, second.text)
    assert len(await channel_tasks(admin, chat)) == 2  # alice's and one transfer's


async def test_the_sender_takes_back_a_waiting_warm_transfer(parley, admin):
    center = await _center(admin)
    chat = await live_chat(parley, admin, center)
    await set_activity(admin, center, "bob", "Available")
    sent = await transfer(admin, chat, type="warm", to=center.workers["bob"])
    await pending_offer(admin, center, "bob", sent["task_sid"])
    taken = await ok(await admin.post(f"{chat.channel_path}/Transfers/{sent['sid']}", json={"status": "failed"}))
    assert taken["status"] == "failed" and "taken back" in taken["reason"]
    assert (await task(admin, center, chat.task_sid))["assignment_status"] == "assigned"
    assert set(await transfer_events(admin, chat)) == {"task.transfer-initiated", "task.transfer-canceled"}
    again = await admin.post(f"{chat.channel_path}/Transfers/{sent['sid']}", json={"status": "failed"})
    assert again.status_code == 400


async def test_closing_a_channel_while_a_transfer_waits_fails_the_transfer(parley, admin):
    center = await _center(admin)
    chat = await live_chat(parley, admin, center)
    await set_activity(admin, center, "bob", "Available")
    sent = await transfer(admin, chat, type="warm", to=center.workers["bob"])
    await pending_offer(admin, center, "bob", sent["task_sid"])
    await ok(await admin.post(chat.channel_path, data={"Status": "closed"}))
    failed = await transfer_status(admin, chat, sent["sid"], "failed")
    assert failed["reason"] == CHANNEL_CLOSED_REASON
    assert (await task(admin, center, sent["task_sid"]))["assignment_status"] == "canceled"
    assert (await task(admin, center, chat.task_sid))["assignment_status"] == "wrapping"
    closed = await ok(await admin.get(f"/conversations/v1/Conversations/{chat.conversation_sid}"))
    assert closed["state"] == "closed"


# --- no orphans --------------------------------------------------------------------------------------


async def test_an_agent_whose_desktop_vanishes_mid_chat_is_let_go_and_the_customer_re_queued(
    parley, admin, agent_token
):
    center = await _center(admin)
    alice = center.workers["alice"]
    async with RealtimeClient(parley.base_url, agent_token(center.workspace_sid, alice, identity="alice")) as desk:
        await desk.subscribe(alice)
        chat = await live_chat(parley, admin, center)
        await set_activity(admin, center, "bob", "Available")
        # Like Twilio, going Offline keeps an accepted chat while the agent is still there to finish it.
        await set_activity(admin, center, "alice", "Offline")
        assert (await task(admin, center, chat.task_sid))["assignment_status"] == "assigned"
    # The desktop is gone: after the presence grace period the sweeper lets alice go.

    async def let_go():
        ended = await task(admin, center, chat.task_sid)
        return ended if ended["assignment_status"] == "completed" else None

    ended = await eventually(let_go, what="alice let go", timeout=PRESENCE_GRACE + 20)
    assert ended["reason"] == AGENT_GONE_REASON
    offer = await pending_offer(admin, center, "bob")
    assert json.loads((await task(admin, center, offer["task_sid"]))["attributes"])["conversationSid"] == (
        chat.conversation_sid
    )


async def test_a_channel_whose_tasks_keep_ending_unowned_is_requeued_then_closed_by_policy(parley, admin, temporal):
    center = await _center(admin)
    await set_activity(admin, center, "alice", "Offline")
    chat_started = await start_webchat(parley.base_url, center.address_sid, "Ivy")
    async with RealtimeClient(parley.base_url, chat_started["token"]) as customer:
        await customer.send_message(chat_started["conversation_sid"], "Anyone there?")

    async def first_task():
        listed = await ok(await admin.get(center.path("/Tasks")))
        return listed["tasks"][0] if listed["tasks"] else None

    current = await eventually(first_task, what="the chat's task")
    attributes = json.loads(current["attributes"])
    chat = LiveChat(
        center,
        chat_started["conversation_sid"],
        attributes["flexInteractionSid"],
        attributes["flexInteractionChannelSid"],
        current["sid"],
        "",
    )
    seen = {current["sid"]}
    for _ in range(MAX_CHANNEL_REQUEUES):
        await ok(await admin.post(center.path(f"/Tasks/{current['sid']}"), data={"AssignmentStatus": "canceled"}))
        current = await requeued_task(admin, chat, seen)
        seen.add(current["sid"])
    await ok(await admin.post(center.path(f"/Tasks/{current['sid']}"), data={"AssignmentStatus": "canceled"}))

    async def closed():
        channel = await ok(await admin.get(chat.channel_path))
        return channel if channel["status"] == "closed" else None

    channel = await eventually(closed, what="the channel closed by policy", timeout=30)
    assert "closed by policy" in channel["error_message"]
    assert len(seen) == MAX_CHANNEL_REQUEUES + 1
    await record_runs(temporal, chat.channel_sid, "requeued-then-closed")


async def test_a_task_canceled_with_a_reason_parks_its_channel_until_the_customer_writes(parley, admin, temporal):
    """A person canceled it and said why (a supervisor, an integration): the channel does not route the customer
    again at once, as it does after a timeout or a cancel without a reason; the customer's next message does."""
    center = await _center(admin)
    await set_activity(admin, center, "alice", "Offline")
    chat_started = await start_webchat(parley.base_url, center.address_sid, "Ivy")
    async with RealtimeClient(parley.base_url, chat_started["token"]) as customer:
        await customer.send_message(chat_started["conversation_sid"], "Can I pay my invoice here?")

    async def first_task():
        listed = await ok(await admin.get(center.path("/Tasks")))
        return listed["tasks"][0] if listed["tasks"] else None

    first = await eventually(first_task, what="the chat's task")
    attributes = json.loads(first["attributes"])
    channel_sid = attributes["flexInteractionChannelSid"]
    await ok(
        await admin.post(
            center.path(f"/Tasks/{first['sid']}"),
            data={"AssignmentStatus": "canceled", "Reason": "Invoices are handled by e-mail"},
        )
    )

    async def parked():
        snapshot = await temporal.get_workflow_handle(channel_sid).query("snapshot")
        return snapshot if snapshot["status"] == "parked" and not snapshot["open_tasks"] else None

    snapshot = await eventually(parked, what="the channel parked", timeout=30)
    assert snapshot["requeues"] == 0
    listed = await ok(await admin.get(center.path("/Tasks")))
    assert [(t["sid"], t["assignment_status"], t["reason"]) for t in listed["tasks"]] == [
        (first["sid"], "canceled", "Invoices are handled by e-mail")
    ]
    # The customer writes again: routed again, on the same channel.
    chat = LiveChat(
        center, chat_started["conversation_sid"], attributes["flexInteractionSid"], channel_sid, first["sid"], ""
    )
    async with RealtimeClient(parley.base_url, chat_started["token"]) as customer:
        await customer.send_message(chat_started["conversation_sid"], "Sorry, one more thing")
    again = await requeued_task(admin, chat, {first["sid"]})
    assert json.loads(again["attributes"])["conversationSid"] == chat.conversation_sid


async def test_a_returning_customer_is_offered_to_the_previous_agent_first(parley, admin, temporal):
    center = await _center(admin)
    chat = await live_chat(parley, admin, center)
    # alice closes her side: the channel parks, the conversation stays open.
    await ok(await admin.post(f"{chat.channel_path}/Participants/{chat.alice_participant}", data={"Status": "closed"}))
    assert (await task(admin, center, chat.task_sid))["assignment_status"] == "completed"
    await set_activity(admin, center, "bob", "Available")
    async with RealtimeClient(parley.base_url, chat.customer_token) as customer:
        await customer.send_message(chat.conversation_sid, "Me again, one more question")
    again = await requeued_task(admin, chat, {chat.task_sid})
    known = json.loads(again["attributes"])["knownAgent"]
    assert known["worker_sid"] == center.workers["alice"]
    offer = await pending_offer(admin, center, "alice", again["sid"])
    decision = await ok(await admin.get(center.path(f"/Tasks/{again['sid']}/Reservations/{offer['sid']}")))
    assert "known" in json.dumps(decision["routing_decision"])
    await answer(admin, center, offer, "accepted")
    await record_runs(temporal, chat.channel_sid, "parked-and-re-engaged")
    await record_runs(temporal, again["sid"], "known-agent-first")


async def test_a_workflow_timeout_with_nobody_there_re_queues_the_customer(parley, admin, temporal):
    center = await _center(admin)
    configuration = {
        "task_routing": {"filters": [{"expression": "1==1", "targets": [{"queue": center.queue_sid, "timeout": 2}]}]}
    }
    await ok(
        await admin.post(
            center.path(f"/Workflows/{center.workflow_sid}"), data={"Configuration": json.dumps(configuration)}
        )
    )
    chat_started = await start_webchat(parley.base_url, center.address_sid, "Ivy")  # every agent is Offline
    async with RealtimeClient(parley.base_url, chat_started["token"]) as customer:
        await customer.send_message(chat_started["conversation_sid"], "Hello?")

    async def timed_out():
        listed = await ok(await admin.get(center.path("/Tasks"), params={"AssignmentStatus": "canceled"}))
        return listed["tasks"][0] if listed["tasks"] else None

    first = await eventually(timed_out, what="the workflow timeout", timeout=30)
    assert first["reason"] == "Workflow Timeout"
    attributes = json.loads(first["attributes"])
    chat = LiveChat(
        center,
        chat_started["conversation_sid"],
        attributes["flexInteractionSid"],
        attributes["flexInteractionChannelSid"],
        first["sid"],
        "",
    )
    again = await requeued_task(admin, chat, {first["sid"]})
    assert json.loads(again["attributes"])["conversationSid"] == chat.conversation_sid
    await record_runs(temporal, first["sid"], "workflow-timeout")
    await record_runs(temporal, chat.channel_sid, "workflow-timeout-requeued")


async def test_a_declined_invite_on_a_parked_channel_re_queues_the_customer(parley, admin, temporal):
    center = await _center(admin)
    chat = await live_chat(parley, admin, center)
    await ok(await admin.post(f"{chat.channel_path}/Participants/{chat.alice_participant}", data={"Status": "closed"}))
    await set_activity(admin, center, "bob", "Available")
    routing = {"properties": {"workspace_sid": center.workspace_sid, "worker_sid": center.workers["bob"]}}
    invite = await ok(await admin.post(f"{chat.channel_path}/Invites", data={"Routing": json.dumps(routing)}))
    invited = invite["routing"]["properties"]["sid"]
    await answer(admin, center, await pending_offer(admin, center, "bob", invited), "rejected")
    assert (await task(admin, center, invited))["reason"] == TRANSFER_DECLINED_REASON
    await requeued_task(admin, chat, {chat.task_sid, invited})
    await record_runs(temporal, chat.channel_sid, "invite-declined-requeued")
    await record_runs(temporal, invited, "invite-declined")


async def test_an_inactive_channel_is_re_engaged_when_the_customer_writes_again(parley, admin):
    center = await _center(admin)
    chat = await live_chat(parley, admin, center)
    inactive = await ok(
        await admin.post(chat.channel_path, data={"Status": "inactive", "Routing": '{"status": "closed"}'})
    )
    assert inactive["status"] == "inactive"
    assert (await task(admin, center, chat.task_sid))["assignment_status"] == "completed"
    async with RealtimeClient(parley.base_url, chat.customer_token) as customer:
        await customer.send_message(chat.conversation_sid, "Back again")
    await requeued_task(admin, chat, {chat.task_sid})
    assert (await ok(await admin.get(chat.channel_path)))["status"] == "active"


# --- invites, participants, interactions created through the API -----------------------------------


async def test_an_invite_brings_a_second_agent_into_the_same_conversation(parley, admin):
    center = await _center(admin)
    chat = await live_chat(parley, admin, center)
    await set_activity(admin, center, "bob", "Available")
    routing = {"properties": {"workspace_sid": center.workspace_sid, "worker_sid": center.workers["bob"]}}
    invite = await ok(await admin.post(f"{chat.channel_path}/Invites", data={"Routing": json.dumps(routing)}))
    assert invite["sid"].startswith("KG") and invite["channel_sid"] == chat.channel_sid
    task_sid = invite["routing"]["properties"]["sid"]
    assert invite["routing"]["properties"]["routing_target"] == center.workers["bob"]
    assert invite["routing"]["reservation"] is None
    offer = await pending_offer(admin, center, "bob", task_sid)
    await answer(admin, center, offer, "accepted")
    # Both agents are in: an invite is not a transfer.
    assert (await task(admin, center, chat.task_sid))["assignment_status"] == "assigned"
    assert {"alice", "bob"} <= await participant_identities(admin, chat.conversation_sid)
    bad = await admin.post(f"{chat.channel_path}/Invites", data={"Routing": '{"properties": {}}'})
    assert bad.status_code == 400 and "workspace_sid" in bad.text


async def test_a_supervisor_joins_a_live_chat(parley, admin, agent_token):
    center = await _center(admin)
    chat = await live_chat(parley, admin, center)
    token = agent_token(center.workspace_sid, None, identity="sam", role="supervisor")
    joined = await ok(
        await admin.post(
            f"{chat.channel_path}/Participants",
            data={"Type": "supervisor", "MediaProperties": json.dumps({"identity": "ignored"})},
            auth=None,
            headers={"X-Twilio-Token": token},
        )
    )
    assert joined["type"] == "supervisor" and joined["media_properties"]["identity"] == "sam"
    again = await ok(
        await admin.post(
            f"{chat.channel_path}/Participants",
            data={"Type": "supervisor", "MediaProperties": "{}"},
            auth=None,
            headers={"X-Twilio-Token": token},
        )
    )
    assert again["sid"] == joined["sid"]
    assert "sam" in await participant_identities(admin, chat.conversation_sid)
    agent_try = await admin.post(
        f"{chat.channel_path}/Participants",
        data={"Type": "agent", "MediaProperties": "{}"},
        auth=None,
        headers={"X-Twilio-Token": agent_token(center.workspace_sid, center.workers["alice"], identity="alice")},
    )
    assert agent_try.status_code == 403


async def test_interactions_created_through_the_api_route_their_first_task(parley, admin):
    center = await _center(admin)
    await set_activity(admin, center, "alice", "Available")
    await set_activity(admin, center, "bob", "Available")
    routing = {
        "properties": {
            "workspace_sid": center.workspace_sid,
            "workflow_sid": center.workflow_sid,
            "task_channel_unique_name": "chat",
            "attributes": {"topic": "billing"},
        }
    }
    # Customer-initiated: on a conversation that already has its customer.
    conversation = await ok(await admin.post("/conversations/v1/Conversations", data={"FriendlyName": "Kai"}), 201)
    await ok(
        await admin.post(
            f"/conversations/v1/Conversations/{conversation['sid']}/Participants", data={"Identity": "kai"}
        ),
        201,
    )
    created = await ok(
        await admin.post(
            FLEX,
            data={
                "Channel": json.dumps(
                    {
                        "type": "chat",
                        "initiated_by": "customer",
                        "properties": {"media_channel_sid": conversation["sid"]},
                    }
                ),
                "Routing": json.dumps(routing),
                "WebhookTtid": "flex_interactionwebhook_1",
            },
        )
    )
    assert created["sid"].startswith("KD") and created["channel"]["type"] == "chat"
    assert created["webhook_ttid"] == "flex_interactionwebhook_1"
    properties = created["routing"]["properties"]
    assert properties["assignment_status"] == "pending" and properties["workflow_sid"] == center.workflow_sid
    attributes = json.loads(properties["attributes"])
    assert attributes["topic"] == "billing" and attributes["customerAddress"] == "kai"
    assert (attributes["initiatedBy"], attributes["direction"]) == ("customer", "inbound")
    # Routed through the workflow: offered to alice, the longest idle (pending_offer fails if it never is).
    await pending_offer(admin, center, "alice", properties["sid"])
    again = await admin.post(
        FLEX,
        data={
            "Channel": json.dumps(
                {"type": "chat", "initiated_by": "customer", "properties": {"media_channel_sid": conversation["sid"]}}
            ),
            "Routing": json.dumps(routing),
        },
    )
    assert again.status_code == 409
    updated = await ok(await admin.post(f"{FLEX}/{created['sid']}", data={"WebhookTtid": "flex_interactionwebhook_2"}))
    assert updated["webhook_ttid"] == "flex_interactionwebhook_2"

    # Agent-initiated: a new conversation, and the task goes straight to bob although alice is free too.
    outbound = await ok(
        await admin.post(
            FLEX,
            data={
                "Channel": json.dumps(
                    {
                        "type": "sms",
                        "initiated_by": "agent",
                        "participants": [{"address": "+15551230001", "proxy_address": "+15559870000"}],
                    }
                ),
                "Routing": json.dumps(
                    {
                        "properties": {
                            "workspace_sid": center.workspace_sid,
                            "worker_sid": center.workers["bob"],
                            "queue_sid": center.queue_sid,
                            "task_channel_unique_name": "chat",
                        }
                    }
                ),
            },
        )
    )
    out_properties = outbound["routing"]["properties"]
    assert out_properties["routing_target"] == center.workers["bob"]
    out_attributes = json.loads(out_properties["attributes"])
    assert (out_attributes["initiatedBy"], out_attributes["direction"]) == ("agent", "outbound")
    assert out_attributes["customerAddress"] == "+15551230001"
    offer = await pending_offer(admin, center, "bob", out_properties["sid"])
    await answer(admin, center, offer, "accepted")
    conversation_sid = out_attributes["conversationSid"]
    assert "bob" in await participant_identities(admin, conversation_sid)

    # What Twilio rejects, Parley rejects with a sentence.
    for channel, expected in [
        ({"type": "chat", "initiated_by": "customer"}, "media_channel_sid"),
        ({"type": "voice", "initiated_by": "api"}, "type"),
        ({"type": "sms", "initiated_by": "agent"}, "participants"),
    ]:
        refused = await admin.post(FLEX, data={"Channel": json.dumps(channel), "Routing": json.dumps(routing)})
        assert refused.status_code == 400 and expected in refused.text, refused.text
    no_worker = await admin.post(
        FLEX,
        data={
            "Channel": json.dumps({"type": "sms", "initiated_by": "agent", "participants": [{"address": "+1555"}]}),
            "Routing": json.dumps(routing),
        },
    )
    assert no_worker.status_code == 400 and "worker_sid" in no_worker.text
