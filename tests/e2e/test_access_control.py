"""Secure by default: every endpoint authenticates, a web-chat token reaches only its own conversation, an
agent only its own reservations, and forged or expired tokens are refused on REST and WebSocket alike."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
import websockets

from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient


async def test_rest_without_credentials_is_refused_with_a_twilio_error(parley):
    async with httpx.AsyncClient(base_url=parley.base_url) as anonymous:
        response = await anonymous.get("/taskrouter/v1/Workspaces")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.json()["code"] == 20003


async def test_webchat_token_reaches_only_its_own_conversation(parley, admin):
    center = await build_contact_center(admin, agents={})
    mine = await start_webchat(parley.base_url, center.address_sid, "Jo")
    theirs = await start_webchat(parley.base_url, center.address_sid, "Kim")
    headers = {"X-Twilio-Token": mine["token"]}
    async with httpx.AsyncClient(base_url=parley.base_url, headers=headers) as client:
        assert (await client.get(f"/conversations/v1/Conversations/{mine['conversation_sid']}")).status_code == 200
        other = await client.get(f"/conversations/v1/Conversations/{theirs['conversation_sid']}/Messages")
        assert other.status_code == 403
        write = await client.post(
            f"/conversations/v1/Conversations/{theirs['conversation_sid']}/Messages", data={"Body": "hi"}
        )
        assert write.status_code == 403
        assert (await client.get(f"/taskrouter/v1/Workspaces/{center.workspace_sid}/Tasks")).status_code == 403
    async with RealtimeClient(parley.base_url, mine["token"]) as socket:
        with pytest.raises(AssertionError, match="20003"):
            await socket.subscribe(theirs["conversation_sid"])
        with pytest.raises(AssertionError, match="20003"):
            await socket.subscribe("WK" + "0" * 32)


async def test_agent_cannot_answer_another_agents_reservation(parley, admin, agent_token):
    center = await build_contact_center(admin, agents={"lee": agent_attributes("lee"), "max": agent_attributes("max")})
    lee, max_ = center.workers["lee"], center.workers["max"]
    await ok(await admin.post(center.path(f"/Workers/{lee}"), data={"ActivitySid": center.activities["Available"]}))
    chat = await start_webchat(parley.base_url, center.address_sid, "Ned")
    lee_token = agent_token(center.workspace_sid, lee, identity="lee")
    async with (
        RealtimeClient(parley.base_url, lee_token) as lee_socket,
        RealtimeClient(parley.base_url, chat["token"]) as customer,
    ):
        await lee_socket.subscribe(lee)
        await customer.send_message(chat["conversation_sid"], "help")
        offer = await lee_socket.wait_event(lee, "reservation.created")
    max_headers = {"X-Twilio-Token": agent_token(center.workspace_sid, max_, identity="max")}
    reservation = offer["data"]["reservation_sid"]
    for path in (
        f"/Workers/{lee}/Reservations/{reservation}",
        f"/Tasks/{offer['data']['task_sid']}/Reservations/{reservation}",
    ):
        response = await admin.post(
            center.path(path), data={"ReservationStatus": "accepted"}, auth=None, headers=max_headers
        )
        assert response.status_code == 403, response.text
    fetched = await ok(await admin.get(center.path(f"/Tasks/{offer['data']['task_sid']}/Reservations/{reservation}")))
    assert fetched["reservation_status"] == "pending"


async def test_an_agent_sets_attributes_only_on_a_task_it_holds(parley, admin, agent_token):
    center = await build_contact_center(admin, agents={"lee": agent_attributes("lee"), "max": agent_attributes("max")})
    lee, max_ = center.workers["lee"], center.workers["max"]
    await ok(await admin.post(center.path(f"/Workers/{lee}"), data={"ActivitySid": center.activities["Available"]}))
    chat = await start_webchat(parley.base_url, center.address_sid, "Ned")
    lee_headers = {"X-Twilio-Token": agent_token(center.workspace_sid, lee, identity="lee")}
    max_headers = {"X-Twilio-Token": agent_token(center.workspace_sid, max_, identity="max")}
    async with (
        RealtimeClient(parley.base_url, lee_headers["X-Twilio-Token"]) as lee_socket,
        RealtimeClient(parley.base_url, chat["token"]) as customer,
    ):
        await lee_socket.subscribe(lee)
        await customer.send_message(chat["conversation_sid"], "help")
        offer = await lee_socket.wait_event(lee, "reservation.created")
        task_path = center.path(f"/Tasks/{offer['data']['task_sid']}")
        outcome = {"Attributes": '{"conversations": {"outcome": "Resolved"}}'}
        # Offered but not accepted: not lee's to annotate yet.
        early = await admin.post(task_path, data=outcome, auth=None, headers=lee_headers)
        assert early.status_code == 403, early.text
        await ok(
            await admin.post(
                center.path(f"/Workers/{lee}/Reservations/{offer['data']['reservation_sid']}"),
                data={"ReservationStatus": "accepted"},
                auth=None,
                headers=lee_headers,
            )
        )
        held = await ok(await admin.post(task_path, data=outcome, auth=None, headers=lee_headers))
        assert '"outcome": "Resolved"' in held["attributes"]
        other = await admin.post(task_path, data=outcome, auth=None, headers=max_headers)
        assert other.status_code == 403, other.text
        priority = await admin.post(task_path, data={"Priority": "5"}, auth=None, headers=lee_headers)
        assert priority.status_code == 403
        # The transfer directory: an agent lists its own workspace's workers, not another's.
        listed = await ok(await admin.get(center.path("/Workers"), auth=None, headers=lee_headers))
        assert {w["sid"] for w in listed["workers"]} == {lee, max_}
        elsewhere = await build_contact_center(admin, agents={}, name="Elsewhere")
        foreign = await admin.get(elsewhere.path("/Workers"), auth=None, headers=lee_headers)
        assert foreign.status_code == 403


async def test_forged_and_expired_tokens_are_refused(parley, account):
    now = int(time.time())
    claims = {
        "iss": account.api_key_sid,
        "sub": account.account_sid,
        "nbf": now,
        "exp": now + 600,
        "grants": {"identity": "mallory", "chat": {"service_sid": "IS" + "0" * 32}},
    }
    forged = jwt.encode(claims, "a-wrong-secret-of-full-length-0123456789", algorithm="HS256")
    expired = jwt.encode({**claims, "nbf": now - 7200, "exp": now - 3600}, account.api_key_secret, algorithm="HS256")
    async with httpx.AsyncClient(base_url=parley.base_url) as client:
        for token in (forged, expired, "garbage"):
            response = await client.get(
                "/conversations/v1/Conversations/CH" + "0" * 32, headers={"X-Twilio-Token": token}
            )
            assert response.status_code == 401, response.text
    url = parley.base_url.replace("http://", "ws://") + f"/v1/Realtime?token={forged}"
    async with websockets.connect(url) as socket:
        frame = await socket.recv()
        assert '"code": 20003' in frame or '"code":20003' in frame
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd.code == 4401
