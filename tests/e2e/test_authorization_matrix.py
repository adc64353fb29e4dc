"""The authorization matrix (docs/security/authorization.md) as a table: each row is a caller, an action and the
status it gets. Callers: the account's admin, a supervisor of the workspace, a supervisor of another workspace,
an agent offered one chat and not the other, the customers of both chats, and another account's admin. A
resource of another account is a 404 (it does not exist for the caller); one of the caller's account outside
its scope a 403."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest

from storage.accounts.service import create_account
from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually


@dataclass
class World:
    base_url: str
    workspace: str
    other_workspace: str
    offered_chat: str  # offered to alice, who accepted it
    other_chat: str  # routed in the workspace, never offered to alice
    alice: str
    bob: str
    other_task: str
    offline: str
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    basic: dict[str, tuple[str, str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, who: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url, auth=self.basic.get(who), headers=self.headers.get(who, {}), timeout=30
        )


@pytest.fixture(scope="module")
async def world(parley, db, account, agent_token) -> AsyncIterator[World]:
    async with (
        httpx.AsyncClient(
            base_url=parley.base_url, auth=(account.account_sid, account.auth_token), timeout=30
        ) as admin,
        contextlib.AsyncExitStack() as stack,
    ):
        # One chat at a time: once alice holds the first, the second waits in the queue, offered to nobody.
        center = await build_contact_center(
            admin,
            name="Matrix",
            agents={"alice": agent_attributes("alice"), "bob": agent_attributes("bob")},
            chat_capacity=1,
        )
        elsewhere = await build_contact_center(admin, name="Elsewhere", agents={"carl": agent_attributes("carl")})
        alice, bob = center.workers["alice"], center.workers["bob"]
        alice_token = agent_token(center.workspace_sid, alice, identity="alice")
        await ok(
            await admin.post(center.path(f"/Workers/{alice}"), data={"ActivitySid": center.activities["Available"]})
        )
        first = await start_webchat(parley.base_url, center.address_sid, "Gia")
        # Alice's desktop stays connected for the whole module (a vanished desktop's chats are re-queued).
        agent = await stack.enter_async_context(RealtimeClient(parley.base_url, alice_token))
        async with RealtimeClient(parley.base_url, first["token"]) as customer:
            await agent.subscribe(alice)
            await customer.send_message(first["conversation_sid"], "hello")
            offer = await agent.wait_event(alice, "reservation.created")
            # Accepted: alice joins the conversation (an offer alone shows its task, not the transcript).
            await ok(
                await admin.post(
                    center.path(f"/Workers/{alice}/Reservations/{offer['data']['reservation_sid']}"),
                    data={"ReservationStatus": "accepted"},
                )
            )
        second = await start_webchat(parley.base_url, center.address_sid, "Hal")
        async with RealtimeClient(parley.base_url, second["token"]) as customer:
            await customer.send_message(second["conversation_sid"], "anyone?")

        async def second_task() -> list[str]:
            tasks = (await ok(await admin.get(center.path("/Tasks"))))["tasks"]
            attributes = {t["sid"]: json.loads(t["attributes"]) for t in tasks}
            return [sid for sid, a in attributes.items() if a.get("conversationSid") == second["conversation_sid"]]

        [other_task] = await eventually(second_task, what="the second chat's task")
        async with db.unit() as uow:
            stranger = await create_account(uow, friendly_name="Stranger")
        world = World(
            base_url=parley.base_url,
            workspace=center.workspace_sid,
            other_workspace=elsewhere.workspace_sid,
            offered_chat=first["conversation_sid"],
            other_chat=second["conversation_sid"],
            alice=alice,
            bob=bob,
            other_task=other_task,
            offline=center.activities["Offline"],
        )
        world.basic = {
            "admin": (account.account_sid, account.auth_token),
            "stranger": (stranger.api_key_sid, stranger.api_key_secret),
        }
        world.tokens = {
            "supervisor": agent_token(center.workspace_sid, None, identity="sam", role="supervisor"),
            "other_supervisor": agent_token(elsewhere.workspace_sid, None, identity="sue", role="supervisor"),
            "agent": alice_token,
            "customer": first["token"],
            "other_customer": second["token"],
            "expired": agent_token(center.workspace_sid, alice, identity="alice", ttl=-60),
            "tampered": alice_token[:-4] + ("AAAA" if not alice_token.endswith("AAAA") else "BBBB"),
            # Signed with another account's key, claiming this account as its subject.
            "forged": jwt.encode(
                {
                    **jwt.decode(alice_token, options={"verify_signature": False}),
                    "iss": stranger.api_key_sid,
                    "exp": int(time.time()) + 600,
                },
                stranger.api_key_secret,
                algorithm="HS256",
            ),
        }
        world.headers = {who: {"X-Twilio-Token": token} for who, token in world.tokens.items()}
        yield world


CALLERS = ("admin", "supervisor", "other_supervisor", "agent", "customer", "other_customer", "stranger")

# (action, path template, {caller: status}); a caller not listed gets the row's default.
REST: list[tuple[str, str, str, dict[str, int], int]] = [
    (
        "GET",
        "the chat the agent accepted",
        "/conversations/v1/Conversations/{offered_chat}",
        {"admin": 200, "supervisor": 200, "agent": 200, "customer": 200, "stranger": 404},
        403,
    ),
    (
        "GET",
        "its messages",
        "/conversations/v1/Conversations/{offered_chat}/Messages",
        {"admin": 200, "supervisor": 200, "agent": 200, "customer": 200, "stranger": 404},
        403,
    ),
    (
        "GET",
        "a chat never offered to the agent",
        "/conversations/v1/Conversations/{other_chat}",
        {"admin": 200, "supervisor": 200, "other_customer": 200, "stranger": 404},
        403,
    ),
    ("GET", "the list of conversations", "/conversations/v1/Conversations", {"admin": 200, "stranger": 200}, 403),
    (
        "GET",
        "the workspace",
        "/taskrouter/v1/Workspaces/{workspace}",
        {"admin": 200, "supervisor": 200, "agent": 200, "stranger": 404},
        403,
    ),
    (
        "GET",
        "another workspace",
        "/taskrouter/v1/Workspaces/{other_workspace}",
        {"admin": 200, "other_supervisor": 200, "stranger": 404},
        403,
    ),
    (
        "GET",
        "a task never offered to the agent",
        "/taskrouter/v1/Workspaces/{workspace}/Tasks/{other_task}",
        {"admin": 200, "supervisor": 200, "stranger": 404},
        403,
    ),
    (
        "POST",
        "another agent's activity",
        "/taskrouter/v1/Workspaces/{workspace}/Workers/{bob}",
        {"admin": 200, "supervisor": 200, "stranger": 404},
        403,
    ),
    (
        "GET",
        "the agent's own worker statistics",
        "/taskrouter/v1/Workspaces/{workspace}/Workers/{alice}/Statistics",
        {"admin": 200, "supervisor": 200, "agent": 200, "stranger": 404},
        403,
    ),
    (
        "GET",
        "another worker's statistics",
        "/taskrouter/v1/Workspaces/{workspace}/Workers/{bob}/Statistics",
        {"admin": 200, "supervisor": 200, "stranger": 404},
        403,
    ),
    ("GET", "the account's outbox", "/parley/v1/Outbox", {"admin": 200, "stranger": 200}, 403),
    ("GET", "the audit log", "/parley/v1/AuditEvents", {"admin": 200, "stranger": 200}, 403),
]


def _cases() -> list[Any]:
    cases = []
    for method, what, path, expected, default in REST:
        for caller in CALLERS:
            status = expected.get(caller, default)
            cases.append(pytest.param(method, path, caller, status, id=f"{caller} {method} {what} -> {status}"))
    return cases


@pytest.mark.parametrize("method, path, caller, status", _cases())
async def test_rest_matrix(world: World, method: str, path: str, caller: str, status: int):
    url = path.format(**vars(world))
    async with world.client(caller) as client:
        if method == "GET":
            response = await client.get(url)
        else:
            response = await client.post(url, data={"ActivitySid": world.offline})
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.json()["code"] in (20003, 20404) and "hello" not in response.text


@pytest.mark.parametrize("token", ["expired", "tampered", "forged"])
async def test_bad_tokens_are_refused_on_rest_and_the_socket(world: World, token: str):
    async with world.client(token) as client:
        response = await client.get(f"/taskrouter/v1/Workspaces/{world.workspace}")
    assert response.status_code == 401 and response.json()["code"] == 20003
    async with RealtimeClient(world.base_url, world.tokens[token]) as socket:
        assert socket.frames[0]["type"] == "error" and socket.frames[0]["code"] == 20003


SOCKET: list[tuple[str, str, set[str]]] = [
    ("the chat the agent accepted", "{offered_chat}", {"supervisor", "agent", "customer"}),
    ("a chat never offered to the agent", "{other_chat}", {"supervisor", "other_customer"}),
    ("the agent's worker stream", "{alice}", {"supervisor", "agent"}),
    ("another agent's worker stream", "{bob}", {"supervisor"}),
]


@pytest.mark.parametrize(
    "stream, caller, allowed",
    [
        pytest.param(
            stream, caller, caller in allowed, id=f"{caller} follows {what} -> {'yes' if caller in allowed else 'no'}"
        )
        for what, stream, allowed in SOCKET
        for caller in ("supervisor", "other_supervisor", "agent", "customer", "other_customer")
    ],
)
async def test_socket_matrix(world: World, stream: str, caller: str, allowed: bool):
    async with RealtimeClient(world.base_url, world.tokens[caller]) as socket:
        frame_id = await socket.send({"type": "subscribe", "stream": stream.format(**vars(world))})
        answer = await socket.wait_for(lambda f: f.get("id") == frame_id)
    assert (answer["type"] == "subscribed") is allowed, answer
    if not allowed:
        assert answer["code"] == 20003
