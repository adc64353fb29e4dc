"""Single sign-on's last step (docs/security/sso.md): the verified claims of an ID token become a TaskRouter worker
and a role, and those an access token for the desktop, in Twilio's layout and signed with the workspace
account's API key, as POST /parley/v1/Tokens mints them. Nothing is minted for a person Parley cannot place.

A sign-in also leaves a sealed session cookie in the browser (`SsoSession`): while it lasts
(PARLEY_SSO_SESSION_LIFETIME), the desktop renews its token before it expires (`refresh`), each time after
checking that the person still maps to the same worker and role; signing out ends it, and the provider's
session too. Sign-ins and refusals are written to the audit log."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from api.audit import write as write_audit
from api.auth import Principal, Role, issue_access_token
from api.forms.conversations import TokenRole
from core.oidc import OidcError, RelyingParty, seal, unseal
from core.settings import Settings
from domain.errors import Conflict
from domain.limits import FRIENDLY_NAME_LIMIT
from storage.accounts import service as accounts
from storage.attributes import attributes_of
from storage.audit.service import AuditAction, AuditEntry
from storage.conversations import service as conversations
from storage.db import Database, UnitOfWork
from storage.interactions.service import agent_identity
from storage.taskrouter import identities
from storage.taskrouter import service as taskrouter
from storage.taskrouter.models import WorkerView, WorkspaceView

log = logging.getLogger(__name__)

PREFIX = "/parley/v1/Sso"
CALLBACK_PATH = f"{PREFIX}/Callback"
LOGIN_PATH = f"{PREFIX}/Login"
REFRESH_PATH = f"{PREFIX}/Refresh"
LOGOUT_PATH = f"{PREFIX}/Logout"
DESKTOP_PATH = "/agent/"
# The desktop renews its token this many seconds before it expires (or at half its lifetime, if that comes
# later), and warns an agent whose token cannot be renewed as long before; GET /Sso/Config tells it.
RENEW_BEFORE = 300
# Seconds past its expiry a token may still be renewed: a desktop that missed its renewal (a laptop asleep, a
# network gone for a moment) goes on without a trip to the identity provider.
REFRESH_GRACE = 120
# The grant that marks a token single sign-on minted, with the person's subject at the provider: only such a
# token is renewed, and only in the browser holding that person's session cookie.
SSO_GRANT = "sso"
# Flex's names for the roles, written into the `roles` attribute of a worker single sign-on creates.
_ROLE_NAMES = {TokenRole.WORKER: "agent", TokenRole.SUPERVISOR: "supervisor"}
_LIST_SEPARATORS = re.compile(r"[\s,]+")
_SESSION_AAD = b"parley/sso-session"
# Browsers keep cookies of up to 4096 bytes: a session whose ID token would not fit is kept without it (the
# provider's logout then goes without id_token_hint).
_SESSION_COOKIE_LIMIT = 3800
_JWT = re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*")


@dataclass(frozen=True)
class DesktopSession:
    """What a sign-in hands the desktop, and what the audit log keeps of it."""

    token: str
    identity: str
    role: TokenRole
    worker_sid: str | None
    account_sid: str
    credential_sid: str  # the API key that signed the token
    email: str
    subject: str


@dataclass(frozen=True)
class SsoSession:
    """One person's single sign-on in one browser, from the sign-in to its end (`ends_at`, epoch seconds), as the
    session cookie carries it sealed: who the provider said it is, and the ID token for the provider's logout."""

    subject: str
    email: str
    signed_in_at: int
    ends_at: int
    id_token: str | None = None

    @classmethod
    def starting(cls, settings: Settings, *, subject: str, email: str, id_token: str | None) -> SsoSession:
        now = int(time.time())
        return cls(subject, email, now, now + settings.sso_session_lifetime, id_token)

    def seal(self, *, key_id: str, key: bytes) -> str:
        payload: dict[str, Any] = {"s": self.subject, "e": self.email, "i": self.signed_in_at, "x": self.ends_at}
        if self.id_token:
            sealed = seal({**payload, "t": self.id_token}, aad=_SESSION_AAD, key_id=key_id, key=key)
            if len(sealed) <= _SESSION_COOKIE_LIMIT:
                return sealed
        return seal(payload, aad=_SESSION_AAD, key_id=key_id, key=key)

    @classmethod
    def unseal(cls, sealed: str, *, key_for: Callable[[str], bytes], now: float | None = None) -> SsoSession | None:
        """The session sealed by `seal`, or None if it is not one (forged, another purpose's, an unknown key) or
        has ended."""
        try:
            fields = unseal(sealed, aad=_SESSION_AAD, key_for=key_for)
            token = fields.get("t")
            session = cls(
                subject=str(fields["s"]),
                email=str(fields["e"]),
                signed_in_at=int(fields["i"]),
                ends_at=int(fields["x"]),
                id_token=token if isinstance(token, str) else None,
            )
        except (KeyError, ValueError, TypeError):
            return None
        return session if session.ends_at > (now if now is not None else time.time()) else None


@dataclass(frozen=True)
class Origin:
    """The request an audited single sign-on event came with: its route, and from where."""

    method: str
    path: str
    client_ip: str | None
    user_agent: str | None


class RefreshRefused(Exception):
    """A token that is genuine but is not renewed: `message` is for the person, `reason` for the audit log."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass(frozen=True)
class Renewed:
    token: str
    expires_at: int


def redirect_uri(settings: Settings) -> str:
    return settings.sso_redirect_url or f"{settings.base_url}{CALLBACK_PATH}"


def relying_party(settings: Settings) -> RelyingParty:
    assert settings.sso_issuer and settings.sso_client_id  # the settings refuse an issuer without a client
    return RelyingParty(
        issuer=settings.sso_issuer,
        client_id=settings.sso_client_id,
        client_secret=settings.sso_client_secret,
        redirect_uri=redirect_uri(settings),
        scopes=settings.sso_scopes,
    )


def _values(text: str) -> set[str]:
    return {value for value in _LIST_SEPARATORS.split(text) if value}


def role_of(claims: dict[str, Any], settings: Settings) -> TokenRole | None:
    """Supervisor if the role claim holds a supervisor value, else agent if it holds an agent value (or agent
    values are not required), else none: such a person may not sign in."""
    value = claims.get(settings.sso_role_claim)
    if isinstance(value, str):
        held = _values(value)
    elif isinstance(value, list):
        held = {item for item in value if isinstance(item, str)}
    else:
        held = set()
    if held & _values(settings.sso_supervisor_roles):
        return TokenRole.SUPERVISOR
    agent_roles = _values(settings.sso_agent_roles)
    if not agent_roles or held & agent_roles:
        return TokenRole.WORKER
    return None


def _email_of(claims: dict[str, Any], settings: Settings) -> str:
    email = claims.get(settings.sso_email_claim)
    if not isinstance(email, str) or not email.strip():
        raise OidcError(
            f"Your identity provider did not send your email address (claim '{settings.sso_email_claim}'), so "
            "Parley cannot tell which agent you are. Ask your administrator to release it to Parley.",
            status=403,
        )
    if claims.get("email_verified") is False:
        raise OidcError(f"Your email address {email} is not verified at your identity provider.", status=403)
    return email.strip()


def email_of(claims: dict[str, Any], settings: Settings) -> str | None:
    """The email the claims name (as the audit log records a refused person), verified or not."""
    email = claims.get(settings.sso_email_claim)
    return email.strip() if isinstance(email, str) and email.strip() else None


async def sign_in(db: Database, settings: Settings, claims: dict[str, Any]) -> DesktopSession:
    """The desktop session of the person the verified `claims` describe, or an OidcError that says why not."""
    email = _email_of(claims, settings)
    role = role_of(claims, settings)
    if role is None:
        raise OidcError(
            f"Your account ({email}) has no Parley role at your identity provider. Ask your administrator to give "
            "you the agent or supervisor role.",
            status=403,
            detail=f"no role in claim {settings.sso_role_claim!r}",
        )
    assert settings.sso_workspace_sid
    async with db.unit() as uow:
        workspace = await identities.workspace(uow, settings.sso_workspace_sid)
        if workspace is None:
            raise OidcError(
                "Single sign-on is not set up correctly on this Parley (its workspace does not exist). Please tell "
                "your administrator.",
                status=500,
                detail=f"PARLEY_SSO_WORKSPACE_SID {settings.sso_workspace_sid} does not exist",
            )
        worker = await _worker_for(uow, settings, workspace, email=email, role=role, claims=claims)
        key = await accounts.signing_key(uow, workspace.account_sid)
        service_sid = await conversations.default_service_sid(uow, workspace.account_sid)
    identity = agent_identity(worker) if worker else email
    subject = str(claims.get("sub"))
    grants: dict[str, Any] = {
        "task_router": {
            "workspace_sid": workspace.sid,
            "worker_sid": worker.sid if worker else None,
            "role": role.value,
        },
        "chat": {"service_sid": service_sid},
        SSO_GRANT: {"sub": subject},
    }
    token = issue_access_token(
        account_sid=workspace.account_sid,
        api_key_sid=key.sid,
        api_key_secret=key.secret,
        identity=identity,
        grants=grants,
        ttl=min(settings.sso_token_ttl, settings.sso_session_lifetime),
    )
    log.info("single sign-on: subject %s signed in as %s (worker %s)", subject, role.value, worker and worker.sid)
    return DesktopSession(
        token=token,
        identity=identity,
        role=role,
        worker_sid=worker.sid if worker else None,
        account_sid=workspace.account_sid,
        credential_sid=key.sid,
        email=email,
        subject=subject,
    )


def sso_subject(token: str) -> str | None:
    """The subject the single sign-on grant of a token names (None: not a single sign-on token). Only for a token
    the Authenticator has just verified: its signature is not checked again here."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    except jwt.PyJWTError:
        return None
    grants = claims.get("grants")
    grant = grants.get(SSO_GRANT) if isinstance(grants, dict) else None
    subject = grant.get("sub") if isinstance(grant, dict) else None
    return subject if isinstance(subject, str) and subject else None


async def refresh(
    db: Database, settings: Settings, principal: Principal, *, subject: str | None, session: SsoSession | None
) -> Renewed:
    """A new token for the holder of `principal` (a genuine, current or just-expired token whose single sign-on
    grant names `subject`), in the browser whose session cookie is `session`: the same grants, valid for another
    PARLEY_SSO_TOKEN_TTL but never past the session's end, once the person still maps to the token's worker and
    role. RefreshRefused says why not."""
    sign_in_again = "Please sign in again."
    if (
        subject is None
        or principal.role not in (Role.AGENT, Role.SUPERVISOR)
        or principal.workspace_sid != settings.sso_workspace_sid
    ):
        raise RefreshRefused(
            f"Only a token from single sign-on can be renewed. {sign_in_again}", "not a single sign-on token"
        )
    if session is None:
        raise RefreshRefused(
            f"Your single sign-on has ended in this browser. {sign_in_again}",
            "no session cookie, or it has ended or cannot be opened",
        )
    if session.subject != subject:
        raise RefreshRefused(
            f"This browser holds another person's single sign-on. {sign_in_again}",
            f"the session cookie is subject {session.subject!r}'s, the token subject {subject!r}'s",
        )
    now = int(time.time())
    expires_at = min(now + settings.sso_token_ttl, session.ends_at)
    # The token already lasts as long as the session does: nothing left to renew it for.
    if principal.expires_at is not None and session.ends_at <= principal.expires_at:
        hours = settings.sso_session_lifetime / 3600
        raise RefreshRefused(
            f"Your sign-in has reached its limit of {hours:g} hours. {sign_in_again}",
            "the session lifetime is reached",
        )
    assert settings.sso_workspace_sid
    async with db.unit() as uow:
        workspace = await identities.workspace(uow, settings.sso_workspace_sid)
        if workspace is None or workspace.account_sid != principal.account_sid:
            raise RefreshRefused(
                f"Single sign-on is not set up for this token's workspace. {sign_in_again}",
                "the token's account is not the single sign-on workspace's",
            )
        found = await identities.workers_with_attribute(
            uow, workspace_sid=workspace.sid, attribute=settings.sso_worker_attribute, value=session.email
        )
        worker = _still_the_worker(settings, principal, session, found)
        role = TokenRole.SUPERVISOR if principal.role is Role.SUPERVISOR else TokenRole.WORKER
        if worker is not None:
            _check_worker_roles(worker, role)
        identity = agent_identity(worker) if worker else session.email
        service_sid = await conversations.default_service_sid(uow, workspace.account_sid)
        if identity != principal.identity or service_sid != principal.chat_service_sid:
            raise RefreshRefused(
                f"Your chat identity in Parley has changed. {sign_in_again}",
                f"identity {principal.identity!r} is now {identity!r}, chat service {service_sid}",
            )
        key = await accounts.signing_key(uow, workspace.account_sid)
    token = issue_access_token(
        account_sid=workspace.account_sid,
        api_key_sid=key.sid,
        api_key_secret=key.secret,
        identity=identity,
        grants={
            "task_router": {"workspace_sid": workspace.sid, "worker_sid": principal.worker_sid, "role": role.value},
            "chat": {"service_sid": service_sid},
            SSO_GRANT: {"sub": subject},
        },
        ttl=expires_at - now,
    )
    return Renewed(token=token, expires_at=expires_at)


def _still_the_worker(
    settings: Settings, principal: Principal, session: SsoSession, found: list[WorkerView]
) -> WorkerView | None:
    """The token's worker, if the person's email still finds it and only it; a supervisor without a worker
    still has none."""
    attribute = settings.sso_worker_attribute
    if principal.worker_sid is None:
        if found:
            raise RefreshRefused(
                "An agent in Parley now has your email. Please sign in again to use it.",
                f"worker {found[0].sid} now has {attribute}={session.email}",
            )
        return None
    if [w.sid for w in found] != [principal.worker_sid]:
        raise RefreshRefused(
            "Your agent in Parley has been removed or changed. Please sign in again.",
            f"worker {principal.worker_sid} is deleted or not the one worker with {attribute}={session.email} "
            f"(found {[w.sid for w in found]})",
        )
    return found[0]


def _check_worker_roles(worker: WorkerView, role: TokenRole) -> None:
    """A worker whose `roles` attribute (Flex's) lists roles must still list the token's."""
    roles = attributes_of(worker.attributes).get("roles")
    if isinstance(roles, str):
        held = _values(roles)
    elif isinstance(roles, list):
        held = {item for item in roles if isinstance(item, str)}
    else:
        return
    if _ROLE_NAMES[role] not in held:
        raise RefreshRefused(
            "Your role in Parley has changed. Please sign in again.",
            f"worker {worker.sid}'s roles {sorted(held)} no longer include {_ROLE_NAMES[role]}",
        )


def audit_role(role: TokenRole) -> Role:
    return Role.SUPERVISOR if role is TokenRole.SUPERVISOR else Role.AGENT


async def audit_sign_in(db: Database, origin: Origin, session: DesktopSession, *, status: int) -> None:
    await write_audit(
        db,
        AuditEntry(
            action=AuditAction.SSO_SIGN_IN,
            account_sid=session.account_sid,
            credential_sid=session.credential_sid,
            role=audit_role(session.role).value,
            identity=session.email,
            worker_sid=session.worker_sid,
            subject=session.subject,
            method=origin.method,
            path_template=origin.path,
            path=origin.path,
            resource_sid=session.worker_sid,
            status_code=status,
            client_ip=origin.client_ip,
            user_agent=origin.user_agent,
        ),
    )


async def audit_refusal(
    db: Database,
    settings: Settings,
    origin: Origin,
    action: AuditAction,
    *,
    status: int,
    reason: str,
    account_sid: str | None = None,
    credential_sid: str | None = None,
    role: Role | None = None,
    identity: str | None = None,
    worker_sid: str | None = None,
    subject: str | None = None,
) -> None:
    """A refused sign-in or renewal in the audit log of the single sign-on workspace's account (none if that
    workspace is gone: then only the api's log says it)."""
    if account_sid is None and settings.sso_workspace_sid:
        async with db.read() as q:
            workspace = await identities.workspace(q, settings.sso_workspace_sid)
        account_sid = workspace.account_sid if workspace else None
    if account_sid is None:
        return
    await write_audit(
        db,
        AuditEntry(
            action=action,
            account_sid=account_sid,
            credential_sid=credential_sid,
            role=role.value if role else None,
            identity=identity,
            worker_sid=worker_sid,
            subject=subject,
            reason=_JWT.sub("[token]", reason),  # a reason never carries a token, even by accident
            method=origin.method,
            path_template=origin.path,
            path=origin.path,
            resource_sid=worker_sid,
            status_code=status,
            client_ip=origin.client_ip,
            user_agent=origin.user_agent,
        ),
    )


async def _worker_for(
    uow: UnitOfWork,
    settings: Settings,
    workspace: WorkspaceView,
    *,
    email: str,
    role: TokenRole,
    claims: dict[str, Any],
) -> WorkerView | None:
    """The person's worker: the one whose attribute carries the email; a new one if so configured. A supervisor
    without a worker signs in to the supervisor view alone; an agent without one is refused."""
    found = await identities.workers_with_attribute(
        uow, workspace_sid=workspace.sid, attribute=settings.sso_worker_attribute, value=email
    )
    if len(found) > 1:
        raise OidcError(
            f"More than one agent in Parley has the email {email}, so Parley cannot tell which one you are. "
            "Ask your administrator to fix it.",
            status=403,
            detail=f"workers {[w.sid for w in found]} share {settings.sso_worker_attribute}={email}",
        )
    if found:
        return found[0]
    if settings.sso_create_workers:
        return await _create_worker(uow, settings, workspace, email=email, role=role, claims=claims)
    if role is TokenRole.SUPERVISOR:
        return None
    raise OidcError(
        f"No agent in Parley has the email {email}. Ask your administrator to add you as an agent (a worker whose "
        f"'{settings.sso_worker_attribute}' attribute is your email address).",
        status=403,
        detail="unknown identity",
    )


async def _create_worker(
    uow: UnitOfWork,
    settings: Settings,
    workspace: WorkspaceView,
    *,
    email: str,
    role: TokenRole,
    claims: dict[str, Any],
) -> WorkerView:
    """A worker as Flex's single sign-on creates one: named by the email, with `email`, `full_name`, `roles` and
    a `contact_uri`; routing attributes (skills) are the administrator's to add."""
    if len(email) > FRIENDLY_NAME_LIMIT:
        raise OidcError(
            f"Parley could not create your agent: its name would be your email, which is longer than "
            f"{FRIENDLY_NAME_LIMIT} characters. Ask your administrator to add you.",
            status=403,
        )
    name = claims.get("name")
    attributes = {
        settings.sso_worker_attribute: email,
        "email": email,
        "full_name": name if isinstance(name, str) and name else email,
        "contact_uri": f"client:{email}",
        "roles": [_ROLE_NAMES[role]],
    }
    try:
        return await taskrouter.create_worker(
            uow, workspace=workspace, friendly_name=email, attributes=json.dumps(attributes), activity_sid=None
        )
    except Conflict as exc:
        raise OidcError(
            f"Parley could not create your agent: a worker named {email} already exists without your email "
            f"in its '{settings.sso_worker_attribute}' attribute. Ask your administrator to fix it.",
            status=403,
            detail=str(exc),
        ) from None
