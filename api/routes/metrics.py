"""GET /metrics: Prometheus' text exposition of this api process (docs/observability.md). Not a Twilio resource,
so not in the OpenAPI document.

Who may scrape: a caller on the api's separate metrics port (`PARLEY_METRICS_PORT`, meant for a private
network: in docker-compose it is not published), or a loopback caller of the api's own port that no proxy
relayed (make dev, tests, a Prometheus on the same host). Anyone else gets the 404 of a path that does not exist.
Not account credentials: the figures are the whole installation's (every account's queues), and Prometheus
scrapes with one static configuration.

The process's own counters (core/metrics.py) plus what PostgreSQL says at scrape time (storage/metrics.py):
each queue's pending and reserved tasks and its oldest pending task's age, the outbox's backlog, its oldest
row's age and the dead letters. Those are the same in every api process: aggregate them with `max`."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from api.deps import DbDep
from api.observability import METRICS_PATH, on_metrics_port
from domain.errors import NotFound
from storage import metrics as figures
from storage.db import Database

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

SCRAPE_QUERY_TIMEOUT = 3.0
_RELAYED = (b"forwarded", b"x-forwarded-for", b"x-real-ip")


def may_scrape(request: Request) -> bool:
    if on_metrics_port(request.scope, request.app.state.settings.metrics_port):
        return True
    if any(key in _RELAYED for key, _ in request.scope.get("headers", [])):
        return False  # relayed by a proxy: the loopback peer is the proxy, not the caller
    client = request.client
    try:
        return client is not None and ipaddress.ip_address(client.host).is_loopback
    except ValueError:
        return False


class _StoredFigures:
    """The scrape-time gauges, as one collector for a registry of this scrape only."""

    def __init__(
        self, queues: list[figures.QueueFigures], outbox: figures.OutboxFigures | None, database_up: bool
    ) -> None:
        self.queues = queues
        self.outbox = outbox
        self.database_up = database_up

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "parley_metrics_database_up", "1 if this scrape could read PostgreSQL's figures, 0 if not."
        )
        up.add_metric([], 1 if self.database_up else 0)
        yield up
        if not self.database_up:
            return
        labels = ["workspace_sid", "task_queue_sid"]
        tasks = GaugeMetricFamily(
            "parley_taskrouter_queue_tasks",
            "Tasks waiting in a queue (the queue's depth), by assignment status: pending (not yet offered) or "
            "reserved (offered to an agent who has not answered).",
            labels=[*labels, "assignment_status"],
        )
        oldest = GaugeMetricFamily(
            "parley_taskrouter_queue_oldest_pending_task_age_seconds",
            "Seconds since the queue's oldest pending task entered it (0 when none is pending).",
            labels=labels,
        )
        for queue in self.queues:
            key = [queue.workspace_sid, queue.task_queue_sid]
            tasks.add_metric([*key, "pending"], queue.pending)
            tasks.add_metric([*key, "reserved"], queue.reserved)
            oldest.add_metric(key, queue.oldest_pending_age)
        yield tasks
        yield oldest
        if self.outbox is None:
            return
        pending = GaugeMetricFamily("parley_outbox_pending_rows", "Outbox rows not yet dispatched (nor dead).")
        pending.add_metric([], self.outbox.pending)
        yield pending
        lag = GaugeMetricFamily(
            "parley_outbox_oldest_pending_age_seconds",
            "Seconds since the oldest outbox row not yet dispatched was written: the outbox's lag (0 when none).",
        )
        lag.add_metric([], self.outbox.oldest_pending_age)
        yield lag
        dead = GaugeMetricFamily(
            "parley_outbox_dead_letters", "Outbox rows that gave up (docs: /parley/v1/Outbox/DeadLetters)."
        )
        dead.add_metric([], self.outbox.dead_letters)
        yield dead


async def stored_figures(db: Database) -> _StoredFigures:
    try:
        async with asyncio.timeout(SCRAPE_QUERY_TIMEOUT), db.read() as q:
            queues = await figures.queue_figures(q)
            outbox = await figures.outbox_figures(q)
    except Exception as exc:
        log.warning("metrics: PostgreSQL's figures are unavailable: %s", type(exc).__name__)
        return _StoredFigures([], None, database_up=False)
    return _StoredFigures(queues, outbox, database_up=True)


@router.get(METRICS_PATH)
async def metrics(request: Request, db: DbDep) -> Response:
    if not may_scrape(request):
        raise NotFound.resource(METRICS_PATH)
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(await stored_figures(db))
    body = generate_latest(REGISTRY) + generate_latest(scrape)
    return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)
