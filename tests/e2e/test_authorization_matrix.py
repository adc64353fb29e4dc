"""The authorization matrix (docs/security/authorization.md) as tables: each row is a caller, an action and the
status it gets. Callers: the account's admin, a supervisor of the workspace, a supervisor of another workspace,
an agent offered one chat and not the other, the customers of both chats, and another account (its admin on
REST, a chat token of it on the socket). A resource of another account is a 404 (it does not exist for the
caller); one of the caller's account outside its scope a 403; a token that proves nothing a 401."""

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
    offered_task: str
    other_task: str
    reservation: str  # alice's, for the offered chat
    offline: str
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    basic: dict[str, tuple[str, str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, who: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url, auth=self.basic.get(who), headers=self.headers.get(who, {}), timeout=30
        )

    def account_sids(self) -> list[str]:
        """SIDs of this account's resources: none may appear in an answer to another account."""
        return [self.workspace, self.offered_chat, self.other_chat, self.alice, self.offered_task, self.other_task]


def _signed(claims: dict[str, Any], secret: str, **changes: Any) -> str:
    return jwt.encode({**claims, **changes}, secret, algorithm="HS256", headers={"cty": "twilio-fpa;v=1"})


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
        other_service = await ok(await admin.post("/conversations/v1/Services", data={"FriendlyName": "Other"}), 201)
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
            offered_task=offer["data"]["task_sid"],
            other_task=other_task,
            reservation=offer["data"]["reservation_sid"],
            offline=center.activities["Offline"],
        )
        world.basic = {
            "admin": (account.account_sid, account.auth_token),
            "stranger": (stranger.api_key_sid, stranger.api_key_secret),
        }
        claims = jwt.decode(alice_token, options={"verify_signature": False})
        customer_claims = jwt.decode(first["token"], options={"verify_signature": False})
        later = int(time.time()) + 600
        world.tokens = {
            "supervisor": agent_token(center.workspace_sid, None, identity="sam", role="supervisor"),
            "other_supervisor": agent_token(elsewhere.workspace_sid, None, identity="sue", role="supervisor"),
            "agent": alice_token,
            "customer": first["token"],
            "other_customer": second["token"],
            # Another account's chat token for the same identity as this account's customer.
            "stranger_customer": _signed(
                {**customer_claims, "iss": stranger.api_key_sid, "sub": stranger.account_sid, "exp": later},
                stranger.api_key_secret,
            ),
            # The customer's identity, granted another Conversation Service of the account.
            "other_service_customer": _signed(
                {
                    **customer_claims,
                    "exp": later,
                    "grants": {**customer_claims["grants"], "chat": {"service_sid": other_service["sid"]}},
                },
                account.api_key_secret,
            ),
            # Refused outright (401):
            "expired": agent_token(center.workspace_sid, alice, identity="alice", ttl=-60),
            "tampered": alice_token[:-4] + ("AAAA" if not alice_token.endswith("AAAA") else "BBBB"),
            # Signed with another account's key, claiming this account as its subject.
            "forged": _signed(claims, stranger.api_key_secret, iss=stranger.api_key_sid, exp=later),
            # Signed with this account's key, naming another account as its subject.
            "foreign_subject": _signed(claims, account.api_key_secret, sub=stranger.account_sid),
            "no_exp": _signed({k: v for k, v in claims.items() if k != "exp"}, account.api_key_secret),
            "no_grant": _signed(claims, account.api_key_secret, grants={"identity": "alice"}),
            "agent_without_worker": _signed(
                claims,
                account.api_key_secret,
                grants={"identity": "alice", "task_router": {"workspace_sid": center.workspace_sid, "role": "worker"}},
            ),
            # Alice's real worker, under a grant naming another workspace of the account.
            "worker_of_another_workspace": agent_token(elsewhere.workspace_sid, alice, identity="alice"),
            "unknown_worker": agent_token(center.workspace_sid, "WK" + "0" * 32, identity="alice"),
        }
        world.headers = {who: {"X-Twilio-Token": token} for who, token in world.tokens.items()}
        yield world


CALLERS = ("admin", "supervisor", "other_supervisor", "agent", "customer", "other_customer", "stranger")
# The admin of another account (its own credentials, naming this account's SIDs) is always a 404.
STRANGER = {"stranger": 404}
OWN_ACCOUNT_LIST = {"admin": 200, "stranger": 200}  # each account sees its own, never the other's

# (method, what, path template, form data, {caller: status}, status of the callers not listed).
REST: list[tuple[str, str, str, dict[str, str], dict[str, int], int]] = [
    # Conversations: the admin all, a supervisor those routed in its workspace, an agent those it takes part
    # in, a customer its own.
    *[
        (
            "GET",
            what,
            f"/conversations/v1/Conversations/{{offered_chat}}{suffix}",
            {},
            {"admin": 200, "supervisor": 200, "agent": 200, "customer": 200, **STRANGER},
            403,
        )
        for what, suffix in (
            ("the chat the agent accepted", ""),
            ("its messages", "/Messages"),
            ("its participants", "/Participants"),
        )
    ],
    *[
        (
            "GET",
            what,
            f"/conversations/v1/Conversations/{{other_chat}}{suffix}",
            {},
            {"admin": 200, "supervisor": 200, "other_customer": 200, **STRANGER},
            403,
        )
        for what, suffix in (("a chat never offered to the agent", ""), ("its messages", "/Messages"))
    ],
    (
        "POST",
        "a message in the chat the agent accepted",
        "/conversations/v1/Conversations/{offered_chat}/Messages",
        {"Body": "matrix"},
        {"admin": 201, "agent": 201, "customer": 201, **STRANGER},
        403,  # a supervisor reads, it does not write as a participant
    ),
    (
        "POST",
        "a message in a chat never offered to the agent",
        "/conversations/v1/Conversations/{other_chat}/Messages",
        {"Body": "matrix"},
        {"admin": 201, "other_customer": 201, **STRANGER},
        403,
    ),
    ("GET", "the list of conversations", "/conversations/v1/Conversations", {}, OWN_ACCOUNT_LIST, 403),
    # TaskRouter: supervisors and agents their own workspace; agents their own worker and reservations.
    (
        "GET",
        "the workspace",
        "/taskrouter/v1/Workspaces/{workspace}",
        {},
        {"admin": 200, "supervisor": 200, "agent": 200, **STRANGER},
        403,
    ),
    (
        "GET",
        "another workspace",
        "/taskrouter/v1/Workspaces/{other_workspace}",
        {},
        {"admin": 200, "other_supervisor": 200, **STRANGER},
        403,
    ),
    (
        "GET",
        "the workspace's workers (the agent's transfer directory)",
        "/taskrouter/v1/Workspaces/{workspace}/Workers",
        {},
        {"admin": 200, "supervisor": 200, "agent": 200, **STRANGER},
        403,
    ),
    (
        "GET",
        "the agent's own worker",
        "/taskrouter/v1/Workspaces/{workspace}/Workers/{alice}",
        {},
        {"admin": 200, "supervisor": 200, "agent": 200, **STRANGER},
        403,
    ),
    (
        "GET",
        "another agent's worker",
        "/taskrouter/v1/Workspaces/{workspace}/Workers/{bob}",
        {},
        {"admin": 200, "supervisor": 200, **STRANGER},
        403,
    ),
    (
        "POST",
        "another agent's activity",
        "/taskrouter/v1/Workspaces/{workspace}/Workers/{bob}",
        {"ActivitySid": "{offline}"},
        {"admin": 200, "supervisor": 200, **STRANGER},
        403,
    ),
    (
        "GET",
        "the task offered to the agent",
        "/taskrouter/v1/Workspaces/{workspace}/Tasks/{offered_task}",
        {},
        {"admin": 200, "supervisor": 200, "agent": 200, **STRANGER},
        403,
    ),
    (
        "GET",
        "a task never offered to the agent",
        "/taskrouter/v1/Workspaces/{workspace}/Tasks/{other_task}",
        {},
        {"admin": 200, "supervisor": 200, **STRANGER},
        403,
    ),
    (
        "GET",
        "the agent's reservations",
        "/taskrouter/v1/Workspaces/{workspace}/Workers/{alice}/Reservations",
        {},
        {"admin": 200, "supervisor": 200, "agent": 200, **STRANGER},
        403,
    ),
    (
        "GET",
        "the agent's reservation",
        "/taskrouter/v1/Workspaces/{workspace}/Workers/{alice}/Reservations/{reservation}",
        {},
        {"admin": 200, "supervisor": 200, "agent": 200, **STRANGER},
        403,
    ),
    (
        "GET",
        "another agent's reservations",
        "/taskrouter/v1/Workspaces/{workspace}/Workers/{bob}/Reservations",
        {},
        {"admin": 200, "supervisor": 200, **STRANGER},
        403,
    ),
    (
        "GET",
        "the agent's own worker statistics",
        "/taskrouter/v1/Workspaces/{workspace}/Workers/{alice}/Statistics",
        {},
        {"admin": 200, "supervisor": 200, "agent": 200, **STRANGER},
        403,
    ),
    (
        "GET",
        "another worker's statistics",
        "/taskrouter/v1/Workspaces/{workspace}/Workers/{bob}/Statistics",
        {},
        {"admin": 200, "supervisor": 200, **STRANGER},
        403,
    ),
    # The desktop's tools: notes and customer history for the chat's agent and the workspace's supervisors,
    # never its customer; canned responses read by the workspace's agents, written by supervisors and admins.
    *[
        (method, what, f"/parley/v1/Conversations/{{offered_chat}}{suffix}", data, {**staff, **STRANGER}, 403)
        for method, what, suffix, data, staff in (
            ("GET", "the accepted chat's private notes", "/Notes", {}, {"admin": 200, "supervisor": 200, "agent": 200}),
            (
                "POST",
                "a private note on the accepted chat",
                "/Notes",
                {"Body": "Prefers email"},
                {"admin": 201, "supervisor": 201, "agent": 201},
            ),
            ("GET", "its customer's history", "/CustomerHistory", {}, {"admin": 200, "supervisor": 200, "agent": 200}),
        )
    ],
    (
        "GET",
        "the private notes of a chat never offered to the agent",
        "/parley/v1/Conversations/{other_chat}/Notes",
        {},
        {"admin": 200, "supervisor": 200, **STRANGER},
        403,
    ),
    (
        "GET",
        "a history search (each caller within its own scope)",
        "/parley/v1/ConversationSearch?Query=hello",
        {},
        {"admin": 200, "supervisor": 200, "other_supervisor": 200, "agent": 200, "stranger": 200},
        403,
    ),
    (
        "GET",
        "the workspace's canned responses",
        "/parley/v1/Workspaces/{workspace}/CannedResponses",
        {},
        {"admin": 200, "supervisor": 200, "agent": 200, **STRANGER},
        403,
    ),
    (
        "POST",
        "a canned response",
        "/parley/v1/Workspaces/{workspace}/CannedResponses",
        {"Title": "Greeting", "Body": "Hello!"},
        {"admin": 201, "supervisor": 201, **STRANGER},
        403,
    ),
    # The account's own administration: account credentials only.
    (
        "POST",
        "a supervisor token for the workspace",
        "/parley/v1/Tokens",
        {"WorkspaceSid": "{workspace}"},
        {"admin": 201, **STRANGER},
        403,
    ),
    ("GET", "the Conversations configuration", "/conversations/v1/Configuration", {}, OWN_ACCOUNT_LIST, 403),
    ("GET", "the Conversation Services", "/conversations/v1/Services", {}, OWN_ACCOUNT_LIST, 403),
    ("GET", "the account's outbox", "/parley/v1/Outbox", {}, OWN_ACCOUNT_LIST, 403),
    ("GET", "the audit log", "/parley/v1/AuditEvents", {}, OWN_ACCOUNT_LIST, 403),
]


def _cases() -> list[Any]:
    cases = []
    for method, what, path, data, expected, default in REST:
        for caller in CALLERS:
            status = expected.get(caller, default)
            cases.append(pytest.param(method, path, data, caller, status, id=f"{caller} {method} {what} -> {status}"))
    return cases


@pytest.mark.parametrize("method, path, data, caller, status", _cases())
async def test_rest_matrix(world: World, method: str, path: str, data: dict[str, str], caller: str, status: int):
    url = path.format(**vars(world))
    async with world.client(caller) as client:
        if method == "GET":
            response = await client.get(url)
        else:
            response = await client.post(url, data={k: v.format(**vars(world)) for k, v in data.items()})
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.json()["code"] in (20003, 20404) and "hello" not in response.text
    # Another account's own lists hold nothing of this one (a 404 names only the path it was asked for, and
    # its audit log records its own refused attempts).
    if caller == "stranger" and status < 400 and "AuditEvents" not in path:
        assert not any(sid in response.text for sid in world.account_sids()), response.text


async def test_lists_hold_only_what_the_caller_may_see(world: World):
    """A 200 on a list is no licence: an agent's task list holds the tasks offered to it, and its reservation
    list its own; the supervisor's holds the workspace's."""
    tasks = f"/taskrouter/v1/Workspaces/{world.workspace}/Tasks"
    async with world.client("agent") as agent, world.client("supervisor") as supervisor:
        offered = {t["sid"] for t in (await ok(await agent.get(tasks)))["tasks"]}
        everything = {t["sid"] for t in (await ok(await supervisor.get(tasks)))["tasks"]}
        filtered = await agent.get(tasks, params={"AssignmentStatus": "pending"})
        foreign = await agent.get(
            f"/taskrouter/v1/Workspaces/{world.workspace}/Tasks/{world.other_task}/Reservations",
            params={"WorkerSid": world.bob},
        )
    assert offered == {world.offered_task}
    assert {world.offered_task, world.other_task} <= everything
    assert world.other_task not in filtered.text
    assert foreign.status_code == 403


@pytest.mark.parametrize(
    "token",
    [
        "expired",
        "tampered",
        "forged",
        "foreign_subject",
        "no_exp",
        "no_grant",
        "agent_without_worker",
        "worker_of_another_workspace",
        "unknown_worker",
    ],
)
async def test_bad_tokens_are_refused_on_rest_and_the_socket(world: World, token: str):
    async with world.client(token) as client:
        response = await client.get(f"/taskrouter/v1/Workspaces/{world.workspace}")
    assert response.status_code == 401 and response.json()["code"] == 20003, response.text
    async with RealtimeClient(world.base_url, world.tokens[token]) as socket:
        assert socket.frames[0]["type"] == "error" and socket.frames[0]["code"] == 20003
        assert socket.frames[0]["status"] == 401


async def test_a_chat_grant_for_another_service_reaches_none_of_this_ones_conversations(world: World):
    """The grant is the token's audience: the customer's identity, granted another Conversation Service, reads
    nothing of the default service's, on the short paths or the socket."""
    async with world.client("other_service_customer") as client:
        for suffix in ("", "/Messages", "/Participants"):
            refused = await client.get(f"/conversations/v1/Conversations/{world.offered_chat}{suffix}")
            assert refused.status_code == 403 and "hello" not in refused.text, refused.text
        write = await client.post(f"/conversations/v1/Conversations/{world.offered_chat}/Messages", data={"Body": "x"})
        assert write.status_code == 403
    async with RealtimeClient(world.base_url, world.tokens["other_service_customer"]) as socket:
        frame_id = await socket.send({"type": "subscribe", "stream": world.offered_chat})
        answer = await socket.wait_for(lambda f: f.get("id") == frame_id)
    assert answer["type"] == "error" and answer["code"] == 20003


SOCKET_CALLERS = ("supervisor", "other_supervisor", "agent", "customer", "other_customer", "stranger_customer")
# (what, stream template, callers that may follow it); the others get 20003, or 20404 from another account.
SOCKET: list[tuple[str, str, set[str]]] = [
    ("the chat the agent accepted", "{offered_chat}", {"supervisor", "agent", "customer"}),
    ("a chat never offered to the agent", "{other_chat}", {"supervisor", "other_customer"}),
    ("the agent's worker stream", "{alice}", {"supervisor", "agent"}),
    ("another agent's worker stream", "{bob}", {"supervisor"}),
]


def _refusal(caller: str, target: str) -> int:
    """A conversation of this account does not exist for another account's token; a worker stream is refused
    to every chat token alike."""
    return 20404 if caller == "stranger_customer" and target.endswith("_chat}") else 20003


@pytest.mark.parametrize(
    "stream, caller, allowed",
    [
        pytest.param(
            stream, caller, caller in allowed, id=f"{caller} follows {what} -> {'yes' if caller in allowed else 'no'}"
        )
        for what, stream, allowed in SOCKET
        for caller in SOCKET_CALLERS
    ],
)
async def test_socket_matrix(world: World, stream: str, caller: str, allowed: bool):
    async with RealtimeClient(world.base_url, world.tokens[caller]) as socket:
        frame_id = await socket.send({"type": "subscribe", "stream": stream.format(**vars(world))})
        answer = await socket.wait_for(lambda f: f.get("id") == frame_id)
    assert (answer["type"] == "subscribed") is allowed, answer
    if not allowed:
        assert answer["code"] == _refusal(caller, stream) and not socket.events(stream.format(**vars(world)))


@pytest.mark.parametrize(
    "chat, caller, allowed",
    [
        pytest.param(
            chat, caller, caller in allowed, id=f"{caller} writes in {what} -> {'yes' if caller in allowed else 'no'}"
        )
        for what, chat, allowed in (
            ("the chat the agent accepted", "{offered_chat}", {"agent", "customer"}),
            ("a chat never offered to the agent", "{other_chat}", {"other_customer"}),
        )
        for caller in SOCKET_CALLERS
    ],
)
async def test_socket_send_message_matrix(world: World, chat: str, caller: str, allowed: bool):
    async with RealtimeClient(world.base_url, world.tokens[caller]) as socket:
        frame_id = await socket.send(
            {"type": "send_message", "conversation_sid": chat.format(**vars(world)), "body": "over the socket"}
        )
        answer = await socket.wait_for(lambda f: f.get("id") == frame_id)
    assert (answer["type"] == "ack") is allowed, answer
    if not allowed:
        assert answer["code"] == _refusal(caller, chat) and answer["status"] in (403, 404)
