"""Parley end to end over its public interfaces: a contact center built through REST, customers and agents on
WebSockets, routing through the real Temporal workflows, messages through the real hot path."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from bench.cpu import CpuMeter
from bench.harness import Arrival, Arrivals, Services, TimedClient, agent_token
from bench.stats import Figure, closed_loop
from tests.support.contact_center import (
    ContactCenter,
    agent_attributes,
    build_contact_center,
    ok,
    start_webchat,
)
from tests.support.realtime import RealtimeClient

T = TypeVar("T")
ROUTE_TIMEOUT = 60.0
DELIVERY_TIMEOUT = 30.0


async def bounded(awaitables: Iterable[Awaitable[T]], limit: int = 10) -> list[T]:
    """gather() with at most `limit` in flight, for setup steps."""
    gate = asyncio.Semaphore(limit)

    async def one(awaitable: Awaitable[T]) -> T:
        async with gate:
            return await awaitable

    return await asyncio.gather(*(one(a) for a in awaitables))


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass
class Agent:
    sid: str
    http: httpx.AsyncClient  # REST calls as this agent (its Access Token in X-Twilio-Token)
    client: TimedClient


@dataclass
class Customer:
    conversation_sid: str
    client: RealtimeClient


@dataclass
class Floor:
    """A contact center with available agents and web-chat customers on sockets; nothing sent yet."""

    center: ContactCenter
    agents: dict[str, Agent]  # by worker sid
    customers: list[Customer]
    arrivals: Arrivals
    capacity: int

    def describe(self) -> str:
        return f"{plural(len(self.agents), 'agent')} x {self.capacity} chats"


@asynccontextmanager
async def contact_center(
    services: Services, admin: httpx.AsyncClient, *, name: str, customers: int, capacity: int
) -> AsyncIterator[Floor]:
    names = [f"{name.lower()}-agent-{i}" for i in range(math.ceil(customers / capacity))]
    center = await build_contact_center(
        admin, agents={n: agent_attributes(n) for n in names}, chat_capacity=capacity, name=f"Bench {name}"
    )
    arrivals = Arrivals()
    async with AsyncExitStack() as stack:
        agents: dict[str, Agent] = {}
        for agent_name, sid in center.workers.items():
            token = agent_token(services.credentials, center.workspace_sid, sid, agent_name)
            client = TimedClient(services.base_url, token, arrivals)
            await stack.enter_async_context(client)
            await client.subscribe(sid)
            await ok(
                await admin.post(center.path(f"/Workers/{sid}"), data={"ActivitySid": center.activities["Available"]})
            )
            http = httpx.AsyncClient(base_url=services.base_url, headers={"X-Twilio-Token": token}, timeout=60)
            agents[sid] = Agent(sid, await stack.enter_async_context(http), client)
        chats = await bounded(
            start_webchat(services.base_url, center.address_sid, f"Customer {i}") for i in range(customers)
        )
        people = []
        for chat in chats:
            socket = await stack.enter_async_context(RealtimeClient(services.base_url, chat["token"]))
            await socket.subscribe(chat["conversation_sid"])
            people.append(Customer(chat["conversation_sid"], socket))
        yield Floor(center, agents, people, arrivals, capacity)


async def first_messages(floor: Floor, customers: list[Customer]) -> tuple[float, list[float], list[Arrival | None]]:
    """These customers send a first message at once; wait for each reservation.created on an agent's socket.
    Returns the wall time (first send to last offer), the latencies in ms, and each customer's offer."""
    expected = [floor.arrivals.expect(f"res:{c.conversation_sid}") for c in customers]
    sent_at = [0.0] * len(customers)

    async def send(i: int, customer: Customer) -> None:
        sent_at[i] = time.perf_counter()
        await customer.client.send_message(customer.conversation_sid, f"Hello from customer {i}")

    await asyncio.gather(*(send(i, c) for i, c in enumerate(customers)))
    await asyncio.wait(expected, timeout=ROUTE_TIMEOUT)
    offers = [f.result() if f.done() else None for f in expected]
    latencies = [(offer.at - sent) * 1000 for offer, sent in zip(offers, sent_at, strict=True) if offer]
    wall = max((offer.at for offer in offers if offer), default=min(sent_at)) - min(sent_at)
    return wall, latencies, offers


async def routing(
    services: Services,
    admin: httpx.AsyncClient,
    meter: CpuMeter,
    *,
    customers: int,
    alone: int,
    capacity: int = 5,
) -> list[Figure]:
    """`alone` customers one after the other (the unloaded cost), then `customers` all at once."""
    async with contact_center(services, admin, name="Routing", customers=alone + customers, capacity=capacity) as floor:
        lone_ms: list[float] = []
        meter.restart()
        for customer in floor.customers[:alone]:
            _, latencies, _ = await first_messages(floor, [customer])
            lone_ms += latencies
        lone_seconds = sum(lone_ms) / 1000
        lone_cpu = meter.since(lone_seconds)
        meter.restart()
        wall, latencies, _ = await first_messages(floor, floor.customers[alone:])
        cpu = meter.since(wall)
    label = "Routing: first message → `reservation.created` on agent socket"
    return [
        Figure(
            "routing1",
            f"{label}, alone",
            "1",
            len(lone_ms),
            lone_seconds,
            lone_ms,
            lone_cpu,
            floor="sws",
            expected=alone,
        ),
        Figure(
            "routing",
            label,
            f"{customers} customers at once, {floor.describe()}",
            len(latencies),
            wall,
            latencies,
            cpu,
            floor="sws",
            expected=customers,
        ),
    ]


async def accept(floor: Floor, offer: dict[str, Any]) -> None:
    """The agent who was offered the reservation accepts it, as the agent desktop does."""
    agent = floor.agents[offer["stream"]]
    path = floor.center.path(f"/Workers/{agent.sid}/Reservations/{offer['data']['reservation_sid']}")
    await ok(await agent.http.post(path, data={"ReservationStatus": "accepted"}))


async def chat(
    services: Services,
    admin: httpx.AsyncClient,
    meter: CpuMeter,
    *,
    conversations: int,
    messages: int,
    capacity: int = 10,
) -> list[Figure]:
    """Route and accept every conversation, then customers send `messages` in total, sequentially within a
    conversation (each waits until the agent has the previous one) and concurrently across conversations."""
    async with contact_center(services, admin, name="Chat", customers=conversations, capacity=capacity) as floor:
        _, _, offers = await first_messages(floor, floor.customers)
        routed = [offer for offer in offers if offer is not None]
        if len(routed) < conversations:
            raise RuntimeError(f"only {len(routed)} of {conversations} chats were routed within {ROUTE_TIMEOUT}s")
        await bounded(accept(floor, offer.frame) for offer in routed)
        for customer, offer in zip(floor.customers, routed, strict=True):
            await floor.agents[offer.frame["stream"]].client.subscribe(customer.conversation_sid)

        ack_ms: list[float] = []
        delivery_ms: list[float] = []

        async def send(i: int, j: int) -> None:
            customer = floor.customers[i]
            body = f"bench {i}/{j}"
            delivered = floor.arrivals.expect(f"msg:{body}")
            started = time.perf_counter()
            await customer.client.send_message(customer.conversation_sid, body, client_message_id=body)
            ack_ms.append((time.perf_counter() - started) * 1000)
            arrival = await asyncio.wait_for(delivered, DELIVERY_TIMEOUT)
            delivery_ms.append((arrival.at - started) * 1000)

        run = await closed_loop(conversations, messages, send, meter)
    concurrency = f"{plural(conversations, 'conversation')}, {floor.describe()}"
    return [
        Figure(
            "message",
            "Chat message: customer send → `message.added` on agent socket",
            concurrency,
            messages,
            run.seconds,
            delivery_ms,
            run.cpu,
            floor="pg",
        ),
        Figure(
            "ack",
            "Chat message: customer send → ack",
            concurrency,
            messages,
            run.seconds,
            ack_ms,
            run.cpu,
            floor="pg",
        ),
    ]
