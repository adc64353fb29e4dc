"""The real-time socket under bad input and time: every malformed frame gets an error frame naming what is wrong
(REST's rules for the same fields), writes nothing, and leaves the socket working; an access token's expiry
closes its socket with 4001 unless the client renewed it in time with `update_token`."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient


@pytest.fixture
async def chat(parley, admin):
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")})
    chat = await start_webchat(parley.base_url, center.address_sid, "Mallory")
    return center, chat


async def _messages(admin, conversation_sid: str) -> list[dict]:
    return (await ok(await admin.get(f"/conversations/v1/Conversations/{conversation_sid}/Messages")))["messages"]


@pytest.mark.parametrize(
    "frame, problem",
    [
        ({"type": "send_message", "body": {"not": "text"}}, "Invalid 'body'"),
        ({"type": "send_message", "body": "hi", "attributes": "not json"}, "Parameter 'attributes' is not valid JSON"),
        ({"type": "send_message", "body": "hi", "attributes": {"an": "object"}}, "Invalid 'attributes'"),
        ({"type": "send_message", "body": "hi", "attributes": "[1, 2]"}, "must be a JSON object"),
        ({"type": "send_message", "body": "x" * (32 * 1024 + 1)}, "Body"),
        ({"type": "send_message", "body": "hi", "media_sids": "ME1"}, "Invalid 'media_sids'"),
        ({"type": "send_message", "body": "nul \u0000 inside"}, "NUL"),
        ({"type": "subscribe", "after": "abc"}, "Invalid 'after'"),
        ({"type": "subscribe", "after": 2**40}, "Invalid 'after'"),
        ({"type": "subscribe", "after": -1}, "Invalid 'after'"),
        ({"type": "read", "index": "7"}, "Invalid 'index'"),
        ({"type": "read", "index": True}, "Invalid 'index'"),
        ({"type": "launch_missiles"}, "Unknown frame type 'launch_missiles'"),
        ({"type": ["send_message"]}, "Unknown frame type"),
    ],
)
async def test_a_malformed_frame_gets_an_error_frame_writes_nothing_and_the_socket_goes_on(
    parley, admin, chat, frame, problem
):
    _, started = chat
    conversation_sid = started["conversation_sid"]
    async with RealtimeClient(parley.base_url, started["token"]) as customer:
        target = "stream" if frame["type"] == "subscribe" else "conversation_sid"
        frame_id = await customer.send({target: conversation_sid, **frame})
        answer = await customer.wait_for(lambda f: f.get("id") == frame_id)
        assert answer["type"] == "error" and answer["code"] in (20001, 50008), answer  # 50008: a body too long
        assert problem in answer["message"], answer
        # Still open and working.
        sent = await customer.send_message(conversation_sid, "still here")
        assert sent["body"] == "still here"
    assert [m["body"] for m in await _messages(admin, conversation_sid)] == ["still here"]


async def test_frames_that_are_not_json_objects_are_answered_too(parley, chat):
    _, started = chat
    url = parley.base_url.replace("http://", "ws://") + f"/v1/Realtime?token={started['token']}"
    async with websockets.connect(url) as ws:
        assert json.loads(await ws.recv())["type"] == "ready"
        for raw in ("not json", "[1, 2]", '"text"', "{"):
            await ws.send(raw)
            answer = json.loads(await ws.recv())
            assert answer["type"] == "error" and answer["code"] == 20001
        await ws.send(json.dumps({"type": "ping", "id": "p"}))
        assert json.loads(await ws.recv()) == {"type": "pong", "id": "p"}


async def test_a_socket_is_closed_when_its_token_expires(parley, admin, agent_token):
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")})
    token = agent_token(center.workspace_sid, center.workers["alice"], identity="alice", ttl=2)
    url = parley.base_url.replace("http://", "ws://") + f"/v1/Realtime?token={token}"
    async with websockets.connect(url) as ws:
        assert json.loads(await ws.recv())["type"] == "ready"
        expired = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert expired["type"] == "error" and expired["code"] == 20104
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    # The expired token cannot open a new socket either.
    async with websockets.connect(url) as ws:
        refused = json.loads(await ws.recv())
        assert refused["type"] == "error" and "expired" in refused["message"]


async def test_a_renewed_token_keeps_the_socket_open_and_another_identitys_is_refused(parley, admin, agent_token):
    center = await build_contact_center(
        admin, agents={"alice": agent_attributes("alice"), "bob": agent_attributes("bob")}
    )
    alice, bob = center.workers["alice"], center.workers["bob"]
    async with RealtimeClient(
        parley.base_url, agent_token(center.workspace_sid, alice, identity="alice", ttl=3)
    ) as client:
        foreign = await client.send(
            {"type": "update_token", "token": agent_token(center.workspace_sid, bob, identity="bob")}
        )
        refused = await client.wait_for(lambda f: f.get("id") == foreign)
        assert refused["type"] == "error" and refused["code"] == 20003 and "another identity" in refused["message"]
        renewed = await client.send(
            {"type": "update_token", "token": agent_token(center.workspace_sid, alice, identity="alice", ttl=600)}
        )
        ack = await client.wait_for(lambda f: f.get("id") == renewed)
        assert ack["type"] == "ack" and ack["expires_at"] > 0
        await asyncio.sleep(4)  # past the first token's expiry
        pinged = await client.send({"type": "ping"})
        assert (await client.wait_for(lambda f: f.get("id") == pinged))["type"] == "pong"
        assert not any(f.get("code") == 20104 for f in client.frames)


async def test_error_frames_are_twilio_errors_with_the_frames_id(parley, chat):
    _, started = chat
    async with RealtimeClient(parley.base_url, started["token"]) as customer:
        frame_id = await customer.send({"type": "subscribe", "stream": started["conversation_sid"], "after": "abc"})
        answer = await customer.wait_for(lambda f: f.get("id") == frame_id)
    assert answer["type"] == "error" and answer["id"] == frame_id
    assert answer["code"] == 20001 and answer["status"] == 400
    assert answer["more_info"] == "https://www.twilio.com/docs/errors/20001"


@pytest.mark.parametrize(
    "raw, problem",
    [
        (b"\x00\x01binary", "text"),
        ("[" * 100_000 + "]" * 100_000, "JSON"),
        ('{"type": "ping", "pad": "' + "x" * (1024 * 1024) + '"}', "at most"),
    ],
    ids=["a binary frame", "JSON nested too deep", "a frame over the REST body limit"],
)
async def test_frames_the_parser_cannot_take_are_answered_and_the_socket_goes_on(parley, chat, raw, problem):
    _, started = chat
    url = parley.base_url.replace("http://", "ws://") + f"/v1/Realtime?token={started['token']}"
    async with websockets.connect(url, max_size=2**22) as ws:
        assert json.loads(await ws.recv())["type"] == "ready"
        await ws.send(raw)
        answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert answer["type"] == "error" and answer["code"] == 20001 and answer["status"] == 400, answer
        assert problem in answer["message"], answer
        await ws.send(json.dumps({"type": "ping", "id": "p"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "pong", "id": "p"}
