"""The Messenger adapter: the hub handshake, X-Hub-Signature-256, the page webhook events it parses and the
exact Send API requests it makes (httpx.MockTransport standing in for graph.facebook.com)."""

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
    ReadWatermark,
    SignatureInvalid,
    StatusUpdate,
    Template,
)
from channels.messenger import Messenger
from domain.states import DeliveryStatus

BASE = "https://graph.facebook.com/v21.0"
PAGE = "104477552361221"
PSID = "6789012345678901"
CREDENTIALS = {
    "page_id": PAGE,
    "page_access_token": "EAAP-page-token",
    "app_secret": "messenger-app-secret",
    "verify_token": "verify-me",
}
CONFIG = ProviderConfig(api_base_url=BASE, credentials=CREDENTIALS)
HOOK = "https://parley.example.com/parley/v1/ChannelProviders/XP2/Webhook"
adapter = Messenger()


def sign(body: bytes, secret: str = CREDENTIALS["app_secret"]) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(payload: Any, *, signature: str | None = None) -> InboundRequest:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "content-type": "application/json",
        "x-hub-signature-256": sign(body) if signature is None else signature,
    }
    return InboundRequest(method="POST", url=HOOK, headers=headers, body=body)


def page(*events: dict[str, Any], obj: str = "page") -> dict[str, Any]:
    return {"object": obj, "entry": [{"id": PAGE, "time": 1733150000000, "messaging": list(events)}]}


def event(**content: Any) -> dict[str, Any]:
    return {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1733150000123, **content}


TEXT = event(message={"mid": "m_TEXT", "text": "Hello"})


# --- signatures and the handshake ----------------------------------------------------------------------------


def test_a_signed_body_verifies_and_a_bad_one_does_not() -> None:
    adapter.verify(post(page(TEXT)), CONFIG)
    body = json.dumps(page(TEXT)).encode()
    for signature in ("", sign(body, secret="whatsapp-app-secret"), sign(body + b" "), "sha256=00"):
        with pytest.raises(SignatureInvalid):
            adapter.verify(post(body, signature=signature), CONFIG)


def test_the_handshake() -> None:
    ok = InboundRequest(method="GET", url=f"{HOOK}?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=CH")
    assert adapter.handshake(ok, CONFIG) == "CH"
    with pytest.raises(SignatureInvalid):
        adapter.handshake(ok.model_copy(update={"url": ok.url.replace("verify-me", "verify-you")}), CONFIG)


# --- parsing -------------------------------------------------------------------------------------------------


def test_parses_a_message_with_attachments() -> None:
    attachments = [
        {"type": "image", "payload": {"url": "https://scontent.example/1.jpg"}},
        {"type": "file", "payload": {"url": "https://cdn.fbsbx.example/2.pdf"}},
        {"type": "fallback", "payload": None, "title": "a link"},
    ]
    item = event(message={"mid": "m_MEDIA", "text": "Look", "attachments": attachments, "nlp": {}})
    assert adapter.parse(post(page(item)), CONFIG) == [
        InboundMessage(
            provider_message_id="m_MEDIA",
            channel=ChannelKind.MESSENGER,
            from_address=f"messenger:{PSID}",
            to_address=f"messenger:{PAGE}",
            body="Look",
            media=[
                InboundMedia(url="https://scontent.example/1.jpg"),
                InboundMedia(url="https://cdn.fbsbx.example/2.pdf"),
            ],
            received_at=datetime(2024, 12, 2, 14, 33, 20, 123000, tzinfo=UTC),
        )
    ]


def test_echoes_are_ignored() -> None:
    echo = {
        "sender": {"id": PAGE},
        "recipient": {"id": PSID},
        "message": {"mid": "m_OUT", "is_echo": True, "text": "x"},
    }
    assert adapter.parse(post(page(echo, TEXT)), CONFIG) == [
        InboundMessage(
            provider_message_id="m_TEXT",
            channel=ChannelKind.MESSENGER,
            from_address=f"messenger:{PSID}",
            to_address=f"messenger:{PAGE}",
            body="Hello",
            received_at=datetime(2024, 12, 2, 14, 33, 20, 123000, tzinfo=UTC),
        )
    ]


def test_a_delivery_is_one_status_per_mid() -> None:
    delivery = event(delivery={"mids": ["m_A", "m_B"], "watermark": 1733150000000})
    assert adapter.parse(post(page(delivery)), CONFIG) == [
        StatusUpdate(provider_message_id="m_A", status=DeliveryStatus.DELIVERED, recipient=f"messenger:{PSID}"),
        StatusUpdate(provider_message_id="m_B", status=DeliveryStatus.DELIVERED, recipient=f"messenger:{PSID}"),
    ]
    assert adapter.parse(post(page(event(delivery={"watermark": 1733150000000}))), CONFIG) == []


def test_a_read_is_a_watermark_in_utc() -> None:
    (read,) = adapter.parse(post(page(event(read={"watermark": 1733150000999}))), CONFIG)
    assert read == ReadWatermark(
        customer_address=f"messenger:{PSID}",
        business_address=f"messenger:{PAGE}",
        read_up_to=datetime(2024, 12, 2, 14, 33, 20, 999000, tzinfo=UTC),
    )
    assert isinstance(read, ReadWatermark) and read.read_up_to.utcoffset() is not None


def test_events_parley_does_not_carry_are_skipped() -> None:
    postback = event(postback={"title": "Get started", "payload": "START"})
    standby = {"object": "page", "entry": [{"id": PAGE, "time": 1, "standby": [TEXT]}]}
    assert adapter.parse(post(page(postback)), CONFIG) == []
    assert adapter.parse(post(standby), CONFIG) == []


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"{", "Invalid JSON"),
        (page(TEXT, obj="whatsapp_business_account"), "object"),
        ({"object": "page"}, "entry"),
        (page({"recipient": {"id": PAGE}, "message": {"mid": "m", "text": "x"}}), "sender"),
        (page(event(message={"text": "no mid"})), "no mid"),
        (page(event(read={})), "watermark"),
        (page(event(delivery={"mids": "m_A"})), "mids"),
    ],
)
def test_garbage_is_a_channel_error(payload: Any, problem: str) -> None:
    with pytest.raises(ChannelError, match=problem):
        adapter.parse(post(payload), CONFIG)


def test_map_status_and_limits() -> None:
    assert adapter.map_status("delivery") is DeliveryStatus.DELIVERED
    assert adapter.map_status("read") is DeliveryStatus.READ
    assert adapter.map_status("typing_on") is None
    limits = adapter.limits(ChannelKind.MESSENGER)
    assert (limits.body_limit, limits.max_media, limits.media_size_limit) == (2000, 1, 25 << 20)
    assert limits.customer_service_window is not None and limits.customer_service_window.total_seconds() == 86400
    assert (limits.templates, limits.body_with_media) == (False, False)
    with pytest.raises(ChannelError):
        adapter.limits(ChannelKind.WHATSAPP)


# --- sending -------------------------------------------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, seen: list[httpx.Request]) -> httpx.AsyncClient:
    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    return httpx.AsyncClient(transport=httpx.MockTransport(record))


def sent(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"recipient_id": PSID, "message_id": "m_YYY"})


REPLY = OutboundMessage(
    to_address=f"messenger:{PSID}", from_address=f"messenger:{PAGE}", body="Hi", callback_data="IM1.MB2"
)


@pytest.mark.parametrize(
    ("message", "content"),
    [
        (REPLY, {"text": "Hi"}),
        (
            REPLY.model_copy(update={"body": None, "media_urls": ["https://parley.example.com/m/1.png"]}),
            {
                "attachment": {
                    "type": "image",
                    "payload": {"url": "https://parley.example.com/m/1.png", "is_reusable": True},
                }
            },
        ),
    ],
    ids=["text", "attachment"],
)
async def test_sends_the_send_api_request(message: OutboundMessage, content: dict[str, Any]) -> None:
    seen: list[httpx.Request] = []
    async with client(sent, seen) as http:
        result = await adapter.send(http, CONFIG, message)
    assert result.provider_message_id == "m_YYY"
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/me/messages?access_token=EAAP-page-token"
    assert "authorization" not in request.headers
    assert json.loads(request.content) == {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": content}


@pytest.mark.parametrize(
    ("message", "problem", "code"),
    [
        (REPLY.model_copy(update={"media_urls": ["https://x.test/1.png"]}), "text or one attachment", 30008),
        (
            REPLY.model_copy(update={"body": None, "media_urls": ["https://x.test/1.png", "https://x.test/2.png"]}),
            "one attachment",
            30008,
        ),
        (REPLY.model_copy(update={"body": None}), "needs a body", 21602),
        (REPLY.model_copy(update={"template": Template(name="t")}), "no message templates", 30008),
        (REPLY.model_copy(update={"to_address": "+15551234567"}), "not a Messenger address", 21211),
        (REPLY.model_copy(update={"to_address": "messenger:"}), "not a Messenger address", 21211),
    ],
)
async def test_refused_before_calling_meta(message: OutboundMessage, problem: str, code: int) -> None:
    seen: list[httpx.Request] = []
    async with client(sent, seen) as http:
        with pytest.raises(ProviderRejected, match=problem) as caught:
            await adapter.send(http, CONFIG, message)
    assert caught.value.code == code
    assert seen == []


def graph_error(status: int, code: int, subcode: int | None = None) -> Handler:
    error: dict[str, Any] = {"message": f"error {code}", "type": "OAuthException", "code": code, "fbtrace_id": "A1"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return lambda request: httpx.Response(status, json={"error": error})


def raising(exc: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    return handler


@pytest.mark.parametrize(
    ("handler", "expected", "code"),
    [
        (graph_error(400, 10, 2018278), OutsideWindow, 63016),
        (graph_error(400, 10), ProviderRejected, 30008),  # code 10 alone is a permission error
        (graph_error(400, 10, 2018065), ProviderRejected, 30008),
        (graph_error(400, 613), ProviderThrottled, 20429),
        (lambda r: httpx.Response(429, headers={"Retry-After": "1"}), ProviderThrottled, 20429),
        (graph_error(400, 190), ProviderRejected, 20003),
        (graph_error(400, 551, 1545041), ProviderRejected, 30008),
        (graph_error(500, 2), ProviderUnavailable, 30001),
        (raising(httpx.ConnectError), ProviderUnavailable, 30001),
        (raising(httpx.WriteTimeout), ProviderUnavailable, 30001),
        (lambda r: httpx.Response(200, json={"recipient_id": PSID}), ProviderUnavailable, 30001),
    ],
)
async def test_send_errors(handler: Handler, expected: type[Exception], code: int) -> None:
    async with client(handler, []) as http:
        with pytest.raises(ChannelError) as caught:
            await adapter.send(http, CONFIG, REPLY)
    assert type(caught.value) is expected
    assert caught.value.code == code


# --- media ---------------------------------------------------------------------------------------------------


async def test_fetches_media_with_a_plain_get() -> None:
    seen: list[httpx.Request] = []
    handler = lambda r: httpx.Response(200, content=b"GIF89a", headers={"content-type": "image/gif"})  # noqa: E731
    async with client(handler, seen) as http:
        data, content_type = await adapter.fetch_media(
            http, CONFIG, InboundMedia(url="https://scontent.example/1.gif?oh=x")
        )
    assert (data, content_type) == (b"GIF89a", "image/gif")
    (request,) = seen
    assert (request.method, str(request.url)) == ("GET", "https://scontent.example/1.gif?oh=x")
    assert "authorization" not in request.headers
    assert "access_token" not in str(request.url)


@pytest.mark.parametrize("handler", [lambda r: httpx.Response(403), raising(httpx.ReadTimeout)])
async def test_media_failures_are_unavailable(handler: Handler) -> None:
    async with client(handler, []) as http:
        with pytest.raises(ProviderUnavailable):
            await adapter.fetch_media(http, CONFIG, InboundMedia(url="https://scontent.example/1.gif"))
