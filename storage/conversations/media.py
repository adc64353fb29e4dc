"""Message media records (the Media Content Service): an upload's metadata, which message carries it, and
who may read it. The bytes are kept by the media store (core/media.py) under the same SID, sealed; the file
name is sealed in the record and in the `media` list of the message that carries it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.errors import Conflict, InvalidParameter
from domain.limits import MEDIA_PER_MESSAGE_LIMIT
from storage import crypto
from storage.conversations import service as conversations
from storage.conversations.tables import MediaRow
from storage.db import UnitOfWork


async def create_media(
    uow: UnitOfWork,
    *,
    sid: str,
    account_sid: str,
    chat_service_sid: str,
    content_type: str,
    filename: str | None,
    size: int,
    author: str,
) -> MediaRow:
    row = await uow.one(
        MediaRow,
        "INSERT INTO media (sid, account_sid, chat_service_sid, content_type, filename, size, author) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (sid, account_sid, chat_service_sid, content_type, await crypto.seal(uow, account_sid, filename), size, author),
    )
    assert row is not None
    return row


async def get_media(uow: UnitOfWork, *, account_sid: str, chat_service_sid: str, sid: str) -> MediaRow:
    return await uow.found(
        MediaRow,
        "SELECT * FROM media WHERE account_sid = %s AND chat_service_sid = %s AND sid = %s",
        (account_sid, chat_service_sid, sid),
        resource=f"/Services/{chat_service_sid}/Media/{sid}",
    )


async def linked_media(uow: UnitOfWork, *, chat_service_sid: str, sid: str) -> MediaRow:
    """A file a temporary link names (the link's signature, checked by the caller, is the authority)."""
    return await uow.found(
        MediaRow,
        "SELECT * FROM media WHERE chat_service_sid = %s AND sid = %s",
        (chat_service_sid, sid),
        resource=f"/Services/{chat_service_sid}/Media/{sid}",
    )


async def attach(
    uow: UnitOfWork,
    *,
    media_sids: Sequence[str],
    account_sid: str,
    chat_service_sid: str,
    conversation_sid: str,
    message_sid: str,
) -> list[dict[str, Any]]:
    """Give the uploads to a message (in the message's transaction); each must be the account's, in the
    conversation's service and not on another message. Returns the message's `media` list."""
    if len(media_sids) > MEDIA_PER_MESSAGE_LIMIT:
        raise InvalidParameter(f"A message can carry at most {MEDIA_PER_MESSAGE_LIMIT} media")
    rows = await uow.all(
        MediaRow,
        "UPDATE media SET message_sid = %s, conversation_sid = %s, date_updated = now() "
        "WHERE sid = ANY(%s) AND account_sid = %s AND chat_service_sid = %s AND message_sid IS NULL RETURNING *",
        (message_sid, conversation_sid, list(media_sids), account_sid, chat_service_sid),
    )
    if len(rows) != len(set(media_sids)):
        missing = sorted(set(media_sids) - {r.sid for r in rows})
        raise Conflict(
            f"Media {missing[0]} does not exist in this service or is already on another message", status=400
        )
    by_sid = {r.sid: r for r in rows}
    return [
        {
            "sid": sid,
            "category": "media",
            "filename": by_sid[sid].filename,
            "content_type": by_sid[sid].content_type,
            "size": by_sid[sid].size,
        }
        for sid in dict.fromkeys(media_sids)
    ]


async def readable_by(uow: UnitOfWork, *, media: MediaRow, identity: str | None, worker_sid: str | None) -> bool:
    """A token holder reads what it uploaded, and the media of conversations it takes part in."""
    if identity is not None and media.author == identity:
        return True
    if media.conversation_sid is None:
        return False
    participant = await conversations.find_participant(
        uow, conversation_sid=media.conversation_sid, identity=identity, worker_sid=worker_sid
    )
    return participant is not None
