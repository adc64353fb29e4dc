"""Helpers shared by TaskRouter routes: scoped lookups that 404 with Twilio's wording."""

from __future__ import annotations

from typing import Any

from api.auth import Principal
from domain.errors import NotFound
from storage.db import UnitOfWork


async def load_workspace(q: UnitOfWork, principal: Principal, workspace_sid: str) -> dict[str, Any]:
    row = await q.fetchone(
        "SELECT * FROM workspaces WHERE sid = %s AND account_sid = %s", (workspace_sid, principal.account_sid)
    )
    if row is None:
        raise NotFound(f"The requested resource /Workspaces/{workspace_sid} was not found")
    principal.require_workspace(workspace_sid)
    return row


async def load_in_workspace(
    q: UnitOfWork, *, table: str, sid: str, workspace_sid: str, path: str, for_update: bool = False
) -> dict[str, Any]:
    row = await q.fetchone(
        f"SELECT * FROM {table} WHERE sid = %s AND workspace_sid = %s" + (" FOR UPDATE" if for_update else ""),
        (sid, workspace_sid),
    )
    if row is None:
        raise NotFound(f"The requested resource /Workspaces/{workspace_sid}/{path}/{sid} was not found")
    return row


async def activity_names(q: UnitOfWork, workspace_sid: str) -> dict[str, str]:
    rows = await q.fetchall("SELECT sid, friendly_name FROM activities WHERE workspace_sid = %s", (workspace_sid,))
    return {r["sid"]: r["friendly_name"] for r in rows}
