"""Posting a message as the caller, shared by REST and the WebSocket: token holders write as their own
participant, admins as any author."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime

from api.access import conversation_access
from api.auth import Principal
from api.prehooks import PreEvents
from core.metrics import MESSAGE_SEND_DURATION, MESSAGES_SENT
from domain.errors import PermissionDenied
from domain.permissions import Permission, to_delete, to_edit
from domain.webhooks import Actor, WebhookEvent
from storage.conversations import queries, roles
from storage.conversations import service as conversations
from storage.conversations.tables import MessageRow, ParticipantRow
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
    actor: Actor,
    pre_events: PreEvents | None = None,
    service_sid: str | None = None,
    media_sids: Sequence[str] = (),
    date_created: datetime | None = None,
    date_updated: datetime | None = None,
) -> MessageRow:
    """Who writes as whom: token holders write as their own participant, admins as any author. An SDK user's
    message is first shown to the pre-event webhooks listening to onMessageAdd, which may reject or change it."""
    started = time.perf_counter()
    conversations.check_message(body, attributes, has_media=bool(media_sids))
    hook_author: str | None = None  # an author the pre-event webhook set (a token holder cannot choose one)
    if pre_events is not None and await pre_events.listening(principal.account_sid, WebhookEvent.MESSAGE_ADD):
        async with db.read() as q:
            conversation, participant = await conversation_access(
                q, principal, conversation_sid, write=True, service_sid=service_sid
            )
        changes = await pre_events.run(
            account_sid=conversation.account_sid,
            chat_service_sid=conversation.chat_service_sid,
            event=WebhookEvent.MESSAGE_ADD,
            params=_message_add_params(conversation.sid, body, attributes, participant, author),
            actor=actor,
        )
        body = changes.get("body", body)
        attributes = _json_text(changes.get("attributes", attributes))
        hook_author = changes.get("author")
        author = hook_author or author
    checked_body = conversations.check_message(body, attributes, has_media=bool(media_sids))
    async with db.unit() as uow:
        conversation, participant = await conversation_access(
            uow, principal, conversation_sid, write=True, service_sid=service_sid
        )
        if participant is None and not principal.is_admin:
            raise PermissionDenied("Only participants may write to this conversation")
        if participant is not None and not principal.is_admin:
            needed = [Permission.SEND_MESSAGE] if body else []
            if media_sids:
                needed.append(Permission.SEND_MEDIA_MESSAGE)
            await roles.require(uow, role_sid=participant.role_sid, actions=needed)
        if participant is not None and not principal.is_admin:
            author = hook_author or participant.identity
        elif author is not None and participant is None:
            participant = await conversations.find_participant(uow, conversation_sid=conversation.sid, identity=author)
        message = await conversations.create_message(
            uow,
            conversation_sid=conversation.sid,
            author=author or "system",
            body=checked_body,
            attributes=attributes or "{}",
            participant_sid=participant.sid if participant else None,
            idempotency_key=idempotency_key,
            media_sids=media_sids,
            # Only account credentials may date a message (an import of history); a token holder writes now.
            date_created=date_created if principal.is_admin else None,
            date_updated=date_updated if principal.is_admin else None,
            actor=actor,
        )
    # Committed: counted and timed (a refused or failed message is neither).
    MESSAGES_SENT.labels(actor.source.value).inc()
    MESSAGE_SEND_DURATION.labels(actor.source.value).observe(time.perf_counter() - started)
    return message


def _message_add_params(
    conversation_sid: str,
    body: str | None,
    attributes: str | None,
    participant: ParticipantRow | None,
    author: str | None,
) -> list[tuple[str, str]]:
    writer = participant.identity if participant is not None and participant.identity else author
    params = [("ConversationSid", conversation_sid), ("Body", body or ""), ("Attributes", attributes or "{}")]
    if writer:
        params.append(("Author", writer))
    if participant is not None:
        params.append(("ParticipantSid", participant.sid))
    return params


def _json_text(value: object) -> str | None:
    """A pre-event may answer `attributes` as an object or as JSON text; stored as JSON text, checked as such."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


async def edit_message(
    db: Database,
    principal: Principal,
    conversation_sid: str,
    message_sid: str,
    *,
    changes: conversations.MessageChanges,
    actor: Actor,
    service_sid: str | None = None,
) -> MessageRow:
    """Account credentials edit anything; a token holder edits as its participant's role allows (its own
    message with `editOwnMessage`, another's with `editAnyMessage`, attributes likewise), never the author or
    the dates."""
    async with db.unit() as uow:
        conversation, participant = await conversation_access(
            uow, principal, conversation_sid, write=True, service_sid=service_sid
        )
        message = await queries.found_message(uow, conversation_sid=conversation.sid, message_sid=message_sid)
        if not principal.is_admin:
            if participant is None:
                raise PermissionDenied("Only participants may edit messages of this conversation")
            if changes.author is not None or changes.date_created is not None or changes.date_updated is not None:
                raise PermissionDenied("Only account credentials may change a message's author or dates")
            needed = to_edit(
                own=message.participant_sid == participant.sid,
                text=changes.body is not None,
                attributes=changes.attributes is not None,
            )
            await roles.require(uow, role_sid=participant.role_sid, actions=needed)
        return await conversations.update_message(
            uow, conversation=conversation, message=message, changes=changes, actor=actor
        )


async def remove_message(
    db: Database,
    principal: Principal,
    conversation_sid: str,
    message_sid: str,
    *,
    actor: Actor,
    service_sid: str | None = None,
) -> None:
    """Account credentials delete anything; a token holder as its role allows (`deleteOwnMessage` for its
    own message, `deleteAnyMessage` for another's)."""
    async with db.unit() as uow:
        conversation, participant = await conversation_access(
            uow, principal, conversation_sid, write=True, service_sid=service_sid
        )
        message = await queries.found_message(uow, conversation_sid=conversation.sid, message_sid=message_sid)
        if not principal.is_admin:
            if participant is None:
                raise PermissionDenied("Only participants may delete messages of this conversation")
            own = message.participant_sid == participant.sid
            await roles.require(uow, role_sid=participant.role_sid, actions=[to_delete(own=own)])
        await conversations.delete_message(uow, conversation=conversation, message=message, actor=actor)


async def remove_participant(
    db: Database,
    principal: Principal,
    conversation_sid: str,
    participant: str,
    *,
    actor: Actor,
    service_sid: str | None = None,
) -> bool:
    """Account credentials remove anyone; a token holder leaves (`leaveConversation`: the web chat's "End
    chat", the SDK's `conversation.leave()`) or removes another as its role allows (`removeParticipant`).
    False when the participant was already gone."""
    async with db.unit() as uow:
        conversation, own = await conversation_access(
            uow, principal, conversation_sid, write=True, service_sid=service_sid
        )
        row = await conversations.get_participant(uow, conversation_sid=conversation.sid, sid_or_identity=participant)
        if not principal.is_admin:
            if own is None:
                raise PermissionDenied("Only participants may remove participants of this conversation")
            action = Permission.LEAVE_CONVERSATION if row.sid == own.sid else Permission.REMOVE_PARTICIPANT
            await roles.require(uow, role_sid=own.role_sid, actions=[action])
        return await conversations.remove_participant(
            uow, conversation_sid=conversation.sid, participant_sid=row.sid, actor=actor
        )
