"""`python -m workers`: run Parley's Temporal worker until SIGINT/SIGTERM, then shut down gracefully."""

from __future__ import annotations

import asyncio
import signal

from core.logging import configure_logging
from core.settings import get_settings
from core.temporal import connect
from storage.db import Database
from workers.build import build_worker, ensure_sweeper_schedule


async def main() -> None:
    configure_logging()
    settings = get_settings()
    db = Database(settings.database_url, max_size=settings.db_pool_size)
    await db.open()
    client = await connect(settings.temporal_address, settings.temporal_namespace)
    worker = build_worker(client, db, settings)
    await ensure_sweeper_schedule(client, task_queue=settings.task_queue)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        await stop.wait()
    await db.close()


if __name__ == "__main__":
    asyncio.run(main())
