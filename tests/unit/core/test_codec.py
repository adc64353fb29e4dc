"""The Temporal payload codec (core/codec.py): payloads sealed with AES-GCM under a key derived from the active
key-encryption key, opened under whichever configured key sealed them; clear payloads pass through."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from core.codec import ENCODING, KEY_ID_METADATA, EncryptionCodec, PayloadDecryptionError
from core.keys import KeyConfigError, KeyPurpose, KeyRing, keyring, parse_keys
from core.temporal import DATA_CONVERTER, data_converter

SECRET = b'{"body":"my card is 4111 1111 1111 1111"}'


def _ring(*ids: str) -> KeyRing:
    return parse_keys(",".join(f"{i}:{base64.b64encode(os.urandom(32)).decode()}" for i in ids))


def _payload() -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=SECRET)


async def test_a_payload_is_sealed_under_the_active_key_and_opens_back():
    codec = EncryptionCodec(_ring("k1"))
    [sealed] = await codec.encode([_payload()])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID_METADATA] == b"k1"
    assert b"4111" not in sealed.SerializeToString()
    [again] = await codec.encode([_payload()])
    assert again.data != sealed.data  # a fresh nonce every time
    assert await codec.decode([sealed]) == [_payload()]


async def test_clear_payloads_pass_through_decode():
    codec = EncryptionCodec(_ring("k1"))
    assert await codec.decode([_payload()]) == [_payload()]


async def test_a_payload_sealed_under_an_older_key_opens_while_that_key_is_listed():
    old = _ring("k1")
    [sealed] = await EncryptionCodec(old).encode([_payload()])
    rotated = KeyRing(keys={"k2": os.urandom(32), **old.keys}, active="k2")
    assert await EncryptionCodec(rotated).decode([sealed]) == [_payload()]
    [resealed] = await EncryptionCodec(rotated).encode([_payload()])
    assert resealed.metadata[KEY_ID_METADATA] == b"k2"
    with pytest.raises(PayloadDecryptionError, match="not configured"):
        await EncryptionCodec(KeyRing(keys={"k2": rotated.keys["k2"]}, active="k2")).decode([sealed])


async def test_a_tampered_or_relabelled_payload_is_refused():
    ring = KeyRing(keys={"k1": os.urandom(32), "k2": os.urandom(32)}, active="k1")
    codec = EncryptionCodec(ring)
    [sealed] = await codec.encode([_payload()])
    flipped = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(PayloadDecryptionError, match="fails authentication"):
        await codec.decode([flipped])
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID_METADATA: b"k2"}, data=sealed.data)
    with pytest.raises(PayloadDecryptionError):
        await codec.decode([relabelled])
    unlabelled = Payload(metadata={"encoding": ENCODING}, data=sealed.data)
    with pytest.raises(PayloadDecryptionError, match="without"):
        await codec.decode([unlabelled])
    with pytest.raises(PayloadDecryptionError, match="truncated"):
        await codec.decode([Payload(metadata=dict(sealed.metadata), data=sealed.data[:20])])
    # Another deployment's key opens nothing.
    with pytest.raises(PayloadDecryptionError):
        await EncryptionCodec(_ring("k1")).decode([sealed])


async def test_the_data_converter_seals_what_it_serializes():
    converter = data_converter(_ring("k1"))
    [payload] = await converter.encode([{"body": "my card is 4111 1111 1111 1111"}])
    assert payload.metadata["encoding"] == ENCODING and b"4111" not in payload.data
    assert await converter.decode([payload], [dict]) == [{"body": "my card is 4111 1111 1111 1111"}]


def test_each_purpose_gets_its_own_key():
    ring = _ring("k1")
    keys = {purpose: ring.derived(purpose) for purpose in KeyPurpose}
    assert len(set(keys.values())) == len(keys) and all(len(k) == 32 for k in keys.values())


@pytest.mark.parametrize(
    "spec, problem",
    [
        ("", "no key"),
        ("k1", "id:base64"),
        ("k1:not-base64!", "not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "must be 32 bytes"),
        (f"k1:{base64.b64encode(os.urandom(32)).decode()},k1:{base64.b64encode(os.urandom(32)).decode()}", "twice"),
        (f"bad id:{base64.b64encode(os.urandom(32)).decode()}", "id:base64"),
    ],
)
def test_a_malformed_key_list_is_refused_with_its_reason(spec, problem):
    with pytest.raises(KeyConfigError, match=problem):
        parse_keys(spec)


def test_the_first_key_listed_is_the_active_one():
    ring = _ring("new", "old")
    assert ring.active == "new" and set(ring.keys) == {"new", "old"}


def test_importing_the_data_converter_reads_no_settings():
    # Production settings without keys are refused when read; importing core.temporal must not read them.
    env = {**os.environ, "PARLEY_ENV": "production", "PARLEY_ENCRYPTION_KEYS": ""}
    env.pop("PARLEY_SECRET_KEY", None)
    done = subprocess.run(
        [sys.executable, "-c", "import core.temporal, api.routes.codec"],
        env=env,
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


async def test_the_process_data_converter_seals_under_the_process_key_ring():
    [payload] = await DATA_CONVERTER.encode(["hello"])
    assert payload.metadata[KEY_ID_METADATA] == keyring().active.encode()
    assert await DATA_CONVERTER.decode([payload], [str]) == ["hello"]
