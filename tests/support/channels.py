"""The stand-in providers (channels/standin) as tests use them: one process for the session, driven through
its control API, and an omnichannel contact center wired to it through Parley's public API only (provider
connections, their senders, address configurations), as an admin would do it."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import uvicorn

from tests.support.contact_center import ContactCenter, ok
from tests.support.services import free_port
from tests.support.waiting import eventually


@dataclass
class Standin:
    base_url: str

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=30)

    async def register(self, number: dict[str, Any]) -> dict[str, Any]:
        async with self.client() as http:
            return await ok(await http.post("/_standin/numbers", json=number), 201)

    async def send(self, customer: str, to: str, body: str | None = None, **options: Any) -> dict[str, Any]:
        async with self.client() as http:
            return await ok(
                await http.post(
                    f"/_standin/phones/{quote(customer, safe='')}/send", json={"to": to, "body": body, **options}
                )
            )

    async def inbox(self, customer: str) -> list[dict[str, Any]]:
        async with self.client() as http:
            answer = await ok(await http.get(f"/_standin/phones/{quote(customer, safe='')}/inbox"))
        return answer if isinstance(answer, list) else answer.get("messages", [])

    async def read(self, customer: str) -> None:
        async with self.client() as http:
            await ok(await http.post(f"/_standin/phones/{quote(customer, safe='')}/read", json={}))

    async def fault(self, provider: str, mode: str, retry_after: float | None = None) -> None:
        async with self.client() as http:
            await ok(
                await http.post(
                    "/_standin/faults", json={"provider": provider, "mode": mode, "retry_after": retry_after}
                )
            )

    async def sent(self) -> list[dict[str, Any]]:
        async with self.client() as http:
            answer = await ok(await http.get("/_standin/sent"))
        return answer if isinstance(answer, list) else answer.get("sent", [])

    async def wait_inbox(self, customer: str, predicate: Any, *, timeout: float = 30, what: str = "") -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            return next((m for m in await self.inbox(customer) if predicate(m)), None)

        return await eventually(probe, timeout=timeout, what=what or f"a message in {customer}'s inbox")


@contextmanager
def running_standin() -> Iterator[Standin]:
    from channels.standin.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the stand-in providers did not start")
        time.sleep(0.05)
    try:
        yield Standin(base_url=f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Channel:
    """One business address of the contact center on one provider."""

    provider_sid: str
    kind: str
    address: str
    sender_sid: str
    address_sid: str
    secrets: dict[str, str] = field(default_factory=dict)


def _e164() -> str:
    return "+1555" + "".join(secrets.choice("0123456789") for _ in range(7))


async def connect_provider(
    admin: httpx.AsyncClient, standin: Standin, *, kind: str, credentials: dict[str, str]
) -> dict[str, Any]:
    base = standin.base_url + ("/v21.0" if kind != "twilio" else "")
    return await ok(
        await admin.post(
            "/parley/v1/ChannelProviders",
            data={
                "Kind": kind,
                "FriendlyName": f"stand-in {kind}",
                "ApiBaseUrl": base,
                "Credentials": json.dumps(credentials),
            },
        ),
        201,
    )


async def add_channel(
    admin: httpx.AsyncClient,
    standin: Standin,
    center: ContactCenter,
    *,
    kind: str,
    channel: str,
    routed: bool = True,
) -> Channel:
    """A provider connection with one sender, its address configuration (auto-creating and routing new
    contacts to the center's workflow), and the stand-in told about the number."""
    if kind == "twilio":
        credentials = {"account_sid": "AC" + secrets.token_hex(16), "auth_token": secrets.token_hex(16)}
        address = ("whatsapp:" if channel == "whatsapp" else "") + _e164()
    elif kind == "whatsapp_cloud":
        credentials = {
            "phone_number_id": str(secrets.randbelow(10**15)),
            "access_token": secrets.token_hex(20),
            "app_secret": secrets.token_hex(16),
            "verify_token": secrets.token_hex(8),
        }
        address = "whatsapp:" + _e164()
    else:
        credentials = {
            "page_id": str(secrets.randbelow(10**15)),
            "page_access_token": secrets.token_hex(20),
            "app_secret": secrets.token_hex(16),
            "verify_token": secrets.token_hex(8),
        }
        address = f"messenger:{credentials['page_id']}"
    provider = await connect_provider(admin, standin, kind=kind, credentials=credentials)
    sender = await ok(
        await admin.post(f"/parley/v1/ChannelProviders/{provider['sid']}/Senders", data={"Address": address}), 201
    )
    data = {"Type": channel, "Address": address, "FriendlyName": f"{channel} line", "AutoCreation.Enabled": "true"}
    if routed:
        data["AutoCreation.Routing"] = json.dumps(
            {
                "properties": {
                    "workspace_sid": center.workspace_sid,
                    "workflow_sid": center.workflow_sid,
                    "task_channel_unique_name": "chat",
                }
            }
        )
    configuration = await ok(await admin.post("/conversations/v1/Configuration/Addresses", data=data), 201)
    number: dict[str, Any] = {"provider": kind, "address": address, "webhook_url": provider["webhook_url"]}
    if kind == "twilio":
        number |= {"channel": channel, **credentials}
    else:
        number |= credentials
    await standin.register(number)
    return Channel(
        provider_sid=provider["sid"],
        kind=kind,
        address=address,
        sender_sid=sender["sid"],
        address_sid=configuration["sid"],
        secrets=credentials,
    )
