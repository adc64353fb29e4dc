"""Delivery receipts: one per message and non-chat participant, moved forward as the channel reports
(`sent` → `delivered` → `read`, or `failed` / `undelivered`), each change an `onDeliveryUpdated` webhook and a
`message.updated` event; and the `delivery` summary every Message carries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.realtime import StreamEvent
from domain.sids import SidPrefix, new_sid
from domain.states import DeliveryStatus
from domain.webhooks import SYSTEM, Actor, WebhookEvent, webhook_date
from storage.conversations import webhooks
from storage.conversations.tables import ConversationRow, MessageRow, ReceiptRow
from storage.db import UnitOfWork
from storage.paging import Page, PageRequest, fetch_page


async def record_receipt(
    uow: UnitOfWork,
    *,
    message: MessageRow,
    participant_sid: str,
    status: DeliveryStatus,
    channel_message_sid: str | None = None,
    error_code: int | None = None,
    actor: Actor = SYSTEM,
) -> ReceiptRow:
    """What a channel's status callback calls (every provider's adapter). Idempotent: a repeated or late
    status (a `sent` after `delivered`) leaves the receipt as it is and fires nothing."""
    existing = await uow.one(
        ReceiptRow,
        "SELECT * FROM message_receipts WHERE message_sid = %s AND participant_sid = %s FOR UPDATE",
        (message.sid, participant_sid),
    )
    if existing is not None and existing.status.rank >= status.rank:
        return existing
    row = await uow.one(
        ReceiptRow,
        """
        INSERT INTO message_receipts (sid, account_sid, chat_service_sid, conversation_sid, message_sid,
                                      participant_sid, channel_message_sid, status, error_code)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (message_sid, participant_sid) DO UPDATE
           SET status = EXCLUDED.status, error_code = COALESCE(EXCLUDED.error_code, message_receipts.error_code),
               channel_message_sid = COALESCE(EXCLUDED.channel_message_sid, message_receipts.channel_message_sid),
               date_updated = now()
        RETURNING *
        """,
        (
            new_sid(SidPrefix.RECEIPT),
            message.account_sid,
            message.chat_service_sid,
            message.conversation_sid,
            message.sid,
            participant_sid,
            channel_message_sid,
            status.value,
            error_code,
        ),
    )
    assert row is not None
    conversation = await uow.one(
        ConversationRow, "SELECT * FROM conversations WHERE sid = %s", (message.conversation_sid,)
    )
    assert conversation is not None
    await uow.publish(
        account_sid=row.account_sid,
        stream=conversation.sid,
        type=StreamEvent.MESSAGE_UPDATED,
        data={"message_sid": message.sid, "index": message.index},
    )
    await webhooks.emit(
        uow,
        conversation=conversation,
        event=WebhookEvent.DELIVERY_UPDATED,
        params=[
            ("ConversationSid", conversation.sid),
            ("ChatServiceSid", conversation.chat_service_sid),
            ("MessageSid", message.sid),
            ("DeliveryReceiptSid", row.sid),
            *([("ChannelMessageSid", row.channel_message_sid)] if row.channel_message_sid else []),
            ("ParticipantSid", participant_sid),
            ("Status", row.status.value),
            ("ErrorCode", str(row.error_code or 0)),
            ("DateCreated", webhook_date(row.date_created) or ""),
            ("DateUpdated", webhook_date(row.date_updated) or ""),
        ],
        actor=actor,
    )
    return row


async def receipts(uow: UnitOfWork, *, message_sid: str, page: PageRequest) -> Page[ReceiptRow]:
    return await fetch_page(
        uow,
        ReceiptRow,
        "SELECT * FROM message_receipts WHERE message_sid = %s ORDER BY date_created, sid",
        (message_sid,),
        page,
    )


async def get_receipt(uow: UnitOfWork, *, message: MessageRow, sid: str) -> ReceiptRow:
    return await uow.found(
        ReceiptRow,
        "SELECT * FROM message_receipts WHERE message_sid = %s AND sid = %s",
        (message.sid, sid),
        resource=f"/Conversations/{message.conversation_sid}/Messages/{message.sid}/Receipts/{sid}",
    )


@dataclass(frozen=True, slots=True)
class DeliverySummary:
    """Twilio's `delivery` object: per status, whether `all`, `some` or `none` of the receipts reached it
    (a read message was delivered and sent too)."""

    total: int
    sent: int
    delivered: int
    read: int
    failed: int
    undelivered: int

    def wire(self) -> dict[str, int | str]:
        def share(n: int) -> str:
            return "all" if n == self.total else "some" if n else "none"

        return {
            "total": self.total,
            "sent": share(self.sent),
            "delivered": share(self.delivered),
            "read": share(self.read),
            "failed": share(self.failed),
            "undelivered": share(self.undelivered),
        }


async def delivery_summaries(uow: UnitOfWork, message_sids: Sequence[str]) -> dict[str, DeliverySummary]:
    """The summaries of a page of messages in one query (messages with no receipt have none)."""
    if not message_sids:
        return {}
    rows = await uow.fetchall(
        """
        SELECT message_sid, count(*) AS total,
               count(*) FILTER (WHERE status IN ('sent', 'delivered', 'read')) AS sent,
               count(*) FILTER (WHERE status IN ('delivered', 'read')) AS delivered,
               count(*) FILTER (WHERE status = 'read') AS read,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               count(*) FILTER (WHERE status = 'undelivered') AS undelivered
          FROM message_receipts WHERE message_sid = ANY(%s) GROUP BY message_sid
        """,
        (list(message_sids),),
    )
    return {
        r["message_sid"]: DeliverySummary(
            total=r["total"],
            sent=r["sent"],
            delivered=r["delivered"],
            read=r["read"],
            failed=r["failed"],
            undelivered=r["undelivered"],
        )
        for r in rows
    }
