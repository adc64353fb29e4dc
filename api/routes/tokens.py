"""POST /parley/v1/Tokens (Parley extension): an admin mints an access token for an agent or supervisor,
the way a Flex deployment's SSO backend would. The token is Twilio's JWT layout, signed with an API key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.access import workspace_access
from api.auth import issue_access_token
from api.deps import AdminPrincipal, DbDep, FormDep
from domain.errors import InvalidParameter
from domain.limits import DEFAULT_TOKEN_TTL, MAX_TOKEN_TTL, MIN_TOKEN_TTL
from domain.sids import SidPrefix
from storage.accounts import service as accounts
from storage.conversations import service as conversations
from storage.interactions.service import agent_identity
from storage.taskrouter import service as taskrouter

router = APIRouter(prefix="/parley/v1", tags=["Parley: access tokens"])


class AccessTokenOut(BaseModel):
    token: str
    identity: str
    ttl: int


@router.post("/Tokens", status_code=201, response_model=AccessTokenOut)
async def create_token(principal: AdminPrincipal, db: DbDep, form: FormDep) -> AccessTokenOut:
    workspace_sid = form.sid("WorkspaceSid", SidPrefix.WORKSPACE, required=True)
    assert workspace_sid is not None
    worker_sid = form.sid("WorkerSid", SidPrefix.WORKER)
    role = (form.str("Role") or ("worker" if worker_sid else "supervisor")).lower()
    if role not in ("worker", "supervisor"):
        raise InvalidParameter("Role must be worker or supervisor")
    if role == "worker" and worker_sid is None:
        raise InvalidParameter("WorkerSid is required for a worker token")
    ttl = form.int("Ttl", minimum=MIN_TOKEN_TTL, maximum=MAX_TOKEN_TTL) or DEFAULT_TOKEN_TTL
    async with db.read() as q:
        key = await accounts.signing_key(q, principal.account_sid)
        await workspace_access(q, principal, workspace_sid)
        worker = await taskrouter.get_worker(q, workspace_sid=workspace_sid, sid=worker_sid) if worker_sid else None
        service_sid = await conversations.default_service_sid(q, principal.account_sid)
    identity = form.str("Identity") or (agent_identity(worker) if worker else "supervisor")
    grants: dict[str, Any] = {
        "task_router": {"workspace_sid": workspace_sid, "worker_sid": worker_sid, "role": role},
        "chat": {"service_sid": service_sid},
    }
    token = issue_access_token(
        account_sid=principal.account_sid,
        api_key_sid=key.sid,
        api_key_secret=key.secret,
        identity=identity,
        grants=grants,
        ttl=ttl,
    )
    return AccessTokenOut(token=token, identity=identity, ttl=ttl)
