"""Encryption at rest: envelope encryption with a data key per account (docs/security/encryption-at-rest.md).

Each account has a random AES-256 data key, kept in `data_keys` wrapped (AES-GCM) by a key-encryption key
(core/keys.py); a value is sealed with its account's active data key as `pk1:<key id>:<base64url(nonce ‖
ciphertext ‖ tag)>`, the key id bound in as associated data. Opening a value needs only its own key id, so
values sealed under a retired data key (or a data key wrapped by an older KEK) keep opening while the
re-encrypt job (storage/reencrypt.py) moves them to the active key. What must stay findable (a customer's
address) gets a blind index: an HMAC-SHA256 under the account's index key, which never rotates.

Unwrapped keys are cached per process. Opening runs inside pydantic validators of row models (sync), so a key
not yet cached is read on a short synchronous connection: once per key and process."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.keys import KEY_BYTES, KeyPurpose, KeyRing, keyring

SEALED_PREFIX = "pk1:"
_KID = re.compile(rb"dk[0-9a-f]{16}")
_KID_BYTES = 18
NONCE_BYTES = 12


class DataKeyPurpose(StrEnum):
    SEAL = "seal"  # AES-GCM: sealing values; rotated (the newest active one seals)
    INDEX = "index"  # HMAC-SHA256: blind indexes; one per account, never rotated (lookups depend on it)


class DataKeyStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"  # still opens what it sealed; the re-encrypt job moves those values off it


class SealedValueError(ValueError):
    """A sealed value whose key is unknown or whose ciphertext fails authentication."""


@dataclass(frozen=True, slots=True)
class DataKey:
    kid: str
    account_sid: str
    purpose: DataKeyPurpose
    material: bytes

    def seal(self, plaintext: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.material).encrypt(nonce, plaintext.encode(), self.kid.encode())
        return f"{SEALED_PREFIX}{self.kid}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def seal_bytes(self, plaintext: bytes) -> bytes:
        """A file's bytes: the key id, a NUL, then nonce ‖ ciphertext ‖ tag."""
        nonce = os.urandom(NONCE_BYTES)
        return self.kid.encode() + b"\x00" + nonce + AESGCM(self.material).encrypt(nonce, plaintext, self.kid.encode())

    def index(self, value: str) -> str:
        return hmac.new(self.material, value.encode(), hashlib.sha256).hexdigest()


def sealed_key_id(value: str) -> str | None:
    """The key id of a sealed value, or None if `value` is not in the sealed layout."""
    if not value.startswith(SEALED_PREFIX):
        return None
    kid, sep, _ = value[len(SEALED_PREFIX) :].partition(":")
    return kid if sep and kid else None


def _wrap(ring: KeyRing, kid: str, material: bytes) -> tuple[str, bytes]:
    nonce = os.urandom(NONCE_BYTES)
    wrapping = AESGCM(ring.derived(KeyPurpose.WRAP_DATA_KEYS))
    return ring.active, nonce + wrapping.encrypt(nonce, material, kid.encode())


def _unwrap(ring: KeyRing, *, kid: str, kek_id: str, wrapped: bytes) -> bytes:
    try:
        wrapping = AESGCM(ring.derived(KeyPurpose.WRAP_DATA_KEYS, kek_id))
    except KeyError:
        raise SealedValueError(f"data key {kid} is wrapped by key-encryption key {kek_id!r}, not configured") from None
    try:
        return wrapping.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], kid.encode())
    except InvalidTag:
        raise SealedValueError(f"data key {kid} does not unwrap under key-encryption key {kek_id!r}") from None


_KEY_COLUMNS = "kid, account_sid, purpose, kek_id, wrapped"
_ACTIVE_KEY_SQL = (
    f"SELECT {_KEY_COLUMNS} FROM data_keys WHERE account_sid = %s AND purpose = %s AND status = 'active' "
    "ORDER BY date_created DESC LIMIT 1"
)
# Seconds a process trusts its idea of an account's active key before reading it again (a rotation elsewhere
# is followed within this time; a value sealed under the retired key meanwhile still opens).
CURRENT_KEY_TTL = 60.0


class DataKeys:
    """The process's cache of unwrapped data keys, and the one place data keys are created and read."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self.database_url: str | None = None
        self._by_kid: dict[str, DataKey] = {}
        self._current: dict[tuple[str, DataKeyPurpose], tuple[DataKey, float]] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Drop the cache (after a rotation, so the next seal reads which key is active now)."""
        with self._lock:
            self._by_kid.clear()
            self._current.clear()

    def _cache(self, row: dict[str, Any]) -> DataKey:
        key = DataKey(
            kid=row["kid"],
            account_sid=row["account_sid"],
            purpose=DataKeyPurpose(row["purpose"]),
            material=_unwrap(self.ring, kid=row["kid"], kek_id=row["kek_id"], wrapped=bytes(row["wrapped"])),
        )
        with self._lock:
            self._by_kid[key.kid] = key
        return key

    # --- creating and finding the key that seals (async, inside the caller's transaction) -------------

    async def current(self, uow: Any, account_sid: str, purpose: DataKeyPurpose = DataKeyPurpose.SEAL) -> DataKey:
        """The account's active key for `purpose`, created on first use.

        A new key is created on its own committed connection (never in the caller's transaction: a key that
        rolled back while a value sealed under it committed elsewhere would lose that value). Which key is
        active is re-read every CURRENT_KEY_TTL seconds, so every process follows a rotation."""
        cached = self._current.get((account_sid, purpose))
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        row: dict[str, Any] | None = await uow.fetchone(_ACTIVE_KEY_SQL, (account_sid, purpose.value))
        if row is None:
            row = await self._create_first(account_sid, purpose)
        key = self._cache(row)
        with self._lock:
            self._current[(account_sid, purpose)] = (key, time.monotonic() + CURRENT_KEY_TTL)
        return key

    async def _create_first(self, account_sid: str, purpose: DataKeyPurpose) -> dict[str, Any]:
        if self.database_url is None:
            raise SealedValueError("no database is configured to keep data keys in")
        kid = f"dk{secrets.token_hex(8)}"
        kek_id, wrapped = _wrap(self.ring, kid, os.urandom(KEY_BYTES))
        async with await psycopg.AsyncConnection.connect(self.database_url, autocommit=True) as conn:
            # The partial unique index on active keys makes a concurrent first writer's key the one both use.
            await conn.execute(
                "INSERT INTO data_keys (kid, account_sid, purpose, kek_id, wrapped) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                (kid, account_sid, purpose.value, kek_id, wrapped),
            )
            cur = await conn.execute(_ACTIVE_KEY_SQL, (account_sid, purpose.value))
            found = await cur.fetchone()
            names = [column.name for column in cur.description or []]
        if found is None:
            raise SealedValueError(f"no active {purpose} key for {account_sid} after creating one")
        return dict(zip(names, found, strict=True))

    async def rotate(self, uow: Any, account_sid: str) -> str:
        """A new active sealing key for the account; the one it replaces is retired (it still opens what it
        sealed). Returns the new key id. Run in its own transaction, before re-encrypting."""
        kid = f"dk{secrets.token_hex(8)}"
        kek_id, wrapped = _wrap(self.ring, kid, os.urandom(KEY_BYTES))
        await uow.execute(
            "UPDATE data_keys SET status = 'retired' WHERE account_sid = %s AND purpose = 'seal' AND status = 'active'",
            (account_sid,),
        )
        await uow.execute(
            "INSERT INTO data_keys (kid, account_sid, purpose, kek_id, wrapped) VALUES (%s, %s, 'seal', %s, %s)",
            (kid, account_sid, kek_id, wrapped),
        )
        with self._lock:
            self._current.pop((account_sid, DataKeyPurpose.SEAL), None)
        return kid

    async def rewrap(self, uow: Any, kid: str) -> bool:
        """Wrap data key `kid` under the active KEK (KEK rotation); False if it already is."""
        row = await uow.fetchone(f"SELECT {_KEY_COLUMNS} FROM data_keys WHERE kid = %s", (kid,))
        if row is None or row["kek_id"] == self.ring.active:
            return False
        material = _unwrap(self.ring, kid=kid, kek_id=row["kek_id"], wrapped=bytes(row["wrapped"]))
        kek_id, wrapped = _wrap(self.ring, kid, material)
        await uow.execute("UPDATE data_keys SET kek_id = %s, wrapped = %s WHERE kid = %s", (kek_id, wrapped, kid))
        return True

    # --- opening (sync: called from row models' validators) -------------------------------------------

    def key(self, kid: str) -> DataKey:
        cached = self._by_kid.get(kid)
        if cached is not None:
            return cached
        if self.database_url is None:
            raise SealedValueError(f"data key {kid} is not loaded and no database is configured")
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            cur = conn.execute(f"SELECT {_KEY_COLUMNS} FROM data_keys WHERE kid = %s", (kid,))
            found = cur.fetchone()
            if found is None:
                raise SealedValueError(f"data key {kid} does not exist")
            names = [column.name for column in cur.description or []]
        return self._cache(dict(zip(names, found, strict=True)))

    def open(self, value: str) -> str:
        """The plaintext of a sealed value; a value not in the sealed layout is returned as it is (written
        before encryption was turned on, until the re-encrypt job reaches it)."""
        kid = sealed_key_id(value)
        if kid is None:
            return value
        try:
            blob = base64.urlsafe_b64decode(value[len(SEALED_PREFIX) + len(kid) + 1 :])
        except (binascii.Error, ValueError):
            raise SealedValueError(f"sealed value under {kid} is not valid base64") from None
        try:
            plaintext = AESGCM(self.key(kid).material).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], kid.encode())
        except InvalidTag:
            raise SealedValueError(f"sealed value under {kid} fails authentication") from None
        return plaintext.decode()

    def open_bytes(self, blob: bytes) -> bytes:
        """A sealed file's bytes; a file stored before encryption (not in the sealed layout) as it is."""
        kid, sep, rest = blob[: _KID_BYTES + 1].partition(b"\x00")
        if not sep or not _KID.fullmatch(kid):
            return blob
        rest = blob[len(kid) + 1 :]
        key = self.key(kid.decode())
        try:
            return AESGCM(key.material).decrypt(rest[:NONCE_BYTES], rest[NONCE_BYTES:], key.kid.encode())
        except InvalidTag:
            raise SealedValueError(f"sealed file under {key.kid} fails authentication") from None


_keys: DataKeys | None = None
_keys_lock = threading.Lock()


def data_keys() -> DataKeys:
    """The process's data keys, under the process's key ring."""
    global _keys
    with _keys_lock:
        if _keys is None:
            _keys = DataKeys(keyring())
        return _keys


def use_database(url: str) -> None:
    """Where keys not yet cached are read from (storage.db.Database registers its URL)."""
    data_keys().database_url = url


# --- helpers for row models and use cases --------------------------------------------------------------


def opened(value: Any) -> Any:
    """A row model's `mode="before"` validator: sealed text → plaintext; anything else unchanged."""
    return data_keys().open(value) if isinstance(value, str) else value


def opened_json(value: Any) -> Any:
    """A sealed JSON document (stored as text) → the document; a JSON value already decoded is unchanged."""
    if isinstance(value, str):
        text = data_keys().open(value)
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return value


async def sealer(uow: Any, account_sid: str) -> DataKey:
    return await data_keys().current(uow, account_sid)


async def seal(uow: Any, account_sid: str, value: str | None) -> str | None:
    """`value` sealed under the account's active key (None stays None)."""
    if value is None:
        return None
    return (await sealer(uow, account_sid)).seal(value)


async def seal_json(uow: Any, account_sid: str, document: Any) -> str | None:
    if document is None:
        return None
    return (await sealer(uow, account_sid)).seal(json.dumps(document, separators=(",", ":")))


async def blind_index(uow: Any, account_sid: str, value: str | None) -> str | None:
    """The keyed hash a sealed value is found by (None stays None)."""
    if value is None:
        return None
    return (await data_keys().current(uow, account_sid, DataKeyPurpose.INDEX)).index(value)


SEALED_DOCUMENT_KEY = "sealed"


async def seal_document(uow: Any, account_sid: str, document: Any) -> dict[str, str]:
    """A JSON document as a sealed one-key object: an outbox command (webhook payloads carry message bodies and
    addresses), an interaction's routing (it carries the task's attributes)."""
    return {SEALED_DOCUMENT_KEY: (await sealer(uow, account_sid)).seal(json.dumps(document, separators=(",", ":")))}


def opened_document(value: Any) -> Any:
    """The row model's side of `seal_document`; a document stored in clear (before encryption) is unchanged."""
    if isinstance(value, dict) and set(value) == {SEALED_DOCUMENT_KEY} and isinstance(value[SEALED_DOCUMENT_KEY], str):
        return opened_json(value[SEALED_DOCUMENT_KEY])
    return value


# The fields of an event's data that carry customer details (attributes, a web chat's conversation name, a
# conversation's unique name): sealed when a realtime event is recorded; `opened_values` opens any sealed
# top-level value.
SEALED_EVENT_FIELDS = ("attributes", "friendly_name", "unique_name", "task_attributes")


async def sealed_values(uow: Any, account_sid: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` with its SEALED_EVENT_FIELDS that are strings sealed under the account's key."""
    if not any(isinstance(data.get(name), str) for name in SEALED_EVENT_FIELDS):
        return data
    key = await sealer(uow, account_sid)
    return {k: key.seal(v) if k in SEALED_EVENT_FIELDS and isinstance(v, str) else v for k, v in data.items()}


def opened_values(value: Any) -> Any:
    """An event's data (realtime or TaskRouter): top-level values that are sealed text (a task's attributes
    copied in) opened; everything else unchanged."""
    if not isinstance(value, dict):
        return value
    return {k: opened(v) if isinstance(v, str) and v.startswith(SEALED_PREFIX) else v for k, v in value.items()}
