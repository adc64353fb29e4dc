"""Starts what the benchmark measures, all on loopback and all its own: a fresh PostgreSQL database (embedded
unless TEST_DATABASE_URL/DATABASE_URL), a Temporal dev server persisted to a SQLite file in a temp dir, and
Parley's api and worker as real processes. Also: access tokens and a frame-timestamping WebSocket client."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant, TaskRouterGrant

from bench.cpu import CpuMeter, child_pid, command_name, parent_pid
from core.temporal import DATA_CONVERTER, dev_server_sqlite_args
from storage.bootstrap import Credentials, create_account
from storage.db import Database
from storage.migrate import upgrade
from tests.support.realtime import RealtimeClient
from tests.support.services import (
    Process,
    admin_database_url,
    create_database,
    drop_database,
    free_port,
    temporal_binary,
    wait_healthy,
)
from workflows import search_attributes

TASK_QUEUE = "parley-bench"


@dataclass(frozen=True)
class Services:
    base_url: str
    database_url: str
    temporal: Client
    credentials: Credentials
    pids: dict[str, int]  # api, worker, temporal (dev server), client (this process), postgres (postmaster)

    def meter(self) -> CpuMeter:
        return CpuMeter(self.pids, trees=frozenset({"postgres"}))


@asynccontextmanager
async def start_services(workdir: Path) -> AsyncIterator[Services]:
    async with AsyncExitStack() as stack:
        admin = await asyncio.to_thread(admin_database_url)
        url = await asyncio.to_thread(create_database, admin)
        stack.callback(drop_database, admin, url)
        await asyncio.to_thread(upgrade, url)
        credentials = await _create_account(url)

        env = await WorkflowEnvironment.start_local(
            namespace="default",
            data_converter=DATA_CONVERTER,
            dev_server_existing_path=temporal_binary(),
            dev_server_database_filename=str(workdir / "temporal.db"),
            dev_server_extra_args=dev_server_sqlite_args(),
            search_attributes=search_attributes.ALL,
        )
        stack.push_async_callback(env.shutdown)

        port = free_port()
        process_env = {
            **os.environ,
            "DATABASE_URL": url,
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": "default",
            "PARLEY_PORT": str(port),
            "PARLEY_TASK_QUEUE": TASK_QUEUE,
            # Every simulated customer starts its chat from 127.0.0.1: the per-IP web-chat limit (meant for the
            # public internet) and the per-credential limit would throttle the load being measured.
            "PARLEY_WEBCHAT_STARTS_PER_MINUTE": "1000000",
            "PARLEY_WEBCHAT_START_BURST": "1000000",
            "PARLEY_CREDENTIAL_REQUESTS_PER_SECOND": "1000000",
            "PARLEY_CREDENTIAL_REQUEST_BURST": "1000000",
        }
        worker, api = (
            Process("bench-worker", "workers", process_env),
            Process("bench-api", "api", process_env),
        )
        for process in (worker, api):
            process.start()
            stack.callback(process.stop)
        base_url = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_healthy, base_url, api)
        assert api.proc is not None and worker.proc is not None
        pids = {"api": api.proc.pid, "worker": worker.proc.pid, "client": os.getpid()}
        for name, pid in (("temporal", child_pid("temporal")), ("postgres", await _postmaster_pid(url))):
            if pid is not None:
                pids[name] = pid
        yield Services(base_url=base_url, database_url=url, temporal=env.client, credentials=credentials, pids=pids)


async def _postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine (its backends are its children)."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
    try:
        pid = parent_pid(row[0]) if row else None
        return pid if pid is not None and command_name(pid).startswith("postgres") else None
    except OSError:  # a server elsewhere (another host or container)
        return None


async def _create_account(url: str) -> Credentials:
    db = Database(url, max_size=1)
    await db.open()
    try:
        async with db.unit() as uow:
            return await create_account(uow, friendly_name="Bench account")
    finally:
        await db.close()


def agent_token(credentials: Credentials, workspace_sid: str, worker_sid: str, identity: str) -> str:
    """An agent's Access Token, built with the official twilio library as a Flex deployment would."""
    token = AccessToken(
        credentials.account_sid,
        credentials.api_key_sid,
        credentials.api_key_secret,
        identity=identity,
        ttl=3600,
    )
    token.add_grant(TaskRouterGrant(workspace_sid=workspace_sid, worker_sid=worker_sid, role="worker"))
    token.add_grant(ChatGrant())
    return str(token.to_jwt())


@dataclass(frozen=True)
class Arrival:
    at: float  # time.perf_counter() when the frame was read off the socket
    frame: dict[str, Any]


class Arrivals:
    """Futures for frames awaited by key, resolved by whichever watched socket reads the frame first."""

    def __init__(self) -> None:
        self._pending: dict[str, asyncio.Future[Arrival]] = {}

    def expect(self, key: str) -> asyncio.Future[Arrival]:
        future: asyncio.Future[Arrival] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        return future

    def seen(self, key: str, arrival: Arrival) -> None:
        future = self._pending.pop(key, None)
        if future is not None and not future.done():
            future.set_result(arrival)


def frame_key(frame: dict[str, Any]) -> str | None:
    """`msg:<body>` for a message.added event, `res:<conversation sid>` for a reservation.created event (or
    `task:<key>` for a task the TaskRouter benchmark created with that `benchTask` attribute)."""
    if frame.get("type") != "event":
        return None
    if frame["event"] == "message.added":
        return f"msg:{frame['data'].get('body')}"
    if frame["event"] == "reservation.created":
        attributes = json.loads(frame["data"].get("task_attributes") or "{}")
        if "benchTask" in attributes:
            return f"task:{attributes['benchTask']}"
        return f"res:{attributes.get('conversationSid')}"
    return None


class TimedClient(RealtimeClient):
    """A RealtimeClient that stamps each frame on arrival and reports awaited ones to an Arrivals registry."""

    def __init__(self, base_url: str, token: str, arrivals: Arrivals) -> None:
        super().__init__(base_url, token)
        self.arrivals = arrivals

    async def _read(self) -> None:
        async for raw in self.ws:
            at = time.perf_counter()
            frame = json.loads(raw)
            key = frame_key(frame)
            if key is not None:
                self.arrivals.seen(key, Arrival(at, frame))
            async with self._new_frame:
                self.frames.append(frame)
                self._new_frame.notify_all()
