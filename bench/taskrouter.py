"""TaskRouter at contact-center scale: many agents on sockets, tasks created through REST as a burst and as a
steady stream; each measured from the POST to `reservation.created` on the agent's socket. Beside it, the
Temporal floor of the same shape: a workflow that runs one local activity and starts one child."""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from bench.cpu import CpuMeter
from bench.harness import Arrival, Arrivals, Services, TimedClient, agent_token
from bench.scenarios import bounded, plural
from bench.sink import ChildWorkflow, ParentWorkflow, noop
from bench.stats import Figure, closed_loop
from domain.limits import MAX_RESERVATION_TIMEOUT
from tests.support.contact_center import ok

FLOOR_TASK_QUEUE = "parley-bench-routing-floor"
SENDERS = 50  # concurrent REST clients in the burst
# Seconds to wait for the last offer: at least 5 minutes, and half a second per task (a 2,000-task burst routes
# at the Temporal floor, 5-10/s on a 2-core machine).
ROUTE_TIMEOUT = 300.0
SECONDS_PER_TASK = 0.5


async def floor_of_routing(client: Client, meter: CpuMeter, *, ops: int, concurrency: int = SENDERS) -> Figure:
    """Start a parent workflow that runs one local activity and starts one child; done when the parent is."""
    prefix = f"bench-route-floor-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client, task_queue=FLOOR_TASK_QUEUE, workflows=[ParentWorkflow, ChildWorkflow], activities=[noop]
    ):

        async def one(i: int, j: int) -> None:
            await client.execute_workflow(ParentWorkflow.run, j, id=f"{prefix}-{i}-{j}", task_queue=FLOOR_TASK_QUEUE)

        run = await closed_loop(concurrency, ops, one, meter)
    return Figure(
        "routefloor",
        "Floor: Temporal workflow + local activity + child start",
        str(concurrency),
        ops,
        run.seconds,
        run.latencies_ms,
        run.cpu,
    )


@dataclass
class Floor:
    path: str  # /taskrouter/v1/Workspaces/WS…
    workflow_sid: str
    arrivals: Arrivals
    workers: int
    capacity: int

    def describe(self) -> str:
        return f"{plural(self.workers, 'agent')} x {self.capacity} tasks"


@asynccontextmanager
async def agents_on_sockets(
    services: Services, admin: httpx.AsyncClient, *, name: str, workers: int, capacity: int
) -> AsyncIterator[Floor]:
    """A workspace with one queue every worker is in, `workers` agents Available with `capacity` slots on the
    default channel, each on its own socket subscribed to its worker stream."""
    workspace = await ok(await admin.post("/taskrouter/v1/Workspaces", data={"FriendlyName": f"Bench {name}"}), 201)
    path = f"/taskrouter/v1/Workspaces/{workspace['sid']}"
    activities = await ok(await admin.get(f"{path}/Activities", params={"FriendlyName": "Available"}))
    available = activities["activities"][0]["sid"]
    queue = await ok(await admin.post(f"{path}/TaskQueues", data={"FriendlyName": "All", "TargetWorkers": "1==1"}), 201)
    config = {"task_routing": {"filters": [], "default_filter": {"queue": queue["sid"]}}}
    # The agents hold their offers (the figure is created → offered): a reservation that timed out would set its
    # agent Offline (the workspace's TimeoutActivity), so the longest timeout keeps every agent's room for the run.
    form = {
        "FriendlyName": "All",
        "Configuration": json.dumps(config),
        "TaskReservationTimeout": str(MAX_RESERVATION_TIMEOUT),
    }
    flow = await ok(await admin.post(f"{path}/Workflows", data=form), 201)

    async def worker(i: int) -> str:
        created = await ok(await admin.post(f"{path}/Workers", data={"FriendlyName": f"{name}-agent-{i}"}), 201)
        sid: str = created["sid"]
        await ok(await admin.post(f"{path}/Workers/{sid}/Channels/default", data={"Capacity": str(capacity)}))
        return sid

    sids = await bounded(worker(i) for i in range(workers))
    arrivals = Arrivals()
    async with AsyncExitStack() as stack:

        async def connect(i: int, sid: str) -> None:
            token = agent_token(services.credentials, workspace["sid"], sid, f"{name}-agent-{i}")
            client = await stack.enter_async_context(TimedClient(services.base_url, token, arrivals))
            await client.subscribe(sid)
            await ok(await admin.post(f"{path}/Workers/{sid}", data={"ActivitySid": available}))

        await bounded(connect(i, sid) for i, sid in enumerate(sids))
        yield Floor(path, flow["sid"], arrivals, workers, capacity)


async def _create(admin: httpx.AsyncClient, floor: Floor, key: str) -> None:
    form = {"WorkflowSid": floor.workflow_sid, "Attributes": json.dumps({"benchTask": key})}
    await ok(await admin.post(f"{floor.path}/Tasks", data=form), 201)


async def burst(admin: httpx.AsyncClient, floor: Floor, tasks: int) -> tuple[float, list[float]]:
    """`tasks` created as fast as SENDERS concurrent clients can; each timed to its offer on a socket."""
    keys = [uuid.uuid4().hex for _ in range(tasks)]
    offers = [floor.arrivals.expect(f"task:{key}") for key in keys]
    sent = [0.0] * tasks
    queue = iter(range(tasks))

    async def sender() -> None:
        for n in queue:
            sent[n] = time.perf_counter()
            await _create(admin, floor, keys[n])

    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    return _timed(sent, await _wait(offers))


async def stream(admin: httpx.AsyncClient, floor: Floor, tasks: int, rate: float) -> tuple[float, list[float]]:
    """`tasks` created at a steady `rate` per second (open loop: a slow answer does not slow the arrivals)."""
    keys = [uuid.uuid4().hex for _ in range(tasks)]
    offers = [floor.arrivals.expect(f"task:{key}") for key in keys]
    sent = [0.0] * tasks
    start = time.perf_counter()

    async def one(n: int) -> None:
        await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
        sent[n] = time.perf_counter()
        await _create(admin, floor, keys[n])

    await asyncio.gather(*(one(n) for n in range(tasks)))
    return _timed(sent, await _wait(offers))


async def _wait(offers: list[asyncio.Future[Arrival]]) -> list[Arrival | None]:
    await asyncio.wait(offers, timeout=max(ROUTE_TIMEOUT, SECONDS_PER_TASK * len(offers)))
    return [f.result() if f.done() else None for f in offers]


def _timed(sent: list[float], offers: list[Arrival | None]) -> tuple[float, list[float]]:
    latencies = [(offer.at - at) * 1000 for offer, at in zip(offers, sent, strict=True) if offer]
    last = max((offer.at for offer in offers if offer), default=min(sent))
    return last - min(sent), latencies


async def taskrouter(
    services: Services,
    admin: httpx.AsyncClient,
    meter: CpuMeter,
    *,
    workers: int,
    tasks: int,
    rate: float,
) -> list[Figure]:
    """The routing floor, then a burst of `tasks` and a stream of `tasks` at `rate`/s, each onto `workers`
    fresh agents with room for every task (so nothing waits for an agent to finish)."""
    figures = [await floor_of_routing(services.temporal, meter, ops=max(tasks // 4, 50))]
    capacity = max(1, math.ceil(tasks / workers))
    label = "TaskRouter: REST task create → `reservation.created` on agent socket"
    async with agents_on_sockets(services, admin, name="Burst", workers=workers, capacity=capacity) as floor:
        meter.restart()
        wall, latencies = await burst(admin, floor, tasks)
        cpu = meter.since(wall)
        figures.append(
            Figure(
                "trburst",
                f"{label}, burst",
                f"{tasks} tasks by {SENDERS} senders, {floor.describe()}",
                len(latencies),
                wall,
                latencies,
                cpu,
                floor="routefloor",
                expected=tasks,
            )
        )
    async with agents_on_sockets(services, admin, name="Stream", workers=workers, capacity=capacity) as floor:
        meter.restart()
        wall, latencies = await stream(admin, floor, tasks, rate)
        cpu = meter.since(wall)
        figures.append(
            Figure(
                "trstream",
                f"{label}, steady stream",
                f"{tasks} tasks at {rate:g}/s, {floor.describe()}",
                len(latencies),
                wall,
                latencies,
                cpu,
                floor="routefloor",
                expected=tasks,
            )
        )
    return figures
