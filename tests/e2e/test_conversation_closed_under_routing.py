"""A conversation closed while its task is still being routed (pending, or offered to an agent) takes the task
with it: the offer is withdrawn and the task canceled, so no agent is handed a chat nobody can answer."""

from __future__ import annotations

from typing import Any

from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually


async def test_closing_a_conversation_withdraws_its_offer_and_cancels_its_task(parley, admin) -> None:
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")})
    alice = center.workers["alice"]
    await ok(await admin.post(center.path(f"/Workers/{alice}"), data={"ActivitySid": center.activities["Available"]}))
    chat = await start_webchat(parley.base_url, center.address_sid, "Zoe")
    async with RealtimeClient(parley.base_url, chat["token"]) as customer:
        await customer.send_message(chat["conversation_sid"], "Hello?")

    async def offered() -> dict[str, Any] | None:
        listed = await ok(
            await admin.get(center.path(f"/Workers/{alice}/Reservations"), params={"ReservationStatus": "pending"})
        )
        return listed["reservations"][0] if listed["reservations"] else None

    reservation = await eventually(offered, what="alice offered Zoe's chat")
    await ok(await admin.post(f"/conversations/v1/Conversations/{chat['conversation_sid']}", data={"State": "closed"}))

    async def ended() -> dict[str, Any] | None:
        task = await ok(await admin.get(center.path(f"/Tasks/{reservation['task_sid']}")))
        return task if task["assignment_status"] in ("canceled", "completed") else None

    task = await eventually(ended, what="the closed conversation's task ended")
    assert task["assignment_status"] == "canceled"
    withdrawn = await ok(
        await admin.get(center.path(f"/Tasks/{reservation['task_sid']}/Reservations/{reservation['sid']}"))
    )
    assert withdrawn["reservation_status"] in ("canceled", "rescinded")
