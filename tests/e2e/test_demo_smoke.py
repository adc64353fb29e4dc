"""Smoke: the bootstrap demo workspace routes a web chat to an agent and back."""

from __future__ import annotations

import httpx

from storage.bootstrap import create_demo_workspace
from tests.support.realtime import RealtimeClient


async def test_demo_workspace_routes_a_webchat_to_an_available_agent(parley, account, db, admin, agent_token):
    async with db.unit() as uow:
        demo = await create_demo_workspace(uow, account_sid=account.account_sid)
    alice = demo.agents["alice"]
    token = agent_token(demo.workspace_sid, alice)
    ws_base = f"/taskrouter/v1/Workspaces/{demo.workspace_sid}"
    r = await admin.post(f"{ws_base}/Workers/{alice}", data={"ActivitySid": demo.available_activity_sid})
    assert r.status_code == 200, r.text

    async with httpx.AsyncClient(base_url=parley.base_url) as anonymous:
        r = await anonymous.post(
            "/flex-api/v2/WebChats", data={"AddressSid": demo.address_sid, "CustomerFriendlyName": "Carol"}
        )
    assert r.status_code == 201, r.text
    chat = r.json()

    async with (
        RealtimeClient(parley.base_url, token) as agent,
        RealtimeClient(parley.base_url, chat["token"]) as customer,
    ):
        await agent.subscribe(alice)
        await customer.subscribe(chat["conversation_sid"])
        await customer.send_message(chat["conversation_sid"], "Hello, I need help")
        offer = await agent.wait_event(alice, "reservation.created")
        reservation_sid = offer["data"]["reservation_sid"]
        r = await admin.post(
            f"{ws_base}/Workers/{alice}/Reservations/{reservation_sid}",
            data={"ReservationStatus": "accepted"},
            auth=None,
            headers={"X-Twilio-Token": token},
        )
        assert r.status_code == 200, r.text
        assert r.json()["reservation_status"] == "accepted"
        await agent.subscribe(chat["conversation_sid"])
        await agent.wait_event(
            chat["conversation_sid"], "message.added", lambda f: f["data"]["body"] == "Hello, I need help"
        )
        await agent.send_message(chat["conversation_sid"], "Hi Carol, how can I help?")
        reply = await customer.wait_event(
            chat["conversation_sid"], "message.added", lambda f: f["data"]["author"] == "alice"
        )
        assert reply["data"]["body"] == "Hi Carol, how can I help?"
