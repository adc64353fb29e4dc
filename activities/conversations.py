"""Conversations activities: carrying out a conversation's timers (storage/conversations/service.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from storage.conversations import service as conversations
from storage.db import Database
from workflows.contracts import ActivityName, ApplyTimers, TimersDue


class ConversationActivities:
    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn(name=ActivityName.APPLY_CONVERSATION_TIMERS)
    async def apply_conversation_timers(self, input: ApplyTimers) -> TimersDue:
        async with self.db.unit() as uow:
            next_at = await conversations.apply_timers(
                uow, conversation_sid=input.conversation_sid, as_of=datetime.fromtimestamp(input.as_of, UTC)
            )
        return TimersDue(next_at=next_at.timestamp() if next_at is not None else None)
