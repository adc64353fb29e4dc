"""Single sign-on's last step (docs/security/sso.md): the verified claims of an ID token become a TaskRouter worker
and a role, and those an access token for the desktop, in Twilio's layout and signed with the workspace
account's API key, as POST /parley/v1/Tokens mints them. Nothing is minted for a person Parley cannot place."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from api.auth import issue_access_token
from api.forms.conversations import TokenRole
from core.oidc import OidcError, RelyingParty
from core.settings import Settings
from domain.errors import Conflict
from domain.limits import FRIENDLY_NAME_LIMIT
from storage.accounts import service as accounts
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
DESKTOP_PATH = "/agent/"
# Flex's names for the roles, written into the `roles` attribute of a worker single sign-on creates.
_ROLE_NAMES = {TokenRole.WORKER: "agent", TokenRole.SUPERVISOR: "supervisor"}
_LIST_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class DesktopSession:
    """What a sign-in hands the desktop."""

    token: str
    identity: str
    role: TokenRole
    worker_sid: str | None


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
    grants: dict[str, Any] = {
        "task_router": {
            "workspace_sid": workspace.sid,
            "worker_sid": worker.sid if worker else None,
            "role": role.value,
        },
        "chat": {"service_sid": service_sid},
    }
    token = issue_access_token(
        account_sid=workspace.account_sid,
        api_key_sid=key.sid,
        api_key_secret=key.secret,
        identity=identity,
        grants=grants,
        ttl=settings.sso_token_ttl,
    )
    log.info(
        "single sign-on: subject %s signed in as %s (worker %s)", claims.get("sub"), role.value, worker and worker.sid
    )
    return DesktopSession(token=token, identity=identity, role=role, worker_sid=worker.sid if worker else None)


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
