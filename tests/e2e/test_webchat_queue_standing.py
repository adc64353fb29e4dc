"""The web chat's place in the queue (GET /flex-api/v2/WebChats/{CH}/QueueStanding): customers waiting with
nobody available are numbered in the order TaskRouter would offer them; the estimate appears once the queue has
accepted chats to go by; a chat an agent took says so; a customer reads only its own chat's standing."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually


async def _standing(parley: Any, chat: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=parley.base_url, headers={"X-Twilio-Token": chat["token"]}) as customer:
        return await ok(await customer.get(f"/flex-api/v2/WebChats/{chat['conversation_sid']}/QueueStanding"))


async def _writes(parley: Any, chat: dict[str, Any], body: str) -> None:
    async with RealtimeClient(parley.base_url, chat["token"]) as customer:
        await customer.send_message(chat["conversation_sid"], body)


async def test_customers_waiting_are_numbered_and_estimated_once_the_queue_has_history(parley, admin) -> None:
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")}, chat_capacity=1)
    first = await start_webchat(parley.base_url, center.address_sid, "Ann")
    second = await start_webchat(parley.base_url, center.address_sid, "Ben")
    assert (await _standing(parley, first))["status"] == "none"  # nothing written yet: not routed
    await _writes(parley, first, "Hello")
    await _writes(parley, second, "Hi")

    async def waiting(chat: dict[str, Any], position: int) -> dict[str, Any] | None:
        standing = await _standing(parley, chat)
        return standing if standing["status"] == "waiting" and standing["position"] == position else None

    one = await eventually(lambda: waiting(first, 1), what="Ann first in the queue")
    two = await eventually(lambda: waiting(second, 2), what="Ben second")
    assert one["estimated_wait"] is None and two["estimated_wait"] is None  # no accepted chat to go by yet
    assert one["conversation_sid"] == first["conversation_sid"]

    # alice comes on and takes Ann's chat: Ann is with an agent, Ben is next, with an estimate now.
    await ok(
        await admin.post(
            center.path(f"/Workers/{center.workers['alice']}"), data={"ActivitySid": center.activities["Available"]}
        )
    )

    async def offer():
        listed = await ok(
            await admin.get(
                center.path(f"/Workers/{center.workers['alice']}/Reservations"), params={"ReservationStatus": "pending"}
            )
        )
        return listed["reservations"][0] if listed["reservations"] else None

    reservation = await eventually(offer, what="alice's offer")
    await ok(
        await admin.post(
            center.path(f"/Workers/{center.workers['alice']}/Reservations/{reservation['sid']}"),
            data={"ReservationStatus": "accepted"},
        )
    )
    assert (await eventually(lambda: _with_agent(parley, first), what="Ann with alice"))["position"] is None
    next_up = await eventually(lambda: waiting(second, 1), what="Ben next")
    assert isinstance(next_up["estimated_wait"], int) and next_up["estimated_wait"] >= 0

    # Ben's token does not read Ann's chat.
    async with httpx.AsyncClient(base_url=parley.base_url, headers={"X-Twilio-Token": second["token"]}) as ben:
        refused = await ben.get(f"/flex-api/v2/WebChats/{first['conversation_sid']}/QueueStanding")
    assert refused.status_code == 403


async def _with_agent(parley: Any, chat: dict[str, Any]) -> dict[str, Any] | None:
    standing = await _standing(parley, chat)
    return standing if standing["status"] == "with_agent" else None
