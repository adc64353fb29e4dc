"""Who may see or write a conversation: admins and supervisors of the account, or its participants."""

from __future__ import annotations

from typing import Any

from api.auth import Principal, Role
from domain.errors import PermissionDenied
from storage import conversations
from storage.db import UnitOfWork


async def conversation_access(
    q: UnitOfWork, principal: Principal, sid_or_unique_name: str, *, write: bool = False
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The conversation and, for token holders, the caller's own participant in it."""
    conversation = await conversations.get_conversation(
        q, account_sid=principal.account_sid, sid_or_unique_name=sid_or_unique_name
    )
    if principal.is_admin:
        return conversation, None
    # An agent is recognised by its token identity or by its worker SID recorded when it joined.
    participant = await q.fetchone(
        "SELECT * FROM participants WHERE conversation_sid = %s AND (identity = %s OR "
        "(%s::text IS NOT NULL AND attributes::jsonb->>'worker_sid' = %s)) LIMIT 1",
        (conversation["sid"], principal.identity, principal.worker_sid, principal.worker_sid),
    )
    if participant is not None:
        return conversation, participant
    if principal.role is Role.SUPERVISOR and not write:
        return conversation, None
    raise PermissionDenied("The token's identity is not a participant of this conversation")


async def worker_stream_access(q: UnitOfWork, principal: Principal, worker_sid: str) -> None:
    if principal.is_admin:
        row = await q.fetchone(
            "SELECT 1 FROM workers WHERE sid = %s AND account_sid = %s", (worker_sid, principal.account_sid)
        )
        if row is not None:
            return
    elif principal.role is Role.AGENT and principal.worker_sid == worker_sid:
        return
    elif principal.role is Role.SUPERVISOR:
        row = await q.fetchone(
            "SELECT 1 FROM workers WHERE sid = %s AND workspace_sid = %s",
            (worker_sid, principal.workspace_sid),
        )
        if row is not None:
            return
    raise PermissionDenied(f"Not allowed to follow worker {worker_sid}")
