"""The webhooks the stand-in providers post, built and signed as the real providers do
(docs/channel-protocols.md): Twilio's form posts with `X-Twilio-Signature`, Meta's JSON envelopes with
`X-Hub-Signature-256`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from channels.standin.state import Number, PhoneMessage, Provider

log = logging.getLogger("channels.standin")

Form = list[tuple[str, str]]
TWILIO_API_VERSION = "2010-04-01"
# A webhook the receiver did not take (5xx, no answer) is posted again this many times, backing off (as Meta
# does; the stand-in does it for Twilio's status callbacks too, so a test is not at the mercy of one request).
WEBHOOK_ATTEMPTS = 5
WEBHOOK_BACKOFF = 0.5  # seconds, doubled after each failed attempt


def twilio_signature(auth_token: str, url: str, form: Form) -> str:
    """base64(HMAC-SHA1(auth token, the URL + each parameter's name and value, sorted by name))."""
    data = url + "".join(name + value for name, value in sorted(form, key=lambda item: item[0]))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def meta_signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def digits(address: str) -> str:
    """A WhatsApp number as Meta writes it: "15551234567" for whatsapp:+15551234567."""
    return re.sub(r"\D", "", address)


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class Webhook:
    """One request to post: where, the raw body and its headers (signature included)."""

    url: str
    body: bytes
    headers: dict[str, str]


def signed(number: Number, url: str, *, form: Form | None = None, payload: Any = None, sign: str = "yes") -> Webhook:
    """A webhook for `number`, signed with its secret. `sign`: "yes", "no" (no signature header) or "bad" (a
    signature made with the wrong secret), the last two for tests that check Parley refuses forgeries."""
    if number.provider is Provider.TWILIO:
        assert form is not None and number.auth_token is not None
        body = urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        secret = number.auth_token if sign == "yes" else "not-" + number.auth_token
        if sign != "no":
            headers["X-Twilio-Signature"] = twilio_signature(secret, url, form)
        return Webhook(url=url, body=body, headers=headers)
    assert number.app_secret is not None
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    secret = number.app_secret if sign == "yes" else "not-" + number.app_secret
    if sign != "no":
        headers["X-Hub-Signature-256"] = meta_signature(secret, body)
    return Webhook(url=url, body=body, headers=headers)


async def post(client: httpx.AsyncClient, webhook: Webhook) -> int:
    """Post once: the status code of the answer, 0 when there was none."""
    try:
        response = await client.post(webhook.url, content=webhook.body, headers=webhook.headers)
    except httpx.HTTPError as exc:
        log.warning("webhook to %s failed: %s", webhook.url, exc)
        return 0
    return response.status_code


# --- Twilio --------------------------------------------------------------------------------------------------


def twilio_inbound(
    number: Number,
    *,
    customer: str,
    message_sid: str,
    body: str | None,
    media: Sequence[tuple[str, str]],
    profile_name: str | None,
) -> Form:
    form: Form = [
        ("MessageSid", message_sid),
        ("SmsMessageSid", message_sid),
        ("SmsSid", message_sid),
        ("AccountSid", number.account_sid or ""),
        ("From", customer),
        ("To", number.address),
        ("Body", body or ""),
        ("NumMedia", str(len(media))),
        ("NumSegments", "1"),
        ("SmsStatus", "received"),
        ("ApiVersion", TWILIO_API_VERSION),
    ]
    for i, (url, content_type) in enumerate(media):
        form += [(f"MediaUrl{i}", url), (f"MediaContentType{i}", content_type)]
    if customer.startswith("whatsapp:"):
        form += [("WaId", digits(customer)), ("ProfileName", profile_name or "")]
    return form


def twilio_status(number: Number, message: PhoneMessage, *, customer: str, status: str) -> Form:
    form: Form = [
        ("MessageSid", message.provider_message_id),
        ("SmsSid", message.provider_message_id),
        ("AccountSid", number.account_sid or ""),
        ("From", number.address),
        ("To", customer),
        ("MessageStatus", status),
        ("SmsStatus", status),
        ("ApiVersion", TWILIO_API_VERSION),
    ]
    if message.error_code is not None:
        form += [("ErrorCode", str(message.error_code)), ("ErrorMessage", ERROR_MESSAGES.get(message.error_code, ""))]
    return form


ERROR_MESSAGES = {
    11200: "HTTP retrieval failure",
    63016: "Failed to send freeform message because you are outside the allowed window.",
    131047: "Re-engagement message",
    131053: "Media upload error",
}


# --- WhatsApp Cloud --------------------------------------------------------------------------------------------


def whatsapp_envelope(number: Number, value: dict[str, Any]) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": digits(number.address), "phone_number_id": number.phone_number_id},
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA" + (number.phone_number_id or ""), "changes": [{"field": "messages", "value": value}]}],
    }


def whatsapp_inbound(
    *,
    customer: str,
    message_id: str,
    at: datetime,
    body: str | None,
    media: Sequence[tuple[str, str, str | None]],  # (media id, content type, filename)
    profile_name: str | None,
) -> dict[str, Any]:
    wa_id = digits(customer)
    message: dict[str, Any] = {"from": wa_id, "id": message_id, "timestamp": str(int(at.timestamp()))}
    if media:
        media_id, content_type, filename = media[0]
        kind = "image" if content_type.startswith("image/") else "document"
        item: dict[str, Any] = {"id": media_id, "mime_type": content_type, "sha256": ""}
        if body:
            item["caption"] = body
        if filename and kind == "document":
            item["filename"] = filename
        message |= {"type": kind, kind: item}
    else:
        message |= {"type": "text", "text": {"body": body or ""}}
    return {"contacts": [{"profile": {"name": profile_name or ""}, "wa_id": wa_id}], "messages": [message]}


def whatsapp_status(
    message: PhoneMessage, *, customer: str, status: str, callback_data: str | None, at: datetime
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": message.provider_message_id,
        "status": status,
        "timestamp": str(int(at.timestamp())),
        "recipient_id": digits(customer),
    }
    if callback_data is not None:
        item["biz_opaque_callback_data"] = callback_data
    if message.error_code is not None:
        item["errors"] = [
            {
                "code": message.error_code,
                "title": ERROR_MESSAGES.get(message.error_code, "Error"),
                "message": ERROR_MESSAGES.get(message.error_code, "Error"),
            }
        ]
    return {"statuses": [item]}


# --- Messenger ---------------------------------------------------------------------------------------------------


def messenger_envelope(number: Number, events: list[dict[str, Any]], at: datetime) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": number.page_id, "time": epoch_ms(at), "messaging": events}]}


def messenger_inbound(
    number: Number, *, psid: str, mid: str, at: datetime, body: str | None, media_urls: Sequence[str]
) -> dict[str, Any]:
    message: dict[str, Any] = {"mid": mid}
    if body:
        message["text"] = body
    if media_urls:
        message["attachments"] = [{"type": "image", "payload": {"url": url}} for url in media_urls]
    return {
        "sender": {"id": psid},
        "recipient": {"id": number.page_id},
        "timestamp": epoch_ms(at),
        "message": message,
    }


def messenger_echo(number: Number, message: PhoneMessage, *, psid: str) -> dict[str, Any]:
    """The page's own message, echoed back to the page's webhook (Parley ignores these)."""
    echoed: dict[str, Any] = {"mid": message.provider_message_id, "is_echo": True}
    if message.body:
        echoed["text"] = message.body
    return {
        "sender": {"id": number.page_id},
        "recipient": {"id": psid},
        "timestamp": epoch_ms(message.date),
        "message": echoed,
    }


def messenger_delivery(number: Number, *, psid: str, mids: list[str], at: datetime) -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": number.page_id},
        "timestamp": epoch_ms(at),
        "delivery": {"mids": mids, "watermark": epoch_ms(at)},
    }


def messenger_read(number: Number, *, psid: str, at: datetime) -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": number.page_id},
        "timestamp": epoch_ms(at),
        "read": {"watermark": epoch_ms(at)},
    }
