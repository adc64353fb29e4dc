"""The key-encryption keys (KEKs) from settings, and the purpose-bound keys derived from them.

Every secret key Parley uses comes from here: the KEK that wraps each account's data keys (storage/crypto),
the key the Temporal payload codec seals payloads with (core/codec), and the key of the blind indexes
(keyed hashes that keep an encrypted value findable). Each is derived from a KEK with HKDF for one purpose,
so no two uses share key material. `PARLEY_ENCRYPTION_KEYS` lists the KEKs, the active one first; a value
sealed under an older one still opens, which is how a KEK is rotated without downtime (docs/security.md)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.settings import Settings, get_settings

KEY_BYTES = 32  # AES-256-GCM keys and HMAC-SHA256 keys
DERIVED_KEY_ID = "dev"  # the KEK derived from PARLEY_SECRET_KEY when no KEK is configured
_KEY_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


class KeyPurpose(StrEnum):
    """What a derived key is for; the HKDF `info`, so each purpose gets unrelated key material."""

    WRAP_DATA_KEYS = "parley/wrap-data-keys/v1"
    TEMPORAL_PAYLOADS = "parley/temporal-payloads/v1"
    BLIND_INDEX = "parley/blind-index/v1"
    SSO_STATE = "parley/sso-state/v1"  # seals the OpenID Connect sign-in cookie (api/routes/sso.py)
    MEDIA_LINKS = "parley/media-links/v1"  # signs the temporary media URLs a channel provider fetches


class KeyConfigError(ValueError):
    """PARLEY_ENCRYPTION_KEYS is malformed."""


@dataclass(frozen=True)
class KeyRing:
    """The KEKs by id, `active` the one new values are sealed under."""

    keys: dict[str, bytes]
    active: str

    def derived(self, purpose: KeyPurpose, key_id: str | None = None) -> bytes:
        """The key for `purpose` derived from KEK `key_id` (the active one by default); KeyError if unknown."""
        kek = self.keys[key_id or self.active]
        return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.value.encode()).derive(kek)


def parse_keys(spec: str) -> KeyRing:
    """ "id:base64,id2:base64" → a KeyRing whose active key is the first."""
    keys: dict[str, bytes] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        if not sep or not key_id or not set(key_id) <= _KEY_ID_CHARS or len(key_id) > 32:
            raise KeyConfigError("each key is `id:base64`, the id 1-32 letters, digits, '-' or '_'")
        try:
            material = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise KeyConfigError(f"key {key_id!r} is not valid base64") from None
        if len(material) != KEY_BYTES:
            raise KeyConfigError(f"key {key_id!r} must be {KEY_BYTES} bytes, not {len(material)}")
        if key_id in keys:
            raise KeyConfigError(f"key id {key_id!r} appears twice")
        keys[key_id] = material
    if not keys:
        raise KeyConfigError("no key given")
    return KeyRing(keys=keys, active=next(iter(keys)))


def keyring_for(settings: Settings) -> KeyRing:
    if settings.encryption_keys:
        return parse_keys(settings.encryption_keys)
    derived = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"parley/development-kek").derive(
        settings.secret_key.encode()
    )
    return KeyRing(keys={DERIVED_KEY_ID: derived}, active=DERIVED_KEY_ID)


@lru_cache
def keyring() -> KeyRing:
    """The process's key ring, from the process's settings."""
    return keyring_for(get_settings())
