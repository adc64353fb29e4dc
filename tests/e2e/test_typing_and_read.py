"""Typing indicators and read horizons over the WebSocket, between two token holders: one minted by Parley's
web chat, the other with the official `twilio.jwt.access_token.AccessToken` and a `ChatGrant`, as a Twilio
Conversations app mints them. Typing is ephemeral (live subscribers only, never replayed); a read horizon is a
participant update in the log, so a reconnecting client gets it."""

from __future__ import annotations

import httpx
import pytest
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant

from storage.accounts.service import create_account
from tests.support.contact_center import ok, start_webchat
from tests.support.realtime import RealtimeClient


@pytest.fixture
async def tenant(db):
    async with db.unit() as uow:
        return await create_account(uow, friendly_name="Typing tests")


async def test_typing_is_live_only_and_read_receipts_are_in_the_log(parley, tenant):
    async with httpx.AsyncClient(
        base_url=parley.base_url, auth=(tenant.account_sid, tenant.auth_token), timeout=30
    ) as api:
        address = await ok(
            await api.post(
                "/conversations/v1/Configuration/Addresses",
                data={"Type": "chat", "Address": "typing-chat", "AutoCreation.Enabled": "true"},
            ),
            201,
        )
        chat = await start_webchat(parley.base_url, address["sid"], "Ria")
        conversation = chat["conversation_sid"]
        service_sid = (await ok(await api.get(f"/conversations/v1/Conversations/{conversation}")))["chat_service_sid"]
        await ok(
            await api.post(f"/conversations/v1/Conversations/{conversation}/Participants", data={"Identity": "sam"}),
            201,
        )
    token = AccessToken(tenant.account_sid, tenant.api_key_sid, tenant.api_key_secret, identity="sam")
    token.add_grant(ChatGrant(service_sid=service_sid))
    async with (
        RealtimeClient(parley.base_url, chat["token"]) as customer,
        RealtimeClient(parley.base_url, str(token.to_jwt())) as sam,
    ):
        await customer.subscribe(conversation)
        await sam.subscribe(conversation)
        await sam.send({"type": "typing", "conversation_sid": conversation})
        typing = await customer.wait_for(lambda f: f.get("event") == "typing")
        assert typing["data"]["identity"] == "sam" and "seq" not in typing

        first = await customer.send_message(conversation, "hi sam")
        await customer.send_message(conversation, "are you there?")
        read = await sam.send({"type": "read", "conversation_sid": conversation, "index": 99})
        ack = await sam.wait_for(lambda f: f.get("id") == read)
        assert ack["type"] == "ack" and ack["last_read_message_index"] == first["index"] + 1  # clamped to the last
        receipt = await customer.wait_for(
            lambda f: f.get("event") == "participant.updated" and f["data"]["identity"] == "sam"
        )
        assert receipt["data"]["last_read_message_index"] == 1

        # A REST change to the conversation reaches its subscribers.
        async with httpx.AsyncClient(
            base_url=parley.base_url, auth=(tenant.account_sid, tenant.auth_token), timeout=30
        ) as api:
            await ok(
                await api.post(f"/conversations/v1/Conversations/{conversation}", data={"FriendlyName": "Ria & Sam"})
            )
        renamed = await customer.wait_for(lambda f: f.get("event") == "conversation.updated")
        assert renamed["data"]["friendly_name"] == "Ria & Sam" and renamed["seq"] > 0

        # Garbage gets an error frame, and someone else's conversation is refused.
        bad = await sam.send({"type": "read", "conversation_sid": conversation, "index": "last"})
        assert (await sam.wait_for(lambda f: f.get("id") == bad))["type"] == "error"
        nul = await sam.send({"type": "send_message", "conversation_sid": conversation, "body": "a\u0000b"})
        assert (await sam.wait_for(lambda f: f.get("id") == nul))["type"] == "error"
        # The socket is still there.
        assert (await sam.send_message(conversation, "still here"))["body"] == "still here"

    # A client that reconnects replays the read receipt but never a stale typing indicator.
    async with RealtimeClient(parley.base_url, chat["token"]) as again:
        await again.subscribe(conversation)  # answered after the replay of everything before it
        replayed = [f.get("event") for f in again.frames if f.get("stream") == conversation]
        assert "participant.updated" in replayed and "typing" not in replayed
