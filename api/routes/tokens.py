"""POST /parley/v1/Tokens (Parley extension): an admin mints an access token for an agent or supervisor,
the way a Flex deployment's SSO backend would. The token is Twilio's JWT layout, signed with an API key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from pydantic import BaseModel

from api.access import workspace_access
from api.auth import issue_access_token
from api.deps import AdminPrincipal, DbDep
from api.forms.conversations import CreateToken, TokenRole
from domain.errors import InvalidParameter
from domain.limits import DEFAULT_TOKEN_TTL
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
async def create_token(principal: AdminPrincipal, db: DbDep, form: Annotated[CreateToken, Form()]) -> AccessTokenOut:
    """Mint an access token for an agent (`WorkerSid`) or a supervisor of a workspace, in Twilio's JWT layout,
    signed with the account's API key: what a Flex deployment's SSO backend does."""
    role = form.role or (TokenRole.WORKER if form.worker_sid else TokenRole.SUPERVISOR)
    if role is TokenRole.WORKER and form.worker_sid is None:
        raise InvalidParameter("WorkerSid is required for a worker token")
    ttl = form.ttl or DEFAULT_TOKEN_TTL
    async with db.read() as q:
        key = await accounts.signing_key(q, principal.account_sid)
        await workspace_access(q, principal, form.workspace_sid)
        worker = (
            await taskrouter.get_worker(q, workspace_sid=form.workspace_sid, sid=form.worker_sid)
            if form.worker_sid
            else None
        )
        service_sid = await conversations.default_service_sid(q, principal.account_sid)
    identity = form.identity or (agent_identity(worker) if worker else "supervisor")
    grants: dict[str, Any] = {
        "task_router": {"workspace_sid": form.workspace_sid, "worker_sid": form.worker_sid, "role": role.value},
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
