"""The stand-in providers' HTTP app: the three providers' APIs, the control API and the customer phone page.

Sends are answered the way the provider answers them (Twilio: 201 with a Message resource; Graph: 200 with
the message id), then delivered in the background: the attachments are fetched from the URLs the business gave
(as the real providers do, so a link that does not work fails the message), the message lands on the
customer's phone and the provider's statuses are posted to the business's webhook, signed."""

from __future__ import annotations

import asyncio
import base64
import math
import re
import secrets
from collections.abc import Coroutine
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, ValidationError

from channels.standin import webhooks
from channels.standin.state import (
    Fault,
    FaultMode,
    Media,
    Number,
    Phone,
    PhoneMessage,
    Provider,
    SentRecord,
    Store,
    channel_of,
    new_id,
    now,
)

PHONE_PAGE = Path(__file__).with_name("phone")
GRAPH_VERSION = r"^v\d+\.\d+$"
STATUS_DELAY = 0.2  # seconds between accepting a send and its first status (a carrier is not instantaneous)
TWILIO_BODY_LIMIT = 1600
TWILIO_MAX_MEDIA = 10
WHATSAPP_BODY_LIMIT = 4096
MESSENGER_TEXT_LIMIT = 2000


class MediaUpload(BaseModel):
    content_type: str = "application/octet-stream"
    data_base64: str
    filename: str | None = None


class CustomerSend(BaseModel):
    """A customer sends a message to a business address (the control API)."""

    to: str
    body: str | None = None
    media: list[MediaUpload] = Field(default_factory=list)
    profile_name: str | None = None
    duplicate: bool = False  # the provider posts the webhook twice (its retry after a lost answer)
    unsigned: bool = False  # no signature header (a forgery)
    bad_signature: bool = False  # signed with the wrong secret (a forgery)


class FaultRequest(BaseModel):
    provider: Provider | Literal["all"] = "all"
    mode: FaultMode
    retry_after: float | None = Field(default=None, ge=0)


class AgeRequest(BaseModel):
    hours: float = Field(gt=0)


class Standin:
    """The running stand-in: its store, the client it posts webhooks and fetches media with, and the background
    deliveries in flight."""

    def __init__(self, store: Store, client: httpx.AsyncClient, status_delay: float) -> None:
        self.store = store
        self.client = client
        self.status_delay = status_delay
        self.tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def idle(self) -> None:
        """Wait until every background delivery has finished (tests)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def post(self, webhook: webhooks.Webhook) -> int:
        """Post a webhook, again with backoff while the receiver fails (5xx or no answer)."""
        delay = webhooks.WEBHOOK_BACKOFF
        status = 0
        for attempt in range(webhooks.WEBHOOK_ATTEMPTS):
            status = await webhooks.post(self.client, webhook)
            if 0 < status < 500:
                return status
            if attempt + 1 < webhooks.WEBHOOK_ATTEMPTS:
                await asyncio.sleep(delay)
                delay *= 2
        return status

    async def fetch_all(self, urls: list[str]) -> bool:
        """Fetch the attachments of a send as the provider does; False when one cannot be fetched."""
        for url in urls:
            try:
                response = await self.client.get(url, follow_redirects=True)
            except httpx.HTTPError:
                return False
            if response.status_code >= 400:
                return False
        return True


def create_app(
    config_path: Path | None = None, *, client: httpx.AsyncClient | None = None, status_delay: float = STATUS_DELAY
) -> FastAPI:
    store = Store()
    if config_path is not None:
        store.load(config_path)
    standin = Standin(store, client or httpx.AsyncClient(timeout=10), status_delay)
    app = FastAPI(title="Parley stand-in providers", docs_url="/_standin/docs", openapi_url="/_standin/openapi.json")
    app.state.standin = standin
    _control(app, standin)
    app.mount("/phone", StaticFiles(directory=PHONE_PAGE, html=True), name="phone")
    _twilio(app, standin)
    _graph(app, standin)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/phone/")

    return app


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _customer_channel_ok(customer: str, number: Number) -> bool:
    if channel_of(customer) != number.channel:
        return False
    if number.channel == "messenger":
        return bool(customer.removeprefix("messenger:"))
    e164 = customer.removeprefix("whatsapp:")
    return e164.startswith("+") and e164[1:].isdigit() and 8 <= len(e164) <= 16


# --- the control API ---------------------------------------------------------------------------------------


def _control(app: FastAPI, standin: Standin) -> None:
    store = standin.store

    @app.post("/_standin/numbers", status_code=201)
    async def register(number: Number) -> dict[str, Any]:
        if number.provider is not Provider.TWILIO:
            # Meta checks a webhook before it posts to it: the subscription handshake.
            challenge = secrets.token_hex(8)
            try:
                answer = await standin.client.get(
                    number.webhook_url,
                    params={
                        "hub.mode": "subscribe",
                        "hub.verify_token": number.verify_token or "",
                        "hub.challenge": challenge,
                    },
                )
            except httpx.HTTPError as exc:
                raise HTTPException(502, f"the callback URL could not be reached: {exc}") from exc
            if answer.status_code != 200 or answer.text != challenge:
                raise HTTPException(
                    502, f"the callback URL or verify token couldn't be validated (HTTP {answer.status_code})"
                )
        store.register(number)
        return number.public()

    @app.get("/_standin/numbers")
    async def numbers() -> list[dict[str, Any]]:
        return [n.public() for n in store.numbers.values()]

    @app.post("/_standin/phones/{customer}/send")
    async def customer_sends(customer: str, send: CustomerSend, request: Request) -> dict[str, Any]:
        number = store.numbers.get(send.to)
        if number is None:
            raise HTTPException(404, f"no business address {send.to!r} is registered with the stand-in")
        if not _customer_channel_ok(customer, number):
            raise HTTPException(400, f"{customer!r} cannot write to the {number.channel} address {send.to!r}")
        if not send.body and not send.media:
            raise HTTPException(400, "a message needs a body or media")
        try:
            uploads = [
                Media(
                    content_type=m.content_type,
                    data=base64.b64decode(m.data_base64, validate=True),
                    filename=m.filename,
                )
                for m in send.media
            ]
        except ValueError as exc:
            raise HTTPException(400, f"media data is not base64: {exc}") from exc
        sign = "no" if send.unsigned else "bad" if send.bad_signature else "yes"
        phone = store.phone(customer)
        if send.profile_name:
            phone.profile_name = send.profile_name
        webhook, message_id, media_ids = _inbound_webhook(store, number, phone, send, uploads, _base(request), sign)
        if sign == "yes":
            store.last_wrote[(customer, number.address)] = now()
            phone.messages.append(
                PhoneMessage(
                    provider_message_id=message_id,
                    direction="out",
                    business=number.address,
                    body=send.body,
                    # The customer's own copy: the provider's URLs need the business's credentials.
                    media_urls=[f"/_standin/media/{m}" for m in media_ids],
                    status="sent",
                )
            )
        attempts = 2 if send.duplicate else 1
        status = 0
        for _ in range(attempts):
            status = await webhooks.post(standin.client, webhook)
        return {"provider_message_id": message_id, "status_code": status, "attempts": attempts}

    @app.get("/_standin/media/{media_id}")
    async def customer_media(media_id: str) -> Response:
        """A file a customer sent, as the customer's phone shows it."""
        media = store.media.get(media_id)
        if media is None:
            raise HTTPException(404, "no such media")
        return Response(media.data, media_type=media.content_type)

    @app.get("/_standin/phones/{customer}/inbox")
    async def inbox(customer: str) -> list[dict[str, Any]]:
        return [m.view() for m in store.phone(customer).messages if m.direction == "in"]

    @app.get("/_standin/phones/{customer}/thread")
    async def thread(customer: str) -> dict[str, Any]:
        phone = store.phone(customer)
        return {"customer": customer, "messages": [m.view() for m in phone.messages]}

    @app.post("/_standin/phones/{customer}/read")
    async def read(customer: str) -> dict[str, int]:
        return {"read": await _read(standin, store.phone(customer))}

    @app.post("/_standin/phones/{customer}/age")
    async def age(customer: str, request: AgeRequest) -> dict[str, int]:
        """Move the customer's last messages back in time (the customer-service window)."""
        moved = 0
        for key in [k for k in store.last_wrote if k[0] == customer]:
            store.last_wrote[key] -= timedelta(hours=request.hours)
            moved += 1
        return {"moved": moved}

    @app.post("/_standin/faults")
    async def faults(request: FaultRequest) -> dict[str, Any]:
        provider = None if request.provider == "all" else Provider(request.provider)
        store.set_fault(provider, Fault(mode=request.mode, retry_after=request.retry_after))
        return {"provider": request.provider, "mode": request.mode, "retry_after": request.retry_after}

    @app.get("/_standin/sent")
    async def sent() -> list[dict[str, Any]]:
        return [s.model_dump(mode="json", by_alias=True) for s in store.sent]

    @app.post("/_standin/reset")
    async def reset() -> dict[str, bool]:
        await standin.idle()
        store.reset()
        return {"reset": True}


def _inbound_webhook(
    store: Store, number: Number, phone: Phone, send: CustomerSend, uploads: list[Media], base: str, sign: str
) -> tuple[webhooks.Webhook, str, list[str]]:
    """The provider's inbound-message webhook for a customer's message, its message id and the media's ids."""
    at = now()
    media_ids = [new_id("ME") for _ in uploads]
    if sign == "yes":  # a forgery does not put files on the provider
        for media_id, upload in zip(media_ids, uploads, strict=True):
            store.media[media_id] = upload
    if number.provider is Provider.TWILIO:
        sid = new_id("MM" if uploads else "SM")
        urls = [f"{base}/2010-04-01/Accounts/{number.account_sid}/Messages/{sid}/Media/{m}" for m in media_ids]
        form = webhooks.twilio_inbound(
            number,
            customer=phone.address,
            message_sid=sid,
            body=send.body,
            media=[(url, u.content_type) for url, u in zip(urls, uploads, strict=True)],
            profile_name=phone.profile_name,
        )
        return webhooks.signed(number, number.webhook_url, form=form, sign=sign), sid, media_ids
    if number.provider is Provider.WHATSAPP_CLOUD:
        wamid = "wamid." + base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
        value = webhooks.whatsapp_inbound(
            customer=phone.address,
            message_id=wamid,
            at=at,
            body=send.body,
            media=[(m, u.content_type, u.filename) for m, u in zip(media_ids, uploads, strict=True)][:1],
            profile_name=phone.profile_name,
        )
        payload = webhooks.whatsapp_envelope(number, value)
        return webhooks.signed(number, number.webhook_url, payload=payload, sign=sign), wamid, media_ids
    mid = "m_" + secrets.token_urlsafe(24)
    for upload in uploads:
        upload.token = secrets.token_hex(8)
    urls = [f"{base}/_cdn/{m}?oh={u.token}" for m, u in zip(media_ids, uploads, strict=True)]
    event = webhooks.messenger_inbound(
        number, psid=phone.address.removeprefix("messenger:"), mid=mid, at=at, body=send.body, media_urls=urls
    )
    payload = webhooks.messenger_envelope(number, [event], at)
    return webhooks.signed(number, number.webhook_url, payload=payload, sign=sign), mid, media_ids


async def _read(standin: Standin, phone: Phone) -> int:
    """The customer opens the thread: every delivered message is read, and the providers that report reads say
    so (WhatsApp, Twilio's WhatsApp, Messenger's watermark per page; SMS has no read receipts)."""
    store = standin.store
    read_pages: set[str] = set()
    count = 0
    for message in phone.messages:
        if message.direction != "in" or message.status != "delivered":
            continue
        number = store.numbers.get(message.business)
        if number is None or number.channel == "sms":
            continue
        message.status = "read"
        count += 1
        record = next((s for s in store.sent if s.provider_message_id == message.provider_message_id), None)
        if number.provider is Provider.TWILIO:
            if record is not None and record.status_callback:
                form = webhooks.twilio_status(number, message, customer=phone.address, status="read")
                await standin.post(webhooks.signed(number, record.status_callback, form=form))
        elif number.provider is Provider.WHATSAPP_CLOUD:
            value = webhooks.whatsapp_status(
                message,
                customer=phone.address,
                status="read",
                callback_data=record.callback_data if record else None,
                at=now(),
            )
            await standin.post(
                webhooks.signed(number, number.webhook_url, payload=webhooks.whatsapp_envelope(number, value))
            )
        else:
            read_pages.add(number.address)
    for address in read_pages:
        number = store.numbers[address]
        at = now()
        event = webhooks.messenger_read(number, psid=phone.address.removeprefix("messenger:"), at=at)
        payload = webhooks.messenger_envelope(number, [event], at)
        await standin.post(webhooks.signed(number, number.webhook_url, payload=payload))
    return count


# --- delivering what a business sent ---------------------------------------------------------------------------


async def _deliver(standin: Standin, number: Number, record: SentRecord, *, outside_window_code: int | None) -> None:
    """After a send was accepted: fetch its media, put it on the customer's phone and report its statuses."""
    await asyncio.sleep(standin.status_delay)
    phone = standin.store.phone(record.to)
    message = PhoneMessage(
        provider_message_id=record.provider_message_id,
        direction="in",
        business=number.address,
        body=record.body,
        media_urls=record.media_urls,
        template=record.template,
        status="sent",
    )
    failure: int | None = None
    if outside_window_code is not None:
        failure = outside_window_code
    elif not await standin.fetch_all(record.media_urls):
        failure = 11200 if number.provider is Provider.TWILIO else 131053
    if failure is not None:
        message.status, message.error_code = "failed", failure
        await _report(
            standin, number, record, message, "undelivered" if number.provider is Provider.TWILIO else "failed"
        )
        return
    phone.messages.append(message)
    if number.provider is not Provider.MESSENGER:  # Messenger reports deliveries only
        await _report(standin, number, record, message, "sent")
    message.status = "delivered"
    await _report(standin, number, record, message, "delivered")


async def _report(standin: Standin, number: Number, record: SentRecord, message: PhoneMessage, status: str) -> None:
    customer = record.to
    if number.provider is Provider.TWILIO:
        if record.status_callback:
            form = webhooks.twilio_status(number, message, customer=customer, status=status)
            await standin.post(webhooks.signed(number, record.status_callback, form=form))
        return
    if number.provider is Provider.WHATSAPP_CLOUD:
        value = webhooks.whatsapp_status(
            message, customer=customer, status=status, callback_data=record.callback_data, at=now()
        )
        await standin.post(
            webhooks.signed(number, number.webhook_url, payload=webhooks.whatsapp_envelope(number, value))
        )
        return
    psid = customer.removeprefix("messenger:")
    at = now()
    events = [webhooks.messenger_echo(number, message, psid=psid)] if status == "delivered" else []
    if status == "delivered":
        events.append(webhooks.messenger_delivery(number, psid=psid, mids=[message.provider_message_id], at=at))
    if events:
        payload = webhooks.messenger_envelope(number, events, at)
        await standin.post(webhooks.signed(number, number.webhook_url, payload=payload))


# --- Twilio Programmable Messaging -------------------------------------------------------------------------------


def _twilio_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def _fault_answer(fault: Fault, provider: Provider) -> JSONResponse | None:
    headers = {"Retry-After": str(math.ceil(fault.retry_after))} if fault.retry_after is not None else None
    if fault.mode is FaultMode.OK:
        return None
    if provider is Provider.TWILIO:
        if fault.mode is FaultMode.OUTAGE:
            return _twilio_error(503, 20503, "Service Unavailable")
        return _twilio_error(429, 20429, "Too Many Requests", headers)
    if fault.mode is FaultMode.OUTAGE:
        return _graph_error(503, 2, "Service temporarily unavailable")
    code = 130429 if provider is Provider.WHATSAPP_CLOUD else 613
    return _graph_error(429, code, "Rate limit hit", headers=headers)


def _twilio(app: FastAPI, standin: Standin) -> None:
    store = standin.store

    def authenticate(request: Request, account_sid: str) -> JSONResponse | None:
        token = store.twilio_token(account_sid)
        given = request.headers.get("authorization", "")
        scheme, _, encoded = given.partition(" ")
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            user = password = ""
        if (
            token is None
            or scheme.lower() != "basic"
            or user != account_sid
            or not secrets.compare_digest(password, token)
        ):
            return _twilio_error(401, 20003, "Authenticate")
        return None

    @app.post("/2010-04-01/Accounts/{account_sid}/Messages.json", include_in_schema=False)
    async def create_message(account_sid: str, request: Request) -> Response:
        if (refused := authenticate(request, account_sid)) is not None:
            return refused
        if (faulty := _fault_answer(store.fault(Provider.TWILIO), Provider.TWILIO)) is not None:
            return faulty
        form = await request.form()
        to = str(form.get("To") or "")
        sender = str(form.get("From") or "")
        body = str(form.get("Body") or "") or None
        media_urls = [str(u) for u in form.getlist("MediaUrl")]
        callback = str(form.get("StatusCallback") or "") or None
        if not to:
            return _twilio_error(400, 21604, "A 'To' phone number is required.")
        if not sender:
            return _twilio_error(400, 21603, "A 'From' phone number is required.")
        number = store.twilio_number(account_sid, sender)
        if number is None:
            return _twilio_error(
                400,
                21606,
                f"The From phone number {sender} is not a valid, SMS-capable inbound phone number or short code "
                "for your account.",
            )
        if not _customer_channel_ok(to, number):
            return _twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not body and not media_urls:
            return _twilio_error(400, 21602, "Message body is required.")
        if body and len(body) > TWILIO_BODY_LIMIT:
            return _twilio_error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if len(media_urls) > TWILIO_MAX_MEDIA:
            return _twilio_error(400, 21623, "Number of media files exceeds allowed limit.")
        sid = new_id("MM" if media_urls else "SM")
        record = SentRecord(
            provider=Provider.TWILIO,
            provider_message_id=sid,
            from_=sender,
            to=to,
            body=body,
            media_urls=media_urls,
            status_callback=callback,
        )
        store.sent.append(record)
        window = None
        if number.channel == "whatsapp" and not store.within_window(to, sender):
            window = 63016
        standin.spawn(_deliver(standin, number, record, outside_window_code=window))
        created = format_datetime(record.date, usegmt=True)
        segments = 1 if not body or len(body) <= 160 else math.ceil(len(body) / 153)
        resource = {
            "sid": sid,
            "account_sid": account_sid,
            "from": sender,
            "to": to,
            "body": body or "",
            "status": "queued",
            "num_media": str(len(media_urls)),
            "num_segments": str(segments),
            "direction": "outbound-api",
            "api_version": webhooks.TWILIO_API_VERSION,
            "date_created": created,
            "date_updated": created,
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "messaging_service_sid": None,
            "price": None,
            "price_unit": "USD",
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media.json"},
        }
        return JSONResponse(resource, status_code=201)

    @app.get("/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}/Media/{media_id}", include_in_schema=False)
    async def message_media(account_sid: str, message_sid: str, media_id: str, request: Request) -> Response:
        if (refused := authenticate(request, account_sid)) is not None:
            return refused
        media = store.media.get(media_id)
        if media is None:
            return _twilio_error(404, 20404, "The requested resource was not found")
        return Response(media.data, media_type=media.content_type)


# --- Meta's Graph API: WhatsApp Cloud and Messenger ----------------------------------------------------------------


def _graph_error(
    status: int, code: int, message: str, *, subcode: int | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": secrets.token_urlsafe(8),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" else ""


class _Body(BaseModel):
    body: str = Field(min_length=1)


class _Link(BaseModel):
    link: str = Field(min_length=1)
    caption: str | None = None


class _WhatsAppSend(BaseModel):
    messaging_product: Literal["whatsapp"]
    recipient_type: Literal["individual"] = "individual"
    to: str = Field(pattern=r"^\+?\d{6,15}$")
    type: Literal["text", "image", "template"] = "text"
    text: _Body | None = None
    image: _Link | None = None
    template: dict[str, Any] | None = None
    biz_opaque_callback_data: str | None = None


class _Recipient(BaseModel):
    id: str = Field(min_length=1)


class _Payload(BaseModel):
    url: str = Field(min_length=1)
    is_reusable: bool | None = None


class _Attachment(BaseModel):
    type: Literal["image", "audio", "video", "file"]
    payload: _Payload


class _MessengerMessage(BaseModel):
    text: str | None = Field(default=None, min_length=1, max_length=MESSENGER_TEXT_LIMIT)
    attachment: _Attachment | None = None


class _MessengerSend(BaseModel):
    recipient: _Recipient
    messaging_type: Literal["RESPONSE", "UPDATE", "MESSAGE_TAG"] = "RESPONSE"
    message: _MessengerMessage
    tag: str | None = None


def _invalid(exc: ValidationError) -> JSONResponse:
    problem = exc.errors()[0]
    where = ".".join(str(p) for p in problem["loc"])
    return _graph_error(400, 100, f"(#100) Invalid parameter: {where}: {problem['msg']}")


def _graph(app: FastAPI, standin: Standin) -> None:
    store = standin.store

    @app.get("/_media/{media_id}", include_in_schema=False)
    async def whatsapp_media(media_id: str, request: Request) -> Response:
        if not store.whatsapp_token_valid(_bearer(request)):
            return _graph_error(401, 190, "Invalid OAuth access token")
        media = store.media.get(media_id)
        if media is None:
            return Response(status_code=404)
        return Response(media.data, media_type=media.content_type)

    @app.get("/_cdn/{media_id}", include_in_schema=False)
    async def messenger_cdn(media_id: str, oh: str = "") -> Response:
        media = store.media.get(media_id)
        if media is None or media.token is None or not secrets.compare_digest(oh, media.token):
            return Response("URL signature mismatch", status_code=403)
        return Response(media.data, media_type=media.content_type)

    @app.post("/{version}/me/messages", include_in_schema=False)
    async def messenger_send(version: str, request: Request) -> Response:
        if not re.match(GRAPH_VERSION, version):
            return Response(status_code=404)
        page = store.page_of_token(request.query_params.get("access_token", ""))
        if page is None:
            return _graph_error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        if (faulty := _fault_answer(store.fault(Provider.MESSENGER), Provider.MESSENGER)) is not None:
            return faulty
        try:
            send = _MessengerSend.model_validate_json(await request.body())
        except ValidationError as exc:
            return _invalid(exc)
        if (send.message.text is None) == (send.message.attachment is None):
            return _graph_error(400, 100, "(#100) Must send either message text or an attachment")
        customer = f"messenger:{send.recipient.id}"
        if send.messaging_type == "RESPONSE" and not store.within_window(customer, page.address):
            return _graph_error(
                400,
                10,
                "(#10) This message is sent outside of allowed window.",
                subcode=2018278,
            )
        mid = "m_" + secrets.token_urlsafe(24)
        record = SentRecord(
            provider=Provider.MESSENGER,
            provider_message_id=mid,
            from_=page.address,
            to=customer,
            body=send.message.text,
            media_urls=[send.message.attachment.payload.url] if send.message.attachment else [],
        )
        store.sent.append(record)
        standin.spawn(_deliver(standin, page, record, outside_window_code=None))
        return JSONResponse({"recipient_id": send.recipient.id, "message_id": mid})

    @app.post("/{version}/{phone_number_id}/messages", include_in_schema=False)
    async def whatsapp_send(version: str, phone_number_id: str, request: Request) -> Response:
        if not re.match(GRAPH_VERSION, version):
            return Response(status_code=404)
        if not store.whatsapp_token_valid(_bearer(request)):
            return _graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        number = store.whatsapp_number(phone_number_id)
        if number is None or number.access_token != _bearer(request):
            return _graph_error(
                400,
                100,
                f"Unsupported post request. Object with ID '{phone_number_id}' does not exist, cannot be loaded "
                "due to missing permissions, or does not support this operation.",
                subcode=33,
            )
        if (faulty := _fault_answer(store.fault(Provider.WHATSAPP_CLOUD), Provider.WHATSAPP_CLOUD)) is not None:
            return faulty
        try:
            send = _WhatsAppSend.model_validate_json(await request.body())
        except ValidationError as exc:
            return _invalid(exc)
        content = {"text": send.text, "image": send.image, "template": send.template}[send.type]
        if content is None:
            return _graph_error(400, 100, f"(#100) The parameter {send.type} is required.")
        if send.text is not None and len(send.text.body) > WHATSAPP_BODY_LIMIT:
            return _graph_error(400, 100, "(#100) Param text['body'] must be at most 4096 characters long.")
        if send.type == "template" and not (send.template or {}).get("name"):
            return _graph_error(400, 100, "(#100) Param template['name'] is required.")
        customer = "whatsapp:+" + send.to.lstrip("+")
        record = SentRecord(
            provider=Provider.WHATSAPP_CLOUD,
            provider_message_id="wamid." + base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("="),
            from_=number.address,
            to=customer,
            body=send.text.body if send.text else send.image.caption if send.image else None,
            media_urls=[send.image.link] if send.image else [],
            template=send.template if send.type == "template" else None,
            callback_data=send.biz_opaque_callback_data,
        )
        store.sent.append(record)
        window = None
        if send.type != "template" and not store.within_window(customer, number.address):
            window = 131047  # free-form outside the customer-service window: a failed status, as Meta reports it
        standin.spawn(_deliver(standin, number, record, outside_window_code=window))
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": send.to, "wa_id": send.to.lstrip("+")}],
                "messages": [{"id": record.provider_message_id}],
            }
        )

    @app.get("/{version}/{media_id}", include_in_schema=False)
    async def whatsapp_media_info(version: str, media_id: str, request: Request) -> Response:
        if not re.match(GRAPH_VERSION, version):
            return Response(status_code=404)
        if not store.whatsapp_token_valid(_bearer(request)):
            return _graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        media = store.media.get(media_id)
        if media is None:
            return _graph_error(400, 100, f"Unsupported get request. Object with ID '{media_id}' does not exist")
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": f"{_base(request)}/_media/{media_id}",
                "mime_type": media.content_type,
                "sha256": "",
                "file_size": len(media.data),
                "id": media_id,
            }
        )
