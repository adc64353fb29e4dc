"""Mid-webhook delivery: a conversation's post-event webhook answers slowly, so deliveries are in flight when the
worker (which sends them) and then the api (which records and hands them on) are SIGKILLed. Every acknowledged
message's onMessageAdded reaches the receiver under one idempotency token; a request the kill cut off may arrive
again, byte-identical with the same token (docs/webhooks.md), never as a second event with a new token."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from tests.faults.support import Sender, assert_exactly_once_in_order, set_available, when
from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.waiting import eventually
from tests.support.webhooks import Answer, Received

MESSAGES = 20
DELAY = 0.4
# A request counts as in flight at a kill if it arrived at most this long before it (its answer takes DELAY, the
# worker then reports the activity's completion to Temporal).
IN_FLIGHT = DELAY + 2.0


async def test_each_webhook_arrives_under_one_token_when_worker_and_api_die_mid_delivery(faults, admin, receiver):
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")})
    await set_available(admin, center, "alice")
    chat = await start_webchat(faults.base_url, center.address_sid, "Wes")
    conversation_sid = chat["conversation_sid"]
    await ok(
        await admin.post(
            f"/conversations/v1/Conversations/{conversation_sid}/Webhooks",
            data={
                "Target": "webhook",
                "Configuration.Url": receiver.url("/faults"),
                "Configuration.Method": "POST",
                "Configuration.Filters": ["onMessageAdded"],
            },
        ),
        201,
    )
    receiver.script = lambda _: Answer(delay=DELAY)  # slow enough that several are always in flight
    sender = Sender(lambda: faults.base_url, conversation_sid, chat["token"], "hook")

    killed_at: list[float] = []

    async def killer() -> None:
        await when(lambda: len(sender.acked) >= 5 and receiver.of("onMessageAdded"), "deliveries under way")
        killed_at.append(time.monotonic())
        faults.restart_worker()
        await when(lambda: len(sender.acked) >= 12, "12 sends acked")
        killed_at.append(time.monotonic())
        faults.kill_api()
        await asyncio.to_thread(faults.start_api)

    await asyncio.gather(sender.send_all(MESSAGES), killer())
    await assert_exactly_once_in_order(admin, conversation_sid, sender.acked)

    async def all_delivered() -> dict[str, set[str]] | None:
        by_body: dict[str, set[str]] = defaultdict(set)
        for request in receiver.of("onMessageAdded", "/faults"):
            by_body[request.form["Body"]].add(request.headers["i-twilio-idempotency-token"])
        return by_body if set(by_body) >= set(sender.acked) else None

    by_body = await eventually(all_delivered, timeout=90, what="every message's onMessageAdded at the receiver")
    assert set(by_body) == set(sender.acked), "a webhook for a message nobody sent"
    assert all(len(tokens) == 1 for tokens in by_body.values()), f"one event, several tokens: {dict(by_body)}"
    by_token: dict[str, list[Received]] = defaultdict(list)
    for request in receiver.of("onMessageAdded", "/faults"):
        by_token[request.headers["i-twilio-idempotency-token"]].append(request)
    assert all(len({r.body for r in sent}) == 1 for sent in by_token.values()), "a retry that is not byte-identical"
    # At-least-once with the same token: only a request in flight when a process died (arrived, not yet answered
    # and recorded as delivered) may come again.
    for token, sent in by_token.items():
        if len(sent) > 1:
            first = sent[0].at
            assert any(first - IN_FLIGHT <= k and first <= k for k in killed_at), (token, first, killed_at)
