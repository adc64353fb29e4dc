"""A card number a customer sends in a chat is unreadable in PostgreSQL without the key: not in any row, not in
the database's data files, not in the write-ahead log — while the API still shows it to those allowed to see it.
So are a conversation's unique name and a message's attachment names.
(tests/e2e/test_temporal_history_encrypted.py shows the same for Temporal's histories.)"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import httpx
import psycopg

from storage.accounts.service import create_account
from tests.support.contact_center import agent_attributes, build_contact_center, ok, start_webchat
from tests.support.realtime import RealtimeClient
from tests.support.waiting import eventually
from tests.support.webhooks import Receiver

CONVERSATIONS = "/conversations/v1/Conversations"
HOOKS = {"X-Twilio-Webhook-Enabled": "true"}
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x1f\x15\xc4\x89" + b"\0" * 40


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

    _assert_nowhere_in_clear(database_url, [card, customer_name], started=started)


def _assert_nowhere_in_clear(database_url: str, needles: list[str], *, started: float) -> None:
    """No column of any table holds any of `needles` in clear, nor do the database's data files or its
    write-ahead log written since `started`."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        leaking = [
            f"{t}: {needle}"
            for t in tables
            for needle in needles
            if conn.execute(f'SELECT 1 FROM "{t}" r WHERE r::text LIKE %s LIMIT 1', (f"%{needle}%",)).fetchone()
        ]
        assert leaking == [], leaking
        conn.execute("CHECKPOINT")
        conn.execute("SELECT pg_switch_wal()")
        data_directory = Path(conn.execute("SHOW data_directory").fetchone()[0])
        database_oid = conn.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()[0]
    raw = [needle.encode() for needle in needles]
    assert _files_containing(data_directory / "base" / str(database_oid), raw, newer_than=started) == []
    assert _files_containing(data_directory / "pg_wal", raw, newer_than=started) == []


async def test_a_unique_name_and_an_attachments_file_name_are_in_no_table_but_read_in_clear(
    parley, db, receiver: Receiver, database_url
):
    """A conversation's unique name and a message's attachment names (customers name their files after
    themselves) are sealed: found by the API, shown in clear to REST and webhooks, in clear nowhere on disk."""
    started = time.time() - 1
    marker = f"Rossi{secrets.token_hex(4)}"
    unique_name, renamed, filename = f"claim-{marker}", f"claim-{marker}-2", f"passport-{marker}.png"
    async with db.unit() as uow:
        tenant = await create_account(uow, friendly_name="Sealed names")
    async with httpx.AsyncClient(
        base_url=parley.base_url, auth=(tenant.account_sid, tenant.auth_token), timeout=30
    ) as api:
        await ok(
            await api.post(
                "/conversations/v1/Configuration/Webhooks",
                data={"PostWebhookUrl": receiver.url(), "Filters": ["onConversationAdded", "onMessageAdded"]},
            )
        )
        created = await ok(await api.post(CONVERSATIONS, data={"UniqueName": unique_name}, headers=HOOKS), 201)
        assert created["unique_name"] == unique_name
        fetched = await ok(await api.get(f"{CONVERSATIONS}/{unique_name}"))
        assert fetched["sid"] == created["sid"] and fetched["unique_name"] == unique_name
        uploaded = await ok(
            await api.post(
                f"/mcs/v1/Services/{created['chat_service_sid']}/Media",
                content=PNG,
                params={"Filename": filename},
                headers={"Content-Type": "image/png"},
            ),
            201,
        )
        assert uploaded["filename"] == filename
        # Paths of state-changing requests name the conversation by SID: the audit log records request paths.
        message = await ok(
            await api.post(
                f"{CONVERSATIONS}/{created['sid']}/Messages",
                data={"Author": "ops", "MediaSid": uploaded["sid"]},
                headers=HOOKS,
            ),
            201,
        )
        assert [(m["sid"], m["filename"]) for m in message["media"]] == [(uploaded["sid"], filename)]
        listed = await ok(await api.get(f"{CONVERSATIONS}/{unique_name}/Messages"))
        assert [m["media"] for m in listed["messages"]] == [message["media"]]
        # Renamed, it is found by the new name only (the conversation.updated event carries the name).
        await ok(await api.post(f"{CONVERSATIONS}/{created['sid']}", data={"UniqueName": renamed}))
        assert (await ok(await api.get(f"{CONVERSATIONS}/{renamed}")))["sid"] == created["sid"]
        assert (await api.get(f"{CONVERSATIONS}/{unique_name}")).status_code == 404
        kept = await ok(await api.post(CONVERSATIONS, data={"UniqueName": unique_name}), 201)
        assert (await ok(await api.get(f"{CONVERSATIONS}/{unique_name}")))["sid"] == kept["sid"]
    [added] = await receiver.wait_for("onConversationAdded")
    assert added.form["UniqueName"] == unique_name
    [hook] = await receiver.wait_for("onMessageAdded")
    assert json.loads(hook.form["Media"]) == message["media"]

    _assert_nowhere_in_clear(database_url, [marker], started=started)
