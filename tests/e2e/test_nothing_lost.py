"""Nothing is lost when a process dies between committing a change and handing it to Temporal: the outbox
row written in the same transaction is re-driven by the sweeper Schedule running in the worker."""

from __future__ import annotations

from storage.conversations import service as conversations
from storage.db import Database
from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient


async def test_customer_message_committed_by_a_crashed_api_is_still_routed(
    parley, admin, agent_token, database_url, db
):
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")})
    alice = center.workers["alice"]
    await ok(await admin.post(center.path(f"/Workers/{alice}"), data={"ActivitySid": center.activities["Available"]}))
    chat = await start_webchat(parley.base_url, center.address_sid, "Hana")

    # An "api" whose after-commit hand-off never runs: the transaction commits, then the process is gone.
    crashed = Database(database_url, max_size=1)
    await crashed.open()
    try:
        async with crashed.unit() as uow:
            participant = await uow.fetchone(
                "SELECT sid, identity FROM participants WHERE conversation_sid = %s",
                (chat["conversation_sid"],),
            )
            message = await conversations.create_message(
                uow,
                conversation_sid=chat["conversation_sid"],
                author=participant["identity"],
                body="Is anyone there?",
                participant_sid=participant["sid"],
            )
            assert len(uow.outbox_ids) == 1
    finally:
        await crashed.close()

    async with RealtimeClient(parley.base_url, agent_token(center.workspace_sid, alice, identity="alice")) as agent:
        await agent.subscribe(alice)
        offer = await agent.wait_event(alice, "reservation.created", timeout=30)
    task = await ok(await admin.get(center.path(f"/Tasks/{offer['data']['task_sid']}")))
    assert chat["conversation_sid"] in task["attributes"]
    async with db.read() as q:
        row = await q.fetchone(
            "SELECT dispatched_at, attempts FROM outbox WHERE dedupe_key = %s", (f"{message.sid}:route",)
        )
    assert row["dispatched_at"] is not None and row["attempts"] >= 1
