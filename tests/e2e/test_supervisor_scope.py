"""A supervisor token is scoped to its workspace: it reads the conversations (and their media) routed there, on
REST and on the socket, and not the rest of the account's — another workspace's chats, or conversations never
routed at all."""

from __future__ import annotations

import httpx

from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


async def test_a_supervisor_reads_only_the_conversations_routed_in_its_workspace(parley, admin, agent_token):
    ours = await build_contact_center(admin, name="Ours", agents={"alice": agent_attributes("alice")})
    theirs = await build_contact_center(admin, name="Theirs", agents={"bob": agent_attributes("bob")})
    chat = await start_webchat(parley.base_url, ours.address_sid, "Gia")
    conversation_sid = chat["conversation_sid"]
    async with RealtimeClient(parley.base_url, chat["token"]) as customer:
        await customer.send_message(conversation_sid, "hello")

    async def routed() -> list[dict]:
        return (await ok(await admin.get(ours.path("/Tasks"))))["tasks"]

    await eventually(routed, what="the chat's task")
    service = (await ok(await admin.get(f"/conversations/v1/Conversations/{conversation_sid}")))["chat_service_sid"]
    async with httpx.AsyncClient(base_url=parley.base_url, timeout=30) as browser:
        media = await ok(
            await browser.post(
                f"/mcs/v1/Services/{service}/Media",
                content=PNG,
                headers={"Authorization": f"Bearer {chat['token']}", "Content-Type": "image/png"},
            ),
            201,
        )
    # Sent in a message, the file belongs to the conversation (unattached uploads belong to their uploader only).
    async with RealtimeClient(parley.base_url, chat["token"]) as customer:
        frame_id = await customer.send(
            {"type": "send_message", "conversation_sid": conversation_sid, "media_sids": [media["sid"]]}
        )
        assert (await customer.wait_for(lambda f: f.get("id") == frame_id))["type"] == "ack"
    never_routed = await ok(await admin.post("/conversations/v1/Conversations", data={"FriendlyName": "internal"}), 201)

    own = agent_token(ours.workspace_sid, None, identity="sam", role="supervisor")
    other = agent_token(theirs.workspace_sid, None, identity="sue", role="supervisor")
    async with httpx.AsyncClient(base_url=parley.base_url, timeout=30) as client:

        async def get(path: str, token: str) -> httpx.Response:
            return await client.get(path, headers={"X-Twilio-Token": token})

        conversation = f"/conversations/v1/Conversations/{conversation_sid}"
        content = f"/mcs/v1/Services/{service}/Media/{media['sid']}/Content"
        assert (await get(conversation, own)).status_code == 200
        assert (await get(f"{conversation}/Messages", own)).status_code == 200
        assert (await get(content, own)).content == PNG
        for path in (conversation, f"{conversation}/Messages", f"{conversation}/Participants", content):
            refused = await get(path, other)
            assert refused.status_code == 403, (path, refused.text)
            assert refused.json()["code"] == 20003 and "hello" not in refused.text
        assert (await get(f"/conversations/v1/Conversations/{never_routed['sid']}", own)).status_code == 403
        # Supervisors read; they do not write as if they were participants.
        write = await client.post(f"{conversation}/Messages", data={"Body": "psst"}, headers={"X-Twilio-Token": own})
        assert write.status_code == 403

    async with RealtimeClient(parley.base_url, own) as supervisor:
        await supervisor.subscribe(conversation_sid)
    async with RealtimeClient(parley.base_url, other) as stranger:
        frame_id = await stranger.send({"type": "subscribe", "stream": conversation_sid})
        answer = await stranger.wait_for(lambda f: f.get("id") == frame_id)
        assert answer["type"] == "error" and answer["code"] == 20003
        assert not stranger.events(conversation_sid)
