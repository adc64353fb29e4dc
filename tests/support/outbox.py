"""Reading the outbox as the dispatcher does: payloads are sealed at rest, the row model opens them."""

from __future__ import annotations

from typing import Any

from storage.db import UnitOfWork
from storage.outbox.tables import OutboxRow


async def deliveries(q: UnitOfWork, **match: str) -> list[dict[str, Any]]:
    """The webhook deliveries recorded, oldest first, whose `delivery` fields equal `match`."""
    rows = await q.all(OutboxRow, "SELECT * FROM outbox WHERE kind = 'deliver_webhook' ORDER BY id")
    found = [row.payload["delivery"] for row in rows]
    return [d for d in found if all(d.get(k) == v for k, v in match.items())]


async def payloads(q: UnitOfWork, ids: list[int]) -> list[dict[str, Any]]:
    return [
        row.payload for row in await q.all(OutboxRow, "SELECT * FROM outbox WHERE id = ANY(%s) ORDER BY id", (ids,))
    ]
