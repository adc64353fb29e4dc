"""The re-encrypt job: every sealed value moved to its account's active data key, and every data key wrapped by
the active key-encryption key. `python -m storage.reencrypt [--rotate-data-keys] [--account AC…]`.

It is how keys are rotated without downtime (docs/security/encryption-at-rest.md) and how rows written before
encryption was turned on get sealed. Work is done in batches, one transaction each, on rows locked for the
batch (a concurrent write waits for it, and is never overwritten by a stale copy). What still needs work is
found by its key id, so a crash loses at most the batch in flight and a re-run carries on where it stopped;
running it twice in a row finds nothing the second time."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb

from core.media import LocalMediaStore, MediaStore
from core.settings import get_settings
from storage import crypto
from storage.db import Database

log = logging.getLogger(__name__)

REENCRYPT_BATCH = 200  # rows per transaction


class SealedKind(StrEnum):
    TEXT = "text"  # a sealed string column
    INDEXED = "indexed"  # a sealed string column with its blind index beside it (`SealedColumn.index`)
    BINDING = "binding"  # a participant's sealed messaging binding, with its blind indexes
    DOCUMENT = "document"  # a JSONB column holding {"sealed": "pk1:…"} (the outbox)
    VALUES = "values"  # a JSONB document whose listed top-level values are sealed strings (event data)


@dataclass(frozen=True)
class SealedColumn:
    table: str
    column: str
    kind: SealedKind
    key: str = "sid"  # the primary key
    account: str = "account_sid"  # the column naming the owning account
    values: tuple[str, ...] = ()  # SealedKind.VALUES: which top-level keys are sealed
    index: str = ""  # SealedKind.INDEXED: the column holding the value's blind index


# Every value Parley seals, in one list: a new sealed column is added here or the job never rotates it.
SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn("accounts", "auth_token", SealedKind.TEXT, account="sid"),
    SealedColumn("api_keys", "secret", SealedKind.TEXT),
    SealedColumn("conversations", "attributes", SealedKind.TEXT),
    SealedColumn("participants", "attributes", SealedKind.TEXT),
    SealedColumn("participants", "messaging_binding", SealedKind.BINDING),
    SealedColumn("messages", "body", SealedKind.TEXT),
    SealedColumn("messages", "attributes", SealedKind.TEXT),
    SealedColumn("tasks", "attributes", SealedKind.TEXT),
    SealedColumn("conversation_users", "attributes", SealedKind.TEXT),
    *(
        SealedColumn("conversation_credentials", column, SealedKind.TEXT)
        for column in ("certificate", "private_key", "api_key", "secret")
    ),
    SealedColumn("outbox", "payload", SealedKind.DOCUMENT, key="id"),
    SealedColumn("interactions", "routing", SealedKind.DOCUMENT),
    SealedColumn("interaction_channels", "routing", SealedKind.DOCUMENT),
    SealedColumn("interaction_invites", "routing", SealedKind.DOCUMENT),
    SealedColumn("conversations", "friendly_name", SealedKind.TEXT),
    SealedColumn("realtime_events", "data", SealedKind.VALUES, key="id", values=crypto.SEALED_EVENT_FIELDS),
    SealedColumn("taskrouter_events", "event_data", SealedKind.VALUES, values=("task_attributes",)),
    SealedColumn("channel_providers", "credentials", SealedKind.TEXT),
    # A unique name is found by its blind index: one still in clear gets its index here (the api needs it).
    SealedColumn("conversations", "unique_name", SealedKind.INDEXED, index="unique_name_index"),
    SealedColumn("messages", "media", SealedKind.TEXT),  # sealed JSON: the attachments' names, types, sizes
    SealedColumn("media", "filename", SealedKind.TEXT),
)


@dataclass
class Report:
    rewrapped_keys: int = 0
    rotated_accounts: int = 0
    resealed: dict[str, int] = field(default_factory=dict)
    resealed_files: int = 0

    @property
    def total(self) -> int:
        return self.rewrapped_keys + sum(self.resealed.values()) + self.resealed_files


def _pending(column: SealedColumn) -> str:
    """SQL true for a row of `column` not yet sealed under key %(kid)s (the account's active key)."""
    c = column.column
    if column.kind in (SealedKind.TEXT, SealedKind.BINDING):
        return f"{c} IS NOT NULL AND {c} NOT LIKE %(sealed)s"
    if column.kind is SealedKind.INDEXED:
        return f"{c} IS NOT NULL AND ({c} NOT LIKE %(sealed)s OR {column.index} IS NULL)"
    if column.kind is SealedKind.DOCUMENT:
        return f"NOT ({c} ? 'sealed' AND {c}->>'sealed' LIKE %(sealed)s)"
    return " OR ".join(f"({c}->>'{v}' IS NOT NULL AND {c}->>'{v}' NOT LIKE %(sealed)s)" for v in column.values)


def _resealed(column: SealedColumn, key: crypto.DataKey, value: Any, index: crypto.DataKey) -> dict[str, Any]:
    """The new column values for one row."""
    if column.kind is SealedKind.TEXT:
        return {column.column: key.seal(crypto.opened(value))}
    if column.kind is SealedKind.INDEXED:
        plaintext = crypto.opened(value)
        return {column.column: key.seal(plaintext), column.index: index.index(plaintext)}
    if column.kind is SealedKind.BINDING:
        binding = crypto.opened_json(value)
        if not isinstance(binding, dict):
            return {column.column: key.seal(json.dumps(binding))}
        return {
            column.column: key.seal(json.dumps(binding, separators=(",", ":"))),
            "binding_address_hash": index.index(binding["address"]) if binding.get("address") else None,
            "binding_proxy_hash": index.index(binding["proxy_address"]) if binding.get("proxy_address") else None,
        }
    if column.kind is SealedKind.DOCUMENT:
        document = crypto.opened_document(value)
        return {column.column: Jsonb({crypto.SEALED_DOCUMENT_KEY: key.seal(json.dumps(document))})}
    document = dict(value)
    for name in column.values:
        if isinstance(document.get(name), str):
            document[name] = key.seal(crypto.opened(document[name]))
    return {column.column: Jsonb(document)}


async def _reseal_batch(db: Database, column: SealedColumn, account_sid: str) -> int:
    async with db.unit() as uow:
        key = await crypto.data_keys().current(uow, account_sid)
        index = await crypto.data_keys().current(uow, account_sid, crypto.DataKeyPurpose.INDEX)
        rows = await uow.fetchall(
            f"SELECT {column.key} AS pk, {column.column} AS value FROM {column.table} "
            f"WHERE {column.account} = %(account)s AND ({_pending(column)}) "
            f"ORDER BY {column.key} LIMIT %(limit)s FOR UPDATE",
            {"account": account_sid, "sealed": f"{crypto.SEALED_PREFIX}{key.kid}:%", "limit": REENCRYPT_BATCH},
        )
        for row in rows:
            values = _resealed(column, key, row["value"], index)
            assignments = ", ".join(f"{name} = %({name})s" for name in values)
            await uow.execute(
                f"UPDATE {column.table} SET {assignments} WHERE {column.key} = %(pk)s", {**values, "pk": row["pk"]}
            )
    return len(rows)


async def _reseal_files(db: Database, store: MediaStore, account_sid: str) -> int:
    """Media files are sealed by the api as they arrive; those under a retired key (or none) are resealed."""
    done = 0
    async with db.read() as q:
        key = await crypto.data_keys().current(q, account_sid)
        sids = [r["sid"] for r in await q.fetchall("SELECT sid FROM media WHERE account_sid = %s", (account_sid,))]
    for sid in sids:
        blob = await store.get(sid)
        if blob is None or blob.startswith(key.kid.encode() + b"\x00"):
            continue
        await store.put(sid, key.seal_bytes(crypto.data_keys().open_bytes(blob)))
        done += 1
    return done


async def _accounts(db: Database, only: str | None) -> list[str]:
    async with db.read() as q:
        rows = await q.fetchall(
            "SELECT sid FROM accounts WHERE %s::text IS NULL OR sid = %s ORDER BY sid", (only, only)
        )
    return [r["sid"] for r in rows]


async def run(
    db: Database,
    *,
    rotate_data_keys: bool = False,
    account: str | None = None,
    media: MediaStore | None = None,
    stop_after_batches: int | None = None,
) -> Report:
    """Rewrap data keys under the active KEK, optionally give each account a new data key, then reseal every
    value not under its account's active key. `stop_after_batches` stops early (as a crash would): tests."""
    report = Report()
    keys = crypto.data_keys()
    async with db.unit() as uow:
        kids = await uow.fetchall(
            "SELECT kid FROM data_keys WHERE kek_id <> %s AND (%s::text IS NULL OR account_sid = %s) FOR UPDATE",
            (keys.ring.active, account, account),
        )
        for row in kids:
            report.rewrapped_keys += await keys.rewrap(uow, row["kid"])
    accounts = await _accounts(db, account)
    if rotate_data_keys:
        for account_sid in accounts:
            async with db.unit() as uow:
                await keys.rotate(uow, account_sid)
            report.rotated_accounts += 1
    batches = 0
    for account_sid in accounts:
        for column in SEALED_COLUMNS:
            name = f"{column.table}.{column.column}"
            while True:
                if stop_after_batches is not None and batches >= stop_after_batches:
                    return report
                done = await _reseal_batch(db, column, account_sid)
                batches += 1
                report.resealed[name] = report.resealed.get(name, 0) + done
                if done < REENCRYPT_BATCH:
                    break
        if media is not None:
            report.resealed_files += await _reseal_files(db, media, account_sid)
    return report


async def _main(args: argparse.Namespace, runner: Callable[..., Awaitable[Report]] = run) -> None:
    settings = get_settings()
    db = Database(args.database_url or settings.database_url, max_size=2)
    await db.open()
    try:
        report = await runner(
            db,
            rotate_data_keys=args.rotate_data_keys,
            account=args.account,
            media=LocalMediaStore(Path(args.media_dir) if args.media_dir else settings.media_dir),
        )
    finally:
        await db.close()
    resealed = {k: v for k, v in report.resealed.items() if v}
    print(
        f"re-encrypt: {report.rewrapped_keys} data keys rewrapped, {report.rotated_accounts} accounts given a new "
        f"data key, {sum(resealed.values())} values resealed {resealed or ''}, {report.resealed_files} files resealed"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rotate-data-keys", action="store_true", help="give every account a new data key first")
    parser.add_argument("--account", help="only this account (AC…)")
    parser.add_argument("--database-url", help="default: DATABASE_URL")
    parser.add_argument("--media-dir", help="default: PARLEY_MEDIA_DIR")
    logging.basicConfig(level=logging.INFO)
    asyncio.run(_main(parser.parse_args()))
