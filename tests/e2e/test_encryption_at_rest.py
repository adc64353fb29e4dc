"""A card number a customer sends in a chat is unreadable in PostgreSQL without the key: not in any row, not in
the database's data files, not in the write-ahead log — while the API still shows it to those allowed to see it.
(tests/e2e/test_temporal_history_encrypted.py shows the same for Temporal's histories.)"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import httpx
import psycopg

from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually


def _card_number() -> str:
    return "4111 " + " ".join(f"{secrets.randbelow(10_000):04d}" for _ in range(3))


def _files_containing(root: Path, needles: list[bytes], *, newer_than: float) -> list[str]:
    """Files under `root` modified since `newer_than` that contain any of `needles` (raw bytes, as an attacker
    with a copy of the disk would search)."""
    found = []
    for path in root.rglob("*"):
        try:
            if not path.is_file() or path.stat().st_mtime < newer_than:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        found += [f"{path.relative_to(root)}: {needle.decode()}" for needle in needles if needle in data]
    return found


async def test_a_card_number_sent_in_a_chat_is_in_no_table_data_file_or_wal(parley, admin, database_url):
    started = time.time() - 1
    card = _card_number()
    customer_name = f"Gia-{secrets.token_hex(4)}"
    center = await build_contact_center(admin, agents={"alice": agent_attributes("alice")})
    chat = await start_webchat(parley.base_url, center.address_sid, customer_name)
    conversation_sid = chat["conversation_sid"]
    async with RealtimeClient(parley.base_url, chat["token"]) as customer:
        await customer.send_message(conversation_sid, f"my card is {card}, thanks")
    # A photo of the card, uploaded through the Media Content Service: its bytes are sealed on disk too.
    photo = b"\x89PNG\r\n\x1a\n" + f"photo of {card}".encode() * 20
    service = (await ok(await admin.get(f"/conversations/v1/Conversations/{conversation_sid}")))["chat_service_sid"]
    async with httpx.AsyncClient(base_url=parley.base_url, timeout=30) as browser:
        uploaded = await ok(
            await browser.post(
                f"/mcs/v1/Services/{service}/Media",
                content=photo,
                headers={"Authorization": f"Bearer {chat['token']}", "Content-Type": "image/png"},
            ),
            201,
        )
        content = await browser.get(
            f"/mcs/v1/Services/{service}/Media/{uploaded['sid']}/Content",
            headers={"Authorization": f"Bearer {chat['token']}"},
        )
    assert content.content == photo
    media_files = list(Path(parley.env["PARLEY_MEDIA_DIR"]).rglob(uploaded["sid"]))
    assert len(media_files) == 1 and card.encode() not in media_files[0].read_bytes()

    # Whoever may read the conversation still reads it in clear.
    page = await ok(await admin.get(f"/conversations/v1/Conversations/{conversation_sid}/Messages"))
    assert [m["body"] for m in page["messages"]] == [f"my card is {card}, thanks"]

    # The task routed for it exists (its attributes carry the customer's name).
    async def routed() -> list[dict]:
        tasks = (await ok(await admin.get(center.path("/Tasks"))))["tasks"]
        return [t for t in tasks if customer_name in t["attributes"]]

    await eventually(routed, what="the chat's task")

    needles = [card.encode(), customer_name.encode()]
    with psycopg.connect(database_url, autocommit=True) as conn:
        # No column of any table holds either value in clear.
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        leaking = [
            t
            for t in tables
            for needle in (card, customer_name)
            if conn.execute(f'SELECT 1 FROM "{t}" r WHERE r::text LIKE %s LIMIT 1', (f"%{needle}%",)).fetchone()
        ]
        assert leaking == [], leaking
        conn.execute("CHECKPOINT")
        conn.execute("SELECT pg_switch_wal()")
        data_directory = Path(conn.execute("SHOW data_directory").fetchone()[0])
        database_oid = conn.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()[0]
    assert _files_containing(data_directory / "base" / str(database_oid), needles, newer_than=started) == []
    assert _files_containing(data_directory / "pg_wal", needles, newer_than=started) == []
