"""The Twilio Programmable Messaging adapter: signatures checked against twilio-python's RequestValidator, the
webhooks it parses, and the exact requests it makes (httpx.MockTransport standing in for api.twilio.com)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from twilio.request_validator import RequestValidator

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
from channels.twilio import TwilioMessaging, status_callback_url
from domain.states import DeliveryStatus

SID = "AC" + "0" * 32
TOKEN = "twilio-auth-token"
CONFIG = ProviderConfig(api_base_url="https://api.twilio.com", credentials={"account_sid": SID, "auth_token": TOKEN})
HOOK = "https://parley.example.com/parley/v1/ChannelProviders/XP123/Webhook"
MESSAGE_SID = "SM" + "a" * 32
adapter = TwilioMessaging()


class MultiParams(dict[str, list[str]]):
    """Repeated form fields the way twilio-python's validator reads them (Django's QueryDict's getlist)."""

    def getlist(self, name: str) -> list[str]:
        return self[name]


def multi(params: list[tuple[str, str]]) -> MultiParams:
    found = MultiParams()
    for k, v in params:
        found.setdefault(k, []).append(v)
    return found


def oracle_signature(url: str, params: list[tuple[str, str]], token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, multi(params))


def signed(url: str, form: list[tuple[str, str]], *, signature: str | None = None) -> InboundRequest:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    headers["x-twilio-signature"] = signature if signature is not None else oracle_signature(url, form)
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return InboundRequest(method="POST", url=url, headers=headers, query=query, form=form)


def accepted(request: InboundRequest) -> bool:
    try:
        adapter.verify(request, CONFIG)
    except SignatureInvalid:
        return False
    return True


INBOUND = [
    ("MessageSid", MESSAGE_SID),
    ("SmsMessageSid", MESSAGE_SID),
    ("AccountSid", SID),
    ("From", "+15551234567"),
    ("To", "+15550002222"),
    ("Body", "Hello ✓ héllo"),
    ("NumMedia", "0"),
    ("SmsStatus", "received"),
    ("ApiVersion", "2010-04-01"),
]
MEDIA_FORM = [
    ("MessageSid", MESSAGE_SID),
    ("From", "whatsapp:+15551234567"),
    ("To", "whatsapp:+15550002222"),
    ("Body", ""),
    ("NumMedia", "2"),
    ("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME1"),
    ("MediaContentType0", "image/jpeg"),
    ("MediaUrl1", "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME2"),
    ("MediaContentType1", "application/pdf"),
    ("ProfileName", "Ana"),
    ("WaId", "15551234567"),
    ("MessagingServiceSid", "MG" + "1" * 32),
]
REPEATED = [("MediaUrl", "https://cdn.example.com/b.png"), ("Body", "x"), ("MediaUrl", "https://cdn.example.com/a.png")]
CASES = {
    "inbound": (HOOK, INBOUND),
    "query string": (f"{HOOK}?ParleyReceipt=IM1.MB2&b=2&a=1", INBOUND),
    "repeated MediaUrl": (f"{HOOK}?x=1", REPEATED),
    "empty values": (HOOK, [("Body", ""), ("From", "+1"), ("Zeta", "z")]),
    "no parameters": (f"{HOOK}?only=query", []),
    "explicit default port": ("https://parley.example.com:443/hook?x=1", INBOUND),
}


# --- signatures ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_accepts_what_twilios_validator_accepts(case: str) -> None:
    url, form = CASES[case]
    signature = oracle_signature(url, form)
    assert RequestValidator(TOKEN).validate(url, multi(form), signature)
    assert accepted(signed(url, form, signature=signature))


def test_accepts_a_signature_over_the_url_without_its_default_port() -> None:
    signature = oracle_signature("https://parley.example.com/hook", INBOUND)
    url = "https://parley.example.com:443/hook"
    assert RequestValidator(TOKEN).validate(url, multi(INBOUND), signature)
    assert accepted(signed(url, INBOUND, signature=signature))


def _tampered(url: str, form: list[tuple[str, str]]) -> dict[str, tuple[str, list[tuple[str, str]], str]]:
    good = oracle_signature(url, form)
    return {
        "other token": (url, form, oracle_signature(url, form, token="someone-else")),
        "changed value": (url, [*form, ("Body", "injected")], good),
        "changed query": (url + ("&" if "?" in url else "?") + "ParleyReceipt=other", form, good),
        "other host": (url.replace("parley.example.com", "evil.example.com"), form, good),
        "truncated": (url, form, good[:-2]),
        "empty": (url, form, ""),
    }


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(
    "tamper", ["other token", "changed value", "changed query", "other host", "truncated", "empty"]
)
def test_rejects_what_twilios_validator_rejects(case: str, tamper: str) -> None:
    url, form, signature = _tampered(*CASES[case])[tamper]
    assert not RequestValidator(TOKEN).validate(url, multi(form), signature)
    assert not accepted(signed(url, form, signature=signature))


def test_repeated_parameters_are_signed_sorted_by_value() -> None:
    # Order on the wire does not matter (Twilio sorts each name's values), but every value counts.
    url = f"{HOOK}?x=1"
    signature = oracle_signature(url, REPEATED)
    assert accepted(signed(url, list(reversed(REPEATED)), signature=signature))
    assert not accepted(signed(url, REPEATED[:2], signature=signature))


def test_a_missing_or_non_ascii_signature_is_invalid() -> None:
    request = signed(HOOK, INBOUND)
    with pytest.raises(SignatureInvalid, match="no X-Twilio-Signature"):
        adapter.verify(request.model_copy(update={"headers": {}}), CONFIG)
    with pytest.raises(SignatureInvalid):
        adapter.verify(signed(HOOK, INBOUND, signature="sïgnature"), CONFIG)


def test_the_form_is_read_from_the_body_when_not_given() -> None:
    request = signed(HOOK, INBOUND)
    body = urlencode(INBOUND).encode()
    adapter.verify(request.model_copy(update={"form": [], "body": body}), CONFIG)
    assert adapter.parse(request.model_copy(update={"form": [], "body": body}), CONFIG) == adapter.parse(
        request, CONFIG
    )


# --- parsing -------------------------------------------------------------------------------------------------


def test_parses_an_inbound_sms() -> None:
    (message,) = adapter.parse(signed(HOOK, INBOUND), CONFIG)
    assert message == InboundMessage(
        provider_message_id=MESSAGE_SID,
        channel=ChannelKind.SMS,
        from_address="+15551234567",
        to_address="+15550002222",
        body="Hello ✓ héllo",
    )


def test_parses_an_inbound_whatsapp_message_with_media() -> None:
    (message,) = adapter.parse(signed(HOOK, MEDIA_FORM), CONFIG)
    assert isinstance(message, InboundMessage)
    assert message.channel is ChannelKind.WHATSAPP
    assert (message.from_address, message.to_address) == ("whatsapp:+15551234567", "whatsapp:+15550002222")
    assert message.body is None
    assert message.media == [
        InboundMedia(
            url="https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME1", content_type="image/jpeg"
        ),
        InboundMedia(
            url="https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME2", content_type="application/pdf"
        ),
    ]
    assert message.profile_name == "Ana"
    assert message.messaging_service_sid == "MG" + "1" * 32


def test_parses_a_status_callback_with_parleys_receipt_key() -> None:
    form = [
        ("MessageSid", MESSAGE_SID),
        ("SmsSid", MESSAGE_SID),
        ("AccountSid", SID),
        ("From", "+15550002222"),
        ("To", "+15551234567"),
        ("MessageStatus", "undelivered"),
        ("SmsStatus", "undelivered"),
        ("ErrorCode", "30003"),
        ("ErrorMessage", "Unreachable destination handset"),
        ("ApiVersion", "2010-04-01"),
    ]
    url = f"{HOOK}?ParleyReceipt=IM1.MB2"
    assert adapter.parse(signed(url, form), CONFIG) == [
        StatusUpdate(
            provider_message_id=MESSAGE_SID,
            status=DeliveryStatus.UNDELIVERED,
            error_code=30003,
            error_message="Unreachable destination handset",
            recipient="+15551234567",
            callback_data="IM1.MB2",
        )
    ]


def test_the_receipt_key_is_read_from_the_url_when_the_query_is_not_given() -> None:
    form = [("MessageSid", MESSAGE_SID), ("MessageStatus", "delivered"), ("ErrorCode", "")]
    request = signed(f"{HOOK}?a=1&ParleyReceipt=IM9.MB9", form).model_copy(update={"query": []})
    (update,) = adapter.parse(request, CONFIG)
    assert update == StatusUpdate(
        provider_message_id=MESSAGE_SID, status=DeliveryStatus.DELIVERED, callback_data="IM9.MB9"
    )


def test_a_status_that_says_nothing_new_parses_to_nothing() -> None:
    assert adapter.parse(signed(HOOK, [("MessageSid", MESSAGE_SID), ("MessageStatus", "queued")]), CONFIG) == []


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ([], "no form fields"),
        ([("Body", "hi"), ("To", "+15550002222")], "From"),
        ([("MessageSid", MESSAGE_SID), ("From", "+1555"), ("To", "+1556"), ("NumMedia", "two")], "NumMedia"),
        ([("MessageSid", MESSAGE_SID), ("From", "+1555"), ("To", "+1556"), ("NumMedia", "1")], "MediaUrl0"),
        ([("MessageSid", MESSAGE_SID), ("From", "messenger:123"), ("To", "messenger:456")], "not an SMS or WhatsApp"),
        ([("MessageStatus", "sent")], "MessageSid"),
        ([("MessageSid", MESSAGE_SID), ("MessageStatus", "failed"), ("ErrorCode", "oops")], "ErrorCode"),
    ],
)
def test_garbage_is_a_channel_error(form: list[tuple[str, str]], problem: str) -> None:
    with pytest.raises(ChannelError, match=problem):
        adapter.parse(signed(HOOK, form), CONFIG)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        *[(s, None) for s in ("queued", "accepted", "sending", "scheduled", "receiving", "received")],
        ("sent", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("read", DeliveryStatus.READ),
        ("failed", DeliveryStatus.FAILED),
        ("undelivered", DeliveryStatus.UNDELIVERED),
        ("canceled", DeliveryStatus.FAILED),
        ("something-new", None),
    ],
)
def test_map_status(status: str, expected: DeliveryStatus | None) -> None:
    assert adapter.map_status(status) == expected


def test_limits() -> None:
    sms = adapter.limits(ChannelKind.SMS)
    assert (sms.body_limit, sms.max_media, sms.media_size_limit, sms.customer_service_window) == (
        1600,
        10,
        5 << 20,
        None,
    )
    whatsapp = adapter.limits(ChannelKind.WHATSAPP)
    assert (whatsapp.body_limit, whatsapp.max_media, whatsapp.media_size_limit) == (4096, 1, 16 << 20)
    assert whatsapp.customer_service_window is not None and whatsapp.customer_service_window.total_seconds() == 86400
    assert whatsapp.templates is False
    with pytest.raises(ChannelError):
        adapter.limits(ChannelKind.MESSENGER)


def test_there_is_no_handshake() -> None:
    with pytest.raises(ChannelError, match="no webhook verification handshake"):
        adapter.handshake(signed(HOOK, []), CONFIG)


# --- sending -------------------------------------------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, seen: list[httpx.Request]) -> httpx.AsyncClient:
    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    return httpx.AsyncClient(transport=httpx.MockTransport(record))


def created(request: httpx.Request) -> httpx.Response:
    return httpx.Response(201, json={"sid": MESSAGE_SID, "status": "queued", "account_sid": SID, "error_code": None})


BASIC = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"


async def test_sends_an_mms_as_twilios_form_post() -> None:
    seen: list[httpx.Request] = []
    message = OutboundMessage(
        to_address="+15551234567",
        from_address="+15550002222",
        body="Your order shipped & is on its way",
        media_urls=["https://parley.example.com/m/1.png", "https://parley.example.com/m/2.png"],
        status_callback_url="https://parley.example.com/parley/v1/ChannelProviders/XP1/Webhook?keep=me",
        callback_data="IM1.MB2",
    )
    async with client(created, seen) as http:
        result = await adapter.send(http, CONFIG, message)
    assert result.provider_message_id == MESSAGE_SID
    assert result.status is None  # "queued" says nothing new
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == MESSAGES_URL
    assert request.headers["authorization"] == BASIC
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(request.content.decode()) == [
        ("To", "+15551234567"),
        ("From", "+15550002222"),
        ("Body", "Your order shipped & is on its way"),
        ("MediaUrl", "https://parley.example.com/m/1.png"),
        ("MediaUrl", "https://parley.example.com/m/2.png"),
        (
            "StatusCallback",
            "https://parley.example.com/parley/v1/ChannelProviders/XP1/Webhook?keep=me&ParleyReceipt=IM1.MB2",
        ),
    ]


async def test_a_messaging_service_replaces_from() -> None:
    seen: list[httpx.Request] = []
    message = OutboundMessage(
        to_address="whatsapp:+15551234567",
        from_address="whatsapp:+15550002222",
        body="Hi",
        messaging_service_sid="MG" + "1" * 32,
    )
    async with client(created, seen) as http:
        await adapter.send(http, CONFIG.model_copy(update={"api_base_url": "http://127.0.0.1:8095/"}), message)
    (request,) = seen
    assert str(request.url) == f"http://127.0.0.1:8095/2010-04-01/Accounts/{SID}/Messages.json"
    assert dict(parse_qsl(request.content.decode())) == {
        "To": "whatsapp:+15551234567",
        "MessagingServiceSid": "MG" + "1" * 32,
        "Body": "Hi",
    }


def test_the_status_callback_keeps_its_query_and_replaces_an_old_receipt_key() -> None:
    assert status_callback_url("https://x.test/cb", "K") == "https://x.test/cb?ParleyReceipt=K"
    assert status_callback_url("https://x.test/cb?a=1&ParleyReceipt=old&b=", "K") == (
        "https://x.test/cb?a=1&b=&ParleyReceipt=K"
    )
    assert status_callback_url("https://x.test/cb?a=1", None) == "https://x.test/cb?a=1"


def answer(status: int, body: dict[str, object] | None = None, headers: dict[str, str] | None = None) -> Handler:
    return lambda request: httpx.Response(status, json=body, headers=headers)


def error(code: int, status: int) -> dict[str, object]:
    return {
        "code": code,
        "message": f"error {code}",
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def raising(exc: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    return handler


SMS = OutboundMessage(to_address="+15551234567", from_address="+15550002222", body="Hi")


@pytest.mark.parametrize(
    ("handler", "expected", "code"),
    [
        (answer(429, error(20429, 429), {"Retry-After": "3"}), ProviderThrottled, 20429),
        (answer(503), ProviderUnavailable, 30001),
        (lambda r: httpx.Response(502, text="<html>bad gateway</html>"), ProviderUnavailable, 30001),
        (answer(400, error(21610, 400)), ProviderRejected, 21610),
        (answer(400, error(21211, 400)), ProviderRejected, 21211),
        (answer(401, error(20003, 401)), ProviderRejected, 20003),
        (lambda r: httpx.Response(401, text="Unauthorized"), ProviderRejected, 20003),
        (answer(400, error(63016, 400)), OutsideWindow, 63016),
        (raising(httpx.ConnectError), ProviderUnavailable, 30001),
        (raising(httpx.ReadTimeout), ProviderUnavailable, 30001),
        (lambda r: httpx.Response(201, text="not json"), ProviderUnavailable, 30001),
    ],
)
async def test_send_errors(handler: Handler, expected: type[ChannelError], code: int) -> None:
    async with client(handler, []) as http:
        with pytest.raises(expected) as caught:
            await adapter.send(http, CONFIG, SMS)
    assert type(caught.value) is expected
    assert caught.value.code == code


async def test_throttling_carries_retry_after() -> None:
    async with client(answer(429, error(20429, 429), {"Retry-After": "3"}), []) as http:
        with pytest.raises(ProviderThrottled) as caught:
            await adapter.send(http, CONFIG, SMS)
    assert caught.value.retry_after == 3.0


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (SMS.model_copy(update={"template": Template(name="order_update")}), 30008),
        (SMS.model_copy(update={"body": None}), 21602),
    ],
)
async def test_refused_before_calling_twilio(message: OutboundMessage, code: int) -> None:
    seen: list[httpx.Request] = []
    async with client(created, seen) as http:
        with pytest.raises(ProviderRejected) as caught:
            await adapter.send(http, CONFIG, message)
    assert caught.value.code == code
    assert seen == []


async def test_incomplete_credentials_are_rejected() -> None:
    async with client(created, []) as http:
        with pytest.raises(ProviderRejected, match="auth_token") as caught:
            await adapter.send(
                http, ProviderConfig(api_base_url="https://api.twilio.com", credentials={"account_sid": SID}), SMS
            )
    assert caught.value.code == 20003


# --- media ---------------------------------------------------------------------------------------------------

MEDIA_URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages/MM1/Media/ME1"


async def test_fetches_media_with_basic_auth_following_the_redirect() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.twilio.com":
            return httpx.Response(307, headers={"Location": "https://media.twiliocdn.example/abc?sig=1"})
        return httpx.Response(200, content=b"\x89PNG...", headers={"content-type": "image/png"})

    async with client(handler, seen) as http:
        data, content_type = await adapter.fetch_media(http, CONFIG, InboundMedia(url=MEDIA_URL))
    assert (data, content_type) == (b"\x89PNG...", "image/png")
    assert [(r.method, str(r.url)) for r in seen] == [
        ("GET", MEDIA_URL),
        ("GET", "https://media.twiliocdn.example/abc?sig=1"),
    ]
    assert seen[0].headers["authorization"] == BASIC
    assert "authorization" not in seen[1].headers  # the credentials stay with Twilio


async def test_the_webhooks_content_type_wins() -> None:
    async with client(lambda r: httpx.Response(200, content=b"x"), []) as http:
        _, content_type = await adapter.fetch_media(
            http, CONFIG, InboundMedia(url=MEDIA_URL, content_type="image/jpeg")
        )
    assert content_type == "image/jpeg"


@pytest.mark.parametrize("handler", [answer(404), answer(500), raising(httpx.ConnectTimeout)])
async def test_media_failures_are_unavailable(handler: Handler) -> None:
    async with client(handler, []) as http:
        with pytest.raises(ProviderUnavailable):
            await adapter.fetch_media(http, CONFIG, InboundMedia(url=MEDIA_URL))
