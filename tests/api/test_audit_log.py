"""The audit log (docs/security/audit-log.md): every state-changing request of an admin or a supervisor is
recorded — who, what, on which resource, with what answer, when and from where — refused ones too; agents'
requests, reads and unauthenticated attempts are not. Only account credentials read it, each its own account's."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import TaskRouterGrant

from storage.accounts.service import Credentials, create_account
from storage.db import Database
from tests.support.contact_center import ok

AUDIT = "/parley/v1/AuditEvents"
WORKSPACES = "/taskrouter/v1/Workspaces"
USER_AGENT = "audit-log-test/1.0"
TWILIO_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
async def new_account(db: Database) -> Callable[[str], Any]:
    async def make(name: str) -> Credentials:
        async with db.unit() as uow:
            return await create_account(uow, friendly_name=name)

    return make


@pytest.fixture
async def tenant(new_account: Callable[[str], Any]) -> Credentials:
    """An account of its own: its audit log holds only this test's actions."""
    return await new_account("Audit log")  # type: ignore[no-any-return]


def client(parley: Any, *, token: str | None = None, auth: tuple[str, str] | None = None) -> httpx.AsyncClient:
    headers = {"User-Agent": USER_AGENT, **({"X-Twilio-Token": token} if token else {})}
    return httpx.AsyncClient(base_url=parley.base_url, headers=headers, auth=auth, timeout=30)


@pytest.fixture
async def admin_of(parley: Any, tenant: Credentials) -> AsyncIterator[httpx.AsyncClient]:
    async with client(parley, auth=(tenant.account_sid, tenant.auth_token)) as admin:
        yield admin


def token(credentials: Credentials, workspace_sid: str, *, identity: str, worker_sid: str | None = None) -> str:
    grant = TaskRouterGrant(
        workspace_sid=workspace_sid, worker_sid=worker_sid, role="worker" if worker_sid else "supervisor"
    )
    access = AccessToken(
        credentials.account_sid, credentials.api_key_sid, credentials.api_key_secret, identity=identity
    )
    access.add_grant(grant)
    return str(access.to_jwt())


async def events(admin: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    listing = await ok(await admin.get(AUDIT, params={"PageSize": "100", **params}))
    return listing["audit_events"]  # type: ignore[no-any-return]


async def workspace_with_worker(admin: httpx.AsyncClient) -> tuple[str, str, dict[str, str]]:
    ws = (await ok(await admin.post(WORKSPACES, data={"FriendlyName": "Audited"}), 201))["sid"]
    worker = (await ok(await admin.post(f"{WORKSPACES}/{ws}/Workers", data={"FriendlyName": "ann"}), 201))["sid"]
    activities = (await ok(await admin.get(f"{WORKSPACES}/{ws}/Activities")))["activities"]
    return ws, worker, {a["friendly_name"]: a["sid"] for a in activities}


async def test_an_admin_creating_and_deleting_a_queue_is_recorded_with_who_what_when_and_where(
    admin_of: httpx.AsyncClient, tenant: Credentials
) -> None:
    started = datetime.now(UTC).replace(microsecond=0)
    ws = (await ok(await admin_of.post(WORKSPACES, data={"FriendlyName": "Queues"}), 201))["sid"]
    queue = (await ok(await admin_of.post(f"{WORKSPACES}/{ws}/TaskQueues", data={"FriendlyName": "Q"}), 201))["sid"]
    assert (await admin_of.delete(f"{WORKSPACES}/{ws}/TaskQueues/{queue}")).status_code == 204

    deleted, created = await events(admin_of, ResourceSid=queue)  # newest first
    assert created == {
        "sid": created["sid"],
        "account_sid": tenant.account_sid,
        "action": "request",
        "credential_sid": tenant.account_sid,
        "role": "admin",
        "identity": None,
        "worker_sid": None,
        "subject": None,
        "reason": None,
        "method": "POST",
        "path_template": "/taskrouter/v1/Workspaces/{workspace_sid}/TaskQueues",
        "path": f"/taskrouter/v1/Workspaces/{ws}/TaskQueues",
        "resource_sid": queue,
        "status_code": 201,
        "client_ip": "127.0.0.1",
        "user_agent": USER_AGENT,
        "date_created": created["date_created"],
        "url": f"{admin_of.base_url}{AUDIT}/{created['sid']}",
    }
    assert created["sid"].startswith("AE") and TWILIO_DATE.match(created["date_created"])
    assert datetime.fromisoformat(created["date_created"]) >= started
    assert deleted["method"] == "DELETE" and deleted["status_code"] == 204
    assert deleted["path_template"] == "/taskrouter/v1/Workspaces/{workspace_sid}/TaskQueues/{sid}"
    assert deleted["path"] == f"/taskrouter/v1/Workspaces/{ws}/TaskQueues/{queue}"
    assert deleted["resource_sid"] == queue
    # The workspace's creation is there too, and each event can be fetched by its SID.
    [workspace_created] = await events(admin_of, ResourceSid=ws)
    assert workspace_created["path"] == WORKSPACES and workspace_created["status_code"] == 201
    assert await ok(await admin_of.get(f"{AUDIT}/{deleted['sid']}")) == deleted


async def test_an_api_key_is_recorded_as_the_credential_that_acted(
    parley: Any, admin_of: httpx.AsyncClient, tenant: Credentials
) -> None:
    async with client(parley, auth=(tenant.api_key_sid, tenant.api_key_secret)) as integration:
        ws = (await ok(await integration.post(WORKSPACES, data={"FriendlyName": "By key"}), 201))["sid"]
    [event] = await events(admin_of, ResourceSid=ws)
    assert event["credential_sid"] == tenant.api_key_sid and event["role"] == "admin"
    assert [e["resource_sid"] for e in await events(admin_of, ActorSid=tenant.api_key_sid)] == [ws]


async def test_a_conversation_named_by_its_unique_name_is_recorded_by_sid_only(
    admin_of: httpx.AsyncClient,
) -> None:
    """Unique names are sealed at rest (they may name a customer): the audit log withholds a path parameter
    that is not a SID."""
    name = "order-4711-for-jane-doe"
    created = await ok(await admin_of.post("/conversations/v1/Conversations", data={"UniqueName": name}), 201)
    await ok(await admin_of.post(f"/conversations/v1/Conversations/{name}", data={"FriendlyName": "Renamed"}))
    recorded = await events(admin_of)
    assert all(name not in json.dumps(e) for e in recorded), recorded
    [update] = [e for e in recorded if e["method"] == "POST" and e["path_template"].endswith("/Conversations/{sid}")]
    assert update["path"] == "/conversations/v1/Conversations/{sid}"
    creation = [e for e in recorded if e["resource_sid"] == created["sid"]]
    assert creation and creation[0]["path"] == "/conversations/v1/Conversations"


async def test_a_supervisors_state_changes_are_recorded_with_its_identity_refused_ones_too(
    parley: Any, admin_of: httpx.AsyncClient, tenant: Credentials
) -> None:
    ws, worker, activities = await workspace_with_worker(admin_of)
    supervisor = token(tenant, ws, identity="sup-sam")
    async with client(parley, token=supervisor) as sam:
        await ok(await sam.post(f"{WORKSPACES}/{ws}/Workers/{worker}", data={"ActivitySid": activities["Available"]}))
        refused = await sam.post(f"{WORKSPACES}/{ws}/Workers/{worker}", data={"FriendlyName": "renamed"})
        assert refused.status_code == 403, refused.text
    refused_event, changed = [e for e in await events(admin_of, ResourceSid=worker) if e["role"] == "supervisor"]
    assert changed["identity"] == "sup-sam" and changed["credential_sid"] == tenant.api_key_sid
    assert changed["worker_sid"] is None and changed["status_code"] == 200
    assert changed["path_template"] == "/taskrouter/v1/Workspaces/{workspace_sid}/Workers/{sid}"
    assert refused_event["identity"] == "sup-sam" and refused_event["status_code"] == 403


async def test_agents_reads_and_unauthenticated_attempts_are_not_recorded(
    parley: Any, admin_of: httpx.AsyncClient, tenant: Credentials
) -> None:
    ws, worker, activities = await workspace_with_worker(admin_of)
    before = await events(admin_of)
    agent = token(tenant, ws, identity="ann", worker_sid=worker)
    async with client(parley, token=agent) as ann:
        await ok(await ann.post(f"{WORKSPACES}/{ws}/Workers/{worker}", data={"ActivitySid": activities["Available"]}))
    await ok(await admin_of.get(f"{WORKSPACES}/{ws}/Workers/{worker}"))
    async with client(parley, auth=(tenant.account_sid, "wrong")) as stranger:
        assert (await stranger.post(WORKSPACES, data={"FriendlyName": "nope"})).status_code == 401
    assert await events(admin_of) == before


async def test_the_log_pages_and_filters_by_time_actor_and_resource(
    parley: Any, admin_of: httpx.AsyncClient, tenant: Credentials
) -> None:
    ws = (await ok(await admin_of.post(WORKSPACES, data={"FriendlyName": "Paged"}), 201))["sid"]
    activities = [
        (await ok(await admin_of.post(f"{WORKSPACES}/{ws}/Activities", data={"FriendlyName": name}), 201))["sid"]
        for name in ("one", "two", "three", "four")
    ]
    everything = await events(admin_of)
    assert len(everything) == 5

    first = await ok(await admin_of.get(AUDIT, params={"PageSize": "2"}))
    assert first["meta"]["key"] == "audit_events" and first["meta"]["page_size"] == 2
    seen = [e["sid"] for e in first["audit_events"]]
    next_url = first["meta"]["next_page_url"]
    while next_url:
        assert next_url.startswith(parley.base_url)
        page = await ok(await admin_of.get(next_url))
        seen += [e["sid"] for e in page["audit_events"]]
        next_url = page["meta"]["next_page_url"]
    assert seen == [e["sid"] for e in everything]

    later = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    earlier = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert await events(admin_of, StartDate=later) == []
    assert await events(admin_of, EndDate=earlier) == []
    assert len(await events(admin_of, StartDate=earlier, EndDate=later)) == 5
    assert len(await events(admin_of, ActorSid=tenant.account_sid)) == 5
    assert await events(admin_of, ActorSid=tenant.api_key_sid) == []
    # A create is recorded on the resource it created.
    assert [e["path"] for e in await events(admin_of, ResourceSid=ws)] == [WORKSPACES]
    [second] = await events(admin_of, ResourceSid=activities[1])
    assert second["path_template"] == "/taskrouter/v1/Workspaces/{workspace_sid}/Activities"
    bad = await admin_of.get(AUDIT, params={"ActorSid": "someone"})
    assert bad.status_code == 400 and "ActorSid" in bad.json()["message"]


async def test_only_account_credentials_read_the_log(
    parley: Any, admin_of: httpx.AsyncClient, tenant: Credentials
) -> None:
    ws, worker, _ = await workspace_with_worker(admin_of)
    [event, *_] = await events(admin_of)
    for holder in (token(tenant, ws, identity="sup"), token(tenant, ws, identity="ann", worker_sid=worker)):
        async with client(parley, token=holder) as reader:
            for path in (AUDIT, f"{AUDIT}/{event['sid']}"):
                refused = await reader.get(path)
                assert refused.status_code == 403 and refused.json()["code"] == 20003, refused.text


async def test_another_accounts_admin_sees_none_of_it(
    parley: Any, admin_of: httpx.AsyncClient, new_account: Callable[[str], Any]
) -> None:
    await ok(await admin_of.post(WORKSPACES, data={"FriendlyName": "Private"}), 201)
    [event] = await events(admin_of)
    other: Credentials = await new_account("Another tenant")
    async with client(parley, auth=(other.account_sid, other.auth_token)) as outsider:
        assert await events(outsider) == []
        missing = await outsider.get(f"{AUDIT}/{event['sid']}")
        assert missing.status_code == 404 and missing.json()["code"] == 20404
