"""Channels through the stand-in providers (channels/standin, run in this process on loopback): customers'
SMS arriving as Twilio's signed webhooks, and replies leaving through the outbox, a ChannelDelivery workflow and
the Twilio adapter until the provider has accepted them.

- *SMS in*: C customers each send their messages one after another (the provider posts the next webhook once
  Parley answered the last); latency is the webhook round trip: signature checked, the message stored exactly
  once (with its conversation and participant the first time), answered. Beside the PostgreSQL floor.
- *SMS out*: a REST message into each of C conversations, one after another per conversation; latency is from
  the POST to the provider having accepted the send (the stand-in's send log). Beside the Temporal
  signal-with-start floor: each message starts one delivery workflow."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx
import uvicorn

from bench.cpu import CpuMeter
from bench.harness import Services
from bench.stats import Figure, closed_loop
from channels.standin.app import create_app
from tests.support.contact_center import ok
from tests.support.services import free_port

SENT_TIMEOUT = 60.0  # seconds for one reply to reach the provider
POLL = 0.002  # seconds between looks at the stand-in's send log (in this process: a list read)


@contextmanager
def _standin() -> Iterator[tuple[str, Any]]:
    app = create_app()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the stand-in providers did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app.state.standin.store
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def _sms_line(admin: httpx.AsyncClient, standin_url: str) -> str:
    """A Twilio connection with one number whose new contacts auto-create conversations (not routed: the
    routing figures are measured elsewhere)."""
    credentials = {"account_sid": "AC" + secrets.token_hex(16), "auth_token": secrets.token_hex(16)}
    address = "+1555" + "".join(secrets.choice("0123456789") for _ in range(7))
    provider = await ok(
        await admin.post(
            "/parley/v1/ChannelProviders",
            data={"Kind": "twilio", "ApiBaseUrl": standin_url, "Credentials": json.dumps(credentials)},
        ),
        201,
    )
    await ok(await admin.post(f"/parley/v1/ChannelProviders/{provider['sid']}/Senders", data={"Address": address}), 201)
    await ok(
        await admin.post(
            "/conversations/v1/Configuration/Addresses",
            data={"Type": "sms", "Address": address, "AutoCreation.Enabled": "true"},
        ),
        201,
    )
    number = {"provider": "twilio", "address": address, "webhook_url": provider["webhook_url"], **credentials}
    async with httpx.AsyncClient(base_url=standin_url) as http:
        await ok(await http.post("/_standin/numbers", json=number), 201)
    return address


async def sms(
    services: Services, admin: httpx.AsyncClient, meter: CpuMeter, *, customers: int, messages: int
) -> list[Figure]:
    with _standin() as (standin_url, store):
        address = await _sms_line(admin, standin_url)
        phones = [f"+1556{i:07d}" for i in range(customers)]
        async with httpx.AsyncClient(base_url=standin_url, timeout=60) as http:

            async def inbound(i: int, j: int) -> None:
                answer = await ok(
                    await http.post(
                        f"/_standin/phones/{quote(phones[i], safe='')}/send",
                        json={"to": address, "body": f"in {i}.{j}"},
                    )
                )
                if answer["status_code"] != 200:
                    raise RuntimeError(f"Parley answered the webhook with {answer['status_code']}")

            incoming = await closed_loop(customers, messages, inbound, meter)

        conversations = {}
        for phone in phones:
            found = await ok(await admin.get("/conversations/v1/ParticipantConversations", params={"Address": phone}))
            conversations[phone] = found["conversations"][0]["conversation_sid"]

        async def outbound(i: int, j: int) -> None:
            body = f"out {i}.{j}"
            seen = len(store.sent)
            await ok(
                await admin.post(
                    f"/conversations/v1/Conversations/{conversations[phones[i]]}/Messages",
                    data={"Author": "agent", "Body": body},
                ),
                201,
            )
            deadline = time.monotonic() + SENT_TIMEOUT
            while not any(s.body == body for s in store.sent[seen:]):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{body!r} never reached the provider")
                await asyncio.sleep(POLL)

        replies = await closed_loop(customers, messages, outbound, meter)
        duplicates = len(store.sent) - len({s.body for s in store.sent})
        if duplicates:
            raise RuntimeError(f"{duplicates} replies reached the provider twice")
    return [
        Figure(
            "smsin",
            "SMS in: signed webhook → stored (Twilio stand-in)",
            str(customers),
            messages,
            incoming.seconds,
            incoming.latencies_ms,
            incoming.cpu,
            floor="pg",
        ),
        Figure(
            "smsout",
            "SMS out: REST message → provider accepted",
            str(customers),
            messages,
            replies.seconds,
            replies.latencies_ms,
            replies.cpu,
            floor="sws",
        ),
    ]
