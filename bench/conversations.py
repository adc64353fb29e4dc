"""Conversations over the wire: message create throughput over REST, fan-out to 1, 10 and 100 participants'
sockets, and the lag from a committed message to its post-event webhook arriving at a receiver on loopback.
Each figure sits beside the PostgreSQL floor measured in the same run (bench/floor.py)."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import parse_qsl

import httpx
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant

from bench.cpu import CpuMeter
from bench.harness import Services
from bench.stats import Figure, closed_loop
from tests.support.contact_center import ok
from tests.support.realtime import RealtimeClient

FANOUT_SIZES = (1, 10, 100)
ARRIVAL_TIMEOUT = 30.0


class _Fanout(RealtimeClient):
    """A socket that stamps when each message body arrives."""

    def __init__(self, base_url: str, token: str, waiting: dict[str, _Expected]) -> None:
        super().__init__(base_url, token)
        self.waiting = waiting

    async def _read(self) -> None:
        async for raw in self.ws:
            at = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("type") == "event" and frame.get("event") == "message.added":
                expected = self.waiting.get(frame["data"].get("body", ""))
                if expected is not None:
                    expected.arrived(at)
            async with self._new_frame:
                self.frames.append(frame)
                self._new_frame.notify_all()


class _Expected:
    """One message awaited on `count` sockets; done when the last one has it."""

    def __init__(self, count: int) -> None:
        self.left = count
        self.last = 0.0
        self.done = asyncio.get_running_loop().create_future()

    def arrived(self, at: float) -> None:
        self.left -= 1
        self.last = max(self.last, at)
        if self.left == 0 and not self.done.done():
            self.done.set_result(self.last)


def chat_token(services: Services, identity: str, service_sid: str) -> str:
    token = AccessToken(
        services.credentials.account_sid,
        services.credentials.api_key_sid,
        services.credentials.api_key_secret,
        identity=identity,
        ttl=3600,
    )
    token.add_grant(ChatGrant(service_sid=service_sid))
    return str(token.to_jwt())


async def rest_messages(
    services: Services, admin: httpx.AsyncClient, meter: CpuMeter, *, conversations: int, messages: int
) -> Figure:
    """Account credentials POST messages into `conversations` conversations at once (no socket listening)."""
    sids = [
        (await ok(await admin.post("/conversations/v1/Conversations", data={"FriendlyName": f"rest {i}"}), 201))["sid"]
        for i in range(conversations)
    ]

    async def send(i: int, j: int) -> None:
        response = await admin.post(
            f"/conversations/v1/Conversations/{sids[i]}/Messages", data={"Body": f"rest {i}/{j}", "Author": "bench"}
        )
        if response.status_code != 201:
            raise RuntimeError(f"message create answered {response.status_code}: {response.text}")

    run = await closed_loop(conversations, messages, send, meter)
    return Figure(
        "rest",
        "REST message create (account credentials) → 201",
        f"{conversations} conversations",
        messages,
        run.seconds,
        run.latencies_ms,
        run.cpu,
        floor="pg",
    )


async def fanout(services: Services, admin: httpx.AsyncClient, meter: CpuMeter, *, messages: int) -> list[Figure]:
    """For 1, 10 and 100 participants on sockets: REST message create → `message.added` on the last socket."""
    figures = []
    for size in FANOUT_SIZES:
        conversation = await ok(
            await admin.post("/conversations/v1/Conversations", data={"FriendlyName": f"fan-out {size}"}), 201
        )
        sid, service = conversation["sid"], conversation["chat_service_sid"]
        for n in range(size):
            await ok(
                await admin.post(f"/conversations/v1/Conversations/{sid}/Participants", data={"Identity": f"p{n}"}),
                201,
            )
        waiting: dict[str, _Expected] = {}
        async with AsyncExitStack() as stack:
            for n in range(size):
                socket = _Fanout(services.base_url, chat_token(services, f"p{n}", service), waiting)
                await stack.enter_async_context(socket)
                await socket.subscribe(sid)
            latencies: list[float] = []

            async def send(
                _: int,
                j: int,
                size: int = size,
                sid: str = sid,
                waiting: dict[str, _Expected] = waiting,
                latencies: list[float] = latencies,
            ) -> None:
                body = f"fan-out {size}/{j}"
                expected = waiting[body] = _Expected(size)
                started = time.perf_counter()
                await ok(
                    await admin.post(
                        f"/conversations/v1/Conversations/{sid}/Messages", data={"Body": body, "Author": "bench"}
                    ),
                    201,
                )
                last = await asyncio.wait_for(expected.done, ARRIVAL_TIMEOUT)
                latencies.append((last - started) * 1000)

            count = max(messages // size, 20)
            run = await closed_loop(1, count, send, meter)
        figures.append(
            Figure(
                f"fanout{size}",
                f"Fan-out: REST message → `message.added` on all {size} participant socket(s)",
                f"{size} socket(s), one message at a time",
                count,
                run.seconds,
                latencies,
                run.cpu,
                floor="pg",
            )
        )
    return figures


async def webhook_lag(services: Services, admin: httpx.AsyncClient, meter: CpuMeter, *, messages: int) -> Figure:
    """A conversation-scoped onMessageAdded webhook to a receiver on loopback: REST message create (with
    X-Twilio-Webhook-Enabled) → the signed POST arriving, through the outbox and a WebhookDelivery workflow."""
    arrived: dict[str, asyncio.Future[float]] = {}

    async def receive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                body = await reader.readexactly(length)
                at = time.perf_counter()
                form: dict[str, Any] = dict(parse_qsl(body.decode()))
                future = arrived.get(form.get("Body", ""))
                if future is not None and not future.done():
                    future.set_result(at)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionResetError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(receive, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        conversation = await ok(
            await admin.post("/conversations/v1/Conversations", data={"FriendlyName": "webhooks"}), 201
        )
        sid = conversation["sid"]
        await ok(
            await admin.post(
                f"/conversations/v1/Conversations/{sid}/Webhooks",
                data={
                    "Target": "webhook",
                    "Configuration.Url": f"http://127.0.0.1:{port}/hook",
                    "Configuration.Filters": "onMessageAdded",
                },
            ),
            201,
        )
        latencies: list[float] = []

        async def send(i: int, j: int) -> None:
            body = f"hook {i}/{j}"
            future = arrived[body] = asyncio.get_running_loop().create_future()
            started = time.perf_counter()
            await ok(
                await admin.post(
                    f"/conversations/v1/Conversations/{sid}/Messages",
                    data={"Body": body, "Author": "bench"},
                    headers={"X-Twilio-Webhook-Enabled": "true"},
                ),
                201,
            )
            latencies.append((await asyncio.wait_for(future, ARRIVAL_TIMEOUT) - started) * 1000)

        concurrency = 10
        run = await closed_loop(concurrency, messages, send, meter)
    finally:
        server.close()
        await server.wait_closed()
    return Figure(
        "webhook",
        "Webhook: REST message → signed onMessageAdded POST at the receiver",
        f"{concurrency} senders, one conversation",
        messages,
        run.seconds,
        latencies,
        run.cpu,
        floor="sws",
    )
