"""The audit trail (docs/security/audit-log.md): every state-changing request (POST, PUT, PATCH, DELETE) made
with account credentials or a supervisor token is recorded in the audit log (storage/audit) — who, what, on
which resource, with what answer, when and from where — refused ones (4xx) too, but not unauthenticated (401)
or rate-limited (429) ones. Agents and web chat customers are not audited: theirs is the contact center's
work, not its administration. Request bodies are never recorded.

The row is written after the route's own transaction, just before the last byte of the response goes out: a
client holding its answer finds the row. If that write fails, the action stands and the failure is logged.
Single sign-on's events (api/sso.py) are written with the same `write`."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Principal, Role
from api.throttle import RateLimited
from domain.errors import ServiceUnavailable
from domain.sids import is_sid
from storage.audit import service as audit
from storage.db import Database

log = logging.getLogger(__name__)

AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
AUDITED_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})
# Unauthenticated requests are the auth back-off's business; rate-limited ones never reached the route; a 503
# did nothing (PostgreSQL down, or the process overloaded: recording it would wait on the database again).
NOT_RECORDED = frozenset({401, RateLimited.status, ServiceUnavailable.status})
# A created resource's SID is read from the response body, if it is small (every resource is).
_CREATED_BODY_LIMIT = 64 * 1024
_CONVERTOR = re.compile(r"\{(\w+):\w+\}")


class AuditTrail:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in AUDITED_METHODS:
            await self.app(scope, receive, send)
            return
        # api.deps.authenticate leaves the caller in the request's state (this dict).
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 0
        created = bytearray()
        recorded = False

        async def send_and_record(message: Message) -> None:
            nonlocal status, recorded
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                if status == 201 and len(created) <= _CREATED_BODY_LIMIT:
                    created.extend(message.get("body", b""))
                if not message.get("more_body", False) and not recorded:
                    recorded = True
                    await _record(scope, state.get("principal"), status, bytes(created))
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        except Exception:
            if not recorded:
                recorded = True
                await _record(scope, state.get("principal"), 500, b"")
            raise


async def _record(scope: Scope, principal: object, status: int, created: bytes) -> None:
    if not isinstance(principal, Principal) or principal.role not in AUDITED_ROLES or status in NOT_RECORDED:
        return
    route = scope.get("route")
    template = getattr(route, "path", None)
    client = scope.get("client")
    entry = audit.AuditEntry(
        account_sid=principal.account_sid,
        credential_sid=principal.credential_sid or principal.account_sid,
        role=principal.role.value,
        identity=principal.identity,
        worker_sid=principal.worker_sid,
        method=scope["method"],
        path_template=_CONVERTOR.sub(r"{\1}", template) if isinstance(template, str) else None,
        path=_recorded_path(
            scope.get("path_params", {}), scope.get("raw_path", b"").decode("latin-1") or scope.get("path", "")
        ),
        resource_sid=(_created_sid(created) if status == 201 else None) or _path_sid(scope.get("path_params", {})),
        status_code=status,
        client_ip=client[0] if client else None,
        user_agent=_header(scope, b"user-agent"),
    )
    await write(scope["app"].state.db, entry)


async def write(db: Database, entry: audit.AuditEntry) -> None:
    """Records `entry` in a transaction of its own. A failure is logged, never raised: the action it records
    (a request, a sign-in) stands whether or not its row could be written."""
    try:
        async with db.unit() as uow:
            await audit.record(uow, entry)
    except Exception:
        log.exception(
            "audit event not recorded: %s %s %s by %s",
            entry.action.value,
            entry.method,
            entry.path,
            entry.credential_sid or entry.identity,
        )


def _created_sid(body: bytes) -> str | None:
    try:
        sid = json.loads(body).get("sid")
    except (ValueError, AttributeError):
        return None
    return sid if isinstance(sid, str) and is_sid(sid) else None


def _recorded_path(path_params: dict[str, Any], path: str) -> str:
    """The path with its SIDs, and any other path parameter withheld as `{name}`: a conversation named by its
    unique name (sealed at rest, it may name a customer) is recorded as `/Conversations/{sid}`."""
    withheld = {
        value: "{" + name + "}" for name, value in path_params.items() if isinstance(value, str) and not is_sid(value)
    }
    return "/".join(withheld.get(segment, segment) for segment in path.split("/"))


def _path_sid(path_params: dict[str, Any]) -> str | None:
    """The last SID in the path: the resource acted on (or, for one named by unique name, its container)."""
    sids = [value for value in path_params.values() if isinstance(value, str) and is_sid(value)]
    return sids[-1] if sids else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None
