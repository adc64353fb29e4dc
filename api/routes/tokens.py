"""POST /parley/v1/Tokens (Parley extension): an admin mints an access token for an agent or supervisor,
the way a Flex deployment's SSO backend would. The token is Twilio's JWT layout, signed with an API key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.auth import issue_access_token
from api.deps import CurrentPrincipal, DbDep, FormDep
from domain.errors import InvalidParameter, NotFound
from domain.sids import SidPrefix
from storage.routing import agent_identity

router = APIRouter(prefix="/parley/v1", tags=["Parley: access tokens"])


@router.post("/Tokens", status_code=201)
async def create_token(principal: CurrentPrincipal, db: DbDep, form: FormDep) -> Any:
    principal.require_admin()
    workspace_sid = form.sid("WorkspaceSid", SidPrefix.WORKSPACE, required=True)
    worker_sid = form.sid("WorkerSid", SidPrefix.WORKER)
    role = (form.str("Role") or ("worker" if worker_sid else "supervisor")).lower()
    if role not in ("worker", "supervisor"):
        raise InvalidParameter("Role must be worker or supervisor")
    if role == "worker" and worker_sid is None:
        raise InvalidParameter("WorkerSid is required for a worker token")
    ttl = form.int("Ttl", minimum=60, maximum=86400) or 3600
    async with db.read() as q:
        key = await q.fetchone(
            "SELECT sid, secret FROM api_keys WHERE account_sid = %s ORDER BY date_created LIMIT 1",
            (principal.account_sid,),
        )
        workspace = await q.fetchone(
            "SELECT sid FROM workspaces WHERE sid = %s AND account_sid = %s",
            (workspace_sid, principal.account_sid),
        )
        worker = (
            await q.fetchone("SELECT * FROM workers WHERE sid = %s AND workspace_sid = %s", (worker_sid, workspace_sid))
            if worker_sid
            else None
        )
        account = await q.fetchone(
            "SELECT default_chat_service_sid FROM accounts WHERE sid = %s", (principal.account_sid,)
        )
    if key is None or workspace is None or (worker_sid and worker is None):
        raise NotFound("Unknown workspace or worker, or the account has no API key")
    identity = form.str("Identity") or (agent_identity(worker) if worker else "supervisor")
    grants: dict[str, Any] = {
        "task_router": {"workspace_sid": workspace_sid, "worker_sid": worker_sid, "role": role},
        "chat": {"service_sid": (account or {}).get("default_chat_service_sid")},
    }
    token = issue_access_token(
        account_sid=principal.account_sid,
        api_key_sid=key["sid"],
        api_key_secret=key["secret"],
        identity=identity,
        grants=grants,
        ttl=ttl,
    )
    return {"token": token, "identity": identity, "ttl": ttl}
