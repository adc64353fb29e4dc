"""The one place where Parley's Temporal data converter and client are defined (api, workers, replayer, tests):
pydantic models as JSON, every payload and memo sealed by the encryption codec (core/codec.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from core.codec import EncryptionCodec
from core.keys import KeyRing, keyring


def data_converter(ring: KeyRing | Callable[[], KeyRing]) -> DataConverter:
    """The pydantic data converter with every payload sealed under `ring` (tests pass their own)."""
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(ring))


# Sealed under the process's key ring (PARLEY_ENCRYPTION_KEYS, else the development key), read from settings
# on the first payload, not at import: importing this module reads no settings.
DATA_CONVERTER: DataConverter = data_converter(keyring)


async def connect(address: str, namespace: str) -> Client:
    return await Client.connect(address, namespace=namespace, data_converter=DATA_CONVERTER)
