"""Prometheus metrics over real HTTP (docs/observability.md): the api's /metrics counts requests under their
route templates, reads queue depth, the oldest waiting task and the outbox's lag from PostgreSQL at scrape time,
is served only to loopback callers (or on its own port) and stays out of the OpenAPI document; the worker's
endpoint serves Parley's activity counters beside the Temporal SDK's own metrics."""

from __future__ import annotations

import json
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from psycopg.types.json import Jsonb

from domain.sids import SidPrefix, new_sid
from storage.bootstrap import Credentials
from storage.db import Database
from tests.support.waiting import eventually

WORKSPACES = "/taskrouter/v1/Workspaces"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def scrape(url: str) -> Samples:
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4"), response.headers
    return parse(response.text)


async def test_http_requests_are_counted_under_their_route_template(parley: Any, admin: httpx.AsyncClient) -> None:
    created = await admin.post(WORKSPACES, data={"FriendlyName": "metrics-http"})
    assert created.status_code == 201, created.text
    ws = created.json()["sid"]
    route = "/taskrouter/v1/Workspaces/{workspace_sid}"
    before = await scrape(f"{parley.base_url}/metrics")
    for _ in range(3):
        assert (await admin.get(f"{WORKSPACES}/{ws}")).status_code == 200
    assert (await admin.get(f"{WORKSPACES}/WS{'0' * 32}")).status_code == 404
    assert (await admin.get("/no/such/path")).status_code == 404
    after = await scrape(f"{parley.base_url}/metrics")

    def delta(name: str, **labels: str) -> float:
        return (value(after, name, **labels) or 0) - (value(before, name, **labels) or 0)

    assert delta("parley_http_requests_total", method="GET", route=route, status="200") == 3
    assert delta("parley_http_requests_total", method="GET", route=route, status="404") == 1
    assert delta("parley_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert delta("parley_http_request_duration_seconds_count", method="GET", route=route) == 4
    # Never a SID or a raw path in a label of the process's own metrics.
    for name, labels in after:
        if name.startswith("parley_http"):
            assert all(ws not in v and "/no/such" not in v for _, v in labels), (name, labels)
    await admin.delete(f"{WORKSPACES}/{ws}")


async def test_every_response_carries_a_request_id(parley: Any, admin: httpx.AsyncClient) -> None:
    response = await admin.get(WORKSPACES)
    rid = response.headers["x-request-id"]
    assert rid.startswith("RQ") and len(rid) == 34, rid
    assert response.headers["twilio-request-id"] == rid
    given = await admin.get(WORKSPACES, headers={"X-Request-Id": "trace-42.abc"})
    assert given.headers["x-request-id"] == given.headers["twilio-request-id"] == "trace-42.abc"
    # A value that is not a sane token is replaced, never echoed.
    odd = await admin.get(WORKSPACES, headers={"X-Request-Id": "x" * 500})
    assert odd.headers["x-request-id"].startswith("RQ")


async def test_queue_depth_and_oldest_pending_age_are_read_at_scrape_time(
    parley: Any, admin: httpx.AsyncClient
) -> None:
    ws = (await admin.post(WORKSPACES, data={"FriendlyName": "metrics-queues"})).json()["sid"]
    base = f"{WORKSPACES}/{ws}"
    queue = (await admin.post(f"{base}/TaskQueues", data={"FriendlyName": "Waiting", "TargetWorkers": "1==1"})).json()
    empty = (await admin.post(f"{base}/TaskQueues", data={"FriendlyName": "Idle", "TargetWorkers": "1==1"})).json()
    config = {"task_routing": {"filters": [], "default_filter": {"queue": queue["sid"]}}}
    workflow = (
        await admin.post(f"{base}/Workflows", data={"FriendlyName": "flow", "Configuration": json.dumps(config)})
    ).json()
    before = await scrape(f"{parley.base_url}/metrics")
    tasks = []
    for _ in range(3):
        created = await admin.post(f"{base}/Tasks", data={"WorkflowSid": workflow["sid"], "Attributes": "{}"})
        assert created.status_code == 201, created.text
        tasks.append(created.json()["sid"])
    labels = {"workspace_sid": ws, "task_queue_sid": queue["sid"]}

    async def queued(count: int) -> Samples | None:
        samples = await scrape(f"{parley.base_url}/metrics")
        pending = value(samples, "parley_taskrouter_queue_tasks", **labels, assignment_status="pending")
        return samples if pending == count else None

    samples = await eventually(lambda: queued(3), what="three pending tasks in the queue's gauge")
    assert value(samples, "parley_taskrouter_queue_tasks", **labels, assignment_status="reserved") == 0
    age = value(samples, "parley_taskrouter_queue_oldest_pending_task_age_seconds", **labels)
    assert age is not None and 0 < age < 60, age
    idle = {"workspace_sid": ws, "task_queue_sid": empty["sid"]}
    assert value(samples, "parley_taskrouter_queue_tasks", **idle, assignment_status="pending") == 0
    assert value(samples, "parley_taskrouter_queue_oldest_pending_task_age_seconds", **idle) == 0
    assert value(samples, "parley_metrics_database_up") == 1
    # The tasks were created by the api process: their events are counted there.
    created_events = (value(samples, "parley_taskrouter_events_total", event_type="task.created") or 0) - (
        value(before, "parley_taskrouter_events_total", event_type="task.created") or 0
    )
    assert created_events == 3

    canceled = await admin.post(f"{base}/Tasks/{tasks[0]}", data={"AssignmentStatus": "canceled"})
    assert canceled.status_code == 200, canceled.text
    await eventually(lambda: queued(2), what="two pending tasks after a cancel")
    await admin.delete(base)


async def test_outbox_lag_and_dead_letters_are_read_at_scrape_time(
    parley: Any, db: Database, account: Credentials
) -> None:
    async with db.unit() as uow:
        # Due in a day, so neither the sweeper nor the dispatcher touches it; written an hour ago.
        late = await uow.fetchone(
            "INSERT INTO outbox (account_sid, kind, dedupe_key, payload, created_at, next_attempt_at) "
            "VALUES (%s, 'signal_task_workflow', %s, %s, now() - interval '1 hour', now() + interval '1 day') "
            "RETURNING id",
            (account.account_sid, new_sid(SidPrefix.EVENT), Jsonb({})),
        )
        dead = await uow.fetchone(
            "INSERT INTO outbox (account_sid, kind, dedupe_key, payload, dead_at) "
            "VALUES (%s, 'signal_task_workflow', %s, %s, now()) RETURNING id",
            (account.account_sid, new_sid(SidPrefix.EVENT), Jsonb({})),
        )
    assert late is not None and dead is not None
    try:
        samples = await scrape(f"{parley.base_url}/metrics")
        async with db.read() as q:
            counts = await q.fetchone(
                "SELECT count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead, "
                "count(*) FILTER (WHERE dispatched_at IS NULL AND dead_at IS NULL) AS pending FROM outbox"
            )
        assert counts is not None
        assert value(samples, "parley_outbox_dead_letters") == counts["dead"] >= 1
        assert (value(samples, "parley_outbox_pending_rows") or 0) >= 1
        lag = value(samples, "parley_outbox_oldest_pending_age_seconds")
        assert lag is not None and 3600 <= lag < 3600 + 120, lag
    finally:
        async with db.unit() as uow:
            await uow.execute("DELETE FROM outbox WHERE id = ANY(%s)", ([late["id"], dead["id"]],))
    after = await scrape(f"{parley.base_url}/metrics")
    assert (value(after, "parley_outbox_oldest_pending_age_seconds") or 0) < 3600


async def test_metrics_are_served_to_loopback_or_on_their_own_port_and_not_documented(parley: Any) -> None:
    async with httpx.AsyncClient(base_url=parley.base_url) as client:
        assert (await client.get("/metrics")).status_code == 200
        # Relayed by a proxy on this host: the caller is not local, whatever the socket says.
        relayed = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
        assert relayed.status_code == 404 and relayed.json()["code"] == 20404
        document = (await client.get("/openapi.json")).json()
    assert "/metrics" not in document["paths"]
    port = parley.env["PARLEY_METRICS_PORT"]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as own:
        relayed = await own.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
        assert relayed.status_code == 200 and "parley_http_requests_total" in relayed.text
        # That port serves nothing else.
        assert (await own.get(WORKSPACES)).status_code == 404
        assert (await own.get("/healthz")).status_code == 404


async def test_the_worker_serves_its_activity_counters_and_the_temporal_sdks_metrics(
    parley: Any, admin: httpx.AsyncClient
) -> None:
    # Some activity work: a task the worker routes (plan_task_routing and friends).
    ws = (await admin.post(WORKSPACES, data={"FriendlyName": "metrics-worker"})).json()["sid"]
    base = f"{WORKSPACES}/{ws}"
    queue = (await admin.post(f"{base}/TaskQueues", data={"FriendlyName": "Q", "TargetWorkers": "1==1"})).json()
    config = {"task_routing": {"filters": [], "default_filter": {"queue": queue["sid"]}}}
    workflow = (
        await admin.post(f"{base}/Workflows", data={"FriendlyName": "flow", "Configuration": json.dumps(config)})
    ).json()
    assert (await admin.post(f"{base}/Tasks", data={"WorkflowSid": workflow["sid"]})).status_code == 201
    url = f"http://127.0.0.1:{parley.env['PARLEY_WORKER_METRICS_PORT']}/metrics"

    async def worked() -> Samples | None:
        samples = await scrape(url)
        executed = [k for k in samples if k[0] == "parley_activity_executions_total" and samples[k] > 0]
        sdk = [k for k in samples if k[0].startswith("temporal_")]
        return samples if executed and sdk else None

    samples = await eventually(worked, what="activity executions and Temporal SDK metrics on the worker's port")
    names = {name for name, _ in samples}
    assert "parley_activity_duration_seconds_count" in names
    # The SDK's workflow task latency, in seconds per Prometheus' conventions.
    assert any(n.startswith("temporal_workflow_task_execution_latency_seconds") for n in names), sorted(names)
    await admin.delete(base)
