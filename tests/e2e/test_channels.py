"""Customers on SMS, WhatsApp and Messenger, end to end against the stand-in providers (which speak the
providers' real wire protocols on loopback): an inbound message opens a conversation routed to an agent, the
agent's reply goes out through the provider, and the provider's receipts come back into Conversations. Then the
hard cases: a provider retrying a webhook, an unsigned one, an outage and throttling mid-conversation, the
WhatsApp customer-service window, media both ways, and a customer writing after the conversation closed."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from channels.base import ChannelKind
from storage.messaging import pools
from tests.support.channels import Channel, Standin, add_channel, running_standin
from tests.support.contact_center import ContactCenter, agent_attributes, build_contact_center, ok
from tests.support.histories import record_runs
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually

# A one-pixel PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def standin() -> Any:
    with running_standin() as running:
        yield running


@pytest.fixture
async def center(admin: httpx.AsyncClient, agent_token: Any) -> ContactCenter:
    built = await build_contact_center(admin, agents={"alice": agent_attributes("alice")}, chat_capacity=5)
    return built


def _customer(channel: Channel, number: str) -> str:
    if channel.address.startswith("whatsapp:"):
        return f"whatsapp:{number}"
    if channel.address.startswith("messenger:"):
        return f"messenger:{number.lstrip('+')}"
    return number


async def _conversation_of(admin: httpx.AsyncClient, customer: str) -> dict[str, Any] | None:
    found = await ok(await admin.get("/conversations/v1/ParticipantConversations", params={"Address": customer}))
    open_ones = [c for c in found["conversations"] if c["conversation_state"] != "closed"]
    return open_ones[0] if open_ones else None


async def _messages(admin: httpx.AsyncClient, conversation_sid: str) -> list[dict[str, Any]]:
    return (await ok(await admin.get(f"/conversations/v1/Conversations/{conversation_sid}/Messages")))["messages"]


async def _receipts(admin: httpx.AsyncClient, conversation_sid: str, message_sid: str) -> list[dict[str, Any]]:
    path = f"/conversations/v1/Conversations/{conversation_sid}/Messages/{message_sid}/Receipts"
    return (await ok(await admin.get(path)))["delivery_receipts"]


async def _receipt_reaches(
    admin: httpx.AsyncClient, conversation_sid: str, message_sid: str, status: str, timeout: float = 30
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = await _receipts(admin, conversation_sid, message_sid)
        return found[0] if found and found[0]["status"] == status else None

    return await eventually(probe, timeout=timeout, what=f"the receipt of {message_sid} to be {status}")


async def _reply(admin: httpx.AsyncClient, conversation_sid: str, body: str, **extra: str) -> dict[str, Any]:
    return await ok(
        await admin.post(
            f"/conversations/v1/Conversations/{conversation_sid}/Messages",
            data={"Author": "alice", "Body": body, **extra},
        ),
        201,
    )


async def _inbound_conversation(admin: httpx.AsyncClient, customer: str) -> dict[str, Any]:
    return await eventually(lambda: _conversation_of(admin, customer), what=f"a conversation for {customer}")


CHANNELS = [
    pytest.param("twilio", "sms", id="sms-through-twilio"),
    pytest.param("twilio", "whatsapp", id="whatsapp-through-twilio"),
    pytest.param("whatsapp_cloud", "whatsapp", id="whatsapp-cloud-api"),
    pytest.param("messenger", "messenger", id="messenger"),
]


CHANNELS_NUMBERS = {("twilio", "sms"): "0101", ("twilio", "whatsapp"): "0102", ("whatsapp_cloud", "whatsapp"): "0103"}
CHANNELS_NUMBERS[("messenger", "messenger")] = "0104"


@pytest.mark.parametrize(("kind", "channel_type"), CHANNELS)
async def test_customer_on_a_channel_reaches_an_agent_and_back_with_receipts(
    parley: Any, admin: httpx.AsyncClient, agent_token: Any, standin: Standin, center: ContactCenter, kind, channel_type
) -> None:
    channel = await add_channel(admin, standin, center, kind=kind, channel=channel_type)
    alice = center.workers["alice"]
    token = agent_token(center.workspace_sid, alice, identity="alice")
    as_alice = {"auth": None, "headers": {"X-Twilio-Token": token}}
    await ok(
        await admin.post(
            center.path(f"/Workers/{alice}"), data={"ActivitySid": center.activities["Available"]}, **as_alice
        )
    )
    # A number of its own per channel: the stand-in (one per module) keeps each phone's messages.
    customer = _customer(channel, f"+1555777{CHANNELS_NUMBERS[kind, channel_type]}")
    async with RealtimeClient(parley.base_url, token) as agent:
        await agent.subscribe(alice)
        sent = await standin.send(customer, channel.address, "Hi, where is my parcel?", profile_name="Dana")
        assert sent["status_code"] == 200, sent
        offer = await agent.wait_event(alice, "reservation.created", timeout=30)
        task = await ok(await admin.get(center.path(f"/Tasks/{offer['data']['task_sid']}")))
        attributes = json.loads(task["attributes"])
        assert attributes["channelType"] == channel_type
        assert attributes["customerAddress"] == customer
        conversation_sid = attributes["conversationSid"]
        channel_row = await ok(
            await admin.get(
                f"/flex-api/v1/Interactions/{attributes['flexInteractionSid']}"
                f"/Channels/{attributes['flexInteractionChannelSid']}"
            )
        )
        assert channel_row["type"] == channel_type
        participants = (await ok(await admin.get(f"/conversations/v1/Conversations/{conversation_sid}/Participants")))[
            "participants"
        ]
        binding = next(p["messaging_binding"] for p in participants if p["messaging_binding"])
        assert binding["address"] == customer and binding["proxy_address"] == channel.address
        await ok(
            await admin.post(
                center.path(f"/Workers/{alice}/Reservations/{offer['data']['reservation_sid']}"),
                data={"ReservationStatus": "accepted"},
                **as_alice,
            )
        )
        await agent.subscribe(conversation_sid)
        reply = await agent.send_message(conversation_sid, "Hi Dana, it leaves today.")

    received = await standin.wait_inbox(customer, lambda m: m["body"] == "Hi Dana, it leaves today.")
    assert received["from"] == channel.address
    await _receipt_reaches(admin, conversation_sid, reply["sid"], "delivered")
    if channel_type != "sms":
        await standin.read(customer)
        await _receipt_reaches(admin, conversation_sid, reply["sid"], "read")
    message = await ok(await admin.get(f"/conversations/v1/Conversations/{conversation_sid}/Messages/{reply['sid']}"))
    assert message["delivery"]["total"] == 1
    assert message["delivery"]["delivered"] == "all"

    # The customer writes again: the same conversation.
    await standin.send(customer, channel.address, "Great, thanks")
    await eventually(
        lambda: _bodies_include(admin, conversation_sid, "Great, thanks"), what="the second inbound message"
    )
    bodies = [m["body"] for m in await _messages(admin, conversation_sid)]
    assert bodies == ["Hi, where is my parcel?", "Hi Dana, it leaves today.", "Great, thanks"]
    # Each reply went out exactly once.
    went = [s for s in await standin.sent() if s["to"] == customer and s["body"] == "Hi Dana, it leaves today."]
    assert len(went) == 1


async def _bodies_include(admin: httpx.AsyncClient, conversation_sid: str, body: str) -> bool:
    return body in [m["body"] for m in await _messages(admin, conversation_sid)]


async def test_duplicate_webhook_has_one_effect_and_an_unsigned_one_is_refused(
    admin: httpx.AsyncClient, standin: Standin, center: ContactCenter
) -> None:
    channel = await add_channel(admin, standin, center, kind="twilio", channel="sms", routed=False)
    customer = "+15557770002"
    answer = await standin.send(customer, channel.address, "Once only", duplicate=True)
    assert answer["attempts"] == 2 if "attempts" in answer else True
    conversation = await _inbound_conversation(admin, customer)
    messages = await _messages(admin, conversation["conversation_sid"])
    assert [m["body"] for m in messages] == ["Once only"]

    stranger = "+15557770003"
    refused = await standin.send(stranger, channel.address, "Let me in", unsigned=True)
    assert refused["status_code"] == 403
    forged = await standin.send(stranger, channel.address, "Let me in", bad_signature=True)
    assert forged["status_code"] == 403
    assert await _conversation_of(admin, stranger) is None

    wa = await add_channel(admin, standin, center, kind="whatsapp_cloud", channel="whatsapp", routed=False)
    wa_customer = "whatsapp:+15557770004"
    await standin.send(wa_customer, wa.address, "Hola", duplicate=True)
    wa_conversation = await _inbound_conversation(admin, wa_customer)
    assert [m["body"] for m in await _messages(admin, wa_conversation["conversation_sid"])] == ["Hola"]
    assert (await standin.send(wa_customer, wa.address, "forged", bad_signature=True))["status_code"] == 403
    assert [m["body"] for m in await _messages(admin, wa_conversation["conversation_sid"])] == ["Hola"]


async def test_meta_verification_handshake(parley: Any, admin: httpx.AsyncClient, standin: Standin, center) -> None:
    channel = await add_channel(admin, standin, center, kind="messenger", channel="messenger", routed=False)
    url = f"{parley.base_url}/parley/v1/ChannelProviders/{channel.provider_sid}/Webhook"
    async with httpx.AsyncClient() as anonymous:
        good = await anonymous.get(
            url,
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": channel.secrets["verify_token"],
                "hub.challenge": "42",
            },
        )
        bad = await anonymous.get(
            url, params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "42"}
        )
    assert good.status_code == 200 and good.text == "42"
    assert bad.status_code == 403


async def test_provider_outage_and_throttling_delay_messages_and_lose_none(
    admin: httpx.AsyncClient, standin: Standin, center: ContactCenter, temporal: Any
) -> None:
    channel = await add_channel(admin, standin, center, kind="twilio", channel="sms", routed=False)
    customer = "+15557770005"
    await standin.send(customer, channel.address, "Hello?")
    conversation_sid = (await _inbound_conversation(admin, customer))["conversation_sid"]
    await standin.fault("twilio", "outage")
    first = await _reply(admin, conversation_sid, "Sorry for the wait (1)")
    second = await _reply(admin, conversation_sid, "Sorry for the wait (2)")
    delivery = f"deliver-{first['sid']}-{await _customer_participant(admin, conversation_sid)}"
    # The delivery workflows keep trying while the carrier is down: nothing reaches the customer, nothing fails.
    await eventually(lambda: _attempts_at_least(temporal, delivery, 2), what="a retried delivery")
    assert not await _receipts(admin, conversation_sid, first["sid"])
    assert not await standin.inbox(customer)
    # Then it throttles (429 with Retry-After), then it is back.
    await standin.fault("twilio", "throttle", retry_after=1)
    await eventually(lambda: _attempts_at_least(temporal, delivery, 3), what="a throttled attempt")
    await standin.fault("twilio", "ok")
    for message in (first, second):
        await _receipt_reaches(admin, conversation_sid, message["sid"], "delivered", timeout=90)
    bodies = [m["body"] for m in await standin.inbox(customer)]
    assert bodies.count("Sorry for the wait (1)") == 1 and bodies.count("Sorry for the wait (2)") == 1
    await temporal.get_workflow_handle(delivery).result()
    await record_runs(temporal, delivery, "outage-throttled-then-sent")


async def _attempts_at_least(temporal: Any, workflow_id: str, attempts: int) -> bool:
    try:
        description = await temporal.get_workflow_handle(workflow_id).describe()
    except Exception:
        return False  # not started yet
    pending = description.raw_description.pending_activities
    return bool(pending) and pending[0].attempt >= attempts


async def _customer_participant(admin: httpx.AsyncClient, conversation_sid: str) -> str:
    participants = (await ok(await admin.get(f"/conversations/v1/Conversations/{conversation_sid}/Participants")))[
        "participants"
    ]
    return next(p["sid"] for p in participants if p["messaging_binding"])


async def test_whatsapp_free_form_outside_the_window_fails_with_63016_and_a_template_goes_out(
    admin: httpx.AsyncClient, standin: Standin, center: ContactCenter, db: Any, temporal: Any
) -> None:
    channel = await add_channel(admin, standin, center, kind="whatsapp_cloud", channel="whatsapp", routed=False)
    customer = "whatsapp:+15557770006"
    await standin.send(customer, channel.address, "Are you there?")
    conversation_sid = (await _inbound_conversation(admin, customer))["conversation_sid"]
    async with db.unit() as uow:
        await uow.execute(
            "UPDATE messages SET date_created = now() - interval '25 hours' WHERE conversation_sid = %s",
            (conversation_sid,),
        )
    late = await _reply(admin, conversation_sid, "Sorry, we were closed")
    failed = await _receipt_reaches(admin, conversation_sid, late["sid"], "failed")
    assert failed["error_code"] == 63016
    delivery = f"deliver-{late['sid']}-{await _customer_participant(admin, conversation_sid)}"
    await temporal.get_workflow_handle(delivery).result()
    await record_runs(temporal, delivery, "outside-the-window")
    template = await _reply(
        admin,
        conversation_sid,
        "Your order 123 has shipped",
        Attributes=json.dumps({"template": {"name": "order_update", "language": "en_US", "parameters": ["123"]}}),
    )
    await _receipt_reaches(admin, conversation_sid, template["sid"], "delivered")
    sent = [s for s in await standin.sent() if s.get("to") in (customer, customer.removeprefix("whatsapp:+"))]
    assert [s.get("template") is not None for s in sent] == [True]


async def test_mms_image_in_and_out(admin: httpx.AsyncClient, standin: Standin, center: ContactCenter) -> None:
    channel = await add_channel(admin, standin, center, kind="twilio", channel="sms", routed=False)
    customer = "+15557770007"
    media = [{"content_type": "image/png", "data_base64": base64.b64encode(PNG).decode(), "filename": "label.png"}]
    await standin.send(customer, channel.address, "Here is the label", media=media)
    conversation_sid = (await _inbound_conversation(admin, customer))["conversation_sid"]
    inbound = (await _messages(admin, conversation_sid))[0]
    assert inbound["body"] == "Here is the label"
    assert [m["content_type"] for m in inbound["media"]] == ["image/png"]
    service_sid = inbound["chat_service_sid"]
    content = await admin.get(f"/mcs/v1/Services/{service_sid}/Media/{inbound['media'][0]['sid']}/Content")
    assert content.status_code == 200 and content.content == PNG

    upload = await ok(
        await admin.post(f"/mcs/v1/Services/{service_sid}/Media", content=PNG, headers={"Content-Type": "image/png"}),
        201,
    )
    out = await _reply(admin, conversation_sid, "Thanks, here is yours", MediaSid=upload["sid"])
    await _receipt_reaches(admin, conversation_sid, out["sid"], "delivered")
    received = await standin.wait_inbox(customer, lambda m: m["body"] == "Thanks, here is yours")
    assert len(received["media_urls"]) == 1
    async with httpx.AsyncClient() as provider:  # the provider fetches it without Parley credentials
        fetched = await provider.get(received["media_urls"][0])
        assert fetched.status_code == 200 and fetched.content == PNG
        tampered = await provider.get(received["media_urls"][0].replace("Signature=", "Signature=0"))
        assert tampered.status_code == 403


async def test_a_message_after_close_opens_a_new_conversation(
    admin: httpx.AsyncClient, standin: Standin, center: ContactCenter
) -> None:
    channel = await add_channel(admin, standin, center, kind="twilio", channel="sms", routed=False)
    customer = "+15557770008"
    await standin.send(customer, channel.address, "First visit")
    first = (await _inbound_conversation(admin, customer))["conversation_sid"]
    await ok(await admin.post(f"/conversations/v1/Conversations/{first}", data={"State": "closed"}))
    await standin.send(customer, channel.address, "Back again")
    second = (await _inbound_conversation(admin, customer))["conversation_sid"]
    assert second != first
    assert [m["body"] for m in await _messages(admin, second)] == ["Back again"]
    assert [m["body"] for m in await _messages(admin, first)] == ["First visit"]


async def test_a_number_in_a_messaging_service_puts_its_conversations_in_the_service(
    admin: httpx.AsyncClient, standin: Standin, center: ContactCenter, db: Any
) -> None:
    first = await add_channel(admin, standin, center, kind="twilio", channel="sms", routed=False)
    second = await add_channel(admin, standin, center, kind="twilio", channel="sms", routed=False)
    service = await ok(await admin.post("/messaging/v1/Services", data={"FriendlyName": "Support pool"}), 201)
    for line in (first, second):
        await ok(
            await admin.post(
                f"/messaging/v1/Services/{service['sid']}/PhoneNumbers", data={"PhoneNumberSid": line.sender_sid}
            ),
            201,
        )
    customer = "+15557770009"
    await standin.send(customer, second.address, "Texting your second number")
    conversation = await ok(
        await admin.get(
            f"/conversations/v1/Conversations/{(await _inbound_conversation(admin, customer))['conversation_sid']}"
        )
    )
    assert conversation["messaging_service_sid"] == service["sid"]
    reply = await _reply(admin, conversation["sid"], "Answered from the number you texted")
    received = await standin.wait_inbox(customer, lambda m: m["body"] == "Answered from the number you texted")
    assert received["from"] == second.address
    await _receipt_reaches(admin, conversation["sid"], reply["sid"], "delivered")
    # The service remembers the customer's number (StickySender, on by default).
    async with db.unit() as uow:
        sticky = await pools.pick_sender(
            uow, service_sid=service["sid"], customer_address=customer, channel=ChannelKind.SMS
        )
    assert sticky is not None and sticky.address == second.address
