"""The stand-in providers against Parley's adapters: each side was written from the protocol documents
(docs/channel-protocols.md), so driving one with the other checks both. The stand-in runs in-process (ASGI);
its webhooks and media fetches go to an httpx.MockTransport standing in for Parley, which records them so
they can be verified and parsed by the adapters exactly as Parley's webhook route does."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from channels.base import (
    ChannelAdapter,
    InboundMessage,
    InboundRequest,
    OutboundMessage,
    OutsideWindow,
    ProviderConfig,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
    ReadWatermark,
    SignatureInvalid,
    StatusUpdate,
    Template,
)
from channels.messenger import Messenger
from channels.standin.app import create_app
from channels.twilio import TwilioMessaging
from channels.whatsapp import WhatsAppCloud
from domain.states import DeliveryStatus

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
STANDIN = "http://standin.test"
HOOK = "http://parley.test/parley/v1/ChannelProviders/XP{}/Webhook"
MEDIA_OK = "http://parley.test/mcs/ok.png"
MEDIA_GONE = "http://parley.test/mcs/gone.png"


@dataclass
class Parley:
    """What the stand-in posted and fetched: webhooks as InboundRequests, media fetches by URL."""

    webhooks: list[InboundRequest] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if request.method == "GET" and request.url.params.get("hub.mode") == "subscribe":
            return httpx.Response(200, text=request.url.params["hub.challenge"])
        if request.method == "GET":
            self.fetched.append(url)
            if url == MEDIA_OK:
                return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})
            return httpx.Response(404)
        self.webhooks.append(
            InboundRequest(
                method=request.method,
                url=url,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=request.content,
            )
        )
        return httpx.Response(200)

    def take(self) -> list[InboundRequest]:
        taken, self.webhooks = self.webhooks, []
        return taken


@dataclass
class Rig:
    parley: Parley
    app: Any
    http: httpx.AsyncClient  # Parley's adapters' client, reaching the stand-in

    async def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, STANDIN + path, **kwargs)
        assert response.status_code < 300, response.text
        return response.json()

    async def settle(self) -> None:
        await self.app.state.standin.idle()

    async def register(self, number: dict[str, Any]) -> None:
        await self.control("POST", "/_standin/numbers", json=number)

    async def customer_sends(self, customer: str, to: str, body: str | None = None, **options: Any) -> dict[str, Any]:
        path = f"/_standin/phones/{_quote(customer)}/send"
        return await self.control("POST", path, json={"to": to, "body": body, **options})

    def events(self, adapter: ChannelAdapter, config: ProviderConfig) -> list[Any]:
        found: list[Any] = []
        for request in self.parley.take():
            adapter.verify(request, config)
            found.extend(adapter.parse(request, config))
        return found


def _quote(address: str) -> str:
    from urllib.parse import quote

    return quote(address, safe="")


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    parley = Parley()
    outbound = httpx.AsyncClient(transport=httpx.MockTransport(parley.handle))
    app = create_app(client=outbound, status_delay=0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        yield Rig(parley=parley, app=app, http=http)
    await outbound.aclose()


def _twilio(channel: str = "sms") -> tuple[dict[str, Any], ProviderConfig, str]:
    credentials = {"account_sid": "AC" + secrets.token_hex(16), "auth_token": secrets.token_hex(16)}
    address = ("whatsapp:" if channel == "whatsapp" else "") + "+15550001111"
    number = {"provider": "twilio", "address": address, "webhook_url": HOOK.format(1), **credentials}
    return number, ProviderConfig(api_base_url=STANDIN, credentials=credentials), address


def _whatsapp() -> tuple[dict[str, Any], ProviderConfig, str]:
    credentials = {
        "phone_number_id": "1065403522",
        "access_token": secrets.token_hex(16),
        "app_secret": secrets.token_hex(16),
        "verify_token": "vt",
    }
    address = "whatsapp:+15550002222"
    number = {"provider": "whatsapp_cloud", "address": address, "webhook_url": HOOK.format(2), **credentials}
    return number, ProviderConfig(api_base_url=STANDIN + "/v21.0", credentials=credentials), address


def _messenger() -> tuple[dict[str, Any], ProviderConfig, str]:
    credentials = {
        "page_id": "100200300",
        "page_access_token": secrets.token_hex(16),
        "app_secret": secrets.token_hex(16),
        "verify_token": "vt",
    }
    address = "messenger:100200300"
    number = {"provider": "messenger", "address": address, "webhook_url": HOOK.format(3), **credentials}
    return number, ProviderConfig(api_base_url=STANDIN + "/v21.0", credentials=credentials), address


def _out(to: str, sender: str, body: str | None = "Hello", **extra: Any) -> OutboundMessage:
    return OutboundMessage(to_address=to, from_address=sender, body=body, **extra)


# --- Twilio ------------------------------------------------------------------------------------------------------


async def test_twilio_inbound_mms_is_signed_parsed_and_its_media_fetched_with_basic_auth(rig: Rig) -> None:
    number, config, address = _twilio()
    adapter = TwilioMessaging()
    await rig.register(number)
    media = [{"content_type": "image/png", "data_base64": base64.b64encode(PNG).decode()}]
    answer = await rig.customer_sends("+15557770001", address, "Label attached", media=media)
    assert answer["status_code"] == 200 and answer["provider_message_id"].startswith("MM")
    [message] = rig.events(adapter, config)
    assert isinstance(message, InboundMessage)
    assert (message.from_address, message.to_address, message.body) == ("+15557770001", address, "Label attached")
    assert message.provider_message_id == answer["provider_message_id"]
    assert [m.content_type for m in message.media] == ["image/png"]
    assert await adapter.fetch_media(rig.http, config, message.media[0]) == (PNG, "image/png")
    # Without Twilio's credentials the media is not served.
    assert (await rig.http.get(message.media[0].url or "")).status_code == 401


async def test_twilio_whatsapp_inbound_carries_the_profile_name(rig: Rig) -> None:
    number, config, address = _twilio("whatsapp")
    await rig.register(number)
    await rig.customer_sends("whatsapp:+15557770002", address, "Hola", profile_name="Dana")
    [message] = rig.events(TwilioMessaging(), config)
    assert message.from_address == "whatsapp:+15557770002" and message.profile_name == "Dana"


@pytest.mark.parametrize("forgery", ["unsigned", "bad_signature"])
async def test_forged_webhooks_do_not_verify(rig: Rig, forgery: str) -> None:
    for make, adapter in ((_twilio, TwilioMessaging()), (_whatsapp, WhatsAppCloud()), (_messenger, Messenger())):
        number, config, address = make()
        await rig.register(number)
        customer = {"twilio": "+15557770003", "whatsapp_cloud": "whatsapp:+15557770003"}.get(
            number["provider"], "messenger:777"
        )
        await rig.customer_sends(customer, address, "Let me in", **{forgery: True})
        [request] = rig.parley.take()
        with pytest.raises(SignatureInvalid):
            adapter.verify(request, config)


async def test_a_duplicate_is_the_same_message_posted_twice(rig: Rig) -> None:
    number, config, address = _twilio()
    await rig.register(number)
    answer = await rig.customer_sends("+15557770004", address, "Once", duplicate=True)
    assert answer["attempts"] == 2
    events = rig.events(TwilioMessaging(), config)
    assert [e.provider_message_id for e in events] == [answer["provider_message_id"]] * 2


async def test_twilio_send_then_signed_status_callbacks_carry_the_receipt_key(rig: Rig) -> None:
    number, config, address = _twilio()
    adapter = TwilioMessaging()
    await rig.register(number)
    message = _out(
        "+15557770005",
        address,
        status_callback_url=number["webhook_url"],
        callback_data="IM1.MB1",
        media_urls=[MEDIA_OK],
    )
    result = await adapter.send(rig.http, config, message)
    assert result.provider_message_id.startswith("MM") and result.status is None  # "queued" says nothing yet
    await rig.settle()
    statuses = rig.events(adapter, config)
    assert [(s.status, s.callback_data) for s in statuses] == [
        (DeliveryStatus.SENT, "IM1.MB1"),
        (DeliveryStatus.DELIVERED, "IM1.MB1"),
    ]
    assert all(isinstance(s, StatusUpdate) and s.provider_message_id == result.provider_message_id for s in statuses)
    assert rig.parley.fetched == [MEDIA_OK]  # the provider fetched the attachment
    [received] = await rig.control("GET", f"/_standin/phones/{_quote('+15557770005')}/inbox")
    assert (received["from"], received["body"], received["status"]) == (address, "Hello", "delivered")
    sent = await rig.control("GET", "/_standin/sent")
    assert [s["provider_message_id"] for s in sent] == [result.provider_message_id]


async def test_twilio_media_that_cannot_be_fetched_is_undelivered_with_11200(rig: Rig) -> None:
    number, config, address = _twilio()
    adapter = TwilioMessaging()
    await rig.register(number)
    message = _out("+15557770006", address, media_urls=[MEDIA_GONE], status_callback_url=number["webhook_url"])
    await adapter.send(rig.http, config, message)
    await rig.settle()
    [status] = rig.events(adapter, config)
    assert (status.status, status.error_code) == (DeliveryStatus.UNDELIVERED, 11200)
    assert await rig.control("GET", f"/_standin/phones/{_quote('+15557770006')}/inbox") == []


async def test_twilio_refusals_map_onto_the_adapter_errors(rig: Rig) -> None:
    number, config, address = _twilio()
    adapter = TwilioMessaging()
    await rig.register(number)
    wrong = ProviderConfig(
        api_base_url=STANDIN, credentials={"account_sid": number["account_sid"], "auth_token": "wrong"}
    )
    with pytest.raises(ProviderRejected) as refused:
        await adapter.send(rig.http, wrong, _out("+15557770007", address))
    assert refused.value.code == 20003
    with pytest.raises(ProviderRejected) as not_ours:
        await adapter.send(rig.http, config, _out("+15557770007", "+15559999999"))
    assert not_ours.value.code == 21606
    with pytest.raises(ProviderRejected) as bad_to:
        await adapter.send(rig.http, config, _out("not-a-number", address))
    assert bad_to.value.code == 21211


async def test_outage_and_throttling_then_recovery(rig: Rig) -> None:
    for make, adapter, customer in (
        (_twilio, TwilioMessaging(), "+15557770008"),
        (_whatsapp, WhatsAppCloud(), "whatsapp:+15557770008"),
        (_messenger, Messenger(), "messenger:888"),
    ):
        number, config, address = make()
        await rig.register(number)
        await rig.customer_sends(customer, address, "hi")  # opens the customer-service window
        provider = number["provider"]
        await rig.control("POST", "/_standin/faults", json={"provider": provider, "mode": "outage"})
        with pytest.raises(ProviderUnavailable):
            await adapter.send(rig.http, config, _out(customer, address))
        await rig.control("POST", "/_standin/faults", json={"provider": provider, "mode": "throttle", "retry_after": 2})
        with pytest.raises(ProviderThrottled) as throttled:
            await adapter.send(rig.http, config, _out(customer, address))
        assert throttled.value.retry_after == 2
        await rig.control("POST", "/_standin/faults", json={"provider": provider, "mode": "ok"})
        assert (await adapter.send(rig.http, config, _out(customer, address))).provider_message_id
    await rig.settle()
    assert len(await rig.control("GET", "/_standin/sent")) == 3  # only the accepted sends


async def test_twilio_whatsapp_free_form_outside_the_window_is_undelivered_with_63016(rig: Rig) -> None:
    number, config, address = _twilio("whatsapp")
    adapter = TwilioMessaging()
    await rig.register(number)
    customer = "whatsapp:+15557770009"
    await rig.customer_sends(customer, address, "hi")
    rig.parley.take()
    await rig.control("POST", f"/_standin/phones/{_quote(customer)}/age", json={"hours": 25})
    await adapter.send(rig.http, config, _out(customer, address, status_callback_url=number["webhook_url"]))
    await rig.settle()
    [status] = rig.events(adapter, config)
    assert (status.status, status.error_code) == (DeliveryStatus.UNDELIVERED, 63016)


# --- WhatsApp Cloud ----------------------------------------------------------------------------------------------


async def test_whatsapp_registration_performs_the_hub_handshake(rig: Rig) -> None:
    number, _, _ = _whatsapp()
    refusing = Parley()
    refusing.handle = lambda request: httpx.Response(403)  # type: ignore[method-assign]
    rig.app.state.standin.client = httpx.AsyncClient(transport=httpx.MockTransport(refusing.handle))
    response = await rig.http.post(STANDIN + "/_standin/numbers", json=number)
    assert response.status_code == 502
    assert await rig.control("GET", "/_standin/numbers") == []


async def test_whatsapp_inbound_image_resolves_through_the_media_id(rig: Rig) -> None:
    number, config, address = _whatsapp()
    adapter = WhatsAppCloud()
    await rig.register(number)
    media = [{"content_type": "image/png", "data_base64": base64.b64encode(PNG).decode()}]
    await rig.customer_sends("whatsapp:+15557770010", address, "My label", media=media, profile_name="Ana")
    [message] = rig.events(adapter, config)
    assert (message.from_address, message.to_address, message.body) == ("whatsapp:+15557770010", address, "My label")
    assert message.profile_name == "Ana" and message.media[0].provider_media_id
    assert await adapter.fetch_media(rig.http, config, message.media[0]) == (PNG, "image/png")


async def test_whatsapp_send_statuses_read_and_the_window(rig: Rig) -> None:
    number, config, address = _whatsapp()
    adapter = WhatsAppCloud()
    await rig.register(number)
    customer = "whatsapp:+15557770011"
    await rig.customer_sends(customer, address, "hi")
    rig.parley.take()
    result = await adapter.send(rig.http, config, _out(customer, address, callback_data="IM2.MB2"))
    assert result.provider_message_id.startswith("wamid.")
    await rig.settle()
    statuses = rig.events(adapter, config)
    assert [(s.status, s.callback_data) for s in statuses] == [
        (DeliveryStatus.SENT, "IM2.MB2"),
        (DeliveryStatus.DELIVERED, "IM2.MB2"),
    ]
    assert (await rig.control("POST", f"/_standin/phones/{_quote(customer)}/read"))["read"] == 1
    [read] = rig.events(adapter, config)
    assert (read.status, read.provider_message_id) == (DeliveryStatus.READ, result.provider_message_id)

    await rig.control("POST", f"/_standin/phones/{_quote(customer)}/age", json={"hours": 25})
    await adapter.send(rig.http, config, _out(customer, address, body="Late"))
    await rig.settle()
    [failed] = rig.events(adapter, config)
    assert (failed.status, failed.error_code) == (DeliveryStatus.FAILED, 63016)  # Meta's 131047, as Twilio calls it
    template = Template(name="order_update", language="en_US", parameters=["123"])
    await adapter.send(rig.http, config, _out(customer, address, body=None, template=template))
    await rig.settle()
    assert [s.status for s in rig.events(adapter, config)] == [DeliveryStatus.SENT, DeliveryStatus.DELIVERED]
    sent = await rig.control("GET", "/_standin/sent")
    assert sent[-1]["template"] == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "123"}]}],
    }
    assert sent[-1]["to"] == customer


async def test_whatsapp_refuses_a_bad_token(rig: Rig) -> None:
    number, config, address = _whatsapp()
    await rig.register(number)
    wrong = ProviderConfig(api_base_url=config.api_base_url, credentials={**config.credentials, "access_token": "x"})
    with pytest.raises(ProviderRejected) as refused:
        await WhatsAppCloud().send(rig.http, wrong, _out("whatsapp:+15557770012", address))
    assert refused.value.code == 20003


# --- Messenger -----------------------------------------------------------------------------------------------------


async def test_messenger_round_trip_delivery_echo_and_read_watermark(rig: Rig) -> None:
    number, config, address = _messenger()
    adapter = Messenger()
    await rig.register(number)
    customer = "messenger:4242"
    media = [{"content_type": "image/png", "data_base64": base64.b64encode(PNG).decode()}]
    await rig.customer_sends(customer, address, "Hello page", media=media)
    [message] = rig.events(adapter, config)
    assert (message.from_address, message.to_address, message.body) == (customer, address, "Hello page")
    assert await adapter.fetch_media(rig.http, config, message.media[0]) == (PNG, "image/png")
    tampered = (message.media[0].url or "").replace("oh=", "oh=0")
    assert (await rig.http.get(tampered)).status_code == 403

    before = datetime.now(UTC) - timedelta(seconds=1)
    result = await adapter.send(rig.http, config, _out(customer, address, body="Hi there"))
    await rig.settle()
    [delivered] = rig.events(adapter, config)  # the echo is ignored
    assert (delivered.status, delivered.provider_message_id) == (DeliveryStatus.DELIVERED, result.provider_message_id)
    await rig.control("POST", f"/_standin/phones/{_quote(customer)}/read")
    [read] = rig.events(adapter, config)
    assert isinstance(read, ReadWatermark) and read.customer_address == customer and read.read_up_to > before


async def test_messenger_outside_the_window_and_bad_tokens(rig: Rig) -> None:
    number, config, address = _messenger()
    adapter = Messenger()
    await rig.register(number)
    customer = "messenger:5151"
    with pytest.raises(OutsideWindow):  # the customer never wrote
        await adapter.send(rig.http, config, _out(customer, address))
    wrong = ProviderConfig(
        api_base_url=config.api_base_url, credentials={**config.credentials, "page_access_token": "x"}
    )
    with pytest.raises(ProviderRejected) as refused:
        await adapter.send(rig.http, wrong, _out(customer, address))
    assert refused.value.code == 20003


async def test_control_api_refuses_unknown_addresses_and_mismatched_customers(rig: Rig) -> None:
    number, _, address = _twilio()
    await rig.register(number)
    unknown = await rig.http.post(STANDIN + f"/_standin/phones/{_quote('+15557770013')}/send", json={"to": "+1999"})
    assert unknown.status_code == 404
    mismatch = await rig.http.post(
        STANDIN + f"/_standin/phones/{_quote('whatsapp:+15557770013')}/send", json={"to": address, "body": "x"}
    )
    assert mismatch.status_code == 400
    incomplete = await rig.http.post(STANDIN + "/_standin/numbers", json={"provider": "twilio", "address": "+1555"})
    assert incomplete.status_code == 422
    assert json.loads((await rig.http.get(STANDIN + "/_standin/numbers")).text) == [
        {"provider": "twilio", "address": address, "channel": "sms"}
    ]
