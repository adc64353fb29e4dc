"""An api process whose PostgreSQL or Temporal goes away answers Twilio's 503 with Retry-After at once (never a
500, never a 30 s hang), says in /healthz which dependency is down, and serves again by itself when it is back;
a saturated one sheds requests with a 503 + Retry-After instead of queueing them (docs/operations.md).

Each test runs an api process of its own, pointed at the session's database and Temporal server through TCP
proxies on loopback (tests/support/tcp_proxy.py) that the test cuts and restores; the session's worker keeps
working directly against both."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from temporalio.client import Client

from storage.accounts.service import Credentials
from tests.conftest import Parley
from tests.support.contact_center import build_contact_center, ok
from tests.support.services import Process, another_api_env, free_port, wait_healthy
from tests.support.tcp_proxy import TcpProxy, tcp_proxy
from tests.support.waiting import eventually

# Short, so a cut database costs a request this long, not DB_ACQUIRE_TIMEOUT.
ACQUIRE_TIMEOUT = 1.0
WORKSPACES = "/taskrouter/v1/Workspaces"


@contextmanager
def own_api(parley: Parley, name: str, **env: str) -> Iterator[tuple[str, Process]]:
    """An api process of its own with the session's environment but for `env`; yields its base URL."""
    port = free_port()
    own = another_api_env(parley.env, port, **env)
    api = Process(name, "api", own)
    api.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, api)
        yield base_url, api
    finally:
        api.stop()


def postgres_proxy(database_url: str) -> AbstractContextManager[TcpProxy]:
    """A proxy in front of the database's server: its TCP address, or its Unix socket (an embedded PostgreSQL
    names its socket directory in the `host` query parameter)."""
    parts = urlsplit(database_url)
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    port = parts.port or 5432
    if socket_dir.startswith("/"):
        return tcp_proxy(f"{socket_dir}/.s.PGSQL.{port}")
    return tcp_proxy((parts.hostname or "127.0.0.1", port))


def via_proxy(database_url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(database_url)
    userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in ("host", "port")])
    return urlunsplit((parts.scheme, userinfo + proxy.address, parts.path, query, parts.fragment))


def temporal_proxy(target_host: str) -> AbstractContextManager[TcpProxy]:
    host, _, port = target_host.rpartition(":")
    return tcp_proxy((host or "127.0.0.1", int(port)))


@pytest.fixture
async def client_of(account: Credentials) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(base_url: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=base_url, auth=(account.account_sid, account.auth_token), timeout=30)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def assert_unavailable(response: httpx.Response) -> dict[str, Any]:
    """Twilio's 503 body (error 20503) with a Retry-After in whole seconds."""
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    body: dict[str, Any] = response.json()
    assert body["code"] == 20503 and body["status"] == 503, body
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20503"
    return body


async def test_a_lost_database_is_a_quick_503_and_the_api_recovers_by_itself(
    parley: Parley, database_url: str, client_of: Callable[[str], httpx.AsyncClient]
) -> None:
    with (
        postgres_proxy(database_url) as proxy,
        own_api(
            parley,
            "api-db-outage",
            DATABASE_URL=via_proxy(database_url, proxy),
            PARLEY_DB_ACQUIRE_TIMEOUT=str(ACQUIRE_TIMEOUT),
        ) as (base_url, api),
    ):
        admin = client_of(base_url)
        await ok(await admin.get(WORKSPACES))

        proxy.sever()
        # The first request meets a pooled connection that just died, the next ones an empty pool: every one
        # is a 503 within the acquire timeout (plus slack for a loaded machine), reads and writes alike.
        for request in (
            lambda: admin.get(WORKSPACES),
            lambda: admin.post(WORKSPACES, data={"FriendlyName": "During the outage"}),
            lambda: admin.get(WORKSPACES),
        ):
            started = time.monotonic()
            body = assert_unavailable(await request())
            assert time.monotonic() - started < ACQUIRE_TIMEOUT + 3, body
            assert "PostgreSQL" in body["message"], body

        health = await admin.get("/healthz")
        assert health.status_code == 503 and int(health.headers["retry-after"]) >= 1
        assert health.json()["postgres"].startswith("error") and health.json()["temporal"] == "ok", health.json()

        proxy.restore()

        async def serving() -> bool:
            return (await admin.get(WORKSPACES)).status_code == 200

        await eventually(serving, timeout=30, what="the api serving again once PostgreSQL is back")
        assert (await admin.get("/healthz")).status_code == 200
        assert api.proc is not None and api.proc.poll() is None  # the same process: nothing restarted it


async def test_without_temporal_state_changes_still_succeed_and_healthz_says_so(
    parley: Parley, temporal: Client, client_of: Callable[[str], httpx.AsyncClient]
) -> None:
    with (
        temporal_proxy(temporal.service_client.config.target_host) as proxy,
        own_api(parley, "api-temporal-outage", TEMPORAL_ADDRESS=proxy.address) as (base_url, _),
    ):
        admin = client_of(base_url)
        center = await build_contact_center(admin, agents={}, name="Temporal outage")

        proxy.sever()

        async def temporal_reported_down() -> dict[str, Any] | None:
            health = await admin.get("/healthz")
            return health.json() if health.status_code == 503 else None

        report = await eventually(temporal_reported_down, what="/healthz reporting Temporal down")
        assert report["postgres"] == "ok" and report["temporal"].startswith("error"), report

        # A task is created through the transactional outbox: it needs no Temporal to be accepted, and its
        # workflow starts once the command reaches Temporal (here the worker's sweeper, which still can).
        task = await ok(
            await admin.post(
                center.path("/Tasks"),
                data={"WorkflowSid": center.workflow_sid, "Attributes": json.dumps({"channelType": "web"})},
            ),
            201,
        )

        async def workflow_started() -> bool:
            try:
                await temporal.get_workflow_handle(task["sid"]).describe()
            except Exception:
                return False
            return True

        await eventually(workflow_started, timeout=30, what="the task's workflow started from the outbox")

        proxy.restore()

        async def healthy() -> bool:
            return (await admin.get("/healthz")).status_code == 200

        await eventually(healthy, timeout=30, what="/healthz 200 once Temporal is back")


async def test_a_saturated_api_sheds_requests_with_503_and_retry_after(
    parley: Parley, client_of: Callable[[str], httpx.AsyncClient]
) -> None:
    limit = 2
    with own_api(parley, "api-in-flight-cap", PARLEY_MAX_IN_FLIGHT_REQUESTS=str(limit)) as (base_url, _):
        admin = client_of(base_url)
        port = int(base_url.rsplit(":", 1)[1])
        # Requests that stay in progress: their headers are in, their bodies never finish arriving.
        held: list[asyncio.StreamWriter] = []
        for _ in range(limit):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                f"POST {WORKSPACES} HTTP/1.1\r\nHost: parley\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: 1000\r\n\r\nFriendlyName=".encode()
            )
            await writer.drain()
            held.append(writer)
        try:

            async def shed() -> httpx.Response | None:
                response = await admin.get(WORKSPACES)
                return response if response.status_code == 503 else None

            refused = await eventually(shed, what=f"a request beyond {limit} in flight answered 503")
            body = assert_unavailable(refused)
            assert refused.headers["retry-after"] == "1"
            assert f"limit of {limit} requests" in body["message"], body
            # Health is not counted: a busy process is not a dead one.
            assert (await admin.get("/healthz")).status_code == 200
        finally:
            for writer in held:
                writer.close()

        async def serving() -> bool:
            return (await admin.get(WORKSPACES)).status_code == 200

        await eventually(serving, what="requests served again once the held ones are gone")
