"""Flex Interactions reads: an interaction's channels and a channel's participants, paged."""

from __future__ import annotations

from storage.db import UnitOfWork
from storage.interactions.tables import InteractionChannelRow, InteractionInviteRow, InteractionParticipantRow
from storage.paging import Page, PageRequest, fetch_page


async def channels(
    uow: UnitOfWork, *, account_sid: str, interaction_sid: str, page: PageRequest
) -> Page[InteractionChannelRow]:
    return await fetch_page(
        uow,
        InteractionChannelRow,
        "SELECT * FROM interaction_channels WHERE interaction_sid = %s AND account_sid = %s ORDER BY date_created, sid",
        (interaction_sid, account_sid),
        page,
    )


async def participants(uow: UnitOfWork, *, channel_sid: str, page: PageRequest) -> Page[InteractionParticipantRow]:
    return await fetch_page(
        uow,
        InteractionParticipantRow,
        "SELECT * FROM interaction_participants WHERE channel_sid = %s ORDER BY date_created, sid",
        (channel_sid,),
        page,
    )


async def invites(uow: UnitOfWork, *, channel_sid: str, page: PageRequest) -> Page[InteractionInviteRow]:
    return await fetch_page(
        uow,
        InteractionInviteRow,
        "SELECT * FROM interaction_invites WHERE channel_sid = %s ORDER BY date_created, sid",
        (channel_sid,),
        page,
    )
