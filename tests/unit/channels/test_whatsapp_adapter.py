"""The WhatsApp Cloud API adapter: the hub handshake, X-Hub-Signature-256, the webhook shapes it parses and the
exact Graph API requests it makes (httpx.MockTransport standing in for graph.facebook.com)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from channels.base import (
    ChannelError,
    ChannelKind,
    InboundMedia,
    InboundMessage,
    InboundRequest,
    OutboundMessage,
    OutsideWindow,
    ProviderConfig,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
    SignatureInvalid,
    StatusUpdate,
    Template,
)
from channels.whatsapp import WhatsAppCloud
from domain.states import DeliveryStatus

BASE = "https://graph.facebook.com/v21.0"
CREDENTIALS = {
    "phone_number_id": "106540352242922",
    "access_token": "EAAG-access-token",
    "app_secret": "whatsapp-app-secret",
    "verify_token": "verify-me",
}
CONFIG = ProviderConfig(api_base_url=BASE, credentials=CREDENTIALS)
HOOK = "https://parley.example.com/parley/v1/ChannelProviders/XP1/Webhook"
adapter = WhatsAppCloud()


def sign(body: bytes, secret: str = CREDENTIALS["app_secret"]) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(payload: Any, *, signature: str | None = None) -> InboundRequest:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"content-type": "application/json"}
    headers["x-hub-signature-256"] = sign(body) if signature is None else signature
    return InboundRequest(method="POST", url=HOOK, headers=headers, body=body)


def envelope(
    value: dict[str, Any], *, field: str = "messages", obj: str = "whatsapp_business_account"
) -> dict[str, Any]:
    return {"object": obj, "entry": [{"id": "WABA1", "changes": [{"field": field, "value": value}]}]}


METADATA = {"display_phone_number": "15550002222", "phone_number_id": CREDENTIALS["phone_number_id"]}


def messages(*items: dict[str, Any], contacts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return envelope(
        {
            "messaging_product": "whatsapp",
            "metadata": METADATA,
            "contacts": contacts if contacts is not None else [{"profile": {"name": "Ana"}, "wa_id": "15551234567"}],
            "messages": list(items),
        }
    )


TEXT = {"from": "15551234567", "id": "wamid.TEXT", "timestamp": "1733150000", "type": "text", "text": {"body": "Hello"}}


# --- signatures and the handshake ----------------------------------------------------------------------------


def test_a_signed_body_verifies() -> None:
    adapter.verify(post(messages(TEXT)), CONFIG)


@pytest.mark.parametrize(
    "signature",
    [
        "",
        sign(b"another body"),
        sign(json.dumps(messages(TEXT)).encode(), secret="someone-else"),
        "sha1=" + hmac.new(b"whatsapp-app-secret", json.dumps(messages(TEXT)).encode(), hashlib.sha1).hexdigest(),
        sign(json.dumps(messages(TEXT)).encode()).removeprefix("sha256="),
        "sha256=",
        "sha256=é",
    ],
)
def test_a_bad_signature_is_refused(signature: str) -> None:
    with pytest.raises(SignatureInvalid):
        adapter.verify(post(messages(TEXT), signature=signature), CONFIG)


def test_a_changed_body_is_refused() -> None:
    request = post(messages(TEXT))
    with pytest.raises(SignatureInvalid, match="does not match"):
        adapter.verify(request.model_copy(update={"body": request.body.replace(b"Hello", b"Hellp")}), CONFIG)


def test_a_missing_signature_is_refused() -> None:
    with pytest.raises(SignatureInvalid, match="no x-hub-signature-256"):
        adapter.verify(post(messages(TEXT)).model_copy(update={"headers": {}}), CONFIG)


def check(query: str) -> InboundRequest:
    return InboundRequest(method="GET", url=f"{HOOK}?{query}")


def test_the_handshake_echoes_the_challenge_for_the_verify_token() -> None:
    request = check("hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444")
    assert adapter.handshake(request, CONFIG) == "1158201444"
    given = request.model_copy(
        update={"query": [("hub.mode", "subscribe"), ("hub.verify_token", "verify-me"), ("hub.challenge", "42")]}
    )
    assert adapter.handshake(given, CONFIG) == "42"


@pytest.mark.parametrize(
    "query",
    [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        "hub.mode=subscribe&hub.verify_token=verify-m&hub.challenge=1",
        "hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1",
        "hub.mode=subscribe&hub.challenge=1",
        "",
    ],
)
def test_the_handshake_refuses_anything_else(query: str) -> None:
    with pytest.raises(SignatureInvalid):
        adapter.handshake(check(query), CONFIG)


# --- parsing -------------------------------------------------------------------------------------------------


def test_parses_a_text_message() -> None:
    assert adapter.parse(post(messages(TEXT)), CONFIG) == [
        InboundMessage(
            provider_message_id="wamid.TEXT",
            channel=ChannelKind.WHATSAPP,
            from_address="whatsapp:+15551234567",
            to_address="whatsapp:+15550002222",
            body="Hello",
            profile_name="Ana",
            received_at=datetime(2024, 12, 2, 14, 33, 20, tzinfo=UTC),
        )
    ]


@pytest.mark.parametrize("kind", ["image", "audio", "video", "document", "sticker"])
def test_parses_media_with_the_caption_as_body(kind: str) -> None:
    media = {"id": "MEDIA-1", "mime_type": "image/jpeg", "sha256": "abc", "caption": "Look"}
    item = {"from": "15551234567", "id": "wamid.M", "timestamp": "1733150000", "type": kind, kind: media}
    (message,) = adapter.parse(post(messages(item)), CONFIG)
    assert isinstance(message, InboundMessage)
    assert message.body == "Look"
    assert message.media == [InboundMedia(provider_media_id="MEDIA-1", content_type="image/jpeg")]


def test_parses_several_messages_and_statuses_ignoring_what_it_does_not_know() -> None:
    value = messages(
        TEXT | {"context": {"from": "15550002222", "id": "wamid.X"}, "future_field": [1, 2]},
        {"from": "15557654321", "id": "wamid.R", "timestamp": "1", "type": "reaction", "reaction": {"emoji": "👍"}},
        {"from": "15557654321", "id": "wamid.B", "type": "button", "button": {"text": "Yes", "payload": "Y"}},
        contacts=[{"profile": {"name": "Bo"}, "wa_id": "15557654321"}],
    )
    value["entry"].append(
        {"id": "WABA1", "changes": [{"field": "message_template_status_update", "value": {"event": "APPROVED"}}]}
    )
    value["entry"][0]["changes"][0]["value"]["statuses"] = [{"id": "wamid.S", "status": "sent", "timestamp": "1"}]
    found = adapter.parse(post(value), CONFIG)
    assert [(type(e).__name__, getattr(e, "provider_message_id", None)) for e in found] == [
        ("InboundMessage", "wamid.TEXT"),
        ("InboundMessage", "wamid.B"),
        ("StatusUpdate", "wamid.S"),
    ]
    first, button = found[0], found[1]
    assert isinstance(first, InboundMessage) and first.profile_name is None  # Ana is not among the contacts
    assert isinstance(button, InboundMessage) and (button.body, button.profile_name) == ("Yes", "Bo")


def statuses(*items: dict[str, Any]) -> dict[str, Any]:
    return envelope({"messaging_product": "whatsapp", "metadata": METADATA, "statuses": list(items)})


def test_parses_a_delivery_status_with_parleys_callback_data() -> None:
    status = {
        "id": "wamid.OUT",
        "status": "delivered",
        "timestamp": "1733150005",
        "recipient_id": "15551234567",
        "biz_opaque_callback_data": "IM1.MB2",
        "conversation": {"id": "c1", "origin": {"type": "service"}},
        "pricing": {"billable": True},
    }
    assert adapter.parse(post(statuses(status)), CONFIG) == [
        StatusUpdate(
            provider_message_id="wamid.OUT",
            status=DeliveryStatus.DELIVERED,
            recipient="whatsapp:+15551234567",
            callback_data="IM1.MB2",
        )
    ]


def test_a_failed_status_outside_the_window_is_a_failure_with_its_error() -> None:
    status = {
        "id": "wamid.OUT",
        "status": "failed",
        "timestamp": "1733150005",
        "recipient_id": "15551234567",
        "errors": [
            {"code": 131047, "title": "Re-engagement message", "message": "More than 24 hours have passed"},
            {"code": 1, "title": "second"},
        ],
    }
    (update,) = adapter.parse(post(statuses(status)), CONFIG)
    assert isinstance(update, StatusUpdate)
    assert (update.status, update.error_code, update.error_message) == (
        DeliveryStatus.FAILED,
        63016,  # Twilio's code for the same failure, as a Conversations receipt records it
        "More than 24 hours have passed",
    )
    status["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
    (update,) = adapter.parse(post(statuses(status)), CONFIG)
    assert isinstance(update, StatusUpdate)
    assert (update.error_code, update.error_message) == (131026, "Message undeliverable")


def test_statuses_that_say_nothing_are_skipped() -> None:
    assert adapter.parse(post(statuses({"id": "wamid.OUT", "status": "deleted"})), CONFIG) == []


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"not json", "Invalid JSON"),
        (b"[]", "WhatsApp Cloud webhook"),
        (envelope({}, obj="page"), "object"),
        ({"object": "whatsapp_business_account"}, "entry"),
        (envelope({"metadata": METADATA, "messages": [{"id": "wamid.X", "type": "text"}]}), "from"),
        (envelope({"messages": [TEXT]}), "without metadata"),
        (messages({"from": "1555", "id": "wamid.I", "type": "image"}), "without that object"),
        (messages(TEXT | {"timestamp": "yesterday"}), "timestamp"),
        (statuses({"id": "wamid.OUT"}), "status"),
    ],
)
def test_garbage_is_a_channel_error(payload: Any, problem: str) -> None:
    with pytest.raises(ChannelError, match=problem):
        adapter.parse(post(payload), CONFIG)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("sent", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("read", DeliveryStatus.READ),
        ("failed", DeliveryStatus.FAILED),
        ("deleted", None),
        ("warning", None),
    ],
)
def test_map_status(status: str, expected: DeliveryStatus | None) -> None:
    assert adapter.map_status(status) == expected


def test_limits() -> None:
    limits = adapter.limits(ChannelKind.WHATSAPP)
    assert (limits.body_limit, limits.max_media, limits.media_size_limit, limits.templates) == (4096, 1, 16 << 20, True)
    assert limits.customer_service_window is not None and limits.customer_service_window.total_seconds() == 86400
    with pytest.raises(ChannelError):
        adapter.limits(ChannelKind.SMS)


# --- sending -------------------------------------------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, seen: list[httpx.Request]) -> httpx.AsyncClient:
    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    return httpx.AsyncClient(transport=httpx.MockTransport(record))


def sent(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "messaging_product": "whatsapp",
            "contacts": [{"input": "15551234567", "wa_id": "15551234567"}],
            "messages": [{"id": "wamid.YYY"}],
        },
    )


MESSAGES_URL = f"{BASE}/106540352242922/messages"
TO = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "15551234567"}
REPLY = OutboundMessage(
    to_address="whatsapp:+15551234567", from_address="whatsapp:+15550002222", body="Hi Ana", callback_data="IM1.MB2"
)


@pytest.mark.parametrize(
    ("message", "content"),
    [
        (REPLY, {"type": "text", "text": {"body": "Hi Ana"}, "biz_opaque_callback_data": "IM1.MB2"}),
        (
            REPLY.model_copy(update={"media_urls": ["https://parley.example.com/m/1.jpg"]}),
            {
                "type": "image",
                "image": {"link": "https://parley.example.com/m/1.jpg", "caption": "Hi Ana"},
                "biz_opaque_callback_data": "IM1.MB2",
            },
        ),
        (
            REPLY.model_copy(update={"body": None, "callback_data": None, "media_urls": ["https://x.test/a.png"]}),
            {"type": "image", "image": {"link": "https://x.test/a.png"}},
        ),
        (
            REPLY.model_copy(
                update={
                    "body": None,
                    "template": Template(name="order_update", language="pt_BR", parameters=["Ana", "42"]),
                }
            ),
            {
                "type": "template",
                "template": {
                    "name": "order_update",
                    "language": {"code": "pt_BR"},
                    "components": [
                        {
                            "type": "body",
                            "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "42"}],
                        }
                    ],
                },
                "biz_opaque_callback_data": "IM1.MB2",
            },
        ),
        (
            REPLY.model_copy(update={"template": Template(name="hello_world"), "callback_data": None}),
            {"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}},
        ),
    ],
    ids=["text", "image with caption", "image", "template", "template without parameters"],
)
async def test_sends_the_graph_api_request(message: OutboundMessage, content: dict[str, Any]) -> None:
    seen: list[httpx.Request] = []
    async with client(sent, seen) as http:
        result = await adapter.send(http, CONFIG, message)
    assert result.provider_message_id == "wamid.YYY"
    (request,) = seen
    assert (request.method, str(request.url)) == ("POST", MESSAGES_URL)
    assert request.headers["authorization"] == "Bearer EAAG-access-token"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == TO | content


async def test_the_configured_base_url_is_used() -> None:
    seen: list[httpx.Request] = []
    async with client(sent, seen) as http:
        await adapter.send(http, CONFIG.model_copy(update={"api_base_url": "http://127.0.0.1:8095/v21.0/"}), REPLY)
    assert str(seen[0].url) == "http://127.0.0.1:8095/v21.0/106540352242922/messages"


@pytest.mark.parametrize(
    ("message", "problem", "code"),
    [
        (
            REPLY.model_copy(update={"media_urls": ["https://x.test/1.png", "https://x.test/2.png"]}),
            "one attachment",
            30008,
        ),
        (REPLY.model_copy(update={"body": None}), "needs a body", 21602),
        (REPLY.model_copy(update={"to_address": "messenger:123"}), "not a WhatsApp address", 21211),
    ],
)
async def test_refused_before_calling_meta(message: OutboundMessage, problem: str, code: int) -> None:
    seen: list[httpx.Request] = []
    async with client(sent, seen) as http:
        with pytest.raises(ProviderRejected, match=problem) as caught:
            await adapter.send(http, CONFIG, message)
    assert caught.value.code == code
    assert seen == []


def graph_error(status: int, code: int, subcode: int | None = None, headers: dict[str, str] | None = None) -> Handler:
    error = {"message": f"error {code}", "type": "OAuthException", "code": code, "fbtrace_id": "A1"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return lambda request: httpx.Response(status, json={"error": error}, headers=headers)


def raising(exc: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    return handler


@pytest.mark.parametrize(
    ("handler", "expected", "code"),
    [
        (graph_error(400, 131047), OutsideWindow, 63016),
        (graph_error(400, 4), ProviderThrottled, 20429),
        (graph_error(400, 80007), ProviderThrottled, 20429),
        (graph_error(400, 130429), ProviderThrottled, 20429),
        (graph_error(400, 131056), ProviderThrottled, 20429),
        (graph_error(429, 100), ProviderThrottled, 20429),
        (lambda r: httpx.Response(429, text="slow down"), ProviderThrottled, 20429),
        (graph_error(500, 131000), ProviderUnavailable, 30001),
        (lambda r: httpx.Response(503, text="<html>down</html>"), ProviderUnavailable, 30001),
        (graph_error(401, 190), ProviderRejected, 20003),
        (graph_error(400, 100, 33), ProviderRejected, 30008),
        (graph_error(400, 131026), ProviderRejected, 30008),
        (raising(httpx.ConnectError), ProviderUnavailable, 30001),
        (raising(httpx.ReadTimeout), ProviderUnavailable, 30001),
        (lambda r: httpx.Response(200, json={"messages": []}), ProviderUnavailable, 30001),
    ],
)
async def test_send_errors(handler: Handler, expected: type[Exception], code: int) -> None:
    async with client(handler, []) as http:
        with pytest.raises(ChannelError) as caught:
            await adapter.send(http, CONFIG, REPLY)
    assert type(caught.value) is expected
    assert caught.value.code == code


async def test_throttling_carries_retry_after() -> None:
    async with client(graph_error(429, 4, headers={"Retry-After": "7"}), []) as http:
        with pytest.raises(ProviderThrottled) as caught:
            await adapter.send(http, CONFIG, REPLY)
    assert caught.value.retry_after == 7.0


# --- media ---------------------------------------------------------------------------------------------------

CDN = "https://lookaside.fbsbx.example/whatsapp_business/attachments/?mid=MEDIA-1&ext=1&hash=x"


def media_api(request: httpx.Request) -> httpx.Response:
    if str(request.url) == f"{BASE}/MEDIA-1":
        return httpx.Response(
            200,
            json={
                "url": CDN,
                "mime_type": "image/jpeg",
                "sha256": "abc",
                "file_size": 3,
                "id": "MEDIA-1",
                "messaging_product": "whatsapp",
            },
        )
    if str(request.url) == CDN:
        return httpx.Response(200, content=b"JPG", headers={"content-type": "application/octet-stream"})
    return httpx.Response(404, json={"error": {"message": "no such object", "code": 100}})


async def test_fetches_media_by_id_then_url_with_the_token() -> None:
    seen: list[httpx.Request] = []
    async with client(media_api, seen) as http:
        data, content_type = await adapter.fetch_media(http, CONFIG, InboundMedia(provider_media_id="MEDIA-1"))
    assert (data, content_type) == (b"JPG", "image/jpeg")
    assert [(r.method, str(r.url)) for r in seen] == [("GET", f"{BASE}/MEDIA-1"), ("GET", CDN)]
    assert all(r.headers["authorization"] == "Bearer EAAG-access-token" for r in seen)


async def test_the_webhooks_mime_type_wins() -> None:
    async with client(media_api, []) as http:
        _, content_type = await adapter.fetch_media(
            http, CONFIG, InboundMedia(provider_media_id="MEDIA-1", content_type="image/webp")
        )
    assert content_type == "image/webp"


@pytest.mark.parametrize(
    "handler",
    [
        media_api,  # MEDIA-2 is unknown: 404
        graph_error(401, 190),
        graph_error(429, 4),
        lambda r: httpx.Response(200, json={"id": "MEDIA-2"}),  # no url
        lambda r: httpx.Response(200, json={"url": CDN}) if r.url.host == "graph.facebook.com" else httpx.Response(500),
        raising(httpx.ConnectTimeout),
    ],
)
async def test_media_failures_are_unavailable(handler: Handler) -> None:
    async with client(handler, []) as http:
        with pytest.raises(ProviderUnavailable):
            await adapter.fetch_media(http, CONFIG, InboundMedia(provider_media_id="MEDIA-2"))
