"""Conversations webhooks: the event names, who fires them, what a target listens to, and how Twilio signs a
callback (`X-Twilio-Signature`). Pure: the HTTP lives in core/webhooks.py, the storage in
storage/conversations/webhooks.py (reference/twilio-api.md §2.7 and §5)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict

from domain.errors import InvalidParameter
from domain.events import EventType as TaskRouterEventType
from domain.limits import EVENT_CALLBACK_TIMEOUT, TRIGGER_LENGTH_LIMIT, TRIGGERS_LIMIT, WEBHOOK_TIMEOUT

# The scope of a workspace's event callback (Conversations' are account, service or the WH… SID).
WORKSPACE_SCOPE = "workspace"


class WebhookEvent(StrEnum):
    # pre-events (synchronous; the receiver may reject or modify the action)
    CONVERSATION_ADD = "onConversationAdd"
    CONVERSATION_UPDATE = "onConversationUpdate"
    CONVERSATION_REMOVE = "onConversationRemove"
    MESSAGE_ADD = "onMessageAdd"
    MESSAGE_UPDATE = "onMessageUpdate"
    MESSAGE_REMOVE = "onMessageRemove"
    PARTICIPANT_ADD = "onParticipantAdd"
    PARTICIPANT_UPDATE = "onParticipantUpdate"
    PARTICIPANT_REMOVE = "onParticipantRemove"
    USER_UPDATE = "onUserUpdate"
    # post-events (delivered from the outbox, retried, never lost)
    CONVERSATION_ADDED = "onConversationAdded"
    CONVERSATION_UPDATED = "onConversationUpdated"
    CONVERSATION_REMOVED = "onConversationRemoved"
    CONVERSATION_STATE_UPDATED = "onConversationStateUpdated"
    MESSAGE_ADDED = "onMessageAdded"
    MESSAGE_UPDATED = "onMessageUpdated"
    MESSAGE_REMOVED = "onMessageRemoved"
    PARTICIPANT_ADDED = "onParticipantAdded"
    PARTICIPANT_UPDATED = "onParticipantUpdated"
    PARTICIPANT_REMOVED = "onParticipantRemoved"
    DELIVERY_UPDATED = "onDeliveryUpdated"
    USER_ADDED = "onUserAdded"
    USER_UPDATED = "onUserUpdated"

    @property
    def is_pre(self) -> bool:
        return self in PRE_EVENTS


PRE_EVENTS = frozenset(
    {
        WebhookEvent.CONVERSATION_ADD,
        WebhookEvent.CONVERSATION_UPDATE,
        WebhookEvent.CONVERSATION_REMOVE,
        WebhookEvent.MESSAGE_ADD,
        WebhookEvent.MESSAGE_UPDATE,
        WebhookEvent.MESSAGE_REMOVE,
        WebhookEvent.PARTICIPANT_ADD,
        WebhookEvent.PARTICIPANT_UPDATE,
        WebhookEvent.PARTICIPANT_REMOVE,
        WebhookEvent.USER_UPDATE,
    }
)
POST_EVENTS = frozenset(set(WebhookEvent) - PRE_EVENTS)
# What a conversation-scoped webhook may listen to (post-events of the conversation itself).
CONVERSATION_SCOPED_EVENTS = frozenset(
    {
        WebhookEvent.MESSAGE_ADDED,
        WebhookEvent.MESSAGE_UPDATED,
        WebhookEvent.MESSAGE_REMOVED,
        WebhookEvent.CONVERSATION_UPDATED,
        WebhookEvent.CONVERSATION_STATE_UPDATED,
        WebhookEvent.CONVERSATION_REMOVED,
        WebhookEvent.PARTICIPANT_ADDED,
        WebhookEvent.PARTICIPANT_UPDATED,
        WebhookEvent.PARTICIPANT_REMOVED,
        WebhookEvent.DELIVERY_UPDATED,
    }
)
# The user events belong to a service, not to a conversation: the account- and service-level targets only.
SERVICE_EVENTS = frozenset({WebhookEvent.USER_ADDED, WebhookEvent.USER_UPDATE, WebhookEvent.USER_UPDATED})


class WebhookMethod(StrEnum):
    GET = "GET"
    POST = "POST"


class WebhookTarget(StrEnum):
    """`Target` of the account-level configuration: your own URLs, or Flex's integration (Parley: the same)."""

    WEBHOOK = "webhook"
    FLEX = "flex"


class ScopedWebhookTarget(StrEnum):
    """`Target` of a conversation-scoped webhook."""

    WEBHOOK = "webhook"
    TRIGGER = "trigger"
    STUDIO = "studio"


class EventSource(StrEnum):
    """The `Source` parameter: who acted. SDK (a token holder) fires pre- and post-events; API only post-events,
    and only when the request said `X-Twilio-Webhook-Enabled: true`."""

    SDK = "SDK"
    API = "API"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performs a Conversations action, as the webhooks see it."""

    source: EventSource
    # The acting SDK user's identity (`ClientIdentity`); None for REST and system actions.
    client_identity: str | None = None
    # X-Twilio-Webhook-Enabled: true on a REST request (SDK actions always fire).
    webhook_enabled: bool = False

    @property
    def fires_post_events(self) -> bool:
        return self.source is EventSource.SDK or self.webhook_enabled

    @property
    def fires_pre_events(self) -> bool:
        return self.source is EventSource.SDK

    @classmethod
    def sdk(cls, identity: str | None) -> Actor:
        return cls(EventSource.SDK, client_identity=identity)

    @classmethod
    def rest(cls, *, webhook_enabled: bool) -> Actor:
        return cls(EventSource.API, webhook_enabled=webhook_enabled)


# Parley's own actions (an interaction channel closing its conversation, a timer, a web chat starting): they
# are not REST requests a caller could opt out of, so their post-events fire.
SYSTEM = Actor(EventSource.API, webhook_enabled=True)


def check_filters(values: Iterable[str], allowed: frozenset[WebhookEvent], *, code: int = 50365) -> list[str]:
    """Webhook `Filters`, repeated or comma-separated, de-duplicated in order; an event name the target cannot
    listen to is a 400 that names it (Twilio's 50365)."""
    names = {e.value for e in allowed}
    out: list[str] = []
    for value in values:
        for name in (part.strip() for part in value.split(",")):
            if not name:
                continue
            if name not in names:
                raise InvalidParameter(f"'{name}' is not a webhook event this target can listen to", code=code)
            if name not in out:
                out.append(name)
    return out


def check_triggers(values: Iterable[str]) -> list[str]:
    """A trigger webhook's keywords: at most TRIGGERS_LIMIT (50362), none empty or longer than
    TRIGGER_LENGTH_LIMIT (50366)."""
    keywords = list(values)
    if len(keywords) > TRIGGERS_LIMIT:
        raise InvalidParameter(f"A webhook can have at most {TRIGGERS_LIMIT} triggers", code=50362)
    for keyword in keywords:
        if not keyword.strip() or len(keyword) > TRIGGER_LENGTH_LIMIT:
            raise InvalidParameter(
                f"A trigger must be 1 to {TRIGGER_LENGTH_LIMIT} characters, got '{keyword[:40]}'", code=50366
            )
    return keywords


def listens(filters: Iterable[str], event: WebhookEvent) -> bool:
    """A target fires for the events its `Filters` name (Twilio: no filters, no events)."""
    return event.value in set(filters)


# --- X-Twilio-Signature ------------------------------------------------------------------------------

Params = Sequence[tuple[str, str]]


def signature(auth_token: str, url: str, params: Params = ()) -> str:
    """HMAC-SHA1 over the URL followed by every parameter's name and value, names sorted and each name's values
    sorted (what twilio-python's RequestValidator computes); empty values are part of it. Base64."""
    payload = url
    by_name: dict[str, set[str]] = {}
    for name, value in params:
        by_name.setdefault(name, set()).add(value)
    for name in sorted(by_name):
        for value in sorted(by_name[name]):
            payload += name + value
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_valid(auth_token: str, url: str, params: Params, given: str) -> bool:
    """Check a received signature (inbound provider webhooks): the URL as called, with and without its
    default port, as twilio-python accepts both."""
    parts = urlsplit(url)
    candidates = {url}
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    if parts.port is None and default_port is not None and parts.hostname:
        candidates.add(parts._replace(netloc=f"{parts.netloc}:{default_port}").geturl())
    elif parts.port == default_port and parts.hostname:
        candidates.add(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]).geturl())
    return any(hmac.compare_digest(signature(auth_token, c, params), given) for c in candidates)


def with_query(url: str, params: Params) -> str:
    """A GET callback carries its parameters in the query string (and signs only the URL)."""
    existing = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    query = urlencode([*existing, *params])
    return urlsplit(url)._replace(query=query).geturl()


def webhook_date(value: datetime | None) -> str | None:
    """Dates in webhook parameters: ISO 8601 with milliseconds, as Twilio sends them."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class WebhookDelivery(BaseModel):
    """One post-event callback, fixed when the action committed: its body never changes between retries, so the
    receiver can de-duplicate on `I-Twilio-Idempotency-Token` (the delivery id)."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    account_sid: str
    # A Conversations post-event, or a TaskRouter event sent to a workspace's EventCallbackUrl.
    event: WebhookEvent | TaskRouterEventType
    url: str
    method: WebhookMethod
    params: list[tuple[str, str]]
    # Which target fired: "account", "service", the conversation-scoped webhook's WH SID, or "workspace".
    scope: str
    conversation_sid: str | None = None

    @property
    def timeout(self) -> float:
        """Seconds the target has to answer: Twilio gives TaskRouter's event callbacks 15, webhooks 5."""
        return EVENT_CALLBACK_TIMEOUT if self.scope == WORKSPACE_SCOPE else WEBHOOK_TIMEOUT
