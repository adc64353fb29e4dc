"""Delivery receipts and the message `delivery` summary. Here a status callback's effect is produced through the
one use case every adapter calls (`receipts.record_receipt`), and everything the API and the webhooks show of
it is read over the wire (tests/e2e/test_channels.py has real providers' callbacks). The participants' proxy
number is carried by a provider that cannot be reached, so the message's own delivery keeps retrying and
writes no receipt of its own while the test writes them."""

from __future__ import annotations

import json

import pytest
from temporalio.client import WorkflowExecutionStatus
from twilio.rest import Client

from domain.states import DeliveryStatus
from storage.accounts.service import create_account
from storage.channels import connections
from storage.channels.connections import ProviderFields
from storage.conversations import queries, receipts
from tests.support.webhooks import webhook_receiver


@pytest.fixture
async def tenant(db):
    async with db.unit() as uow:
        return await create_account(uow, friendly_name="Receipts")


UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens


async def test_receipts_move_forward_and_summarize_on_the_message(parley, db, tenant, temporal):
    async with db.unit() as uow:
        provider = await connections.create_provider(
            uow,
            account_sid=tenant.account_sid,
            fields=ProviderFields(
                kind="twilio",
                friendly_name="down",
                api_base_url=UNREACHABLE,
                credentials=json.dumps({"account_sid": "AC" + "0" * 32, "auth_token": "t"}),
            ),
        )
        await connections.create_sender(uow, provider=provider, address="+15550000001")
    twilio = Client(tenant.account_sid, tenant.auth_token)
    twilio.conversations.base_url = f"{parley.base_url}/conversations"
    conversation = twilio.conversations.v1.conversations.create(friendly_name="sms group")
    members = twilio.conversations.v1.conversations(conversation.sid).participants
    ann = members.create(messaging_binding_address="+15550101010", messaging_binding_proxy_address="+15550000001")
    bob = members.create(messaging_binding_address="+15550202020", messaging_binding_proxy_address="+15550000001")
    message = twilio.conversations.v1.conversations(conversation.sid).messages.create(body="Your order shipped")
    assert message.delivery is None  # no receipt yet

    with webhook_receiver() as receiver:
        twilio.conversations.v1.conversations(conversation.sid).webhooks.create(
            target="webhook", configuration_url=receiver.url(), configuration_filters=["onDeliveryUpdated"]
        )
        async with db.unit() as uow:
            row = await queries.found_message(uow, conversation_sid=conversation.sid, message_sid=message.sid)
            await receipts.record_receipt(
                uow, message=row, participant_sid=ann.sid, status=DeliveryStatus.SENT, channel_message_sid="SM1"
            )
            await receipts.record_receipt(uow, message=row, participant_sid=ann.sid, status=DeliveryStatus.READ)
            # Late and repeated statuses change nothing (providers retry and reorder callbacks).
            await receipts.record_receipt(uow, message=row, participant_sid=ann.sid, status=DeliveryStatus.DELIVERED)
            await receipts.record_receipt(
                uow, message=row, participant_sid=bob.sid, status=DeliveryStatus.UNDELIVERED, error_code=30003
            )
        hooks = await receiver.wait_for("onDeliveryUpdated", count=3)
        assert sorted(h.form["Status"] for h in hooks) == ["read", "sent", "undelivered"]
        assert {h.form["MessageSid"] for h in hooks} == {message.sid}
        assert all(h.signed_by(tenant.auth_token) for h in hooks)

    listed = twilio.conversations.v1.conversations(conversation.sid).messages(message.sid).delivery_receipts.list()
    by_participant = {r.participant_sid: r for r in listed}
    assert by_participant[ann.sid].status == "read" and by_participant[ann.sid].channel_message_sid == "SM1"
    assert by_participant[bob.sid].status == "undelivered" and by_participant[bob.sid].error_code == 30003
    one = (
        twilio.conversations.v1.conversations(conversation.sid)
        .messages(message.sid)
        .delivery_receipts(by_participant[ann.sid].sid)
        .fetch()
    )
    assert one.message_sid == message.sid and one.url.endswith(f"/Receipts/{one.sid}")

    summary = twilio.conversations.v1.conversations(conversation.sid).messages(message.sid).fetch().delivery
    assert summary == {
        "total": 2,
        "sent": "some",
        "delivered": "some",
        "read": "some",
        "failed": "none",
        "undelivered": "some",
    }
    [listed_message] = twilio.conversations.v1.conversations(conversation.sid).messages.list()
    assert listed_message.delivery == summary
    # The deliveries still retrying against the unreachable provider (each stops at its next attempt, now that
    # a receipt exists; no need to wait for the backoff).
    for participant in (ann, bob):
        handle = temporal.get_workflow_handle(f"deliver-{message.sid}-{participant.sid}")
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test over")
