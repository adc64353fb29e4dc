"""Encryption at rest (storage/crypto.py, storage/reencrypt.py): customer text and credentials are sealed in
PostgreSQL under a data key per account, found through blind indexes where they must be, and keys rotate
without downtime — the re-encrypt job moves every value to the new key and resumes after a crash."""

from __future__ import annotations

import asyncio
import base64
import json
import os

import pytest

from core.keys import KeyRing, parse_keys
from domain.errors import Conflict, NotFound
from domain.participants import NewParticipant
from domain.sids import SidPrefix, new_sid
from domain.webhooks import SYSTEM
from storage import crypto, reencrypt
from storage.accounts import service as accounts
from storage.bootstrap import create_account
from storage.conversations import media
from storage.conversations import service as conversations
from storage.conversations.tables import ConversationRow, MediaRow, MessageRow
from storage.db import Database

CARD = "4111 1111 1111 1111"


def _ring(*ids: str) -> KeyRing:
    return parse_keys(",".join(f"{i}:{base64.b64encode(os.urandom(32)).decode()}" for i in ids))


@pytest.fixture
async def tenant(db: Database):
    async with db.unit() as uow:
        return await create_account(uow, friendly_name="Sealed")


async def _conversation(db: Database, account_sid: str) -> str:
    async with db.unit() as uow:
        service = await uow.fetchone("SELECT default_chat_service_sid FROM accounts WHERE sid = %s", (account_sid,))
        conversation = await conversations.create_conversation(
            uow,
            account_sid=account_sid,
            chat_service_sid=service["default_chat_service_sid"],
            attributes=json.dumps({"email": "gia@example.com"}),
        )
    return conversation.sid


async def _message(db: Database, conversation_sid: str, body: str) -> MessageRow:
    async with db.unit() as uow:
        return await conversations.create_message(
            uow, conversation_sid=conversation_sid, author="gia", body=body, attributes='{"phone": "+15550001"}'
        )


async def _raw(db: Database, sql: str, *params: object) -> dict:
    async with db.read() as q:
        row = await q.fetchone(sql, params)
    assert row is not None
    return row


def test_a_sealed_value_names_its_key_and_opens_only_under_it():
    key = crypto.DataKey(
        kid="dk0123456789abcdef", account_sid="AC1", purpose=crypto.DataKeyPurpose.SEAL, material=os.urandom(32)
    )
    sealed = key.seal(CARD)
    assert sealed.startswith("pk1:dk0123456789abcdef:") and CARD not in sealed
    assert key.seal(CARD) != sealed  # a fresh nonce each time
    keys = crypto.DataKeys(_ring("k1"))
    keys._by_kid[key.kid] = key
    assert keys.open(sealed) == CARD
    # The key id is bound in: the same ciphertext relabelled with another key id does not open.
    other = crypto.DataKey(kid="dkffffffffffffffff", account_sid="AC1", purpose=key.purpose, material=key.material)
    keys._by_kid[other.kid] = other
    with pytest.raises(crypto.SealedValueError, match="fails authentication"):
        keys.open(sealed.replace(key.kid, other.kid))
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(crypto.SealedValueError):
        keys.open(tampered)
    # Text written before encryption was turned on reads as it is.
    assert keys.open("plain words") == "plain words"
    assert keys.open_bytes(b"\x89PNG plain file") == b"\x89PNG plain file"
    assert keys.open_bytes(key.seal_bytes(b"\x89PNG")) == b"\x89PNG"


async def test_message_text_and_attributes_are_sealed_in_the_database_and_read_back_in_clear(db, tenant):
    conversation_sid = await _conversation(db, tenant.account_sid)
    message = await _message(db, conversation_sid, f"my card is {CARD}")
    assert message.body == f"my card is {CARD}" and json.loads(message.attributes) == {"phone": "+15550001"}
    raw = await _raw(db, "SELECT body, attributes FROM messages WHERE sid = %s", message.sid)
    assert CARD not in raw["body"] and "+15550001" not in raw["attributes"]
    kid = crypto.sealed_key_id(raw["body"])
    key_row = await _raw(db, "SELECT account_sid, purpose, status FROM data_keys WHERE kid = %s", kid)
    assert key_row == {"account_sid": tenant.account_sid, "purpose": "seal", "status": "active"}
    conversation = await _raw(db, "SELECT attributes FROM conversations WHERE sid = %s", conversation_sid)
    assert "gia@example.com" not in conversation["attributes"]
    async with db.read() as q:
        [listed] = await q.all(MessageRow, "SELECT * FROM messages WHERE sid = %s", (message.sid,))
    assert listed.body == message.body


async def test_credentials_are_sealed_and_still_authenticate(db, tenant):
    raw = await _raw(db, "SELECT auth_token FROM accounts WHERE sid = %s", tenant.account_sid)
    assert raw["auth_token"] != tenant.auth_token and raw["auth_token"].startswith("pk1:")
    key = await _raw(db, "SELECT secret FROM api_keys WHERE sid = %s", tenant.api_key_sid)
    assert tenant.api_key_secret not in key["secret"]
    async with db.read() as q:
        assert (await accounts.secret_for(q, tenant.account_sid)).secret == tenant.auth_token
        assert (await accounts.secret_for(q, tenant.api_key_sid)).secret == tenant.api_key_secret
        assert (await accounts.signing_key(q, tenant.account_sid)).secret == tenant.api_key_secret


async def test_a_customer_address_is_sealed_and_found_by_its_blind_index(db, tenant):
    conversation_sid = await _conversation(db, tenant.account_sid)
    async with db.unit() as uow:
        conversation = await conversations.get_conversation(
            uow, account_sid=tenant.account_sid, sid_or_unique_name=conversation_sid
        )
        participant = await conversations.join(
            uow,
            conversation=conversation,
            participant=NewParticipant(address="+15557654321", proxy_address="+15550009999"),
            actor=SYSTEM,
        )
    assert participant.messaging_binding["address"] == "+15557654321"
    raw = await _raw(db, "SELECT * FROM participants WHERE sid = %s", participant.sid)
    assert "+15557654321" not in json.dumps(raw, default=str)
    assert raw["binding_address_hash"] and raw["binding_address_hash"] != raw["binding_proxy_hash"]
    # The one-open-conversation rule still finds the address (Twilio's 50416) through its hash.
    other_sid = await _conversation(db, tenant.account_sid)
    async with db.unit() as uow:
        other = await conversations.get_conversation(uow, account_sid=tenant.account_sid, sid_or_unique_name=other_sid)
        with pytest.raises(Exception, match="already exists in conversation"):
            await conversations.join(
                uow,
                conversation=other,
                participant=NewParticipant(address="+15557654321", proxy_address="+15550009999"),
                actor=SYSTEM,
            )


async def test_two_first_writers_of_an_account_agree_on_one_data_key(db, database_url):
    account_sid = new_sid(SidPrefix.ACCOUNT)
    first, second = crypto.DataKeys(crypto.data_keys().ring), crypto.DataKeys(crypto.data_keys().ring)
    first.database_url = second.database_url = database_url

    async def key(keys: crypto.DataKeys) -> str:
        async with db.read() as q:
            return (await keys.current(q, account_sid)).kid

    kids = await asyncio.gather(key(first), key(second))
    assert kids[0] == kids[1]
    row = await _raw(db, "SELECT count(*) AS n FROM data_keys WHERE account_sid = %s", account_sid)
    assert row["n"] == 1


async def test_rotating_data_keys_reseals_everything_and_resumes_after_a_crash(db, tenant, monkeypatch):
    conversation_sid = await _conversation(db, tenant.account_sid)
    bodies = [f"message {i} {CARD}" for i in range(7)]
    for body in bodies:
        await _message(db, conversation_sid, body)
    old = crypto.sealed_key_id(
        (await _raw(db, "SELECT body FROM messages WHERE conversation_sid = %s LIMIT 1", conversation_sid))["body"]
    )
    # Rows written before encryption was turned on are sealed by the same job.
    async with db.unit() as uow:
        await uow.execute(
            "UPDATE messages SET body = 'legacy plaintext' WHERE conversation_sid = %s AND index = 0",
            (conversation_sid,),
        )
    monkeypatch.setattr(reencrypt, "REENCRYPT_BATCH", 2)
    # A crash in the middle of the messages (after the account's five one-row batches before them, and one
    # batch of messages): what committed stays done; nothing is half-done.
    partial = await reencrypt.run(db, rotate_data_keys=True, account=tenant.account_sid, stop_after_batches=6)
    assert partial.rotated_accounts == 1 and 0 < sum(partial.resealed.values()) < 7 + 4
    async with db.read() as q:
        new = (await crypto.data_keys().current(q, tenant.account_sid)).kid
        mixed = await q.fetchall(
            "SELECT body FROM messages WHERE conversation_sid = %s ORDER BY index", (conversation_sid,)
        )
    assert new != old
    assert [crypto.sealed_key_id(r["body"]) for r in mixed].count(new) == 2
    assert {crypto.sealed_key_id(r["body"]) for r in mixed} - {new} <= {old, None}
    # Everything still reads in clear meanwhile: old and new keys both open.
    async with db.read() as q:
        listed = await q.all(
            MessageRow, "SELECT * FROM messages WHERE conversation_sid = %s ORDER BY index", (conversation_sid,)
        )
    assert [m.body for m in listed] == ["legacy plaintext", *bodies[1:]]
    # The re-run carries on and finishes; a third run finds nothing left.
    await reencrypt.run(db, account=tenant.account_sid)
    async with db.read() as q:
        done = await q.fetchall("SELECT body FROM messages WHERE conversation_sid = %s", (conversation_sid,))
        statuses = await q.fetchall(
            "SELECT kid, status FROM data_keys WHERE account_sid = %s AND purpose = 'seal'", (tenant.account_sid,)
        )
    assert {crypto.sealed_key_id(r["body"]) for r in done} == {new}
    assert dict((r["kid"], r["status"]) for r in statuses) == {old: "retired", new: "active"}
    again = await reencrypt.run(db, account=tenant.account_sid)
    assert again.total == 0
    async with db.read() as q:
        assert (await accounts.secret_for(q, tenant.account_sid)).secret == tenant.auth_token


async def test_a_new_key_encryption_key_rewraps_data_keys_and_the_old_one_can_then_go(db, tenant, database_url):
    conversation_sid = await _conversation(db, tenant.account_sid)
    message = await _message(db, conversation_sid, CARD)
    before = crypto.data_keys().ring
    rotated = KeyRing(keys={"k2": os.urandom(32), **before.keys}, active="k2")
    keys = crypto.DataKeys(rotated)
    keys.database_url = database_url
    original = crypto._keys
    crypto._keys = keys
    try:
        report = await reencrypt.run(db, account=tenant.account_sid)
        assert report.rewrapped_keys >= 1
        rows = await _raw(
            db,
            "SELECT count(*) FILTER (WHERE kek_id <> 'k2') AS old FROM data_keys WHERE account_sid = %s",
            tenant.account_sid,
        )
        assert rows["old"] == 0
        # With the old KEK removed from the ring, everything still opens.
        only_new = crypto.DataKeys(KeyRing(keys={"k2": rotated.keys["k2"]}, active="k2"))
        only_new.database_url = database_url
        crypto._keys = only_new
        async with db.read() as q:
            [row] = await q.all(MessageRow, "SELECT * FROM messages WHERE sid = %s", (message.sid,))
            assert row.body == CARD
            assert (await accounts.secret_for(q, tenant.api_key_sid)).secret == tenant.api_key_secret
    finally:
        crypto._keys = original


async def test_a_value_under_an_unknown_key_encryption_key_is_a_clear_error(db, tenant, database_url):
    conversation_sid = await _conversation(db, tenant.account_sid)
    message = await _message(db, conversation_sid, CARD)
    stranger = crypto.DataKeys(_ring("elsewhere"))
    stranger.database_url = database_url
    raw = await _raw(db, "SELECT body FROM messages WHERE sid = %s", message.sid)
    with pytest.raises(crypto.SealedValueError, match="not configured"):
        stranger.open(raw["body"])


async def _service_sid(db: Database, account_sid: str) -> str:
    row = await _raw(db, "SELECT default_chat_service_sid FROM accounts WHERE sid = %s", account_sid)
    return str(row["default_chat_service_sid"])


async def _named(db: Database, account_sid: str, unique_name: str | None) -> ConversationRow:
    async with db.unit() as uow:
        return await conversations.create_conversation(
            uow,
            account_sid=account_sid,
            chat_service_sid=await _service_sid(db, account_sid),
            unique_name=unique_name,
        )


async def _find(db: Database, account_sid: str, key: str) -> ConversationRow:
    async with db.read() as q:
        return await conversations.get_conversation(q, account_sid=account_sid, sid_or_unique_name=key)


async def test_a_unique_name_is_sealed_found_by_its_blind_index_and_unique_in_the_service(db, tenant):
    name = "case of gia.rossi@example.com"
    created = await _named(db, tenant.account_sid, name)
    assert created.unique_name == name
    raw = await _raw(db, "SELECT unique_name, unique_name_index FROM conversations WHERE sid = %s", created.sid)
    assert raw["unique_name"].startswith("pk1:") and "gia" not in raw["unique_name"]
    async with db.read() as q:
        assert raw["unique_name_index"] == await crypto.blind_index(q, tenant.account_sid, name)
    assert (await _find(db, tenant.account_sid, name)).sid == created.sid
    assert (await _find(db, tenant.account_sid, created.sid)).unique_name == name
    with pytest.raises(NotFound):
        await _find(db, tenant.account_sid, "case of someone else")

    # Twilio's 50353 for a name the service already has, on create and on update.
    with pytest.raises(Conflict) as duplicate:
        await _named(db, tenant.account_sid, name)
    assert duplicate.value.code == 50353 and duplicate.value.status == 409
    other = await _named(db, tenant.account_sid, None)
    async with db.unit() as uow:
        with pytest.raises(Conflict, match="already exists") as on_update:
            await conversations.update_conversation(
                uow, conversation=other, changes=conversations.ConversationChanges(unique_name=name), actor=SYSTEM
            )
    assert on_update.value.code == 50353
    # The same name on itself is no conflict; a new name replaces the old one, which then finds nothing.
    async with db.unit() as uow:
        same = await conversations.update_conversation(
            uow, conversation=created, changes=conversations.ConversationChanges(unique_name=name), actor=SYSTEM
        )
        renamed = await conversations.update_conversation(
            uow, conversation=same, changes=conversations.ConversationChanges(unique_name="renamed"), actor=SYSTEM
        )
    assert renamed.unique_name == "renamed" and (await _find(db, tenant.account_sid, "renamed")).sid == created.sid
    with pytest.raises(NotFound):
        await _find(db, tenant.account_sid, name)
    # The conversation.updated event carries the name sealed, and opens to it.
    event = await _raw(
        db,
        "SELECT data FROM realtime_events WHERE stream = %s AND type = 'conversation.updated' ORDER BY seq DESC "
        "LIMIT 1",
        created.sid,
    )
    assert event["data"]["unique_name"].startswith("pk1:")
    assert crypto.opened_values(event["data"])["unique_name"] == "renamed"
    # "" clears the name and its index: the name is free again.
    async with db.unit() as uow:
        cleared = await conversations.update_conversation(
            uow, conversation=renamed, changes=conversations.ConversationChanges(unique_name=""), actor=SYSTEM
        )
    assert cleared.unique_name is None
    raw = await _raw(db, "SELECT unique_name, unique_name_index FROM conversations WHERE sid = %s", created.sid)
    assert raw == {"unique_name": None, "unique_name_index": None}
    assert (await _named(db, tenant.account_sid, "renamed")).unique_name == "renamed"
    # A unique name shaped like a conversation SID is still found by it, when no conversation has that SID.
    sid_shaped = new_sid(SidPrefix.CONVERSATION)
    shaped = await _named(db, tenant.account_sid, sid_shaped)
    assert (await _find(db, tenant.account_sid, sid_shaped)).sid == shaped.sid


async def test_the_reencrypt_job_seals_and_indexes_a_unique_name_and_media_list_left_in_clear(db, tenant):
    """Rows from before migration 0020: a clear unique name without its blind index, a clear media list and
    file name. The job seals them, gives the name its index (so the name finds the conversation again), and a
    second run finds nothing left."""
    name = "legacy-case-gia-rossi"
    conversation = await _named(db, tenant.account_sid, name)
    async with db.unit() as uow:
        await media.create_media(
            uow,
            sid=(media_sid := new_sid(SidPrefix.MEDIA)),
            account_sid=tenant.account_sid,
            chat_service_sid=conversation.chat_service_sid,
            content_type="application/pdf",
            filename="passport-gia-rossi.pdf",
            size=4,
            author="gia",
        )
        message = await conversations.create_message(
            uow, conversation_sid=conversation.sid, author="gia", body=None, media_sids=[media_sid]
        )
        updated = await conversations.update_conversation(
            uow, conversation=conversation, changes=conversations.ConversationChanges(unique_name=name), actor=SYSTEM
        )
    listed = [{**message.media[0]}]
    assert listed[0]["filename"] == "passport-gia-rossi.pdf" and updated.unique_name == name
    async with db.unit() as uow:
        await uow.execute(
            "UPDATE conversations SET unique_name = %s, unique_name_index = NULL WHERE sid = %s",
            (name, conversation.sid),
        )
        await uow.execute("UPDATE messages SET media = %s WHERE sid = %s", (json.dumps(listed), message.sid))
        await uow.execute("UPDATE media SET filename = 'passport-gia-rossi.pdf' WHERE sid = %s", (media_sid,))
        await uow.execute(
            "UPDATE realtime_events SET data = jsonb_set(data, '{unique_name}', to_jsonb(%s::text)) "
            "WHERE stream = %s AND type = 'conversation.updated'",
            (name, conversation.sid),
        )
    # Until the job has run, the legacy name has no index to be found by (the job runs before the api serves).
    with pytest.raises(NotFound):
        await _find(db, tenant.account_sid, name)
    # Readers open clear values as they are meanwhile.
    async with db.read() as q:
        [clear] = await q.all(MessageRow, "SELECT * FROM messages WHERE sid = %s", (message.sid,))
    assert clear.media == listed

    report = await reencrypt.run(db, account=tenant.account_sid)
    assert report.resealed["conversations.unique_name"] == 1
    assert report.resealed["messages.media"] == 1 and report.resealed["media.filename"] == 1
    assert report.resealed["realtime_events.data"] >= 1
    raw = await _raw(db, "SELECT unique_name, unique_name_index FROM conversations WHERE sid = %s", conversation.sid)
    assert raw["unique_name"].startswith("pk1:") and name not in raw["unique_name"]
    async with db.read() as q:
        assert raw["unique_name_index"] == await crypto.blind_index(q, tenant.account_sid, name)
    assert (await _find(db, tenant.account_sid, name)).unique_name == name
    for sql, sid in (
        ("SELECT media AS v FROM messages WHERE sid = %s", message.sid),
        ("SELECT filename AS v FROM media WHERE sid = %s", media_sid),
        ("SELECT data::text AS v FROM realtime_events WHERE stream = %s", conversation.sid),
    ):
        assert "gia-rossi" not in (await _raw(db, sql, sid))["v"]
    async with db.read() as q:
        [sealed] = await q.all(MessageRow, "SELECT * FROM messages WHERE sid = %s", (message.sid,))
        [upload] = await q.all(MediaRow, "SELECT * FROM media WHERE sid = %s", (media_sid,))
    assert sealed.media == listed and upload.filename == "passport-gia-rossi.pdf"
    again = await reencrypt.run(db, account=tenant.account_sid)
    assert again.total == 0
