"""Posting a message as the caller, shared by REST and the WebSocket: token holders write as their own
participant, admins as any author."""

from __future__ import annotations

from api.access import conversation_access
from api.auth import Principal
from domain.errors import PermissionDenied
from storage.conversations import service as conversations
from storage.conversations.tables import MessageRow
from storage.db import Database


async def post_message(
    db: Database,
    principal: Principal,
    conversation_sid: str,
    *,
    body: str | None,
    attributes: str | None,
    author: str | None = None,
    idempotency_key: str | None = None,
) -> MessageRow:
    """Who writes as whom: token holders write as their own participant, admins as any author."""
    checked_body = conversations.check_message(body, attributes)
    async with db.unit() as uow:
        conversation, participant = await conversation_access(uow, principal, conversation_sid, write=True)
        if participant is None and not principal.is_admin:
            raise PermissionDenied("Only participants may write to this conversation")
        if participant is not None and not principal.is_admin:
            author = participant.identity
        elif author is not None and participant is None:
            participant = await conversations.find_participant(uow, conversation_sid=conversation.sid, identity=author)
        return await conversations.create_message(
            uow,
            conversation_sid=conversation.sid,
            author=author or "system",
            body=checked_body,
            attributes=attributes or "{}",
            participant_sid=participant.sid if participant else None,
            idempotency_key=idempotency_key,
        )
