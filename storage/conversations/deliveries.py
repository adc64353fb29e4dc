"""A message's way out to participants on external channels: one outbox command per message and bound
participant, written in the message's own transaction, so an accepted message is delivered even if every
process crashes right after the commit (the sweeper re-drives it)."""

from __future__ import annotations

from domain.outbox import DeliverChannelMessage
from storage.conversations.tables import ConversationRow, MessageRow
from storage.db import UnitOfWork


def delivery_key(message_sid: str, participant_sid: str) -> str:
    """The business id of one delivery: the outbox's dedupe key and the delivery workflow's id."""
    return f"deliver-{message_sid}-{participant_sid}"


async def fan_out(uow: UnitOfWork, *, conversation: ConversationRow, message: MessageRow) -> None:
    """Called by create_message when the conversation has bound participants: every one of them except the
    author (a customer's own message is not echoed back to their phone) gets the message."""
    rows = await uow.fetchall(
        "SELECT sid FROM participants WHERE conversation_sid = %s AND binding_address_hash IS NOT NULL "
        "AND sid IS DISTINCT FROM %s",
        (conversation.sid, message.participant_sid),
    )
    for row in rows:
        await uow.outbox(
            DeliverChannelMessage(
                account_sid=conversation.account_sid,
                conversation_sid=conversation.sid,
                message_sid=message.sid,
                participant_sid=row["sid"],
            ),
            dedupe_key=delivery_key(message.sid, row["sid"]),
        )
