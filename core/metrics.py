"""Parley's Prometheus metrics, in one place (docs/observability.md): what each process counts as it works.

Every api and worker process has its own copy of these (prometheus_client's default registry) and serves it:
the api on `GET /metrics`, the worker on `PARLEY_WORKER_METRICS_PORT` (workers/metrics.py). Prometheus scrapes
each process and sums them (`sum by (...)`); no multiprocess mode is needed, since each process has its own
port. The figures read from PostgreSQL at scrape time (queue depth, outbox lag) are the api's
(`storage/metrics.py`, `api/routes/metrics.py`).

Labels are bounded: route templates (never raw paths), enum values, activity names; never a SID."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# No `*_created` series beside every counter and histogram: they double the series and nobody graphs them.
disable_created_metrics()

# Request latencies: from a cache hit (~1 ms) to a matching pass under load (seconds).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "parley_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "parley_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
WEBSOCKET_CONNECTIONS = Gauge(
    "parley_websocket_connections",
    "WebSocket connections open (accepted and not yet closed), by route template.",
    ["route"],
)
MESSAGES_SENT = Counter(
    "parley_messages_sent",
    "Conversation messages written through the api (REST or the realtime socket), by source (API or SDK).",
    ["source"],
)
MESSAGE_SEND_DURATION = Histogram(
    "parley_message_send_duration_seconds",
    "Time to write one message through the api: pre-event webhooks, the transaction, its commit.",
    ["source"],
    buckets=LATENCY_BUCKETS,
)
TASKROUTER_EVENTS = Counter(
    "parley_taskrouter_events",
    "TaskRouter events recorded by this process, by event type (reservation.created is a reservation offered; "
    "reservation.accepted/.rejected/.timeout/.canceled/.rescinded its outcomes). Counted in the transaction "
    "that records the event, so a transaction rolled back afterwards still counts.",
    ["event_type"],
)
ACTIVITY_EXECUTIONS = Counter(
    "parley_activity_executions",
    "Temporal activity executions (every attempt) finished by this worker, by activity name.",
    ["activity"],
)
ACTIVITY_FAILURES = Counter(
    "parley_activity_failures",
    "Temporal activity attempts that raised (Temporal retries them or fails the workflow's call), by activity name.",
    ["activity"],
)
ACTIVITY_DURATION = Histogram(
    "parley_activity_duration_seconds",
    "Time one activity attempt took, by activity name.",
    ["activity"],
    buckets=LATENCY_BUCKETS,
)
