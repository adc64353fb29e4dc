"""Temporal histories hold no customer text in clear: a chat's channel and task workflows, and the webhook
delivery that carries the customer's message to the account's callback, read without Parley's key, show sealed
payloads only; with the key (Parley's data converter, or the api's codec endpoint the Temporal UI calls) they
read normally. Search attributes stay free of customer details."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from core.codec import ENCODING
from storage.accounts.service import Credentials, create_account
from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient
from tests.support.tokens import access_token
from tests.support.webhooks import Receiver

UI_ORIGIN = "http://127.0.0.1:8233"


def _payloads(node: Any, key: str = "") -> Iterator[dict[str, Any]]:
    """Every Payload of a history's JSON that Parley's data converter wrote: not the search attributes, and of a
    marker (a local activity's, a patch's) only its result; the rest is the SDK's own bookkeeping (ids,
    attempts, times)."""
    if key in ("searchAttributes", "indexedFields"):
        return
    if key == "markerRecordedEventAttributes":
        yield from _payloads((node.get("details") or {}).get("result"))
        return
    if isinstance(node, dict):
        if "encoding" in node.get("metadata", {}):
            yield node
            return
        for k, v in node.items():
            yield from _payloads(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _payloads(v, key)


@pytest.fixture
async def credentials(db) -> Credentials:
    """An account of its own: the account-wide webhook configured here reaches no other test."""
    async with db.unit() as uow:
        return await create_account(uow, friendly_name="Codec tests")


@pytest.fixture
async def tenant(parley, credentials: Credentials) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=parley.base_url, auth=(credentials.account_sid, credentials.auth_token), timeout=30
    ) as client:
        yield client


async def _routed_chat(parley, tenant, credentials: Credentials, receiver: Receiver, secret: str, customer_name: str):
    """A web chat routed to an agent, its message posted to the account's onMessageAdded webhook."""
    await ok(
        await tenant.post(
            "/conversations/v1/Configuration/Webhooks",
            data={"PostWebhookUrl": receiver.url("/post"), "Filters": "onMessageAdded", "Method": "POST"},
        )
    )
    center = await build_contact_center(tenant, agents={"alice": agent_attributes("alice")})
    alice = center.workers["alice"]
    await ok(await tenant.post(center.path(f"/Workers/{alice}"), data={"ActivitySid": center.activities["Available"]}))
    chat = await start_webchat(parley.base_url, center.address_sid, customer_name)
    async with (
        RealtimeClient(
            parley.base_url, access_token(credentials, center.workspace_sid, alice, identity="alice")
        ) as agent,
        RealtimeClient(parley.base_url, chat["token"]) as customer,
    ):
        await agent.subscribe(alice)
        await customer.send_message(chat["conversation_sid"], secret)
        offer = await agent.wait_event(alice, "reservation.created")
    [hook] = await receiver.wait_for("onMessageAdded")
    assert hook.form["Body"] == secret
    webhook_id = f"webhook-{hook.headers['i-twilio-idempotency-token']}"
    data = offer["data"]
    return chat["conversation_sid"], data["task_sid"], data["interaction_channel_sid"], webhook_id


async def test_a_chats_workflow_histories_are_sealed_and_open_only_with_the_key(
    parley, tenant, credentials, receiver, temporal: Client
):
    secret = f"my card is 4111 {secrets.randbelow(10**8):08d}"
    customer_name = f"Gia-{secrets.token_hex(4)}"
    conversation_sid, task_sid, channel_sid, webhook_id = await _routed_chat(
        parley, tenant, credentials, receiver, secret, customer_name
    )
    await temporal.get_workflow_handle(webhook_id).result()
    # The same server, without Parley's key: what someone with access to Temporal (or its database) sees.
    keyless = await Client.connect(
        temporal.service_client.config.target_host, namespace="default", data_converter=pydantic_data_converter
    )
    sealed_payloads = 0
    for workflow_id in (channel_sid, task_sid, webhook_id):
        history = await keyless.get_workflow_handle(workflow_id).fetch_history()
        raw = history.to_json()
        assert customer_name not in raw and "4111" not in raw and secret.split()[-1] not in raw, workflow_id
        # Every payload Parley wrote is sealed (search attributes are not: Temporal indexes them).
        payloads = list(_payloads(json.loads(raw)))
        clear = [p for p in payloads if base64.b64decode(p["metadata"]["encoding"]) != ENCODING]
        assert clear == [], workflow_id
        sealed_payloads += len(payloads)
        # Search attributes are readable to anyone with access to Temporal: identifiers only.
        described = await keyless.get_workflow_handle(workflow_id).describe()
        assert customer_name not in str(described.raw_description) and "4111" not in str(described.raw_description)
    assert sealed_payloads > 3
    # With the key, the histories read normally: the task's input, the message the webhook delivered.
    history = await temporal.get_workflow_handle(task_sid).fetch_history()
    [started] = await temporal.data_converter.decode(
        history.events[0].workflow_execution_started_event_attributes.input.payloads
    )
    assert started["task_sid"] == task_sid and started["conversation_sid"] == conversation_sid
    history = await temporal.get_workflow_handle(webhook_id).fetch_history()
    [delivery] = await temporal.data_converter.decode(
        history.events[0].workflow_execution_started_event_attributes.input.payloads
    )
    assert ["Body", secret] in delivery["params"]


async def test_the_codec_endpoint_opens_payloads_for_admins_and_the_local_ui_only(parley, admin, account):
    [sealed] = await _sealed_payload(parley, admin)
    # An admin (the CLI's --codec-auth, or a browser holding account credentials) opens it.
    opened = await ok(await admin.post("/codec/decode", json={"payloads": [sealed]}))
    assert base64.b64decode(opened["payloads"][0]["data"]) == b'"hello codec"'
    async with httpx.AsyncClient(base_url=parley.base_url) as anonymous:
        # Nobody else: no credentials from another origin, a wrong namespace.
        refused = await anonymous.post("/codec/decode", json={"payloads": [sealed]})
        assert refused.status_code == 401, refused.text
        other = await anonymous.post(
            "/codec/decode", json={"payloads": [sealed]}, headers={"Origin": "http://evil.example"}
        )
        assert other.status_code == 401 and "access-control-allow-origin" not in other.headers
        wrong = await admin.post("/codec/decode", json={"payloads": [sealed]}, headers={"X-Namespace": "other"})
        assert wrong.status_code == 403, wrong.text
        # The Temporal UI of `make dev` (its origin, an api on loopback): preflight, then the call itself.
        preflight = await anonymous.options(
            "/codec/decode",
            headers={
                "Origin": UI_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        assert preflight.headers["access-control-allow-origin"] == UI_ORIGIN
        assert "X-Namespace" in preflight.headers["access-control-allow-headers"]
        from_ui = await anonymous.post(
            "/codec/decode",
            json={"payloads": [sealed]},
            headers={"Origin": UI_ORIGIN, "X-Namespace": "default"},
        )
        assert from_ui.status_code == 200 and from_ui.headers["access-control-allow-origin"] == UI_ORIGIN
    garbled = {**sealed, "data": base64.b64encode(b"x" * 40).decode()}
    bad = await admin.post("/codec/decode", json={"payloads": [garbled]})
    assert bad.status_code == 400 and "fails authentication" in bad.json()["message"]


async def _sealed_payload(parley, admin) -> list[dict]:
    plain = {
        "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
        "data": base64.b64encode(b'"hello codec"').decode(),
    }
    encoded = await ok(await admin.post("/codec/encode", json={"payloads": [plain]}))
    [sealed] = encoded["payloads"]
    assert base64.b64decode(sealed["metadata"]["encoding"]) == ENCODING
    return [sealed]
