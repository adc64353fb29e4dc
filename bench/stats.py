"""A measured figure (operations, wall time, concurrency, latencies, CPU) and the closed loop behind most."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.cpu import CpuMeter


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for an empty list."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


@dataclass
class Figure:
    key: str
    label: str
    concurrency: str
    ops: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # process name -> share of one core over `seconds`
    floor: str | None = None  # key of the engine-floor figure this one is compared with
    expected: int | None = None  # operations attempted, when some may not have completed

    @property
    def throughput(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else math.nan

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)


@dataclass
class Run:
    seconds: float
    latencies_ms: list[float]
    cpu: dict[str, float]


async def closed_loop(concurrency: int, ops: int, op: Callable[[int, int], Awaitable[None]], meter: CpuMeter) -> Run:
    """`concurrency` loops share `ops` operations; loop i runs op(i, j) for its j-th one, one at a time."""
    latencies: list[float] = []

    async def loop(i: int) -> None:
        for j in range(ops // concurrency + (1 if i < ops % concurrency else 0)):
            started = time.perf_counter()
            await op(i, j)
            latencies.append((time.perf_counter() - started) * 1000)

    meter.restart()
    started = time.perf_counter()
    await asyncio.gather(*(loop(i) for i in range(concurrency)))
    seconds = time.perf_counter() - started
    return Run(seconds, latencies, meter.since(seconds))
