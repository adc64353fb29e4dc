"""Typed FastAPI dependencies: the database, the Temporal client, settings, the caller (any, or an admin, with
the security schemes OpenAPI documents for it), and the If-Match precondition. Query parameters are api/query.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Request, Response, Security
from fastapi.requests import HTTPConnection
from fastapi.security import APIKeyHeader, HTTPBasic, HTTPBearer
from temporalio.client import Client

from api.auth import Authenticator, Principal, basic_credentials
from api.throttle import AbuseGuard, client_ip
from core.settings import Settings
from domain.errors import AuthenticationFailed, Conflict, InvalidParameter, PermissionDenied
from domain.webhooks import Actor
from storage.conversations import service as conversation_services
from storage.db import Database


def get_db(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_temporal(request: Request) -> Client:
    return request.app.state.temporal  # type: ignore[no-any-return]


class _BasicHeader(HTTPBasic):
    """HTTP Basic as OpenAPI documents it, handing over the raw header: Authenticator.basic decodes it, so a
    malformed one still gets Twilio's 20003 error instead of HTTPBasic's own bare 401."""

    async def __call__(self, request: HTTPConnection) -> str | None:  # type: ignore[override]
        header = request.headers.get("authorization", "")
        return header if header[:6].lower() == "basic " else None


class _BearerHeader(HTTPBearer):
    """HTTP bearer as OpenAPI documents it, handing over the token as we always parsed it: an empty one
    (`Bearer `) is a malformed token, where HTTPBearer would treat it as no credentials at all."""

    async def __call__(self, request: HTTPConnection) -> str | None:  # type: ignore[override]
        header = request.headers.get("authorization", "")
        return header[7:].strip() if header[:7].lower() == "bearer " else None


# The three ways in, declared with fastapi.security so every authenticated operation documents them (and
# Swagger UI offers "Authorize"). auto_error=False: `authenticate` decides, and answers with Twilio's error.
basic_scheme = _BasicHeader(
    scheme_name="AccountCredentials",
    description="Account SID (`AC…`) and auth token, or API key SID (`SK…`) and secret, as username and password.",
    auto_error=False,
)
bearer_scheme = _BearerHeader(
    scheme_name="AccessToken",
    bearerFormat="JWT",
    description="An access token (Twilio's JWT layout, HS256, signed with an API key secret).",
    auto_error=False,
)
twilio_token_scheme = APIKeyHeader(
    name="X-Twilio-Token",
    scheme_name="TwilioTokenHeader",
    description="An access token in the header Twilio's client SDKs send it in.",
    auto_error=False,
)


async def authenticate(
    request: Request,
    basic: Annotated[str | None, Security(basic_scheme)],
    bearer: Annotated[str | None, Security(bearer_scheme)],
    twilio_token: Annotated[str | None, Security(twilio_token_scheme)],
) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    guard: AbuseGuard = request.app.state.abuse
    ip, username = client_ip(request), _basic_username(basic)
    guard.before_authentication(ip=ip, username=username)
    try:
        if basic is not None:
            principal = await authenticator.basic(basic)
        elif bearer is not None:
            principal = await authenticator.token(bearer)
        elif twilio_token:
            principal = await authenticator.token(twilio_token.strip())
        else:
            raise AuthenticationFailed("Authentication required: HTTP Basic credentials or an access token")
    except AuthenticationFailed:
        guard.authentication_failed(ip=ip, username=username)
        raise
    guard.spend(principal)
    # For the audit trail (api/audit.py), which records what admins and supervisors change.
    request.state.principal = principal
    return principal


def _basic_username(header: str | None) -> str | None:
    if header is None:
        return None
    try:
        return basic_credentials(header)[0]
    except AuthenticationFailed:
        return None


async def require_admin(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    """Account credentials (Basic auth): what creating and configuring resources needs."""
    if not principal.is_admin:
        raise PermissionDenied("This action requires account credentials")
    return principal


async def acting(
    principal: Annotated[Principal, Depends(authenticate)],
    webhook_enabled: Annotated[
        str | None,
        Header(
            alias="X-Twilio-Webhook-Enabled",
            description="`true`: this REST action fires the post-event webhooks (token holders always do).",
        ),
    ] = None,
) -> Actor:
    """Who acts, as the Conversations webhooks see it: a token holder is an SDK user, account credentials are
    the REST API (webhooks only on `X-Twilio-Webhook-Enabled: true`)."""
    if not principal.is_admin:
        return Actor.sdk(principal.identity)
    if webhook_enabled is None:
        return Actor.rest(webhook_enabled=False)
    value = webhook_enabled.strip().lower()
    if value not in ("true", "false"):
        raise InvalidParameter("X-Twilio-Webhook-Enabled must be true or false")
    return Actor.rest(webhook_enabled=value == "true")


@dataclass(frozen=True, slots=True)
class ServiceScope:
    """The Conversation Service a Conversations request works in: the one of `/Services/{ChatServiceSid}/…`
    (`scoped`, and URLs are built there), or the account's default service for the short paths (`sid` None:
    the storage query resolves it, so the short paths cost no extra read)."""

    sid: str | None = None

    @property
    def scoped(self) -> bool:
        return self.sid is not None


async def scoped_service(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    chat_service_sid: Annotated[
        str, Path(alias="ChatServiceSid", description="The Conversation Service (`IS…`) to work in.")
    ],
) -> None:
    """Router dependency of the `/Services/{ChatServiceSid}/…` paths: the service must be the caller's."""
    async with get_db(request).read() as q:
        await conversation_services.get_service(q, account_sid=principal.account_sid, sid=chat_service_sid)
    request.state.chat_service_sid = chat_service_sid


def service_scope(request: Request) -> ServiceScope:
    return ServiceScope(getattr(request.state, "chat_service_sid", None))


def if_match(
    raw: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="The `ETag` the resource must still have (`*`: any); otherwise 412 and nothing changes.",
        ),
    ] = None,
) -> int | None:
    """The version an `If-Match` header expects (Twilio sends the ETag back quoted, maybe weak); `*` or none
    means "whatever it is". A value that is no version of ours can never match: 412."""
    if raw is None or raw.strip() == "*":
        return None
    try:
        return int(raw.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise Conflict(f"If-Match '{raw}' does not match the resource's current ETag", status=412) from None


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = str(version)


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
AdminPrincipal = Annotated[Principal, Depends(require_admin)]
ActorDep = Annotated[Actor, Depends(acting)]
ScopeDep = Annotated[ServiceScope, Depends(service_scope)]
IfMatchDep = Annotated[int | None, Depends(if_match)]
