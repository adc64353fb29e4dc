"""The worker's Prometheus endpoint (`PARLEY_WORKER_METRICS_PORT`, docs/observability.md): Parley's own counters
(core/metrics.py: activity executions, failures and durations, TaskRouter events recorded here) and the
Temporal SDK's (`temporal_*`: workflow task latencies, activity and workflow counts, poller and slot figures)
on one port.

The SDK's metrics come from its Rust core, which serves them itself (`PrometheusConfig`); it listens on a
loopback port of its own and this endpoint folds them in at each scrape, so Prometheus scrapes one target per
worker process."""

from __future__ import annotations

import logging
import socket
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from prometheus_client import REGISTRY, start_http_server
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from temporalio import activity
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from core.metrics import ACTIVITY_DURATION, ACTIVITY_EXECUTIONS, ACTIVITY_FAILURES

log = logging.getLogger(__name__)

SDK_SCRAPE_TIMEOUT = 2.0


class ActivityMetrics(Interceptor):
    """Counts and times every activity attempt by activity name (core/metrics.py)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountedActivity(next)


class _CountedActivity(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        name = activity.info().activity_type
        started = time.perf_counter()
        try:
            return await super().execute_activity(input)
        except Exception:
            ACTIVITY_FAILURES.labels(name).inc()
            raise
        finally:
            ACTIVITY_EXECUTIONS.labels(name).inc()
            ACTIVITY_DURATION.labels(name).observe(time.perf_counter() - started)


class TemporalSdkMetrics:
    """A collector that reads the SDK core's own exposition at each scrape and yields its families."""

    def __init__(self, url: str) -> None:
        self.url = url

    def describe(self) -> list[Metric]:
        return []  # names unknown until scraped; nothing of Parley's is called temporal_*

    def collect(self) -> Iterator[Metric]:
        try:
            with urllib.request.urlopen(self.url, timeout=SDK_SCRAPE_TIMEOUT) as response:
                text = response.read().decode()
        except OSError as exc:
            log.warning("worker metrics: the Temporal SDK's are unavailable: %s", exc)
            return
        yield from text_string_to_metric_families(text)


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_worker_metrics(host: str, port: int) -> Runtime:
    """Start the worker's endpoint on host:port and return the Temporal runtime whose metrics it includes: the
    worker's client must be connected with it."""
    sdk_address = f"127.0.0.1:{_free_loopback_port()}"
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=sdk_address,
                # Prometheus' conventions: counters end in _total, durations are seconds and say so.
                counters_total_suffix=True,
                unit_suffix=True,
                durations_as_seconds=True,
            )
        ),
        worker_heartbeat_interval=timedelta(seconds=60),
    )
    REGISTRY.register(TemporalSdkMetrics(f"http://{sdk_address}/metrics"))
    start_http_server(port, addr=host)
    log.info("Prometheus metrics on http://%s:%d/metrics (Parley's and the Temporal SDK's)", host, port)
    return runtime
