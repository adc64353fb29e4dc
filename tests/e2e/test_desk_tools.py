"""The agent desktop's tools over the API: private notes stay out of the conversation (no message, nothing
the customer reads) and only their author or a supervisor removes them; canned responses are checked and
their shortcuts unique; a customer's earlier conversations are found by its identity, newest first."""

from __future__ import annotations

import json
import secrets
import time

import httpx
import jwt

from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually

SECRET = "h" * 40


async def test_private_notes_are_for_staff_only_and_never_part_of_the_conversation(parley, admin, agent_token) -> None:
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")})
    chat = await start_webchat(parley.base_url, center.address_sid, "Rita")
    # alice takes part in the chat (as if she had accepted it).
    await ok(
        await admin.post(
            f"/conversations/v1/Conversations/{chat['conversation_sid']}/Participants",
            data={"Identity": "alice", "Attributes": json.dumps({"role": "agent"})},
        ),
        201,
    )
    alice = agent_token(center.workspace_sid, center.workers["alice"], identity="alice")
    notes = f"/parley/v1/Conversations/{chat['conversation_sid']}/Notes"
    async with httpx.AsyncClient(base_url=parley.base_url, headers={"X-Twilio-Token": alice}) as agent:
        assert (await agent.post(notes, data={"Body": "   "})).status_code == 400
        assert (await agent.post(notes, data={"Body": "x" * 4097})).status_code == 400
        mine = await ok(await agent.post(notes, data={"Body": "VIP: refund approved by Sam"}), 201)
        assert mine["author"] == "alice" and mine["sid"].startswith("NO")
        theirs = await ok(await admin.post(notes, data={"Body": "Escalated twice"}), 201)
        listed = await ok(await agent.get(notes))
        assert [n["body"] for n in listed["notes"]] == ["VIP: refund approved by Sam", "Escalated twice"]
        # alice removes her own note, not another's.
        assert (await agent.delete(f"{notes}/{theirs['sid']}")).status_code == 403
        assert (await agent.delete(f"{notes}/{mine['sid']}")).status_code == 204
        assert (await agent.delete(f"{notes}/{mine['sid']}")).status_code == 404
    assert [n["sid"] for n in (await ok(await admin.get(notes)))["notes"]] == [theirs["sid"]]
    # Not a message: the customer's transcript has none of it, and the customer cannot read the notes.
    messages = await ok(await admin.get(f"/conversations/v1/Conversations/{chat['conversation_sid']}/Messages"))
    assert messages["messages"] == []
    async with httpx.AsyncClient(base_url=parley.base_url, headers={"X-Twilio-Token": chat["token"]}) as customer:
        assert (await customer.get(notes)).status_code == 403
        assert (await customer.post(notes, data={"Body": "sneaky"})).status_code == 403


async def test_canned_responses_are_checked_and_their_shortcuts_unique(parley, admin, agent_token) -> None:
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")})
    base = f"/parley/v1/Workspaces/{center.workspace_sid}/CannedResponses"
    for data in (
        {"Body": "Hello"},  # no title
        {"Title": "Hi"},  # no body
        {"Title": "Hi", "Body": "Hello", "Shortcut": "Bad Shortcut!"},
        {"Title": "Hi", "Body": "x" * 1601},
    ):
        answer = await admin.post(base, data=data)
        assert answer.status_code == 400, (data, answer.text)
    assert (await ok(await admin.get(base)))["canned_responses"] == []
    greeting = await ok(
        await admin.post(base, data={"Title": "Greeting", "Body": "Hi {{customer.name}}!", "Shortcut": "/Hi"}), 201
    )
    assert greeting["shortcut"] == "hi"  # lower-cased, without the slash
    clash = await admin.post(base, data={"Title": "Other", "Body": "Hey", "Shortcut": "hi"})
    assert clash.status_code == 409
    closing = await ok(await admin.post(base, data={"Title": "Anything else", "Body": "Anything else?"}), 201)
    assert closing["shortcut"] is None
    renamed = await ok(await admin.post(f"{base}/{closing['sid']}", data={"Shortcut": "else"}))
    assert renamed["shortcut"] == "else" and renamed["body"] == "Anything else?"
    cleared = await ok(await admin.post(f"{base}/{closing['sid']}", data={"Shortcut": ""}))
    assert cleared["shortcut"] is None
    alice = agent_token(center.workspace_sid, center.workers["alice"], identity="alice")
    async with httpx.AsyncClient(base_url=parley.base_url, headers={"X-Twilio-Token": alice}) as agent:
        listed = await ok(await agent.get(base))
        assert [c["title"] for c in listed["canned_responses"]] == ["Anything else", "Greeting"]
        assert (await agent.post(base, data={"Title": "Mine", "Body": "x"})).status_code == 403
        assert (await agent.delete(f"{base}/{greeting['sid']}")).status_code == 403
    assert (await admin.delete(f"{base}/{greeting['sid']}")).status_code == 204
    assert (await admin.get(f"{base}/{greeting['sid']}")).status_code == 404


def _identity(sub: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": sub, "name": "Vera", "exp": now + 600}, SECRET, algorithm="HS256")


async def test_an_identified_customer_earlier_conversations_are_its_history(parley, admin) -> None:
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")})
    settings = {"IdentitySecret": SECRET, "OfflineForm": "false"}
    await ok(await admin.post(f"/parley/v1/WebChatSettings/{center.address_sid}", data=settings))

    async def start(sub: str) -> dict:
        async with httpx.AsyncClient(base_url=parley.base_url) as anonymous:
            return await ok(
                await anonymous.post(
                    "/flex-api/v2/WebChats",
                    data={"AddressSid": center.address_sid, "IdentityToken": _identity(sub), "Message": "Hello"},
                ),
                201,
            )

    first = await start("vera-1")
    await ok(
        await admin.post(
            f"/conversations/v1/Conversations/{first['conversation_sid']}/Messages",
            data={"Author": "alice", "Body": "Your refund is on its way"},
        ),
        201,
    )
    await ok(await admin.post(f"/conversations/v1/Conversations/{first['conversation_sid']}", data={"State": "closed"}))
    second = await start("vera-1")
    assert second["conversation_sid"] != first["conversation_sid"]  # the first had closed
    someone_else = await start("walt-2")
    history = await ok(await admin.get(f"/parley/v1/Conversations/{second['conversation_sid']}/CustomerHistory"))
    assert [c["conversation_sid"] for c in history["conversations"]] == [first["conversation_sid"]]
    earlier = history["conversations"][0]
    assert earlier["state"] == "closed" and earlier["messages"] == 2
    assert earlier["last_message"] == "Your refund is on its way"
    assert someone_else["conversation_sid"] not in json.dumps(history)
    # An anonymous visitor has a new identity per chat: no history to show.
    anonymous = await start_webchat(parley.base_url, center.address_sid, "Anon")
    assert (await ok(await admin.get(f"/parley/v1/Conversations/{anonymous['conversation_sid']}/CustomerHistory")))[
        "conversations"
    ] == []


async def test_history_search_finds_every_word_within_the_caller_scope(parley, admin, agent_token) -> None:
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")})
    elsewhere = await build_contact_center(admin, name="Elsewhere", agents={"carl": agent_attributes("carl")})
    await ok(
        await admin.post(
            center.path(f"/Workers/{center.workers['alice']}"), data={"ActivitySid": center.activities["Available"]}
        )
    )
    tag = f"case{secrets.token_hex(4)}"  # other tests' conversations share the account: every search names it
    ours = await start_webchat(parley.base_url, center.address_sid, "Uma")
    theirs = await start_webchat(parley.base_url, elsewhere.address_sid, "Ike")
    async with RealtimeClient(parley.base_url, ours["token"]) as customer:
        await customer.send_message(
            ours["conversation_sid"], f"{tag} Mon colis est arrivé abîmé: je veux un Rembourser"
        )
        await customer.send_message(ours["conversation_sid"], f"{tag} The parcel arrived damaged, I want a refund")
    async with RealtimeClient(parley.base_url, theirs["token"]) as customer:
        await customer.send_message(theirs["conversation_sid"], f"{tag} Where is my refund?")

    async def found(client: httpx.AsyncClient, query: str) -> list[str]:
        answer = await ok(await client.get("/parley/v1/ConversationSearch", params={"Query": query}))
        return [c["conversation_sid"] for c in answer["conversations"]]

    # Every word must be in the conversation (any message), case and accents aside.
    assert await found(admin, f"REFUND parcel {tag}") == [ours["conversation_sid"]]
    assert set(await found(admin, f"refund {tag}")) == {ours["conversation_sid"], theirs["conversation_sid"]}
    assert await found(admin, f"abime rembourser {tag}") == [ours["conversation_sid"]]
    assert await found(admin, f"refund unicorn {tag}") == []
    answer = await ok(await admin.get("/parley/v1/ConversationSearch", params={"Query": f"damaged {tag}"}))
    [hit] = answer["conversations"]
    assert hit["customer_name"] == "Uma"
    # The message with the most of the words comes first.
    assert hit["messages"][0]["body"] == f"{tag} The parcel arrived damaged, I want a refund"
    assert (await admin.get("/parley/v1/ConversationSearch", params={"Query": "a"})).status_code == 400

    # A supervisor finds its workspace's conversations; an agent those it took part in.
    supervisor = agent_token(center.workspace_sid, None, identity="sam", role="supervisor")
    alice = agent_token(center.workspace_sid, center.workers["alice"], identity="alice")
    async with httpx.AsyncClient(base_url=parley.base_url, headers={"X-Twilio-Token": supervisor}) as sam:
        # The chat is the workspace's once routing made its task (a moment after the customer wrote).
        async def routed() -> list[str] | None:
            return await found(sam, "refund") or None

        assert await eventually(routed, what="the chat routed in sam's workspace") == [ours["conversation_sid"]]
    async with httpx.AsyncClient(base_url=parley.base_url, headers={"X-Twilio-Token": alice}) as agent:
        assert await found(agent, "refund") == []  # offered, never in the chat
        await ok(
            await admin.post(
                f"/conversations/v1/Conversations/{ours['conversation_sid']}/Participants",
                data={"Identity": "alice", "Attributes": json.dumps({"role": "agent"})},
            ),
            201,
        )
        assert await found(agent, "refund") == [ours["conversation_sid"]]
    async with httpx.AsyncClient(base_url=parley.base_url, headers={"X-Twilio-Token": ours["token"]}) as customer:
        assert (await customer.get("/parley/v1/ConversationSearch", params={"Query": "refund"})).status_code == 403

    # An edited message is found by its new words only; a removed one not at all.
    messages = await ok(await admin.get(f"/conversations/v1/Conversations/{theirs['conversation_sid']}/Messages"))
    message = messages["messages"][0]["sid"]
    path = f"/conversations/v1/Conversations/{theirs['conversation_sid']}/Messages/{message}"
    await ok(await admin.post(path, data={"Body": f"{tag} Where is my voucher?"}))
    assert await found(admin, f"voucher {tag}") == [theirs["conversation_sid"]]
    assert theirs["conversation_sid"] not in await found(admin, f"refund {tag}")
    assert (await admin.delete(path)).status_code == 204
    assert await found(admin, f"voucher {tag}") == []
