"""Who a person signing in through single sign-on is in TaskRouter (docs/security/sso.md): the workspace the
desktop signs into, and the workers whose attributes carry the person's email. Attributes are compared as the
API shows them (storage/attributes), whatever the way they are stored; a sign-in is rare enough to read the
workspace's workers for it."""

from __future__ import annotations

from storage.attributes import attributes_of
from storage.db import UnitOfWork
from storage.taskrouter.models import WORKER_SELECT, WORKSPACE_SELECT, WorkerView, WorkspaceView


async def workspace(uow: UnitOfWork, workspace_sid: str) -> WorkspaceView | None:
    """The workspace by SID alone: single sign-on is configured with a workspace, its account follows from it."""
    return await uow.one(WorkspaceView, f"{WORKSPACE_SELECT} WHERE ws.sid = %s", (workspace_sid,))


async def workers_with_attribute(
    uow: UnitOfWork, *, workspace_sid: str, attribute: str, value: str
) -> list[WorkerView]:
    """The workspace's workers whose string attribute `attribute` equals `value`, ignoring case, oldest first."""
    wanted = value.casefold()
    rows = await uow.all(
        WorkerView, f"{WORKER_SELECT} WHERE w.workspace_sid = %s ORDER BY w.date_created, w.sid", (workspace_sid,)
    )
    matching = []
    for row in rows:
        found = attributes_of(row.attributes).get(attribute)
        if isinstance(found, str) and found.casefold() == wanted:
            matching.append(row)
    return matching
