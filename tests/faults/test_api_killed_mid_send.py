"""Mid-send: customers send over REST and over the WebSocket while the api is SIGKILLed twice. Every send that
was acknowledged is stored exactly once and in order; a send that got no answer is sent again with the same
idempotency key, and is then stored once too. The conversations are routed and reach an agent."""

from __future__ import annotations

import asyncio

from tests.faults.support import (
    Sender,
    SocketSender,
    accept_all,
    assert_exactly_once_in_order,
    assert_routing_invariants,
    set_available,
    when,
)
from tests.support.contact_center import agent_attributes, build_contact_center, start_webchat

MESSAGES = 30
KILL_AFTER = (6, 18)  # acknowledgements of each sender before each kill


async def test_no_acknowledged_message_is_lost_or_doubled_when_the_api_dies_mid_send(faults, admin):
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")})
    await set_available(admin, center, "alice")
    over_rest = await start_webchat(faults.base_url, center.address_sid, "Rita")
    over_socket = await start_webchat(faults.base_url, center.address_sid, "Sam")
    rest = Sender(lambda: faults.base_url, over_rest["conversation_sid"], over_rest["token"], "rest")
    socket = SocketSender(lambda: faults.base_url, over_socket["conversation_sid"], over_socket["token"], "ws")

    async def killer() -> None:
        for threshold in KILL_AFTER:
            await when(lambda t=threshold: len(rest.acked) >= t and len(socket.acked) >= t, f"{threshold} sends acked")
            faults.kill_api()  # both senders have a request in flight or about to be
            await asyncio.to_thread(faults.start_api)

    await asyncio.gather(rest.send_all(MESSAGES), socket.send_all(MESSAGES), killer())

    assert rest.failures and socket.failures, "the kills did not interrupt any send"
    await assert_exactly_once_in_order(admin, over_rest["conversation_sid"], rest.acked)
    await assert_exactly_once_in_order(admin, over_socket["conversation_sid"], socket.acked)
    assert len(rest.acked) == len(socket.acked) == MESSAGES
    tasks = await accept_all(admin, center, faults.database_url, expected_tasks=2)
    assert len(tasks) == 2, tasks  # one task per conversation, not one per retried message
    await assert_routing_invariants(faults.database_url, center.workspace_sid)
