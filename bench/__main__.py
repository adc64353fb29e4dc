"""`python -m bench`: start Parley and its engines, measure the engine floors and the scenarios, print a table
and write bench/RESULTS.md. See bench/README.md."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import channels, conversations, floor, report, scenarios, taskrouter
from bench.cpu import CpuMeter
from bench.harness import Services, start_services
from bench.stats import Figure


@dataclass(frozen=True)
class Options:
    messages: int
    conversations: int
    customers: int
    signals: int  # signals at concurrency 50 for the Temporal floor; a fifth of it alone and signal-with-start
    routing_alone: int  # customers routed one at a time before the burst
    tr_workers: int  # TaskRouter scale: agents on sockets
    tr_tasks: int  # TaskRouter scale: tasks in the burst and in the stream
    tr_rate: float  # TaskRouter scale: tasks per second in the stream
    sms_customers: int  # channels: customers texting at once
    sms_messages: int  # channels: messages in, then as many replies out
    only: str | None  # run just this part ("chat", "taskrouter" or "channels") after the floors
    write: bool


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--messages", type=int, help="chat messages sent in total (default 5000; quick 100)")
    parser.add_argument("--conversations", type=int, help="concurrent conversations (default 50; quick 10)")
    parser.add_argument("--customers", type=int, help="customers routed at once (default 40; quick 10)")
    parser.add_argument("--tr-workers", type=int, help="TaskRouter agents on sockets (default 200; quick 10)")
    parser.add_argument("--tr-tasks", type=int, help="TaskRouter tasks per burst and stream (default 2000; quick 40)")
    parser.add_argument("--tr-rate", type=float, help="TaskRouter stream: tasks per second (default 20; quick 10)")
    parser.add_argument("--sms-customers", type=int, help="channels: customers texting at once (default 20; quick 5)")
    parser.add_argument("--sms-messages", type=int, help="channels: SMS in, and replies out (default 1000; quick 50)")
    parser.add_argument(
        "--only", choices=["chat", "taskrouter", "channels"], help="after the floors, run only this part"
    )
    parser.add_argument("--quick", action="store_true", help="a small run for a smoke check; prints only")
    parser.add_argument(
        "--write",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write bench/RESULTS.md (default: yes, except with --quick)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    options = Options(
        messages=args.messages or (100 if quick else 5000),
        conversations=args.conversations or (10 if quick else 50),
        customers=args.customers or (10 if quick else 40),
        signals=100 if quick else 2000,
        routing_alone=2 if quick else 10,
        tr_workers=args.tr_workers or (10 if quick else 200),
        tr_tasks=args.tr_tasks or (40 if quick else 2000),
        tr_rate=args.tr_rate or (10.0 if quick else 20.0),
        sms_customers=args.sms_customers or (5 if quick else 20),
        sms_messages=args.sms_messages or (50 if quick else 1000),
        only=args.only,
        write=args.write if args.write is not None else not quick,
    )
    if min(options.messages, options.conversations, options.customers) < 1:
        parser.error("--messages, --conversations and --customers must be positive")
    if options.sms_messages < options.sms_customers:
        parser.error("--sms-messages must be at least --sms-customers")
    if options.messages < options.conversations:
        parser.error("--messages must be at least --conversations (every conversation sends one or more)")
    return options


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


async def run(options: Options) -> tuple[list[Figure], dict[str, str]]:
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as workdir:
        log("starting PostgreSQL database, Temporal dev server, api and worker")
        async with start_services(Path(workdir)) as services:
            info = await asyncio.to_thread(report.machine, services.database_url)
            meter = services.meter()
            figures: list[Figure] = []
            log(f"engine floor: PostgreSQL, {options.messages} tx at {options.conversations} concurrent")
            figures.append(
                await floor.postgres_transaction(
                    services.database_url, meter, concurrency=options.conversations, ops=options.messages
                )
            )
            log(f"engine floor: Temporal signals ({options.signals} at 50 concurrent) and signal-with-start")
            figures += await floor.temporal_signals(
                services.temporal,
                meter,
                alone=options.signals // 5,
                concurrent=options.signals,
                starts=options.signals // 5,
            )
            auth = (services.credentials.account_sid, services.credentials.auth_token)
            async with httpx.AsyncClient(base_url=services.base_url, auth=auth, timeout=60) as admin:
                if options.only in (None, "chat"):
                    figures += await _chat_and_conversations(services, admin, meter, options)
                if options.only in (None, "channels"):
                    log(f"channels: {options.sms_messages} SMS in from {options.sms_customers} customers, as many out")
                    figures += await channels.sms(
                        services, admin, meter, customers=options.sms_customers, messages=options.sms_messages
                    )
                if options.only in (None, "taskrouter"):
                    log(
                        f"taskrouter: {options.tr_tasks} tasks onto {options.tr_workers} agents, as a burst and "
                        f"at {options.tr_rate:g}/s"
                    )
                    figures += await taskrouter.taskrouter(
                        services,
                        admin,
                        meter,
                        workers=options.tr_workers,
                        tasks=options.tr_tasks,
                        rate=options.tr_rate,
                    )
    return figures, info


async def _chat_and_conversations(
    services: Services, admin: httpx.AsyncClient, meter: CpuMeter, options: Options
) -> list[Figure]:
    figures: list[Figure] = []
    log(f"chat: {options.conversations} conversations, {options.messages} messages")
    figures += await scenarios.chat(
        services, admin, meter, conversations=options.conversations, messages=options.messages
    )
    log(f"conversations: REST create, fan-out to {conversations.FANOUT_SIZES} sockets, webhook lag")
    figures.append(
        await conversations.rest_messages(
            services, admin, meter, conversations=options.conversations, messages=options.messages // 2
        )
    )
    figures += await conversations.fanout(services, admin, meter, messages=options.messages // 20)
    figures.append(await conversations.webhook_lag(services, admin, meter, messages=max(options.messages // 20, 50)))
    log(f"routing: {options.routing_alone} customers one by one, then {options.customers} at once")
    figures += await scenarios.routing(services, admin, meter, customers=options.customers, alone=options.routing_alone)
    return figures


def main(argv: list[str]) -> None:
    options = parse(argv)
    started = time.perf_counter()
    figures, info = asyncio.run(run(options))
    seconds = time.perf_counter() - started
    print(report.table(figures))
    print()
    print(report.reading(figures))
    if options.write:
        command = shlex.join(["python", "-m", "bench", *argv])
        path = report.write_results(report.render(figures, info, command, seconds))
        log(f"wrote {path}")
    log(f"done in {seconds:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
    # Skip interpreter teardown: the Temporal client's Rust threads can abort it ("PyGILState_Release:
    # thread state … must be current when releasing", temporalio/sdk-python#300). All is stopped by now.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
