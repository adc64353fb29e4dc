"""The figures `/metrics` reads from PostgreSQL when Prometheus scrapes (docs/observability.md): each queue's
waiting tasks and the age of its oldest, and the outbox's backlog and dead letters.

Cheap on purpose, since a scrape comes every few seconds: the queue figures walk `task_queues` (small) and, per
queue, the `ix_tasks_queue_status` index for its pending and reserved tasks only; the outbox figures read the
partial indexes of undispatched (`ix_outbox_due`) and dead (`ix_outbox_dead`) rows, never the dispatched
history. They are the whole system's, whatever process serves them."""

from __future__ import annotations

from dataclasses import dataclass

from domain.states import TaskStatus
from storage.db import UnitOfWork


@dataclass(frozen=True, slots=True)
class QueueFigures:
    workspace_sid: str
    task_queue_sid: str
    pending: int
    reserved: int
    # Seconds since the oldest pending task entered the queue (0 when none waits).
    oldest_pending_age: float


@dataclass(frozen=True, slots=True)
class OutboxFigures:
    pending: int
    # Seconds since the oldest row not yet dispatched (nor dead) was written: how far behind dispatch is.
    oldest_pending_age: float
    dead_letters: int


_QUEUES = """
SELECT q.workspace_sid, q.sid AS task_queue_sid,
       count(t.sid) FILTER (WHERE t.assignment_status = %(pending)s) AS pending,
       count(t.sid) FILTER (WHERE t.assignment_status = %(reserved)s) AS reserved,
       COALESCE(extract(epoch FROM clock_timestamp() - min(COALESCE(t.task_queue_entered_date, t.date_created))
                                  FILTER (WHERE t.assignment_status = %(pending)s)), 0)::float8 AS oldest_pending_age
  FROM task_queues q
  LEFT JOIN tasks t ON t.task_queue_sid = q.sid AND t.assignment_status IN (%(pending)s, %(reserved)s)
 GROUP BY q.workspace_sid, q.sid
 ORDER BY q.workspace_sid, q.sid
"""

_OUTBOX = """
SELECT (SELECT count(*) FROM outbox WHERE dispatched_at IS NULL AND dead_at IS NULL) AS pending,
       (SELECT COALESCE(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8
          FROM outbox WHERE dispatched_at IS NULL AND dead_at IS NULL) AS oldest_pending_age,
       (SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL) AS dead_letters
"""


async def queue_figures(uow: UnitOfWork) -> list[QueueFigures]:
    rows = await uow.fetchall(_QUEUES, {"pending": TaskStatus.PENDING.value, "reserved": TaskStatus.RESERVED.value})
    return [
        QueueFigures(
            workspace_sid=row["workspace_sid"],
            task_queue_sid=row["task_queue_sid"],
            pending=int(row["pending"]),
            reserved=int(row["reserved"]),
            oldest_pending_age=max(0.0, float(row["oldest_pending_age"])),
        )
        for row in rows
    ]


async def outbox_figures(uow: UnitOfWork) -> OutboxFigures:
    row = await uow.fetchone(_OUTBOX)
    assert row is not None
    return OutboxFigures(
        pending=int(row["pending"]),
        oldest_pending_age=max(0.0, float(row["oldest_pending_age"])),
        dead_letters=int(row["dead_letters"]),
    )
