"""POST /flex-api/v2/WebChats: how the embeddable web chat starts. Public (like Flex's): it creates a new
conversation from a `chat` address configuration, adds an anonymous customer participant, and returns an
access token whose identity exists only in that conversation — so the token is scoped to it.

POST /flex-api/v2/WebChats/Tokens/Refresh (like Flex Webchat's token refresh): the widget exchanges its token
for a new one before it expires, so a chat lasts as long as its conversation; a token expired less than
WEBCHAT_REFRESH_GRACE ago still works (the customer who comes back the next morning), a closed chat's never."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from pydantic import BaseModel

from api.access import conversation_access
from api.auth import Authenticator, Role, issue_access_token
from api.deps import CurrentPrincipal, DbDep
from api.forms.conversations import CreateWebChat, RefreshWebChatToken
from api.throttle import AbuseGuard, client_ip
from domain.errors import PermissionDenied
from domain.limits import WEBCHAT_REFRESH_GRACE, WEBCHAT_TOKEN_TTL
from domain.webchat import Availability, FieldType, PreChatField, builtin_label
from storage.accounts import service as accounts
from storage.conversations import service as conversations
from storage.db import UnitOfWork
from storage.interactions.standing import Standing, queue_standing
from storage.webchat import service as webchat
from storage.webchat.service import WEBCHAT_IDENTITY_PREFIX, WebChatStart

ADDRESS_SID_PATTERN = "^IG[0-9a-fA-F]{32}$"

router = APIRouter(prefix="/flex-api/v2", tags=["Web chat"])


class WebChat(BaseModel):
    conversation_sid: str
    identity: str
    token: str
    expires_in: int
    offline: bool = False  # Parley: the chat is a message left while nobody could answer
    resumed: bool = False  # Parley: an identified customer's open chat, resumed


@router.post(
    "/WebChats",
    status_code=201,
    response_model=WebChat,
    responses={
        401: {"description": "An `IdentityToken` that does not verify, or none where the address requires one."},
        429: {"description": "Too many chats started from the client or on the address; see `Retry-After`."},
    },
)
async def create_webchat(request: Request, db: DbDep, form: Annotated[CreateWebChat, Form()]) -> WebChat:
    """Start a web chat (public, no credentials): a new conversation from an enabled `chat` address, its
    customer, and an access token scoped to that conversation. Parley: a `Message` sent while the address
    cannot answer leaves a message for later (`offline`); an `IdentityToken` identifies the customer, whose
    open chat is resumed (`resumed`). Limited per client IP and address (429 with Retry-After beyond it)."""
    guard: AbuseGuard = request.app.state.abuse
    guard.webchat_start(ip=client_ip(request), address_sid=form.address_sid)
    start = WebChatStart(
        address_sid=form.address_sid,
        anonymous_identity=f"{WEBCHAT_IDENTITY_PREFIX}{secrets.token_hex(12)}",
        customer_friendly_name=form.customer_friendly_name,
        chat_friendly_name=form.chat_friendly_name,
        pre_engagement_data=form.pre_engagement_data,
        message=form.message,
        identity_token=form.identity_token,
    )
    async with db.unit() as uow:
        chat = await webchat.start_webchat(uow, start)
        token = await _webchat_token(
            uow, account_sid=chat.account_sid, identity=chat.identity, service_sid=chat.chat_service_sid
        )
    return WebChat(
        conversation_sid=chat.conversation_sid,
        identity=chat.identity,
        token=token,
        expires_in=WEBCHAT_TOKEN_TTL,
        offline=chat.offline,
        resumed=chat.resumed,
    )


class PreChatFieldPublic(BaseModel):
    name: str
    label: str
    type: FieldType
    required: bool
    options: list[str] | None = None
    max_length: int
    # Parley's own fields (the default name, the offline form's email): the widget words them in its language.
    label_key: str | None = None


class WebChatSettingsPublic(BaseModel):
    """What the widget needs before a chat starts (Parley extension; docs/webchat.md)."""

    address_sid: str
    availability: Availability
    next_opening: datetime | None = None
    pre_chat_form: list[PreChatFieldPublic]
    offline_form: list[PreChatFieldPublic] | None = None  # None: the address does not take messages when away
    identity_required: bool


@router.get("/WebChats/Settings", response_model=WebChatSettingsPublic)
async def fetch_webchat_settings(
    db: DbDep, address_sid: Annotated[str, Query(alias="AddressSid", pattern=ADDRESS_SID_PATTERN)]
) -> WebChatSettingsPublic:
    """Public: the address's pre-chat form, whether someone can answer now (`open`, `closed` outside the
    business hours with `next_opening`, `no_agents`) and the offline form shown otherwise."""
    async with db.read() as q:
        chat = await webchat.public_settings(q, address_sid=address_sid)
        now = await webchat.availability(q, chat)

    def fields(items: list[PreChatField]) -> list[PreChatFieldPublic]:
        return [PreChatFieldPublic(**f.model_dump(), label_key=builtin_label(f)) for f in items]

    return WebChatSettingsPublic(
        address_sid=chat.address.sid,
        availability=now.status,
        next_opening=now.next_opening,
        pre_chat_form=fields(chat.settings.form()),
        offline_form=fields(chat.settings.offline_fields()) if chat.settings.offline_form else None,
        identity_required=chat.settings.identity_required,
    )


@router.post(
    "/WebChats/Tokens/Refresh",
    response_model=WebChat,
    responses={
        401: {"description": "A token that is not valid, or expired more than a day ago."},
        403: {"description": "A token that is not a web chat's, or whose chat has closed."},
    },
)
async def refresh_webchat_token(request: Request, db: DbDep, form: Annotated[RefreshWebChatToken, Form()]) -> WebChat:
    """A new token for a web chat that goes on (public: the current token is the credential). 401 for a token
    that is not valid or expired more than a day ago, 403 for one that is not a web chat's or whose chat has
    closed."""
    authenticator: Authenticator = request.app.state.authenticator
    principal = await authenticator.token(form.token, leeway=WEBCHAT_REFRESH_GRACE)
    identity = principal.identity or ""
    if principal.role is not Role.CUSTOMER or not identity.startswith(WEBCHAT_IDENTITY_PREFIX):
        raise PermissionDenied("Only a web chat's own token can be refreshed here")
    async with db.unit() as uow:
        conversation = await conversations.open_webchat(uow, account_sid=principal.account_sid, identity=identity)
        if conversation is None:
            raise PermissionDenied("This chat has ended: start a new one")
        token = await _webchat_token(
            uow, account_sid=principal.account_sid, identity=identity, service_sid=conversation.chat_service_sid
        )
    return WebChat(conversation_sid=conversation.sid, identity=identity, token=token, expires_in=WEBCHAT_TOKEN_TTL)


class QueueStandingPublic(BaseModel):
    """Where the chat stands in routing (Parley extension; docs/webchat.md)."""

    conversation_sid: str
    status: Standing
    position: int | None = None
    estimated_wait: int | None = None  # seconds; null when the queue has no recent accepted chats to go by


@router.get("/WebChats/{conversation_sid}/QueueStanding", response_model=QueueStandingPublic)
async def fetch_queue_standing(conversation_sid: str, principal: CurrentPrincipal, db: DbDep) -> QueueStandingPublic:
    """The chat's place in its queue and an estimate of the wait, for the customer's own chat token (or the
    account): `waiting` with `position` (1 is next) and `estimated_wait`, `with_agent`, or `none`."""
    async with db.read() as q:
        conversation, _ = await conversation_access(
            q, principal, conversation_sid, service_sid=None if principal.is_admin else principal.chat_service_sid
        )
        standing = await queue_standing(q, conversation_sid=conversation.sid)
    return QueueStandingPublic(
        conversation_sid=conversation.sid,
        status=standing.status,
        position=standing.position,
        estimated_wait=standing.estimated_wait,
    )


async def _webchat_token(uow: UnitOfWork, *, account_sid: str, identity: str, service_sid: str) -> str:
    key = await accounts.signing_key(uow, account_sid)
    return issue_access_token(
        account_sid=account_sid,
        api_key_sid=key.sid,
        api_key_secret=key.secret,
        identity=identity,
        grants={"chat": {"service_sid": service_sid}},
        ttl=WEBCHAT_TOKEN_TTL,
    )
