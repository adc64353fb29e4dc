"""Migration 0020 on a database with rows in it: a clear unique name and a JSONB media list survive the column
changes, the re-encrypt job then seals them and indexes the name, and the name finds its conversation again.
On a scratch database of its own, migrated to 0019 first."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alembic import command
from psycopg.types.json import Jsonb

from domain.sids import SidPrefix, new_sid
from storage import crypto, reencrypt
from storage.bootstrap import create_account
from storage.conversations import service as conversations
from storage.conversations.tables import MediaRow, MessageRow
from storage.db import Database
from storage.migrate import alembic_config
from tests.support.services import admin_database_url, create_database, drop_database

NAME = "claim of gia rossi"
FILENAME = "id-gia-rossi.png"


@pytest.fixture
async def scratch(database_url: str) -> AsyncIterator[Database]:
    admin = admin_database_url()
    url = create_database(admin)
    command.upgrade(alembic_config(url), "0019")
    db = Database(url, max_size=2)  # registers its URL for data keys not yet cached
    await db.open()
    try:
        yield db
    finally:
        await db.close()
        crypto.use_database(database_url)  # the session's database again
        drop_database(admin, url)


async def test_existing_rows_survive_0020_and_the_job_seals_and_indexes_them(scratch: Database):
    db = scratch
    media_sid, conversation_sid = new_sid(SidPrefix.MEDIA), new_sid(SidPrefix.CONVERSATION)
    message_sids = [new_sid(SidPrefix.MESSAGE) for _ in range(3)]
    listed = [{"sid": media_sid, "category": "media", "filename": FILENAME, "content_type": "image/png", "size": 4}]
    async with db.unit() as uow:
        tenant = await create_account(uow, friendly_name="Before 0020")
        account = tenant.account_sid
        service = await uow.fetchone("SELECT default_chat_service_sid AS sid FROM accounts WHERE sid = %s", (account,))
        assert service is not None
        # As 0019 held them: the name and the file name in clear, the media list as JSONB (and a JSON null).
        await uow.execute(
            "INSERT INTO conversations (sid, account_sid, chat_service_sid, unique_name) VALUES (%s, %s, %s, %s)",
            (conversation_sid, account, service["sid"], NAME),
        )
        await uow.execute(
            "INSERT INTO media (sid, account_sid, chat_service_sid, content_type, filename, size, author, "
            "message_sid, conversation_sid) VALUES (%s, %s, %s, 'image/png', %s, 4, 'gia', %s, %s)",
            (media_sid, account, service["sid"], FILENAME, message_sids[0], conversation_sid),
        )
        for index, (sid, media) in enumerate(zip(message_sids, [Jsonb(listed), Jsonb(None), None], strict=True)):
            await uow.execute(
                "INSERT INTO messages (sid, account_sid, conversation_sid, chat_service_sid, index, author, body, "
                "media) VALUES (%s, %s, %s, %s, %s, 'gia', 'hi', %s)",
                (sid, account, conversation_sid, service["sid"], index, media),
            )

    command.upgrade(alembic_config(db.url), "head")
    async with db.read() as q:
        raw = await q.fetchone(
            "SELECT unique_name, unique_name_index FROM conversations WHERE sid = %s", (conversation_sid,)
        )
        media_lists = await q.fetchall("SELECT media FROM messages ORDER BY index")
    assert raw == {"unique_name": NAME, "unique_name_index": None}
    assert [r["media"] for r in media_lists][1:] == [None, None]  # a JSON null is no list

    report = await reencrypt.run(db, account=account)
    assert report.resealed["conversations.unique_name"] == 1
    assert report.resealed["messages.media"] == 1 and report.resealed["media.filename"] == 1
    async with db.read() as q:
        raw = await q.fetchone(
            "SELECT unique_name, unique_name_index FROM conversations WHERE sid = %s", (conversation_sid,)
        )
        sealed = await q.fetchone("SELECT media FROM messages WHERE sid = %s", (message_sids[0],))
        assert raw is not None and sealed is not None
        assert raw["unique_name"].startswith("pk1:") and raw["unique_name_index"] == await crypto.blind_index(
            q, account, NAME
        )
        assert sealed["media"].startswith("pk1:") and "gia" not in sealed["media"]
        found = await conversations.get_conversation(q, account_sid=account, sid_or_unique_name=NAME)
        messages = await q.all(MessageRow, "SELECT * FROM messages ORDER BY index")
        [upload] = await q.all(MediaRow, "SELECT * FROM media WHERE sid = %s", (media_sid,))
    assert found.sid == conversation_sid and found.unique_name == NAME
    assert [m.media for m in messages] == [listed, None, None]
    assert upload.filename == FILENAME
    assert (await reencrypt.run(db, account=account)).total == 0
