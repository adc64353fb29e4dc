"""Conversations reads: the list endpoints, paged, returning typed rows."""

from __future__ import annotations

from enum import StrEnum

from domain.states import ConversationState
from storage.conversations.tables import AddressConfigurationRow, ConversationRow, MessageRow, ParticipantRow
from storage.db import UnitOfWork
from storage.paging import Page, PageRequest, fetch_page


class MessageOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


async def conversations(
    uow: UnitOfWork,
    *,
    account_sid: str,
    chat_service_sid: str | None,
    state: ConversationState | None,
    page: PageRequest,
) -> Page[ConversationRow]:
    """A service's conversations (None: the account's default service), oldest first."""
    return await fetch_page(
        uow,
        ConversationRow,
        "SELECT * FROM conversations WHERE account_sid = %s AND chat_service_sid = COALESCE("
        "%s::text, (SELECT default_chat_service_sid FROM accounts WHERE sid = %s)) "
        "AND (%s::text IS NULL OR state = %s) ORDER BY date_created, sid",
        (account_sid, chat_service_sid, account_sid, state, state),
        page,
    )


async def participants(uow: UnitOfWork, *, conversation_sid: str, page: PageRequest) -> Page[ParticipantRow]:
    return await fetch_page(
        uow,
        ParticipantRow,
        "SELECT * FROM participants WHERE conversation_sid = %s ORDER BY date_created, sid",
        (conversation_sid,),
        page,
    )


async def messages(
    uow: UnitOfWork, *, conversation_sid: str, order: MessageOrder, page: PageRequest
) -> Page[MessageRow]:
    return await fetch_page(
        uow,
        MessageRow,
        f"SELECT * FROM messages WHERE conversation_sid = %s ORDER BY index {order.value.upper()}",
        (conversation_sid,),
        page,
    )


async def found_message(uow: UnitOfWork, *, conversation_sid: str, message_sid: str) -> MessageRow:
    """A message of the conversation, or Twilio's 404."""
    return await uow.found(
        MessageRow,
        "SELECT * FROM messages WHERE conversation_sid = %s AND sid = %s",
        (conversation_sid, message_sid),
        resource=f"/Conversations/{conversation_sid}/Messages/{message_sid}",
    )


async def addresses(
    uow: UnitOfWork, *, account_sid: str, type: str | None, page: PageRequest
) -> Page[AddressConfigurationRow]:
    return await fetch_page(
        uow,
        AddressConfigurationRow,
        "SELECT * FROM address_configurations WHERE account_sid = %s AND (%s::text IS NULL OR type = %s) "
        "ORDER BY date_created, sid",
        (account_sid, type, type),
        page,
    )
