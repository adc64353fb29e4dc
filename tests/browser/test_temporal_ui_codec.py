"""The Temporal UI, as `make dev` starts it (`--ui-codec-endpoint` at the api's /codec), shows a chat's workflow
payloads in clear to the person looking at it, while the history itself holds only sealed payloads: the codec
endpoint is the one place they are opened (docs/security/temporal-codec.md)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, expect
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from core.temporal import DATA_CONVERTER
from tests.browser.support import Demo, screenshot, set_activity
from tests.support.contact_center import ok, start_webchat
from tests.support.realtime import RealtimeClient
from tests.support.services import Process, free_port, temporal_binary, wait_healthy
from tests.support.waiting import eventually
from workflows import search_attributes


@dataclass
class Stack:
    base_url: str
    ui_url: str
    temporal: Client


@pytest.fixture(scope="module")
async def temporal_with_ui() -> AsyncIterator[tuple[WorkflowEnvironment, int, int]]:
    """A dev server with its Web UI, decoding payloads through an api that listens on `api_port`."""
    api_port, ui_port = free_port(), free_port()
    env = await WorkflowEnvironment.start_local(
        namespace="default",
        data_converter=DATA_CONVERTER,
        dev_server_existing_path=temporal_binary(),
        search_attributes=search_attributes.ALL,
        ui=True,
        ui_port=ui_port,
        dev_server_extra_args=["--ui-codec-endpoint", f"http://127.0.0.1:{api_port}/codec"],
    )
    try:
        yield env, api_port, ui_port
    finally:
        await env.shutdown()


@pytest.fixture(scope="module")
def stack(database_url: str, temporal_with_ui: tuple[WorkflowEnvironment, int, int]) -> Iterator[Stack]:
    env, api_port, ui_port = temporal_with_ui
    ui_url = f"http://127.0.0.1:{ui_port}"
    process_env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": "default",
        "PARLEY_ENV": "test",
        "PARLEY_PORT": str(api_port),
        "PARLEY_TASK_QUEUE": "parley-ui-codec",
        "PARLEY_TEMPORAL_UI_ORIGIN": ui_url,
        "PARLEY_MEDIA_DIR": tempfile.mkdtemp(prefix="parley-media-"),
    }
    worker = Process("worker-ui-codec", "workers", process_env)
    api = Process("api-ui-codec", "api", process_env)
    worker.start()
    api.start()
    base_url = f"http://127.0.0.1:{api_port}"
    try:
        wait_healthy(base_url, api)
        yield Stack(base_url=base_url, ui_url=ui_url, temporal=env.client)
    finally:
        api.stop()
        worker.stop()


async def test_the_temporal_ui_opens_sealed_payloads_through_the_codec(browser: Browser, stack: Stack, demo: Demo):
    alice = demo.workspace.agents["alice"]
    async with demo.admin(stack.base_url) as admin:
        await set_activity(admin, demo.workspace.workspace_sid, alice, demo.workspace.available_activity_sid)
        chat = await start_webchat(stack.base_url, demo.workspace.address_sid, "Zelda")
        async with RealtimeClient(stack.base_url, chat["token"]) as customer:
            await customer.send_message(chat["conversation_sid"], "My card was charged twice")

        async def routed_task() -> str | None:
            tasks = await ok(await admin.get(f"/taskrouter/v1/Workspaces/{demo.workspace.workspace_sid}/Tasks"))
            return next((t["sid"] for t in tasks["tasks"] if chat["conversation_sid"] in t["attributes"]), None)

        task_sid = await eventually(routed_task, what="the chat's task")

    # Anyone reading the history from Temporal without the key sees sealed bytes: the task's input (its
    # account, workspace, channel and conversation) among them.
    task = stack.temporal.get_workflow_handle(task_sid)
    workspace_sid = demo.workspace.workspace_sid
    raw = Client(stack.temporal.service_client, namespace="default")  # no codec: what Temporal itself holds
    raw_input = await eventually(lambda: _started_input(raw, task_sid), what="the task workflow's start")
    assert raw_input.metadata["encoding"] == b"binary/encrypted"
    assert workspace_sid.encode() not in raw_input.data

    # The UI asks the api's codec to open them, and shows them.
    page = await browser.new_page()
    decoded: list[int] = []
    page.on("response", lambda r: decoded.append(r.status) if urlsplit(r.url).path == "/codec/decode" else None)
    run_id = (await task.describe()).run_id
    await page.goto(f"{stack.ui_url}/namespaces/default/workflows/{task_sid}/{run_id}/history")
    await expect(page.get_by_text(workspace_sid).first).to_be_visible(timeout=30_000)
    assert decoded and set(decoded) == {200}, decoded
    await screenshot(page, "temporal-ui-decoded-input")
    await page.close()


async def _started_input(client: Client, workflow_id: str) -> Payload | None:
    try:
        async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                return event.workflow_execution_started_event_attributes.input.payloads[0]
    except RPCError:  # not started yet
        return None
    return None
