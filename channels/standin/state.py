"""What the stand-in providers know: the business addresses they carry (with the secrets each signs with), the
customers' phones (what each sent and received), every send they accepted, and the faults a test injected.
All of it is in memory: a provider stand-in that restarts forgets its traffic, not its numbers (those come
back from the config file)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

# Free-form messages reach a WhatsApp or Messenger customer only this long after the customer last wrote.
CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)


class Provider(StrEnum):
    TWILIO = "twilio"
    WHATSAPP_CLOUD = "whatsapp_cloud"
    MESSENGER = "messenger"


class FaultMode(StrEnum):
    OK = "ok"
    OUTAGE = "outage"  # sends answered 503
    THROTTLE = "throttle"  # sends answered 429 with Retry-After


_REQUIRED: dict[Provider, tuple[str, ...]] = {
    Provider.TWILIO: ("account_sid", "auth_token"),
    Provider.WHATSAPP_CLOUD: ("phone_number_id", "access_token", "app_secret", "verify_token"),
    Provider.MESSENGER: ("page_id", "page_access_token", "app_secret", "verify_token"),
}


class Number(BaseModel):
    """One business address a provider carries for its customer (Parley): where the provider posts its webhooks
    and the credentials it expects on sends and signs webhooks with."""

    provider: Provider
    address: str = Field(min_length=1)  # +15551234567, whatsapp:+15551234567 or messenger:<page id>
    webhook_url: str = Field(min_length=1)
    channel: Literal["sms", "whatsapp", "messenger"] | None = None
    account_sid: str | None = None
    auth_token: str | None = None
    phone_number_id: str | None = None
    access_token: str | None = None
    page_id: str | None = None
    page_access_token: str | None = None
    app_secret: str | None = None
    verify_token: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Number:
        missing = [name for name in _REQUIRED[self.provider] if not getattr(self, name)]
        if missing:
            raise ValueError(f"a {self.provider} number needs {', '.join(missing)}")
        if self.channel is None:
            self.channel = channel_of(self.address)
        if self.channel != channel_of(self.address):
            raise ValueError(f"{self.address!r} is not a {self.channel} address")
        if self.provider is Provider.MESSENGER and self.address != f"messenger:{self.page_id}":
            raise ValueError("a Messenger number's address is messenger:<page_id>")
        return self

    def public(self) -> dict[str, Any]:
        """What the phone page may see: no secrets."""
        return {"provider": self.provider, "address": self.address, "channel": self.channel}


def channel_of(address: str) -> Literal["sms", "whatsapp", "messenger"]:
    if address.startswith("whatsapp:"):
        return "whatsapp"
    if address.startswith("messenger:"):
        return "messenger"
    return "sms"


def now() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str, length: int = 32) -> str:
    return prefix + secrets.token_hex(length // 2)


class Media(BaseModel):
    """An attachment a customer sent, held by the stand-in until the business fetches it."""

    content_type: str
    data: bytes
    filename: str | None = None
    token: str | None = None  # Messenger: the CDN URL's signature


class PhoneMessage(BaseModel):
    """One message on a customer's phone: `in` is what the customer received from a business, `out` what the
    customer sent to one."""

    provider_message_id: str
    direction: Literal["in", "out"]
    business: str  # the business address on the other side
    body: str | None = None
    media_urls: list[str] = Field(default_factory=list)
    template: dict[str, Any] | None = None
    status: str
    error_code: int | None = None
    date: datetime = Field(default_factory=now)

    def view(self) -> dict[str, Any]:
        """As the control API lists it (an inbox message is *from* the business)."""
        sender, recipient = ("business", "customer") if self.direction == "in" else ("customer", "business")
        return {
            "provider_message_id": self.provider_message_id,
            "direction": self.direction,
            "from": self.business if sender == "business" else None,
            "to": self.business if recipient == "business" else None,
            "body": self.body,
            "media_urls": self.media_urls,
            "template": self.template,
            "status": self.status,
            "error_code": self.error_code,
            "date": self.date.isoformat(),
        }


class SentRecord(BaseModel):
    """A send request a provider accepted (what tests count to check nothing went twice)."""

    provider: Provider
    provider_message_id: str
    from_: str = Field(serialization_alias="from")
    to: str
    body: str | None = None
    media_urls: list[str] = Field(default_factory=list)
    template: dict[str, Any] | None = None
    status_callback: str | None = None  # Twilio: where to post its statuses
    callback_data: str | None = None  # WhatsApp: biz_opaque_callback_data, echoed in its statuses
    date: datetime = Field(default_factory=now)


@dataclass
class Fault:
    mode: FaultMode = FaultMode.OK
    retry_after: float | None = None


@dataclass
class Phone:
    address: str
    messages: list[PhoneMessage] = field(default_factory=list)
    profile_name: str | None = None


@dataclass
class Store:
    numbers: dict[str, Number] = field(default_factory=dict)  # by address
    phones: dict[str, Phone] = field(default_factory=dict)  # by the customer's address
    sent: list[SentRecord] = field(default_factory=list)
    media: dict[str, Media] = field(default_factory=dict)  # inbound attachments, by media id
    faults: dict[Provider, Fault] = field(default_factory=dict)
    # When each customer last wrote to each business address (the customer-service window).
    last_wrote: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def register(self, number: Number) -> None:
        self.numbers[number.address] = number

    def load(self, path: Path) -> None:
        """Numbers from a JSON file (a list of numbers, or `{"numbers": [...]}`); a missing file is no numbers."""
        if not path.exists():
            return
        data = json.loads(path.read_text())
        for item in data["numbers"] if isinstance(data, dict) else data:
            self.register(Number.model_validate(item))

    def phone(self, address: str) -> Phone:
        return self.phones.setdefault(address, Phone(address=address))

    def fault(self, provider: Provider) -> Fault:
        return self.faults.get(provider, Fault())

    def set_fault(self, provider: Provider | None, fault: Fault) -> None:
        for each in [provider] if provider else list(Provider):
            self.faults[each] = fault

    def twilio_number(self, account_sid: str, address: str) -> Number | None:
        number = self.numbers.get(address)
        if number and number.provider is Provider.TWILIO and number.account_sid == account_sid:
            return number
        return None

    def twilio_token(self, account_sid: str) -> str | None:
        return next(
            (
                n.auth_token
                for n in self.numbers.values()
                if n.provider is Provider.TWILIO and n.account_sid == account_sid
            ),
            None,
        )

    def whatsapp_number(self, phone_number_id: str) -> Number | None:
        return next(
            (
                n
                for n in self.numbers.values()
                if n.provider is Provider.WHATSAPP_CLOUD and n.phone_number_id == phone_number_id
            ),
            None,
        )

    def whatsapp_token_valid(self, token: str) -> bool:
        return any(n.provider is Provider.WHATSAPP_CLOUD and n.access_token == token for n in self.numbers.values())

    def page_of_token(self, token: str) -> Number | None:
        return next(
            (n for n in self.numbers.values() if n.provider is Provider.MESSENGER and n.page_access_token == token),
            None,
        )

    def within_window(self, customer: str, business: str) -> bool:
        wrote = self.last_wrote.get((customer, business))
        return wrote is not None and now() - wrote <= CUSTOMER_SERVICE_WINDOW

    def find_message(self, provider_message_id: str) -> tuple[Phone, PhoneMessage] | None:
        for phone in self.phones.values():
            for message in phone.messages:
                if message.provider_message_id == provider_message_id:
                    return phone, message
        return None

    def reset(self) -> None:
        """Forget all traffic and faults (the numbers stay)."""
        self.phones.clear()
        self.sent.clear()
        self.media.clear()
        self.faults.clear()
        self.last_wrote.clear()
