"""Builds a small contact center through the public REST API only, as an admin would (issue step 4.1)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class ContactCenter:
    workspace_sid: str
    activities: dict[str, str]
    queue_sid: str
    workflow_sid: str
    address_sid: str
    workers: dict[str, str] = field(default_factory=dict)

    def path(self, suffix: str) -> str:
        return f"/taskrouter/v1/Workspaces/{self.workspace_sid}{suffix}"


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json() if response.content else {}


async def build_contact_center(
    admin: httpx.AsyncClient,
    *,
    agents: dict[str, dict[str, Any]],
    reservation_timeout: int = 120,
    chat_capacity: int = 2,
    name: str = "Support center",
) -> ContactCenter:
    workspace = await ok(await admin.post("/taskrouter/v1/Workspaces", data={"FriendlyName": name}), 201)
    ws = workspace["sid"]
    activities = {
        a["friendly_name"]: a["sid"]
        for a in (await ok(await admin.get(f"/taskrouter/v1/Workspaces/{ws}/Activities")))["activities"]
    }
    queue = await ok(
        await admin.post(
            f"/taskrouter/v1/Workspaces/{ws}/TaskQueues",
            data={"FriendlyName": "Support", "TargetWorkers": "skills HAS 'support'"},
        ),
        201,
    )
    configuration = {
        "task_routing": {
            "filters": [
                {
                    "filter_friendly_name": "Web chat",
                    "expression": "channelType == 'web'",
                    "targets": [{"queue": queue["sid"]}],
                },
            ],
            "default_filter": {"queue": queue["sid"]},
        }
    }
    workflow = await ok(
        await admin.post(
            f"/taskrouter/v1/Workspaces/{ws}/Workflows",
            data={
                "FriendlyName": "Chat routing",
                "Configuration": json.dumps(configuration),
                "TaskReservationTimeout": str(reservation_timeout),
            },
        ),
        201,
    )
    center = ContactCenter(
        workspace_sid=ws,
        activities=activities,
        queue_sid=queue["sid"],
        workflow_sid=workflow["sid"],
        address_sid="",
    )
    for friendly_name, attributes in agents.items():
        worker = await ok(
            await admin.post(
                center.path("/Workers"),
                data={"FriendlyName": friendly_name, "Attributes": json.dumps(attributes)},
            ),
            201,
        )
        center.workers[friendly_name] = worker["sid"]
        await ok(
            await admin.post(
                center.path(f"/Workers/{worker['sid']}/Channels/chat"), data={"Capacity": str(chat_capacity)}
            )
        )
    address = await ok(
        await admin.post(
            "/conversations/v1/Configuration/Addresses",
            data={
                "Type": "chat",
                "Address": f"webchat-{ws}",
                "FriendlyName": "Web chat",
                "AutoCreation.Enabled": "true",
                "AutoCreation.Type": "default",
                "AutoCreation.Routing": json.dumps(
                    {
                        "properties": {
                            "workspace_sid": ws,
                            "workflow_sid": workflow["sid"],
                            "task_channel_unique_name": "chat",
                        }
                    }
                ),
            },
        ),
        201,
    )
    center.address_sid = address["sid"]
    return center


async def start_webchat(base_url: str, address_sid: str, name: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as anonymous:
        return await ok(
            await anonymous.post(
                "/flex-api/v2/WebChats", data={"AddressSid": address_sid, "CustomerFriendlyName": name}
            ),
            201,
        )


def agent_attributes(name: str, *, skills: tuple[str, ...] = ("support",)) -> dict[str, Any]:
    return {"skills": list(skills), "contact_uri": f"client:{name}", "full_name": name.title()}
