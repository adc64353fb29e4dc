"""The Temporal payload codec: every payload and memo Parley's processes hand to Temporal is sealed with
AES-256-GCM under a key derived from the active key-encryption key (core/keys.py), so workflow histories hold
no customer text in clear — on the Temporal server, in its database, or in an exported history.

A sealed payload's metadata names its encoding and the KEK id it was sealed under (bound in as associated
data); its data is nonce ‖ ciphertext ‖ tag of the original Payload message. Payloads in any other encoding
pass through decode unchanged: histories recorded before the codec existed still replay, and workflows started
before it was turned on keep running. The api serves this codec to the Temporal UI (api/routes/codec.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from core.keys import KeyPurpose, KeyRing

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
TAG_BYTES = 16


class PayloadDecryptionError(ValueError):
    """A sealed payload whose key is not configured here, or whose ciphertext fails authentication."""


class EncryptionCodec(PayloadCodec):
    """Seals under `ring`'s active key, opens under any of its keys. `ring` may be a function returning it,
    called on first use: the process's one data converter (core/temporal.py) is built at import, before
    settings may be read."""

    def __init__(self, ring: KeyRing | Callable[[], KeyRing]) -> None:
        self._ring = ring
        self._ciphers: dict[str, AESGCM] = {}

    @property
    def ring(self) -> KeyRing:
        if not isinstance(self._ring, KeyRing):
            self._ring = self._ring()
        return self._ring

    def _cipher(self, key_id: str) -> AESGCM:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            try:
                cipher = AESGCM(self.ring.derived(KeyPurpose.TEMPORAL_PAYLOADS, key_id))
            except KeyError:
                raise PayloadDecryptionError(
                    f"payload sealed under key-encryption key {key_id!r}, which is not configured"
                ) from None
            self._ciphers[key_id] = cipher
        return cipher

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(p) for p in payloads]

    def seal(self, payload: Payload) -> Payload:
        key_id = self.ring.active
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher(key_id).encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
            data=nonce + sealed,
        )

    def open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        if not key_id:
            raise PayloadDecryptionError(f"sealed payload without its {KEY_ID_METADATA!r} metadata")
        if len(payload.data) < NONCE_BYTES + TAG_BYTES:
            raise PayloadDecryptionError(f"payload sealed under {key_id!r} is truncated")
        try:
            plain = self._cipher(key_id).decrypt(
                payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], key_id.encode()
            )
        except InvalidTag:
            raise PayloadDecryptionError(f"payload sealed under {key_id!r} fails authentication") from None
        return Payload.FromString(plain)
