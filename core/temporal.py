"""The one place where Parley's Temporal data converter and client are defined (api, workers, replayer, tests):
pydantic models as JSON, every payload and memo sealed by the encryption codec (core/codec.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime

from core.codec import EncryptionCodec
from core.keys import KeyRing, keyring


def data_converter(ring: KeyRing | Callable[[], KeyRing]) -> DataConverter:
    """The pydantic data converter with every payload sealed under `ring` (tests pass their own)."""
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(ring))


# Sealed under the process's key ring (PARLEY_ENCRYPTION_KEYS, else the development key), read from settings
# on the first payload, not at import: importing this module reads no settings.
DATA_CONVERTER: DataConverter = data_converter(keyring)


# The Temporal dev server's SQLite file (make dev, the bench) in WAL mode without a sync per commit: its default
# (rollback journal, full sync) spends most of the server's time in fsync and halves what it carries (measured:
# a workflow with a local activity and a child, 50 at once, 9/s → 17/s). A crash of the machine may lose the
# last transactions of a development server; tests use an in-memory store.
DEV_SERVER_SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


def dev_server_sqlite_args() -> list[str]:
    """`temporal server start-dev` arguments that set DEV_SERVER_SQLITE_PRAGMAS."""
    return [arg for pragma in DEV_SERVER_SQLITE_PRAGMAS for arg in ("--sqlite-pragma", pragma)]


async def connect(address: str, namespace: str, *, runtime: Runtime | None = None) -> Client:
    """A client with Parley's data converter; `runtime` is the worker's when it exports the SDK's metrics."""
    return await Client.connect(address, namespace=namespace, data_converter=DATA_CONVERTER, runtime=runtime)
