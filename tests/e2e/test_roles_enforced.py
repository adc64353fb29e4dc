"""Roles gate what a token holder may do in a conversation (REST with account credentials bypasses them, as on
Twilio): a participant whose conversation role lacks sendMessage cannot write (50107), one without
sendMediaMessage cannot send media; the default role a participant gets allows both."""

from __future__ import annotations

import httpx
import pytest
from twilio.rest import Client

from storage.accounts.service import create_account
from tests.support.contact_center import ok, start_webchat
from tests.support.realtime import RealtimeClient
from tests.test_constants import PNG_BYTES


@pytest.fixture
async def tenant(db):
    async with db.unit() as uow:
        return await create_account(uow, friendly_name="Roles")


async def test_a_participants_role_decides_what_it_may_send(parley, tenant):
    twilio = Client(tenant.account_sid, tenant.auth_token)
    twilio.conversations.base_url = f"{parley.base_url}/conversations"
    address = twilio.conversations.v1.address_configurations.create(
        type="chat", address="roles-chat", auto_creation_enabled=True
    )
    chat = await start_webchat(parley.base_url, address.sid, "Ola")
    conversation = twilio.conversations.v1.conversations(chat["conversation_sid"])
    [customer] = conversation.participants.list()
    default_role = twilio.conversations.v1.roles(customer.role_sid).fetch()
    assert default_role.type == "conversation" and "sendMessage" in default_role.permissions

    muted = twilio.conversations.v1.roles.create(
        friendly_name="muted", type="conversation", permission=["leaveConversation"]
    )
    text_only = twilio.conversations.v1.roles.create(
        friendly_name="text only", type="conversation", permission=["sendMessage", "leaveConversation"]
    )
    service_role = twilio.conversations.v1.roles.create(
        friendly_name="svc", type="service", permission=["joinConversation"]
    )
    with pytest.raises(Exception) as wrong_type:
        conversation.participants(customer.sid).update(role_sid=service_role.sid)
    assert getattr(wrong_type.value, "status", None) == 400

    async with RealtimeClient(parley.base_url, chat["token"]) as socket:
        await socket.send_message(chat["conversation_sid"], "allowed by the default role")
        conversation.participants(customer.sid).update(role_sid=muted.sid)
        refused = await socket.send(
            {"type": "send_message", "conversation_sid": chat["conversation_sid"], "body": "hi"}
        )
        frame = await socket.wait_for(lambda f: f.get("id") == refused)
        assert frame["type"] == "error" and frame["code"] == 50107

        conversation.participants(customer.sid).update(role_sid=text_only.sid)
        await socket.send_message(chat["conversation_sid"], "text is fine")
        service = conversation.fetch().chat_service_sid
        async with httpx.AsyncClient(base_url=parley.base_url) as http:
            upload = await ok(
                await http.post(
                    f"/mcs/v1/Services/{service}/Media",
                    content=PNG_BYTES,
                    headers={"Authorization": f"Bearer {chat['token']}", "Content-Type": "image/png"},
                ),
                201,
            )
        media = await socket.send(
            {"type": "send_message", "conversation_sid": chat["conversation_sid"], "media_sids": [upload["sid"]]}
        )
        frame = await socket.wait_for(lambda f: f.get("id") == media)
        assert frame["type"] == "error" and frame["code"] == 50107 and "sendMediaMessage" in frame["message"]
    # Account credentials are not bound by roles.
    assert conversation.messages.create(body="from the API", author="ops").index == 2
    assert [m.body for m in conversation.messages.list()] == [
        "allowed by the default role",
        "text is fine",
        "from the API",
    ]


async def test_token_holders_edit_and_delete_as_their_role_allows(parley, tenant):
    twilio = Client(tenant.account_sid, tenant.auth_token)
    twilio.conversations.base_url = f"{parley.base_url}/conversations"
    address = twilio.conversations.v1.address_configurations.create(
        type="chat", address="edits-chat", auto_creation_enabled=True
    )
    chat = await start_webchat(parley.base_url, address.sid, "Ola")
    conversation = twilio.conversations.v1.conversations(chat["conversation_sid"])
    [customer] = conversation.participants.list()
    agent_line = conversation.messages.create(body="How can I help?", author="ops")
    path = f"/conversations/v1/Conversations/{chat['conversation_sid']}/Messages"
    async with (
        RealtimeClient(parley.base_url, chat["token"]) as socket,
        httpx.AsyncClient(
            base_url=parley.base_url, headers={"Authorization": f"Bearer {chat['token']}"}, timeout=30
        ) as http,
    ):
        mine = await socket.send_message(chat["conversation_sid"], "my odrer is late")
        # The default role lets the customer fix and delete its own message ...
        fixed = await ok(await http.post(f"{path}/{mine['sid']}", data={"Body": "my order is late"}))
        assert fixed["body"] == "my order is late"
        # ... but not another's, nor the author or dates of its own.
        other = await http.post(f"{path}/{agent_line.sid}", data={"Body": "rewritten"})
        assert other.status_code == 403 and other.json()["code"] == 50107
        author = await http.post(f"{path}/{mine['sid']}", data={"Author": "someone else"})
        assert author.status_code == 403
        assert (await http.delete(f"{path}/{agent_line.sid}")).status_code == 403
        text_only = twilio.conversations.v1.roles.create(
            friendly_name="no edits", type="conversation", permission=["sendMessage"]
        )
        conversation.participants(customer.sid).update(role_sid=text_only.sid)
        denied = await http.delete(f"{path}/{mine['sid']}")
        assert denied.status_code == 403 and "deleteOwnMessage" in denied.json()["message"]
        conversation.participants(customer.sid).update(role_sid=customer.role_sid)
        assert (await http.delete(f"{path}/{mine['sid']}")).status_code == 204
    assert [m.body for m in conversation.messages.list()] == ["How can I help?"]
