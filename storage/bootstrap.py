"""First-run setup: an account with an auth token and an API key, its default Conversation Service, and
(for `make dev`) a demo workspace with two agents and a web-chat address that routes to them. Built with the
same use cases the REST API calls."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from domain.addresses import AutoCreation
from domain.routing import parse_workflow_configuration
from storage.accounts.service import Credentials, create_account
from storage.channels import connections
from storage.channels.connections import ProviderFields
from storage.conversations import service as conversations
from storage.db import UnitOfWork
from storage.taskrouter import service as taskrouter
from storage.taskrouter.models import NewWorkspace, TaskQueueFields, WorkflowFields

__all__ = [
    "Credentials",
    "DemoWorkspace",
    "create_account",
    "create_demo_channels",
    "create_demo_workspace",
    "create_webchat_address",
]

DEMO_AGENTS = ("alice", "bob")
DEMO_CHAT_CAPACITY = 3  # agents take up to three chats at once
DEMO_RESERVATION_TIMEOUT = 60


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
    workspace = await taskrouter.create_workspace(
        uow, account_sid=account_sid, new=NewWorkspace(friendly_name="Parley Demo")
    )
    ws = workspace.sid
    activities = {
        r["friendly_name"]: r["sid"]
        for r in await uow.fetchall("SELECT sid, friendly_name FROM activities WHERE workspace_sid = %s", (ws,))
    }
    queue = await taskrouter.create_task_queue(
        uow,
        workspace=workspace,
        fields=TaskQueueFields(friendly_name="Support", target_workers="routing.skills HAS 'support'"),
    )
    configuration = json.dumps(
        {
            "task_routing": {
                "filters": [
                    {
                        "filter_friendly_name": "Chat",
                        "expression": "channelType == 'web'",
                        "targets": [{"queue": queue.sid}],
                    }
                ],
                "default_filter": {"queue": queue.sid},
            }
        }
    )
    workflow = await taskrouter.create_workflow(
        uow,
        workspace=workspace,
        fields=WorkflowFields(
            friendly_name="Chat Support", configuration=configuration, task_reservation_timeout=DEMO_RESERVATION_TIMEOUT
        ),
        config=parse_workflow_configuration(configuration),
    )
    agents: dict[str, str] = {}
    for name in DEMO_AGENTS:
        attributes = {
            "routing": {"skills": ["support"], "levels": {"support": 5}},
            "contact_uri": f"client:{name}",
            "full_name": name.title(),
        }
        worker = await taskrouter.create_worker(
            uow, workspace=workspace, friendly_name=name, attributes=json.dumps(attributes), activity_sid=None
        )
        await taskrouter.configure_worker_channel(
            uow, workspace=workspace, worker_sid=worker.sid, key="chat", capacity=DEMO_CHAT_CAPACITY, available=None
        )
        agents[name] = worker.sid
    address_sid = await create_webchat_address(
        uow, account_sid=account_sid, address="demo-webchat", workspace_sid=ws, workflow_sid=workflow.sid
    )
    return DemoWorkspace(
        workspace_sid=ws,
        workflow_sid=workflow.sid,
        queue_sid=queue.sid,
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
    auto_creation = AutoCreation(
        enabled=True,
        routing={
            "properties": {
                "workspace_sid": workspace_sid,
                "workflow_sid": workflow_sid,
                "task_channel_unique_name": task_channel_unique_name,
            }
        },
    )
    row = await conversations.create_address(
        uow,
        account_sid=account_sid,
        type="chat",
        address=address,
        friendly_name="Web chat",
        auto_creation=auto_creation,
        address_country=None,
    )
    return row.sid


# The demo's business addresses, carried by the stand-in providers (channels/standin) that `make dev` starts.
DEMO_SMS_NUMBER = "+15550100001"
DEMO_WHATSAPP_NUMBER = "whatsapp:+15550100002"
DEMO_MESSENGER_PAGE = "100200300400"


async def create_demo_channels(
    uow: UnitOfWork, *, account_sid: str, workspace_sid: str, workflow_sid: str, standin_url: str, base_url: str
) -> list[dict[str, str]]:
    """An SMS number and a WhatsApp number through a Twilio connection and a Messenger page through a Meta one,
    all pointing at the stand-ins and routed to the demo workflow. Returns what the stand-ins must be told
    about each number (where Parley's webhook is, and the secrets they sign with)."""
    twilio = {"account_sid": "AC" + secrets.token_hex(16), "auth_token": secrets.token_hex(16)}
    messenger = {
        "page_id": DEMO_MESSENGER_PAGE,
        "page_access_token": secrets.token_hex(20),
        "app_secret": secrets.token_hex(16),
        "verify_token": secrets.token_hex(8),
    }
    numbers: list[dict[str, str]] = []
    for kind, credentials, api, addresses in (
        ("twilio", twilio, standin_url, [DEMO_SMS_NUMBER, DEMO_WHATSAPP_NUMBER]),
        ("messenger", messenger, f"{standin_url}/v21.0", [f"messenger:{DEMO_MESSENGER_PAGE}"]),
    ):
        provider = await connections.create_provider(
            uow,
            account_sid=account_sid,
            fields=ProviderFields(
                kind=kind,
                friendly_name=f"Demo {kind} (stand-in)",
                api_base_url=api,
                credentials=json.dumps(credentials),
            ),
        )
        webhook_url = f"{base_url}/parley/v1/ChannelProviders/{provider.sid}/Webhook"
        for address in addresses:
            sender = await connections.create_sender(uow, provider=provider, address=address)
            await conversations.create_address(
                uow,
                account_sid=account_sid,
                type=sender.channel,
                address=address,
                friendly_name=f"Demo {sender.channel}",
                auto_creation=AutoCreation(
                    enabled=True,
                    routing={
                        "properties": {
                            "workspace_sid": workspace_sid,
                            "workflow_sid": workflow_sid,
                            "task_channel_unique_name": "chat",
                        }
                    },
                ),
                address_country=None,
            )
            number = {"provider": kind, "address": address, "webhook_url": webhook_url, **credentials}
            if kind == "twilio":
                number["channel"] = sender.channel
            numbers.append(number)
    return numbers
