"""A web chat address's own settings (Parley extension, docs/webchat.md): its business hours, its pre-chat form
and what happens when nobody can answer. Pure rules: when the address is open, and whether what a pre-chat
form sent fits it."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.errors import InvalidParameter
from domain.limits import (
    PRE_CHAT_FIELD_MAX_LENGTH,
    PRE_CHAT_MAX_FIELDS,
    PRE_CHAT_MAX_OPTIONS,
    WEBCHAT_FIRST_MESSAGE_MAX_LENGTH,
)

# The field whose value names the customer (when the form has one and CustomerFriendlyName is not given),
# and the one an offline message is answered at.
NAME_FIELD = "name"
EMAIL_FIELD = "email"
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Good enough to catch a typo; the address is only ever shown to an agent, never mailed by Parley.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()\-.]{5,32}$")
# How far ahead next_opening looks for an opening window (a closure longer than this says "closed" with no date).
_LOOKAHEAD_DAYS = 31


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @classmethod
    def of(cls, day: date) -> Weekday:
        return list(cls)[day.weekday()]


class OpeningHours(BaseModel):
    """Open from `open` until `close` (exclusive, local time) on each of `days`; a window past midnight is two
    windows (`22:00` to `23:59` and `00:00` to `06:00`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    days: Annotated[list[Weekday], Field(min_length=1)]
    open: time
    close: time

    @model_validator(mode="after")
    def _ordered(self) -> OpeningHours:
        if self.close <= self.open:
            raise ValueError(f"close ({self.close}) must be after open ({self.open}); split a window past midnight")
        return self


class BusinessHours(BaseModel):
    """When someone answers the address: weekly windows in the address's time zone, less the closed dates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_zone: str
    hours: Annotated[list[OpeningHours], Field(min_length=1, max_length=50)]
    closed_dates: Annotated[list[date], Field(max_length=366)] = []

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"time_zone {value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return value

    def _windows(self, day: date) -> list[tuple[time, time]]:
        if day in self.closed_dates:
            return []
        weekday = Weekday.of(day)
        return sorted((h.open, h.close) for h in self.hours if weekday in h.days)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.time_zone))
        now = local.time().replace(tzinfo=None)
        return any(start <= now < end for start, end in self._windows(local.date()))

    def next_opening(self, at: datetime) -> datetime | None:
        """When the address next opens after `at` (None when open now or not within a month)."""
        if self.is_open(at):
            return None
        zone = ZoneInfo(self.time_zone)
        local = at.astimezone(zone)
        for offset in range(_LOOKAHEAD_DAYS + 1):
            day = local.date() + timedelta(days=offset)
            for start, _ in self._windows(day):
                opening = datetime.combine(day, start, tzinfo=zone)
                if opening > local:
                    return opening
        return None


class FieldType(StrEnum):
    TEXT = "text"
    EMAIL = "email"
    TEL = "tel"
    TEXTAREA = "textarea"
    SELECT = "select"


_Option = Annotated[str, Field(min_length=1, max_length=100)]


class PreChatField(BaseModel):
    """One field of the pre-chat form; its value goes in PreEngagementData under `name`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    label: Annotated[str, Field(min_length=1, max_length=100)]
    type: FieldType = FieldType.TEXT
    required: bool = False
    options: Annotated[list[_Option], Field(max_length=PRE_CHAT_MAX_OPTIONS)] | None = None
    max_length: Annotated[int, Field(ge=1, le=PRE_CHAT_FIELD_MAX_LENGTH)] = 256

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _FIELD_NAME.match(value):
            raise ValueError(f"field name {value!r} must be lower-case letters, digits and _ (starting with a letter)")
        return value

    @model_validator(mode="after")
    def _options(self) -> PreChatField:
        if (self.type is FieldType.SELECT) != bool(self.options):
            raise ValueError(f"field {self.name!r}: options are required for a select and only for a select")
        return self

    def checked(self, value: Any) -> str | None:
        """The value as stored (trimmed), or InvalidParameter saying what is wrong with it."""
        if value is None or (isinstance(value, str) and not value.strip()):
            if self.required:
                raise InvalidParameter(f"{self.label} is required")
            return None
        if not isinstance(value, str):
            raise InvalidParameter(f"{self.label} must be text")
        text = value.strip()
        if len(text) > self.max_length:
            raise InvalidParameter(f"{self.label} must be at most {self.max_length} characters")
        if self.type is FieldType.EMAIL and not _EMAIL.match(text):
            raise InvalidParameter(f"{self.label} must be an email address")
        if self.type is FieldType.TEL and not _PHONE.match(text):
            raise InvalidParameter(f"{self.label} must be a phone number")
        if self.type is FieldType.SELECT and text not in (self.options or []):
            raise InvalidParameter(f"{self.label} must be one of: {', '.join(self.options or [])}")
        return text


DEFAULT_PRE_CHAT_FORM: tuple[PreChatField, ...] = (
    PreChatField(name=NAME_FIELD, label="Your name", required=True, max_length=100),
)
# What the offline form asks besides the message, when the address's own form has no such field.
OFFLINE_EMAIL_FIELD = PreChatField(name=EMAIL_FIELD, label="Your email", type=FieldType.EMAIL, required=True)


def builtin_label(field: PreChatField) -> str | None:
    """`name` or `email` for Parley's own fields (which a widget may word in its language), else None."""
    if field in DEFAULT_PRE_CHAT_FORM:
        return NAME_FIELD
    if field == OFFLINE_EMAIL_FIELD:
        return EMAIL_FIELD
    return None


class WebChatSettings(BaseModel):
    """A `chat` address's web chat settings (all optional: without them the address is always open, the widget
    asks a name, and PreEngagementData is free-form as in Flex)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    business_hours: BusinessHours | None = None
    # None: not configured (the widget shows DEFAULT_PRE_CHAT_FORM and the API takes any JSON object, as Flex's
    # does); a list: the form, and PreEngagementData must fit it.
    pre_chat_form: Annotated[list[PreChatField], Field(max_length=PRE_CHAT_MAX_FIELDS)] | None = None
    # When nobody can answer: take a message and an email (a task waits for the first agent), or start the chat
    # as usual (the customer waits in the queue).
    offline_form: bool = True
    # A site that signs its customers in may require it: a web chat without an identity token is then refused.
    identity_required: bool = False

    @field_validator("pre_chat_form")
    @classmethod
    def _unique_names(cls, fields: list[PreChatField] | None) -> list[PreChatField] | None:
        names = [f.name for f in fields or []]
        if len(names) != len(set(names)):
            raise ValueError("pre_chat_form field names must be unique")
        return fields

    def form(self) -> list[PreChatField]:
        """The fields the widget asks before a chat."""
        return list(DEFAULT_PRE_CHAT_FORM) if self.pre_chat_form is None else list(self.pre_chat_form)

    def offline_fields(self) -> list[PreChatField]:
        """The offline form: the pre-chat fields, with a required email (the form's own email field made
        required, or one added)."""
        fields = [f.model_copy(update={"required": True}) if f.name == EMAIL_FIELD else f for f in self.form()]
        if not any(f.name == EMAIL_FIELD for f in fields):
            fields.append(OFFLINE_EMAIL_FIELD)
        return fields

    def checked_pre_engagement(self, data: Any, *, offline: bool, known: dict[str, str]) -> dict[str, Any]:
        """PreEngagementData as stored. With a configured form it must fit it (the offline form when the chat
        starts as a message left for later); without one it is any JSON object. `known` holds what the caller
        already said elsewhere (CustomerFriendlyName, a verified identity's name and email): it fills the
        fields it covers."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise InvalidParameter("PreEngagementData must be a JSON object")
        if self.pre_chat_form is None:
            free = {**data, **{k: v for k, v in known.items() if k not in data}}
            if offline:
                free[EMAIL_FIELD] = OFFLINE_EMAIL_FIELD.checked(known.get(EMAIL_FIELD) or data.get(EMAIL_FIELD))
            return free
        fields = self.offline_fields() if offline else self.form()
        unknown = sorted(set(data) - {f.name for f in fields})
        if unknown:
            raise InvalidParameter(f"PreEngagementData has fields the form does not: {', '.join(unknown)}")
        checked: dict[str, Any] = {}
        for field in fields:
            value = field.checked(known.get(field.name) or data.get(field.name))
            if value is not None:
                checked[field.name] = value
        return checked


class Availability(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # outside business hours
    NO_AGENTS = "no_agents"  # open, but no agent is available on the chat channel


def check_first_message(text: str | None, *, offline: bool) -> str | None:
    """The message a chat starts with (the offline form's, or a first question); required offline."""
    body = (text or "").strip()
    if not body:
        if offline:
            raise InvalidParameter("Message is required when no agent is available: it is what the agent answers")
        return None
    if len(body) > WEBCHAT_FIRST_MESSAGE_MAX_LENGTH:
        raise InvalidParameter(f"Message must be at most {WEBCHAT_FIRST_MESSAGE_MAX_LENGTH} characters")
    return body
