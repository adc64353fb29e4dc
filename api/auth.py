"""Authentication: HTTP Basic (Account SID + auth token, or API key SID + secret) for servers and admins;
Access Tokens (Twilio's JWT layout, HS256, signed with an API key secret) for agents and chat customers."""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import jwt

from domain.errors import AuthenticationFailed, PermissionDenied
from domain.limits import DEFAULT_TOKEN_TTL
from domain.sids import SidPrefix, is_sid
from storage.accounts import service as accounts
from storage.db import Database
from storage.taskrouter import queries as taskrouter_queries


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    CUSTOMER = "customer"


@dataclass(frozen=True)
class Principal:
    account_sid: str
    role: Role
    identity: str | None = None
    worker_sid: str | None = None
    workspace_sid: str | None = None
    chat_service_sid: str | None = None
    # The credential used: the Account or API key SID of Basic auth, the signing key SID of an access token.
    credential_sid: str | None = None
    # An access token's `exp` (epoch seconds): a socket opened with it is closed then (api/routes/realtime.py).
    expires_at: float | None = field(default=None, compare=False)

    def same_holder(self, other: Principal) -> bool:
        """Whether `other` (a renewed token) is for the same account, role, identity and scope."""
        return (self.account_sid, self.role, self.identity, self.worker_sid, self.workspace_sid) == (
            other.account_sid,
            other.role,
            other.identity,
            other.worker_sid,
            other.workspace_sid,
        ) and self.chat_service_sid == other.chat_service_sid

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PermissionDenied("This action requires account credentials")

    def require_workspace(self, workspace_sid: str) -> None:
        """Admins see everything in their account; supervisors and agents only their own workspace."""
        if self.is_admin:
            return
        if self.role in (Role.SUPERVISOR, Role.AGENT) and self.workspace_sid == workspace_sid:
            return
        raise PermissionDenied("The token does not grant access to this workspace")

    def require_worker(self, workspace_sid: str, worker_sid: str) -> None:
        self.require_workspace(workspace_sid)
        if self.role is Role.AGENT and self.worker_sid != worker_sid:
            raise PermissionDenied("An agent may act only on its own worker")


@dataclass
class _Cache:
    ttl: float = 30.0
    entries: dict[str, tuple[float, Any]] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        hit = self.entries.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: str, value: Any) -> None:
        self.entries[key] = (time.monotonic() + self.ttl, value)


class Authenticator:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache = _Cache()

    async def _secret_for(self, sid: str) -> tuple[str, str] | None:
        """(account_sid, secret) for an account SID (auth token) or an API key SID (key secret)."""
        cached = self._cache.get(sid)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        async with self.db.read() as q:
            found = await accounts.secret_for(q, sid)
        if found is None:
            return None
        value = (found.account_sid, found.secret)
        self._cache.put(sid, value)
        return value

    async def basic(self, header: str) -> Principal:
        username, password = basic_credentials(header)
        found = await self._secret_for(username)
        if found is None or not hmac.compare_digest(found[1].encode(), password.encode()):
            raise AuthenticationFailed("Authentication Error - invalid username or password")
        return Principal(account_sid=found[0], role=Role.ADMIN, credential_sid=username)

    async def token(self, token: str, *, leeway: float = 0) -> Principal:
        """The principal of a valid access token; `leeway`: seconds past its expiry still accepted (only the
        web chat's token refresh uses one)."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthenticationFailed("Malformed access token") from None
        if header.get("alg") != "HS256":
            raise AuthenticationFailed("Access tokens must be signed with HS256")
        key_sid = unverified.get("iss")
        if not isinstance(key_sid, str) or not is_sid(key_sid, SidPrefix.API_KEY):
            raise AuthenticationFailed("Access token issuer must be an API key SID")
        found = await self._secret_for(key_sid)
        if found is None:
            raise AuthenticationFailed("Access token issuer is not a known API key")
        account_sid, secret = found
        try:
            claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]}, leeway=leeway)
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("Access token expired") from None
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(f"Invalid access token: {exc}") from None
        if claims.get("sub") != account_sid:
            raise AuthenticationFailed("Access token subject does not own the signing key")
        principal = principal_from_grants(account_sid, claims.get("grants") or {})
        if principal.role is Role.AGENT:
            await self._check_worker_in_workspace(principal)
        return replace(principal, credential_sid=key_sid, expires_at=float(claims["exp"]))

    async def _check_worker_in_workspace(self, principal: Principal) -> None:
        """An agent token's worker must be a worker of the workspace it names, in the signing account: a grant
        naming one workspace and another workspace's worker would otherwise act as that worker where the worker
        is matched by SID alone (its conversations, its reservations)."""
        assert principal.worker_sid is not None
        key = f"worker-workspace:{principal.account_sid}:{principal.worker_sid}"
        workspace_sid = self._cache.get(key)
        if workspace_sid is None:
            async with self.db.read() as q:
                workspace_sid = await taskrouter_queries.worker_workspace(
                    q, account_sid=principal.account_sid, worker_sid=principal.worker_sid
                )
            if workspace_sid is not None:  # a worker never changes workspace; a missing one is not remembered
                self._cache.put(key, workspace_sid)
        if workspace_sid != principal.workspace_sid:
            raise AuthenticationFailed("The token's worker_sid is not a worker of its workspace_sid")


def basic_credentials(header: str) -> tuple[str, str]:
    """(username, password) of an `Authorization: Basic …` header."""
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1], validate=True).decode()
        username, password = decoded.split(":", 1)
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        raise AuthenticationFailed("Malformed Basic authorization header") from None
    return username, password


def principal_from_grants(account_sid: str, grants: dict[str, Any]) -> Principal:
    identity = grants.get("identity")
    task_router = grants.get("task_router") or {}
    chat = grants.get("chat") or {}
    if task_router.get("workspace_sid"):
        role = Role.SUPERVISOR if task_router.get("role") == "supervisor" else Role.AGENT
        if role is Role.AGENT and not task_router.get("worker_sid"):
            raise AuthenticationFailed("A task_router grant needs a worker_sid (or role=supervisor)")
        return Principal(
            account_sid=account_sid,
            role=role,
            identity=identity,
            worker_sid=task_router.get("worker_sid"),
            workspace_sid=task_router["workspace_sid"],
            chat_service_sid=chat.get("service_sid"),
        )
    if "chat" in grants and identity:
        return Principal(
            account_sid=account_sid,
            role=Role.CUSTOMER,
            identity=identity,
            chat_service_sid=chat.get("service_sid"),
        )
    raise AuthenticationFailed("Access token carries no usable grant (task_router or chat with identity)")


def issue_access_token(
    *,
    account_sid: str,
    api_key_sid: str,
    api_key_secret: str,
    identity: str,
    grants: dict[str, Any],
    ttl: int = DEFAULT_TOKEN_TTL,
) -> str:
    """Mint a token in Twilio's layout (what twilio.jwt.access_token.AccessToken produces)."""
    now = int(time.time())
    payload = {
        "jti": f"{api_key_sid}-{now}",
        "iss": api_key_sid,
        "sub": account_sid,
        "nbf": now,
        "exp": now + ttl,
        "grants": {"identity": identity, **grants},
    }
    return jwt.encode(payload, api_key_secret, algorithm="HS256", headers={"cty": "twilio-fpa;v=1"})
