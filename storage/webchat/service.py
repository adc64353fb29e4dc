"""Web chat use cases: an address's settings (read, change, reset), whether it can answer now, and starting a
chat — the one room every way a web chat begins goes through (the public POST /flex-api/v2/WebChats)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
from pydantic import ValidationError

from domain.errors import AuthenticationFailed, InvalidParameter, NotFound
from domain.limits import WEBCHAT_IDENTITY_SECRET_MIN_LENGTH, WEBCHAT_IDENTITY_TOKEN_MAX_TTL
from domain.webchat import (
    EMAIL_FIELD,
    NAME_FIELD,
    Availability,
    WebChatSettings,
    check_first_message,
)
from domain.webhooks import Actor, EventSource
from storage import crypto
from storage.conversations import service as conversations
from storage.conversations.tables import AddressConfigurationRow, ParticipantRow
from storage.db import UnitOfWork
from storage.interactions.service import DEFAULT_TASK_CHANNEL
from storage.webchat.tables import WebChatSettingsRow

# Every web chat customer's identity starts so (the token refresh checks it); a verified one's goes on with
# VERIFIED_PREFIX and a hash of the site's customer id, an anonymous one's with random hex (never a "u-").
WEBCHAT_IDENTITY_PREFIX = "webchat-"
VERIFIED_PREFIX = "u-"


# --- settings ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddressWebChat:
    """An address's web chat settings as stored (defaults when it has none)."""

    address: AddressConfigurationRow
    settings: WebChatSettings
    identity_secret: str | None = None
    date_updated: datetime | None = None


async def _chat_address(q: UnitOfWork, *, account_sid: str, address_sid: str) -> AddressConfigurationRow:
    row = await q.one(
        AddressConfigurationRow,
        "SELECT * FROM address_configurations WHERE sid = %s AND account_sid = %s",
        (address_sid, account_sid),
    )
    if row is None:
        raise NotFound.resource(f"/Configuration/Addresses/{address_sid}")
    if row.type != "chat":
        raise InvalidParameter(f"Address {address_sid} is a {row.type} address: web chat settings are for chat ones")
    return row


async def _settings_of(q: UnitOfWork, address: AddressConfigurationRow) -> AddressWebChat:
    row = await q.one(WebChatSettingsRow, "SELECT * FROM webchat_settings WHERE address_sid = %s", (address.sid,))
    if row is None:
        return AddressWebChat(address=address, settings=WebChatSettings())
    return AddressWebChat(
        address=address,
        settings=WebChatSettings.model_validate(row.settings),
        identity_secret=row.identity_secret,
        date_updated=row.date_updated,
    )


async def get_settings(q: UnitOfWork, *, account_sid: str, address_sid: str) -> AddressWebChat:
    return await _settings_of(q, await _chat_address(q, account_sid=account_sid, address_sid=address_sid))


@dataclass(frozen=True, slots=True)
class SettingsChanges:
    """What a request changes; a field left None keeps its value. `settings` holds the changed settings fields
    as JSON (checked here against WebChatSettings); an empty identity_secret removes it."""

    settings: dict[str, Any] = field(default_factory=dict)
    identity_secret: str | None = None


async def update_settings(
    uow: UnitOfWork, *, account_sid: str, address_sid: str, changes: SettingsChanges
) -> AddressWebChat:
    current = await get_settings(uow, account_sid=account_sid, address_sid=address_sid)
    try:
        settings = WebChatSettings.model_validate({**current.settings.model_dump(mode="json"), **changes.settings})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidParameter(f"{where}: {first['msg']}" if where else first["msg"]) from None
    secret = current.identity_secret
    if changes.identity_secret is not None:
        if changes.identity_secret and len(changes.identity_secret) < WEBCHAT_IDENTITY_SECRET_MIN_LENGTH:
            raise InvalidParameter(f"IdentitySecret must be at least {WEBCHAT_IDENTITY_SECRET_MIN_LENGTH} characters")
        secret = changes.identity_secret or None
    if settings.identity_required and not secret:
        raise InvalidParameter("IdentityRequired needs an IdentitySecret to check identity tokens with")
    await uow.execute(
        "INSERT INTO webchat_settings (address_sid, account_sid, settings, identity_secret) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (address_sid) DO UPDATE SET settings = EXCLUDED.settings, "
        "identity_secret = EXCLUDED.identity_secret, date_updated = now()",
        (
            address_sid,
            account_sid,
            json.dumps(settings.model_dump(mode="json")),
            await crypto.seal(uow, account_sid, secret),
        ),
    )
    return await get_settings(uow, account_sid=account_sid, address_sid=address_sid)


async def reset_settings(uow: UnitOfWork, *, account_sid: str, address_sid: str) -> None:
    """Back to the defaults (always open, the name-only form, no identity tokens)."""
    await _chat_address(uow, account_sid=account_sid, address_sid=address_sid)
    await uow.execute("DELETE FROM webchat_settings WHERE address_sid = %s", (address_sid,))


# --- can the address answer now ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AvailabilityNow:
    status: Availability
    next_opening: datetime | None = None


async def availability(q: UnitOfWork, chat: AddressWebChat) -> AvailabilityNow:
    """Open when inside the business hours (or none are set) and some agent is available: a worker in the
    routing's workspace whose activity is available and whose channel for the routing's task channel is on
    (busy or not: a busy agent's customers wait in the queue). An address with no routing counts as open."""
    hours, now = chat.settings.business_hours, q.now
    if hours is not None and not hours.is_open(now):
        return AvailabilityNow(Availability.CLOSED, hours.next_opening(now))
    routing = conversations.auto_creation_of(chat.address).routing or {}
    props = routing.get("properties") or {}
    workspace_sid = props.get("workspace_sid")
    if not workspace_sid:
        return AvailabilityNow(Availability.OPEN)
    row = await q.fetchone(
        "SELECT EXISTS (SELECT 1 FROM workers w JOIN worker_channels wc ON wc.worker_sid = w.sid "
        "JOIN task_channels tc ON tc.sid = wc.task_channel_sid "
        "WHERE w.workspace_sid = %s AND w.account_sid = %s AND w.available AND wc.available "
        "AND wc.configured_capacity > 0 AND (tc.sid = %s OR tc.unique_name = %s)) AS someone",
        (
            workspace_sid,
            chat.address.account_sid,
            props.get("task_channel_sid"),
            props.get("task_channel_unique_name") or DEFAULT_TASK_CHANNEL,
        ),
    )
    return AvailabilityNow(Availability.OPEN if row and row["someone"] else Availability.NO_AGENTS)


async def public_settings(q: UnitOfWork, *, address_sid: str) -> AddressWebChat:
    """The settings of an enabled chat address, for the widget (public: found by the address SID alone)."""
    address = await conversations.webchat_address(q, address_sid)
    if address is None:
        raise NotFound(f"Web chat address {address_sid} does not exist or is not enabled")
    return await _settings_of(q, address)


# --- identified customers ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedCustomer:
    """Who the site's backend says the customer is (an identity token it signed with the address's secret)."""

    customer_id: str
    name: str | None = None
    email: str | None = None

    def known(self) -> dict[str, str]:
        return {k: v for k, v in ((NAME_FIELD, self.name), (EMAIL_FIELD, self.email)) if v}


def verify_identity_token(chat: AddressWebChat, token: str, *, now: datetime) -> VerifiedCustomer:
    """An HS256 JWT from the site: `sub` (its customer id), `exp` (at most a day ahead), optionally `name`,
    `email`, and `aud` (when present, the address SID). 401 for anything else."""
    if not chat.identity_secret:
        raise InvalidParameter("IdentityToken was given but this address has no IdentitySecret to check it with")
    try:
        claims = jwt.decode(
            token,
            chat.identity_secret,
            algorithms=["HS256"],
            options={"require": ["sub", "exp"], "verify_aud": False},
        )
    except jwt.PyJWTError as exc:
        raise AuthenticationFailed(f"IdentityToken is not valid: {exc}") from None
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else None
    if audience is not None and chat.address.sid not in (audiences or []):
        raise AuthenticationFailed("IdentityToken is not valid: its aud is not this address")
    if claims["exp"] - now.timestamp() > WEBCHAT_IDENTITY_TOKEN_MAX_TTL:
        raise AuthenticationFailed(
            f"IdentityToken is not valid: it must expire within {WEBCHAT_IDENTITY_TOKEN_MAX_TTL} seconds"
        )
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject or len(subject) > 256:
        raise AuthenticationFailed("IdentityToken is not valid: sub must be the customer's id (1 to 256 characters)")

    def text(name: str) -> str | None:
        value = claims.get(name)
        return value.strip()[:256] or None if isinstance(value, str) else None

    return VerifiedCustomer(customer_id=subject, name=text("name"), email=text("email"))


def verified_identity(account_sid: str, customer_id: str) -> str:
    """The chat identity of a site's customer: the same on every device, opaque (no customer id in it)."""
    digest = hashlib.sha256(f"{account_sid}:{customer_id}".encode()).hexdigest()[:32]
    return f"{WEBCHAT_IDENTITY_PREFIX}{VERIFIED_PREFIX}{digest}"


# --- starting a chat ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebChatStart:
    address_sid: str
    anonymous_identity: str  # the identity an anonymous customer gets (minted by the caller)
    customer_friendly_name: str | None = None
    chat_friendly_name: str | None = None
    pre_engagement_data: Any = None
    message: str | None = None
    identity_token: str | None = None


@dataclass(frozen=True, slots=True)
class StartedWebChat:
    account_sid: str
    conversation_sid: str
    chat_service_sid: str
    identity: str
    # The chat began as a message left while nobody could answer (its task waits for the first agent).
    offline: bool = False
    # A verified customer's chat that was already open (on another device, say) was resumed.
    resumed: bool = False


async def start_webchat(uow: UnitOfWork, start: WebChatStart) -> StartedWebChat:
    """A new conversation from an enabled chat address, its customer, and the message it starts with if any.
    A verified customer with an open chat resumes it. When the address cannot answer and the customer left a
    message (the offline form), the chat is marked offline: its task waits longer and says so."""
    address = await conversations.webchat_address(uow, start.address_sid)
    if address is None:
        raise NotFound(f"Web chat address {start.address_sid} does not exist or is not enabled")
    chat = await _settings_of(uow, address)
    verified = verify_identity_token(chat, start.identity_token, now=uow.now) if start.identity_token else None
    if verified is None and chat.settings.identity_required:
        raise AuthenticationFailed("This chat is for signed-in customers: IdentityToken is required")
    identity = verified_identity(address.account_sid, verified.customer_id) if verified else start.anonymous_identity
    if verified is not None:
        existing = await conversations.open_webchat(uow, account_sid=address.account_sid, identity=identity)
        if existing is not None:
            body = check_first_message(start.message, offline=False)
            if body:
                await _customer_writes(uow, existing.sid, identity, body)
            return StartedWebChat(
                account_sid=address.account_sid,
                conversation_sid=existing.sid,
                chat_service_sid=existing.chat_service_sid,
                identity=identity,
                resumed=True,
            )
    leaves_message = bool((start.message or "").strip()) and chat.settings.offline_form
    offline = leaves_message and (await availability(uow, chat)).status is not Availability.OPEN
    known = {NAME_FIELD: start.customer_friendly_name} if start.customer_friendly_name else {}
    known.update(verified.known() if verified else {})
    data = chat.settings.checked_pre_engagement(start.pre_engagement_data, offline=offline, known=known)
    body = check_first_message(start.message, offline=offline)
    name = (verified.name if verified else None) or start.customer_friendly_name or _text(data.get(NAME_FIELD))
    name = name or "Customer"
    conversation_attributes: dict[str, Any] = {"pre_engagement_data": data, "customer_name": name}
    customer_attributes: dict[str, Any] = {"role": "customer", "friendly_name": name}
    email = (verified.email if verified else None) or _text(data.get(EMAIL_FIELD))
    if email:
        customer_attributes["email"] = email
    if verified is not None:
        conversation_attributes["customer_id"] = customer_attributes["customer_id"] = verified.customer_id
        customer_attributes["verified"] = True
    if offline:
        conversation_attributes["offline"] = True
    conversation = await conversations.auto_create_conversation(
        uow,
        address=address,
        friendly_name=start.chat_friendly_name or f"Chat with {name}",
        attributes=json.dumps(conversation_attributes),
    )
    customer = await conversations.add_participant(
        uow, conversation_sid=conversation.sid, identity=identity, attributes=json.dumps(customer_attributes)
    )
    if body:
        await _customer_writes(uow, conversation.sid, identity, body, customer)
    return StartedWebChat(
        account_sid=address.account_sid,
        conversation_sid=conversation.sid,
        chat_service_sid=conversation.chat_service_sid,
        identity=identity,
        offline=offline,
    )


async def _customer_writes(
    uow: UnitOfWork, conversation_sid: str, identity: str, body: str, participant: ParticipantRow | None = None
) -> None:
    """The customer's first message (`participant`: the one just added; else found by the identity)."""
    if participant is None:
        participant = await conversations.find_participant(uow, conversation_sid=conversation_sid, identity=identity)
    await conversations.create_message(
        uow,
        conversation_sid=conversation_sid,
        author=identity,
        body=body,
        participant_sid=participant.sid if participant else None,
        actor=Actor(source=EventSource.SDK, client_identity=identity),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
