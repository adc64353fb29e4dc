"""Session fixtures: a fresh PostgreSQL database, a Temporal dev server, and Parley's api and worker running
as real processes against them. Nothing here is mocked."""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from twilio.rest import Client as TwilioClient

from core.temporal import DATA_CONVERTER
from storage.bootstrap import Credentials, create_account
from storage.db import Database
from storage.migrate import upgrade
from tests.support.services import (
    Process,
    admin_database_url,
    create_database,
    drop_database,
    free_port,
    temporal_binary,
    wait_healthy,
)
from tests.support.tokens import access_token
from tests.support.webhooks import Receiver, webhook_receiver
from workflows import search_attributes

# Low enough that a channel serving a few tasks is told to continue as new, so every end-to-end run
# exercises continue-as-new with children that outlive the run that started them.
SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS = 60
TASK_QUEUE = "parley-test"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    admin = admin_database_url()
    url = create_database(admin)
    upgrade(url)
    yield url
    drop_database(admin, url)


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        namespace="default",
        data_converter=DATA_CONVERTER,
        dev_server_existing_path=temporal_binary(),
        search_attributes=search_attributes.ALL,
        dev_server_extra_args=[
            "--dynamic-config-value",
            f"limit.historyCount.suggestContinueAsNew={SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS}",
        ],
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def temporal(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@dataclass
class Parley:
    base_url: str
    api: Process
    worker: Process
    env: dict[str, str]


PRESENCE_GRACE = 6


@pytest.fixture(scope="session")
def parley(database_url: str, temporal: Client) -> Iterator[Parley]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": temporal.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": "default",
        "PARLEY_ENV": "test",
        "PARLEY_PORT": str(port),
        "PARLEY_TASK_QUEUE": TASK_QUEUE,
        "PARLEY_OUTBOX_REDRIVE_AFTER": "1",
        "PARLEY_OUTBOX_SWEEP_INTERVAL": "1",
        "PARLEY_DB_POOL_SIZE": "8",
        # Short, so the vanished-desktop test need not wait a minute; desktops in tests stay connected.
        "PARLEY_PRESENCE_GRACE": str(PRESENCE_GRACE),
        "PARLEY_MEDIA_DIR": tempfile.mkdtemp(prefix="parley-media-"),
        # Prometheus: the api's separate metrics port, the worker's endpoint (tests/api/test_metrics.py).
        "PARLEY_METRICS_PORT": str(free_port()),
        "PARLEY_WORKER_METRICS_PORT": str(free_port()),
    }
    worker = Process("worker", "workers", env)
    api = Process("api", "api", env)
    worker.start()
    api.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, api)
        yield Parley(base_url=base_url, api=api, worker=worker, env=env)
    finally:
        api.stop()
        worker.stop()


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, max_size=4)
    await database.open()
    yield database
    await database.close()


@pytest.fixture(scope="session")
async def account(db: Database) -> Credentials:
    async with db.unit() as uow:
        return await create_account(uow, friendly_name="Test account")


@pytest.fixture
async def admin(parley: Parley, account: Credentials) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=parley.base_url, auth=(account.account_sid, account.auth_token), timeout=30
    ) as client:
        yield client


@pytest.fixture(scope="session")
def agent_token(account: Credentials) -> Callable[..., str]:
    """Access tokens of the session's account built with the official twilio library, as a Flex deployment
    would (`access_token` for another account's)."""
    return functools.partial(access_token, account)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on loopback, speaking HTTP as Twilio's callbacks' targets do."""
    with webhook_receiver() as r:
        yield r


@pytest.fixture
def twilio(parley: Parley, account: Credentials) -> TwilioClient:
    """The official `twilio` helper library, unchanged but for its base URLs pointed at this Parley
    (shared/reference/twilio-python-client.md §6.2)."""
    client = TwilioClient(account.account_sid, account.auth_token)
    client.taskrouter.base_url = f"{parley.base_url}/taskrouter"
    client.conversations.base_url = f"{parley.base_url}/conversations"
    client.flex_api.base_url = f"{parley.base_url}/flex-api"
    client.messaging.base_url = f"{parley.base_url}/messaging"
    return client
