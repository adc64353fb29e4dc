"""Where message media's bytes live, behind a small interface: the local filesystem by default (an object
store would implement the same three calls). Keys are media SIDs; a write is atomic (temp file, rename), so a
crash never leaves half a file under a SID."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import tempfile
import time
from pathlib import Path
from typing import Protocol

from core.keys import KeyPurpose, KeyRing


class MediaStore(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> None: ...


class LocalMediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError(f"not a media key: {key!r}")
        return self.root / key[2:4] / key

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


# --- temporary links: what a channel provider fetches an outbound attachment from ---------------------------


def temporary_path(service_sid: str, media_sid: str) -> str:
    return f"/mcs/v1/Services/{service_sid}/Media/{media_sid}/Content/Temporary"


def _link_signature(ring: KeyRing, media_sid: str, expires: int) -> str:
    key = ring.derived(KeyPurpose.MEDIA_LINKS)
    return hmac.new(key, f"{media_sid}:{expires}".encode(), hashlib.sha256).hexdigest()


def temporary_link(ring: KeyRing, *, base_url: str, service_sid: str, media_sid: str, ttl: int) -> str:
    """A URL that serves one media file without credentials until it expires (Twilio's
    `content_direct_temporary`): a provider fetching an MMS or WhatsApp image has no Parley credentials."""
    expires = int(time.time()) + ttl
    signature = _link_signature(ring, media_sid, expires)
    return f"{base_url}{temporary_path(service_sid, media_sid)}?Expires={expires}&Signature={signature}"


def link_valid(ring: KeyRing, *, media_sid: str, expires: int, signature: str) -> bool:
    if expires < time.time():
        return False
    # Bytes, not str: compare_digest refuses a str with non-ASCII characters (a forged query can hold any).
    return hmac.compare_digest(_link_signature(ring, media_sid, expires).encode(), signature.encode("utf-8", "replace"))
