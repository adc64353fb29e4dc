"""Waiting for a condition that another process makes true (a workflow's state, a row written by the worker)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], *, timeout: float = 20.0, what: str = "") -> T:
    """Re-evaluate `probe` until it returns a truthy value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}; last value: {last!r}")
