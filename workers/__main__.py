"""`python -m workers`: run Parley's Temporal worker until SIGINT/SIGTERM, then shut down gracefully."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta

from core.logging import configure_logging
from core.settings import get_settings
from core.temporal import connect
from storage.db import Database
from workers.build import build_worker, ensure_sweeper
from workers.metrics import serve_worker_metrics


async def main() -> None:
    configure_logging()
    settings = get_settings()
    db = Database(settings.database_url, max_size=settings.db_pool_size)
    await db.open()
    runtime = None
    if settings.worker_metrics_port is not None:
        runtime = serve_worker_metrics(settings.host, settings.worker_metrics_port)
    client = await connect(settings.temporal_address, settings.temporal_namespace, runtime=runtime)
    worker = build_worker(client, db, settings)
    await ensure_sweeper(
        client, task_queue=settings.task_queue, every=timedelta(seconds=settings.outbox_sweep_interval)
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        await stop.wait()
    await db.close()


if __name__ == "__main__":
    asyncio.run(main())
    # temporalio's core can abort the interpreter during finalization after a clean shutdown
    # (sdk-python#300); everything is closed by now, so leave without running finalizers.
    os._exit(0)
