"""First-run setup: an account with an auth token and an API key, its default Conversation Service, and
(for `make dev`) a demo workspace with two agents and a web-chat address that routes to them."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from psycopg.types.json import Jsonb

from domain.sids import SidPrefix, new_sid
from storage import routing
from storage.db import UnitOfWork


@dataclass(frozen=True)
class Credentials:
    account_sid: str
    auth_token: str
    api_key_sid: str
    api_key_secret: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


async def create_account(uow: UnitOfWork, *, friendly_name: str = "Parley") -> Credentials:
    credentials = Credentials(
        account_sid=new_sid(SidPrefix.ACCOUNT),
        auth_token=secrets.token_hex(16),
        api_key_sid=new_sid(SidPrefix.API_KEY),
        api_key_secret=secrets.token_urlsafe(24),
    )
    service_sid = new_sid(SidPrefix.CONVERSATION_SERVICE)
    await uow.execute(
        "INSERT INTO accounts (sid, friendly_name, auth_token) VALUES (%s, %s, %s)",
        (credentials.account_sid, friendly_name, credentials.auth_token),
    )
    await uow.execute(
        "INSERT INTO api_keys (sid, account_sid, friendly_name, secret) VALUES (%s, %s, 'bootstrap', %s)",
        (credentials.api_key_sid, credentials.account_sid, credentials.api_key_secret),
    )
    await uow.execute(
        "INSERT INTO conversation_services (sid, account_sid, friendly_name) VALUES (%s, %s, 'Default')",
        (service_sid, credentials.account_sid),
    )
    await uow.execute(
        "UPDATE accounts SET default_chat_service_sid = %s WHERE sid = %s",
        (service_sid, credentials.account_sid),
    )
    return credentials


@dataclass(frozen=True)
class DemoWorkspace:
    workspace_sid: str
    workflow_sid: str
    queue_sid: str
    address_sid: str
    agents: dict[str, str]  # friendly name -> worker sid
    available_activity_sid: str
    offline_activity_sid: str


async def create_demo_workspace(uow: UnitOfWork, *, account_sid: str) -> DemoWorkspace:
    # Imported here: the api layer owns workspace creation; bootstrap reuses it rather than duplicating it.
    from api.routes.taskrouter.workspaces import create_workspace

    workspace = await create_workspace(uow, account_sid=account_sid, friendly_name="Parley Demo")
    ws = workspace["sid"]
    activities = {
        r["friendly_name"]: r["sid"]
        for r in await uow.fetchall("SELECT sid, friendly_name FROM activities WHERE workspace_sid = %s", (ws,))
    }
    queue_sid = new_sid(SidPrefix.TASK_QUEUE)
    await uow.execute(
        "INSERT INTO task_queues (sid, account_sid, workspace_sid, friendly_name, target_workers) "
        "VALUES (%s, %s, %s, 'Support', %s)",
        (queue_sid, account_sid, ws, "routing.skills HAS 'support'"),
    )
    workflow_sid = new_sid(SidPrefix.WORKFLOW)
    configuration = {
        "task_routing": {
            "filters": [
                {
                    "filter_friendly_name": "Chat",
                    "expression": "channelType == 'web'",
                    "targets": [{"queue": queue_sid}],
                }
            ],
            "default_filter": {"queue": queue_sid},
        }
    }
    await uow.execute(
        "INSERT INTO workflows (sid, account_sid, workspace_sid, friendly_name, configuration, "
        "task_reservation_timeout) VALUES (%s, %s, %s, 'Chat Support', %s, 60)",
        (workflow_sid, account_sid, ws, json.dumps(configuration)),
    )
    agents: dict[str, str] = {}
    for name in ("alice", "bob"):
        worker_sid = new_sid(SidPrefix.WORKER)
        attributes = {
            "routing": {"skills": ["support"], "levels": {"support": 5}},
            "contact_uri": f"client:{name}",
            "full_name": name.title(),
        }
        await uow.execute(
            "INSERT INTO workers (sid, account_sid, workspace_sid, friendly_name, attributes, activity_sid, "
            "available, date_status_changed) VALUES (%s, %s, %s, %s, %s, %s, false, now())",
            (worker_sid, account_sid, ws, name, json.dumps(attributes), activities["Offline"]),
        )
        agents[name] = worker_sid
        await routing.ensure_worker_channels(uow, workspace_sid=ws, worker_sid=worker_sid)
        await routing.refresh_membership_for_worker(uow, worker_sid)
    # Agents take up to three chats at once.
    await uow.execute(
        "UPDATE worker_channels SET configured_capacity = 3 WHERE workspace_sid = %s AND task_channel_sid = "
        "(SELECT sid FROM task_channels WHERE workspace_sid = %s AND unique_name = 'chat')",
        (ws, ws),
    )
    address_sid = await create_webchat_address(
        uow, account_sid=account_sid, address="demo-webchat", workspace_sid=ws, workflow_sid=workflow_sid
    )
    return DemoWorkspace(
        workspace_sid=ws,
        workflow_sid=workflow_sid,
        queue_sid=queue_sid,
        address_sid=address_sid,
        agents=agents,
        available_activity_sid=activities["Available"],
        offline_activity_sid=activities["Offline"],
    )


async def create_webchat_address(
    uow: UnitOfWork,
    *,
    account_sid: str,
    address: str,
    workspace_sid: str,
    workflow_sid: str,
    task_channel_unique_name: str = "chat",
) -> str:
    sid = new_sid(SidPrefix.ADDRESS_CONFIGURATION)
    auto_creation: dict[str, Any] = {
        "enabled": True,
        "type": "default",
        "routing": {
            "properties": {
                "workspace_sid": workspace_sid,
                "workflow_sid": workflow_sid,
                "task_channel_unique_name": task_channel_unique_name,
            }
        },
    }
    await uow.execute(
        "INSERT INTO address_configurations (sid, account_sid, type, address, friendly_name, auto_creation) "
        "VALUES (%s, %s, 'chat', %s, 'Web chat', %s)",
        (sid, account_sid, address, Jsonb(auto_creation)),
    )
    return sid
