"""Abuse limits (docs/security/abuse-limits.md): a web chat visitor, a credential and a client that keeps failing
authentication are cut off with Twilio's 429 and a Retry-After, and a body over its limit is a 413, all before
anything is written; normal traffic never meets them.

The session's api process has the default limits; the cases that need a small limit, a short window or a client
IP of their own run a second Parley app in this process (httpx's ASGI transport names the client address)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import TaskRouterGrant

from api.app import create_app
from api.throttle import FailureWindows, TokenBuckets
from core.settings import Settings
from domain.limits import REQUEST_BODY_LIMIT, WEBCHAT_START_BURST
from storage.accounts.service import Credentials, create_account
from storage.db import Database
from tests.conftest import TASK_QUEUE
from tests.support.contact_center import ok
from tests.support.realtime import RealtimeClient

CONVERSATIONS = "/conversations/v1/Conversations"
WORKSPACES = "/taskrouter/v1/Workspaces"


@pytest.fixture
async def fresh(db: Database) -> Credentials:
    """An account of its own, so counting its conversations counts only this test's."""
    async with db.unit() as uow:
        return await create_account(uow, friendly_name="Abuse limits")


@pytest.fixture
async def fresh_admin(parley: Any, fresh: Credentials) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=parley.base_url, auth=(fresh.account_sid, fresh.auth_token), timeout=30
    ) as client:
        yield client


@pytest.fixture
def second_app(database_url: str, temporal: Client, tmp_path: Path) -> Callable[..., Any]:
    """A Parley app of its own, in this process, with the given abuse-limit settings; each client it hands out
    calls from the given IP."""

    @asynccontextmanager
    async def start(**limits: Any) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            DATABASE_URL=database_url,
            TEMPORAL_ADDRESS=temporal.service_client.config.target_host,
            env="test",
            task_queue=TASK_QUEUE,
            media_dir=tmp_path,
            db_pool_size=2,
            **limits,
        )
        app = create_app(settings, temporal=temporal)
        async with app.router.lifespan_context(app):

            def client(ip: str) -> httpx.AsyncClient:
                transport = httpx.ASGITransport(app=app, client=(ip, 40_000))
                return httpx.AsyncClient(transport=transport, base_url="http://parley.test", timeout=30)

            yield client

    return start


def assert_rate_limited(response: httpx.Response) -> int:
    """Twilio's 429 body and a Retry-After in whole seconds; returns the seconds."""
    assert response.status_code == 429, response.text
    body = response.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert body["code"] == 20429 and body["status"] == 429
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20429"
    retry_after = int(response.headers["retry-after"])
    assert retry_after >= 1
    return retry_after


async def chat_address(admin: httpx.AsyncClient, name: str) -> str:
    """An enabled `chat` address configuration without routing: a web chat start only creates a conversation."""
    created = await admin.post(
        "/conversations/v1/Configuration/Addresses",
        data={"Type": "chat", "Address": name, "AutoCreation.Enabled": "true", "AutoCreation.Type": "default"},
    )
    return str((await ok(created, 201))["sid"])


async def conversation_count(admin: httpx.AsyncClient) -> int:
    listing = await ok(await admin.get(CONVERSATIONS, params={"PageSize": "100"}))
    return len(listing["conversations"])


async def test_the_eleventh_web_chat_start_from_one_ip_within_a_minute_is_refused_and_creates_nothing(
    parley: Any, fresh_admin: httpx.AsyncClient
) -> None:
    address = await chat_address(fresh_admin, "abuse-webchat")
    other_site = await chat_address(fresh_admin, "abuse-webchat-other")
    before = await conversation_count(fresh_admin)
    async with httpx.AsyncClient(base_url=parley.base_url) as visitor:
        start = {"AddressSid": address, "CustomerFriendlyName": "Spammer"}
        for _ in range(WEBCHAT_START_BURST):
            await ok(await visitor.post("/flex-api/v2/WebChats", data=start), 201)
        refused = await visitor.post("/flex-api/v2/WebChats", data=start)
        retry_after = assert_rate_limited(refused)
        assert retry_after <= 60 / 10 + 1  # a start comes back every six seconds
        # The limit is per address: the same visitor may still start a chat on another site of the account.
        await ok(await visitor.post("/flex-api/v2/WebChats", data={"AddressSid": other_site}), 201)
    assert await conversation_count(fresh_admin) == before + WEBCHAT_START_BURST + 1


async def test_twenty_wrong_passwords_lock_the_sid_even_for_the_right_password_until_retry_after(
    second_app: Callable[..., Any], fresh: Credentials
) -> None:
    async with second_app(auth_failure_window=2.0) as client, client("198.51.100.20") as attacker:
        answers = [
            (await attacker.get(WORKSPACES, auth=(fresh.account_sid, f"guess-{i}"))).status_code for i in range(20)
        ]
        assert answers == [401] * 10 + [429] * 10
        # Locked: the right password is not even checked.
        locked = await attacker.get(WORKSPACES, auth=(fresh.account_sid, fresh.auth_token))
        retry_after = assert_rate_limited(locked)
        assert retry_after <= 2
        # Another credential of the account is not locked, and its success resets nobody's counter.
        await ok(await attacker.get(WORKSPACES, auth=(fresh.api_key_sid, fresh.api_key_secret)))
        assert_rate_limited(await attacker.get(WORKSPACES, auth=(fresh.account_sid, fresh.auth_token)))
        await asyncio.sleep(retry_after)
        await ok(await attacker.get(WORKSPACES, auth=(fresh.account_sid, fresh.auth_token)))


async def test_one_ip_that_keeps_failing_authentication_is_refused_whatever_the_credentials(
    second_app: Callable[..., Any], fresh: Credentials
) -> None:
    async with second_app(auth_failures_per_ip=5) as client:
        async with client("198.51.100.30") as sprayer, client("198.51.100.31") as neighbour:
            for i in range(5):
                refused = await sprayer.get(WORKSPACES, auth=(f"AC{i:032x}", "guess"))
                assert refused.status_code == 401, refused.text
            assert_rate_limited(await sprayer.get(WORKSPACES, auth=(fresh.account_sid, fresh.auth_token)))
            assert_rate_limited(await sprayer.get(WORKSPACES, headers={"X-Twilio-Token": "garbage"}))
            # Another client IP with the same credentials is not affected.
            await ok(await neighbour.get(WORKSPACES, auth=(fresh.account_sid, fresh.auth_token)))


async def test_a_credential_over_its_rate_gets_a_429_and_a_token_identity_has_its_own_budget(
    second_app: Callable[..., Any], fresh: Credentials
) -> None:
    token = AccessToken(fresh.account_sid, fresh.api_key_sid, fresh.api_key_secret, identity="sup-ida")
    token.add_grant(TaskRouterGrant(workspace_sid="WS" + "0" * 32, role="supervisor"))
    async with (
        second_app(credential_requests_per_second=0.5, credential_request_burst=3) as client,
        client("198.51.100.40") as caller,
    ):
        for _ in range(3):
            await ok(await caller.get(WORKSPACES, auth=(fresh.account_sid, fresh.auth_token)))
        assert assert_rate_limited(await caller.get(WORKSPACES, auth=(fresh.account_sid, fresh.auth_token))) == 2
        # The API key and a token's identity are other credentials.
        await ok(await caller.get(WORKSPACES, auth=(fresh.api_key_sid, fresh.api_key_secret)))
        supervisor = await caller.get(WORKSPACES, headers={"X-Twilio-Token": token.to_jwt()})
        assert supervisor.status_code == 200, supervisor.text


async def test_a_2_mib_form_body_is_a_413_before_anything_is_written(
    parley: Any, fresh_admin: httpx.AsyncClient
) -> None:
    before = await conversation_count(fresh_admin)
    refused = await fresh_admin.post(CONVERSATIONS, data={"FriendlyName": "x" * (2 * 1024 * 1024)})
    assert refused.status_code == 413, refused.text
    assert refused.json() == {
        "code": 20413,
        "message": f"The request body must be at most {REQUEST_BODY_LIMIT} bytes, got {2 * 1024 * 1024 + 13}",
        "more_info": "https://www.twilio.com/docs/errors/20413",
        "status": 413,
    }
    # Nothing was written, and the same keep-alive connection serves the next request.
    assert await conversation_count(fresh_admin) == before


async def test_a_chunked_body_without_content_length_is_cut_off_at_the_limit(
    parley: Any, fresh_admin: httpx.AsyncClient
) -> None:
    chunk = b"x" * (64 * 1024)
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b"FriendlyName="
        for _ in range(32):  # 2 MiB
            sent += len(chunk)
            yield chunk

    before = await conversation_count(fresh_admin)
    refused = await fresh_admin.post(
        CONVERSATIONS, content=body(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert "content-length" not in refused.request.headers
    assert refused.request.headers["transfer-encoding"] == "chunked"
    assert refused.status_code == 413, refused.text
    assert refused.json()["code"] == 20413
    assert refused.json()["message"] == f"The request body must be at most {REQUEST_BODY_LIMIT} bytes"
    assert await conversation_count(fresh_admin) == before


async def test_normal_traffic_never_meets_the_limits(parley: Any, fresh_admin: httpx.AsyncClient) -> None:
    # A burst of concurrent requests from one credential.
    answers = await asyncio.gather(*(fresh_admin.get(WORKSPACES) for _ in range(100)))
    assert [a.status_code for a in answers] == [200] * 100
    # A body just under the limit reaches its route (which refuses the oversized attribute itself).
    attributes = json.dumps({"pad": "x" * (REQUEST_BODY_LIMIT - 200)})
    near = await fresh_admin.post(CONVERSATIONS, data={"Attributes": attributes})
    assert near.status_code == 400 and near.json()["code"] != 20413, near.text
    # A workflow's body may be larger: its Configuration may be ~1 MB of JSON, tripled by form encoding.
    big = await fresh_admin.post(
        f"{WORKSPACES}/WS{'0' * 32}/Workflows", data={"FriendlyName": "big", "Configuration": "x" * 1_500_000}
    )
    assert big.status_code in (400, 404) and big.json()["code"] != 20413, big.text
    created = await ok(await fresh_admin.post(CONVERSATIONS, data={"FriendlyName": "ordinary"}), 201)
    assert created["friendly_name"] == "ordinary"


async def test_a_websocket_flooding_frames_is_answered_with_429_errors_and_stays_open(
    parley: Any, agent_token: Callable[..., str]
) -> None:
    token = agent_token("WS" + "0" * 32, None, identity="sup-flood", role="supervisor")
    async with RealtimeClient(parley.base_url, token) as socket:
        ids = [await socket.send({"type": "ping"}) for _ in range(400)]
        await socket.wait_for(lambda f: f.get("id") == ids[-1])
        replies = {f["id"]: f for f in socket.frames if f.get("id") in set(ids)}
        pongs = [i for i in ids if replies[i]["type"] == "pong"]
        limited = [replies[i] for i in ids if replies[i]["type"] == "error"]
        assert len(pongs) >= 200 and limited, (len(pongs), len(limited))
        assert all(f["code"] == 20429 and f["retry_after"] >= 1 for f in limited)
        # After a pause the socket serves again.
        await asyncio.sleep(1.1)
        again = await socket.send({"type": "ping"})
        assert (await socket.wait_for(lambda f: f.get("id") == again))["type"] == "pong"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_bursts_then_holds_the_client_to_its_rate_and_says_how_long_to_wait() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate=0.5, burst=3, clock=clock)
    assert [buckets.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("k") == pytest.approx(2.0)
    clock.now += 2.0
    assert buckets.take("k") == 0.0
    assert buckets.take("other") == 0.0  # keys do not share


def test_failures_block_a_key_until_the_oldest_ages_out() -> None:
    clock = FakeClock()
    failures = FailureWindows(limit=2, window=10.0, clock=clock)
    failures.record("u")
    clock.now += 4
    failures.record("u")
    assert failures.blocked_for("u") == pytest.approx(6.0)
    clock.now += 6
    assert failures.blocked_for("u") == 0.0  # the first failure aged out: one more try


def test_a_flood_of_new_keys_cannot_grow_the_table_without_bound() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate=1.0, burst=1, clock=clock, max_keys=100)
    for i in range(10_000):
        buckets.take(f"ip-{i}")  # every one still active: its bucket is empty
    assert len(buckets.entries) <= 100
    assert buckets.take("ip-9999") > 0  # the newest are remembered
