"""A small, real contact center in an account of its own, built through the REST API, for the fuzzer to pin path
parameters to: a workspace with an activity, a task channel, a queue, a workflow, an available worker with a
reserved task; a conversation with a participant, a message and a webhook; a user, a role, a push credential,
an address configuration, an uploaded media file, and an interaction with its channel."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

_WS = re.escape("/taskrouter/v1/Workspaces/{workspace_sid}")
_CONVERSATIONS = r"^/conversations/v1/(Services/\{ChatServiceSid\}/)?"


@dataclass(frozen=True)
class World:
    """The SIDs path parameters are pinned to: by parameter name, and for `{sid}` (which names a different
    resource on each path) by the first path pattern that matches."""

    parameters: dict[str, str]
    sids: dict[str, str]

    def pinned(self, path: str) -> dict[str, str]:
        names = set(re.findall(r"\{(\w+)\}", path))
        values = {name: value for name, value in self.parameters.items() if name in names}
        if "sid" in names:
            for pattern, sid in self.sids.items():
                if re.match(pattern, path):
                    values["sid"] = sid
                    break
        return values


def created(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


def _poll(probe: Callable[[], Any], *, what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def build_world(client: httpx.Client) -> World:
    """`client` authenticates as the account the world is built in."""
    taskrouter = _taskrouter(client)
    conversations = _conversations(client)
    ws, ww = taskrouter.parameters["workspace_sid"], taskrouter.parameters["workflow_sid"]
    interactions = _interaction(client, workspace_sid=ws, workflow_sid=ww)
    parts = (taskrouter, conversations, interactions)
    return World(
        parameters={name: sid for part in parts for name, sid in part.parameters.items()},
        sids={pattern: sid for part in parts for pattern, sid in part.sids.items()},
    )


def _taskrouter(client: httpx.Client) -> World:
    ws = created(client.post("/taskrouter/v1/Workspaces", data={"FriendlyName": "Fuzzed"}))["sid"]
    tr = f"/taskrouter/v1/Workspaces/{ws}"
    activities = {a["friendly_name"]: a["sid"] for a in created(client.get(f"{tr}/Activities"))["activities"]}
    activity = created(client.post(f"{tr}/Activities", data={"FriendlyName": "Fuzzing"}))["sid"]
    channel = created(client.post(f"{tr}/TaskChannels", data={"FriendlyName": "Fuzz", "UniqueName": "fuzz"}))["sid"]
    queue = created(client.post(f"{tr}/TaskQueues", data={"FriendlyName": "Everyone"}))["sid"]
    configuration = json.dumps({"task_routing": {"filters": [], "default_filter": {"queue": queue}}})
    workflow = created(client.post(f"{tr}/Workflows", data={"FriendlyName": "All", "Configuration": configuration}))[
        "sid"
    ]
    worker = created(
        client.post(f"{tr}/Workers", data={"FriendlyName": "fuzzy", "ActivitySid": activities["Available"]})
    )["sid"]
    worker_channel = created(client.get(f"{tr}/Workers/{worker}/Channels"))["channels"][0]["sid"]
    task = created(client.post(f"{tr}/Tasks", data={"WorkflowSid": workflow, "Attributes": "{}"}))["sid"]
    reservation = _poll(
        lambda: next(iter(created(client.get(f"{tr}/Tasks/{task}/Reservations"))["reservations"]), None),
        what="the fuzz task's reservation",
    )["sid"]
    event = created(client.get(f"{tr}/Events"))["events"][0]["sid"]
    parameters = {
        "workspace_sid": ws,
        "worker_sid": worker,
        "task_sid": task,
        "reservation_sid": reservation,
        "task_queue_sid": queue,
        "workflow_sid": workflow,
    }
    sids = {
        rf"^{_WS}/Activities/": activity,
        rf"^{_WS}/TaskChannels/": channel,
        rf"^{_WS}/TaskQueues/": queue,
        rf"^{_WS}/Workflows/": workflow,
        rf"^{_WS}/Workers/\{{worker_sid}}/Channels/": worker_channel,
        rf"^{_WS}/Workers/": worker,
        rf"^{_WS}/Events/": event,
    }
    return World(parameters=parameters, sids=sids)


def _conversations(client: httpx.Client) -> World:
    conversation = created(
        client.post("/conversations/v1/Conversations", data={"FriendlyName": "Fuzz", "UniqueName": "fuzz"})
    )
    ch, service = conversation["sid"], conversation["chat_service_sid"]
    path = f"/conversations/v1/Conversations/{ch}"
    participant = created(client.post(f"{path}/Participants", data={"Identity": "fuzzer"}))["sid"]
    message = created(client.post(f"{path}/Messages", data={"Body": "hello", "Author": "fuzzer"}))["sid"]
    webhook = created(
        client.post(f"{path}/Webhooks", data={"Target": "webhook", "Configuration.Url": "http://127.0.0.1:9/"})
    )["sid"]
    user = created(client.get("/conversations/v1/Users/fuzzer"))["sid"]
    role_form = {"FriendlyName": "fuzz", "Type": "conversation", "Permission": "sendMessage"}
    role = created(client.post("/conversations/v1/Roles", data=role_form))["sid"]
    credential = created(client.post("/conversations/v1/Credentials", data={"Type": "fcm", "Secret": "s3cr3t"}))["sid"]
    address = created(
        client.post("/conversations/v1/Configuration/Addresses", data={"Type": "chat", "Address": "fuzz-chat"})
    )["sid"]
    media = created(
        client.post(
            f"/mcs/v1/Services/{service}/Media",
            content=b"fuzz",
            params={"Filename": "fuzz.txt"},
            headers={"Content-Type": "text/plain"},
        )
    )["sid"]
    parameters = {
        "ChatServiceSid": service,
        "participant": participant,
        "message_sid": message,
        "webhook_sid": webhook,
        "user": user,
        "conversation": ch,
    }
    sids = {
        rf"{_CONVERSATIONS}Conversations/": ch,
        rf"{_CONVERSATIONS}Users/": user,
        rf"{_CONVERSATIONS}Roles/": role,
        r"^/conversations/v1/Credentials/": credential,
        r"^/conversations/v1/Configuration/Addresses/": address,
        r"^/conversations/v1/Services/\{sid\}": service,
        r"^/mcs/v1/Services/\{ChatServiceSid\}/Media/": media,
    }
    return World(parameters=parameters, sids=sids)


def _interaction(client: httpx.Client, *, workspace_sid: str, workflow_sid: str) -> World:
    conversation = created(client.post("/conversations/v1/Conversations", data={"FriendlyName": "Routed"}))["sid"]
    created(client.post(f"/conversations/v1/Conversations/{conversation}/Participants", data={"Identity": "customer"}))
    channel = {"type": "chat", "initiated_by": "customer", "properties": {"media_channel_sid": conversation}}
    routing = {"properties": {"workspace_sid": workspace_sid, "workflow_sid": workflow_sid}}
    interaction = created(
        client.post("/flex-api/v1/Interactions", data={"Channel": json.dumps(channel), "Routing": json.dumps(routing)})
    )["sid"]
    interaction_channel = created(client.get(f"/flex-api/v1/Interactions/{interaction}/Channels"))["channels"][0]["sid"]
    return World(parameters={"channel_sid": interaction_channel}, sids={r"^/flex-api/v1/Interactions/": interaction})
