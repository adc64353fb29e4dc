"""The machine, the figures as a table (each beside its engine floor), and bench/RESULTS.md."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.stats import Figure
from tests.support.services import temporal_binary

RESULTS = Path(__file__).parent / "RESULTS.md"


def machine(database_url: str) -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    meminfo = Path("/proc/meminfo").read_text().split()
    ram_gib = int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    temporal = subprocess.run([temporal_binary(), "--version"], capture_output=True, text=True, check=False)
    return {
        "nproc": str(os.cpu_count()),
        "CPU": model,
        "RAM": f"{ram_gib:.1f} GiB",
        "Python": platform.python_version(),
        "PostgreSQL": row[0] if row else "unknown",
        "Temporal CLI": temporal.stdout.strip() or temporal.stderr.strip(),
    }


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


SHORT = {
    "pg": "PG tx",
    "signal1": "signal alone",
    "signal": "signal x50",
    "sws": "signal-with-start x50",
    "routefloor": "workflow + local activity + child x50",
}
CPU_ORDER = ("api", "worker", "temporal", "postgres", "client", "machine")


def _cpu(figure: Figure) -> str:
    return " / ".join(f"{100 * figure.cpu[name]:.0f}" if name in figure.cpu else "?" for name in CPU_ORDER)


def table(figures: list[Figure]) -> str:
    by_key = {f.key: f for f in figures}
    lines = [
        "| scenario | concurrency | ops | ops/s | p50 ms | p99 ms | engine floor (ops/s, p50 / p99 ms) "
        "| CPU % of a core: api / worker / temporal / postgres / client / all |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for f in figures:
        floor = by_key.get(f.floor or "")
        beside = f"{SHORT[floor.key]}: {floor.throughput:.0f}/s, {_ms(floor.p50)} / {_ms(floor.p99)}" if floor else "—"
        ops = f"{f.ops} of {f.expected}" if f.expected is not None and f.expected != f.ops else str(f.ops)
        lines.append(
            f"| {f.label} | {f.concurrency} | {ops} | {f.throughput:.0f} | {_ms(f.p50)} | {_ms(f.p99)} "
            f"| {beside} | {_cpu(f)} |"
        )
    return "\n".join(lines)


READING = """
A chat message reaches the agent's socket in {message_p50} ms p50 ({message_p99} ms p99), {ratio:.1f} times
the bare PostgreSQL transaction of the same shape at the same concurrency ({pg_p50} ms p50); {ack_p50} ms of
it is send→ack (WebSocket frame, token and participant checks, the transaction) and the rest the fan-out
(NOTIFY → LISTEN → read of the event and message rows → push to both sockets). Delivery runs at
{message_rate:.0f} msg/s, {share:.0f}% of the bare transaction's {pg_rate:.0f}/s, and costs the api
{api_ms:.2f} ms of CPU per message while PostgreSQL spends {pg_ms:.2f} ms per bare transaction: the message
path is bounded by the api's Python work (about {api_ceiling:.0f} msg/s per api core), not by PostgreSQL,
and scales with api processes (each LISTENs). A bare Temporal signal costs {signal1_p50} ms alone and
saturates at {signal_rate:.0f}/s ({signal_p50} ms p50) with 50 senders (§3: ~170/s, 8 ms): a workflow round
trip per message would add at least that and cap chat below Temporal's ceiling, shared with routing, which
is what §3's decision (a message is one Postgres transaction, Temporal only for what must outlive it)
avoids. Routing is where Temporal is paid, once per conversation: one chat alone takes {routing1_p50} ms p50
(signal-with-start of the channel workflow, a local activity, a child task workflow, two local routing activities and
the matching transaction; a bare signal-with-start costs {sws_p50} ms p50 at 50 concurrent, {sws_rate:.0f}/s),
and {burst} chats arriving at once queue to {routing_p50} ms p50 ({routing_p99} ms p99), {routing_rate:.1f}
chats/s, behind the one worker process and the per-workspace matching lock (§4).
"""


def cpu_ms_per_op(figure: Figure, process: str) -> float:
    return 1000 * figure.cpu.get(process, math.nan) / figure.throughput


TASKROUTER_READING = """
TaskRouter at scale: {burst_tasks} tasks created through REST at once reach their agents' sockets in
{burst_p50} ms p50 ({burst_p99} ms p99), {burst_rate:.1f} tasks routed/s; as a steady stream of
{stream_rate_in:g}/s they take {stream_p50} ms p50 ({stream_p99} ms p99), {stream_rate:.1f}/s. A bare Temporal
workflow of the same shape (one local activity, one child started) runs at {floor_rate:.0f}/s ({floor_p50} ms
p50) at 50 concurrent: the burst routes at {share:.0f}% of that floor.
"""


def taskrouter_reading(f: dict[str, Figure]) -> str:
    burst, stream, floor = f["trburst"], f["trstream"], f["routefloor"]
    rate = stream.concurrency.split(" at ", 1)[1].split("/s", 1)[0] if " at " in stream.concurrency else "?"
    text = TASKROUTER_READING.format(
        burst_tasks=burst.expected,
        burst_p50=_ms(burst.p50),
        burst_p99=_ms(burst.p99),
        burst_rate=burst.throughput,
        stream_rate_in=float(rate) if rate != "?" else math.nan,
        stream_p50=_ms(stream.p50),
        stream_p99=_ms(stream.p99),
        stream_rate=stream.throughput,
        floor_rate=floor.throughput,
        floor_p50=_ms(floor.p50),
        share=100 * burst.throughput / floor.throughput,
    )
    return " ".join(text.split())


def reading(figures: list[Figure]) -> str:
    """What the figures mean against ARCHITECTURE §3, with this run's numbers (the parts this run measured)."""
    f = {figure.key: figure for figure in figures}
    parts = []
    if {"message", "routing"} <= f.keys():
        parts.append(_chat_reading(f))
    if {"trburst", "trstream", "routefloor"} <= f.keys():
        parts.append(taskrouter_reading(f))
    return "\n\n".join(parts)


def _chat_reading(f: dict[str, Figure]) -> str:
    pg, message, routing = f["pg"], f["message"], f["routing"]
    api_ms = cpu_ms_per_op(message, "api")
    text = READING.format(
        message_p50=_ms(message.p50),
        message_p99=_ms(message.p99),
        ratio=message.p50 / pg.p50,
        pg_p50=_ms(pg.p50),
        ack_p50=_ms(f["ack"].p50),
        message_rate=message.throughput,
        share=100 * message.throughput / pg.throughput,
        pg_rate=pg.throughput,
        api_ms=api_ms,
        pg_ms=cpu_ms_per_op(pg, "postgres"),
        api_ceiling=1000 / api_ms,
        signal1_p50=_ms(f["signal1"].p50),
        signal_rate=f["signal"].throughput,
        signal_p50=_ms(f["signal"].p50),
        routing1_p50=_ms(f["routing1"].p50),
        sws_p50=_ms(f["sws"].p50),
        sws_rate=f["sws"].throughput,
        burst=routing.expected,
        routing_p50=_ms(routing.p50),
        routing_p99=_ms(routing.p99),
        routing_rate=routing.throughput,
    )
    return " ".join(text.split())


def render(figures: list[Figure], info: dict[str, str], command: str, seconds: float) -> str:
    machine_lines = "\n".join(f"- **{k}**: {v}" for k, v in info.items())
    return (
        "# Parley benchmark results\n\n"
        "Written by `python -m bench` (see `bench/README.md`); each run replaces this file.\n\n"
        f"- **Date**: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}\n"
        f"- **Command**: `{command}` (whole run {seconds:.0f} s)\n"
        f"{machine_lines}\n"
        "- **Setup**: every process on this machine over loopback — Temporal dev server (SQLite file), "
        "PostgreSQL, Parley api and worker (one process each), and the benchmark client with its own "
        "Temporal worker for the floor workflows.\n\n"
        "Latencies are per operation; throughput is completed operations over the scenario's wall time "
        "(first send to last arrival). The engine-floor rows are measured in the same run, on the same "
        "servers.\n\n"
        f"{table(figures)}\n\n"
        "## Reading\n\n"
        f"{reading(figures)}\n"
    )


HISTORY_HEADING = "## History"


def write_results(text: str) -> Path:
    """Replace the figures but keep the hand-kept history of changes and their effect at the end."""
    history = ""
    if RESULTS.exists():
        previous = RESULTS.read_text()
        if HISTORY_HEADING in previous:
            history = "\n" + previous[previous.index(HISTORY_HEADING) :]
    RESULTS.write_text(text.rstrip("\n") + "\n" + history)
    return RESULTS
