"""The outbox's bookkeeping: which rows are due, marking them dispatched, backing a failing row off and
dead-lettering it after OUTBOX_MAX_ATTEMPTS, and the admin's view of dead letters.

A row that keeps failing moves its `next_attempt_at` ever later (exponential backoff), so the sweeper, which
takes the rows due soonest, never starves newer rows behind old poison ones."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from domain.limits import OUTBOX_BACKOFF_INITIAL, OUTBOX_BACKOFF_MAX, OUTBOX_MAX_ATTEMPTS, OUTBOX_REDRIVE_BATCH
from storage.db import UnitOfWork
from storage.outbox.tables import OutboxRow
from storage.paging import Page, PageRequest, fetch_page

log = logging.getLogger(__name__)
ERROR_TEXT_LIMIT = 500


def backoff_seconds(attempts: int) -> float:
    """Delay before the next try of a row that has failed `attempts` times (1 s, 2 s, 4 s, … capped)."""
    return min(OUTBOX_BACKOFF_INITIAL * 2 ** max(attempts - 1, 0), OUTBOX_BACKOFF_MAX)


async def undispatched(uow: UnitOfWork, ids: list[int]) -> list[OutboxRow]:
    return await uow.all(
        OutboxRow,
        "SELECT * FROM outbox WHERE id = ANY(%s) AND dispatched_at IS NULL AND dead_at IS NULL ORDER BY id",
        (ids,),
    )


async def due(uow: UnitOfWork, *, older_than_seconds: float, limit: int = OUTBOX_REDRIVE_BATCH) -> list[OutboxRow]:
    """Rows whose after-commit hand-off did not happen (older than the grace period) or whose backoff is over."""
    return await uow.all(
        OutboxRow,
        "SELECT * FROM outbox WHERE dispatched_at IS NULL AND dead_at IS NULL AND next_attempt_at <= now() "
        "AND created_at < now() - make_interval(secs => %s) ORDER BY next_attempt_at, id LIMIT %s",
        (older_than_seconds, limit),
    )


async def mark_dispatched(uow: UnitOfWork, row_id: int) -> None:
    await uow.execute("UPDATE outbox SET dispatched_at = now(), attempts = attempts + 1 WHERE id = %s", (row_id,))


async def record_failure(uow: UnitOfWork, row: OutboxRow, error: str, *, retryable: bool) -> bool:
    """Count a failed attempt; back off, or dead-letter the row. Returns True when the row is now dead."""
    attempts = row.attempts + 1
    dead = not retryable or attempts >= OUTBOX_MAX_ATTEMPTS
    await uow.execute(
        "UPDATE outbox SET attempts = %s, last_error = %s, "
        "next_attempt_at = now() + make_interval(secs => %s), dead_at = CASE WHEN %s THEN now() END WHERE id = %s",
        (attempts, error[:ERROR_TEXT_LIMIT], backoff_seconds(attempts), dead, row.id),
    )
    if dead:
        log.error(
            "outbox row %s (%s, %s) dead-lettered after %d attempt(s): %s",
            row.id,
            row.kind,
            row.dedupe_key,
            attempts,
            error[:ERROR_TEXT_LIMIT],
        )
    return dead


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int
    dead_letters: int


async def stats(uow: UnitOfWork, *, account_sid: str | None = None) -> OutboxStats:
    row = await uow.fetchone(
        "SELECT count(*) FILTER (WHERE dispatched_at IS NULL AND dead_at IS NULL) AS pending, "
        "count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead FROM outbox "
        "WHERE (%s::text IS NULL OR account_sid = %s)",
        (account_sid, account_sid),
    )
    assert row is not None
    return OutboxStats(pending=int(row["pending"]), dead_letters=int(row["dead"]))


async def dead_letters(uow: UnitOfWork, *, account_sid: str, page: PageRequest) -> Page[OutboxRow]:
    return await fetch_page(
        uow,
        OutboxRow,
        "SELECT * FROM outbox WHERE account_sid = %s AND dead_at IS NOT NULL ORDER BY dead_at DESC, id DESC",
        (account_sid,),
        page,
    )


async def requeue(uow: UnitOfWork, *, account_sid: str, row_id: int) -> OutboxRow:
    """Give a dead letter a fresh start (after fixing what made it fail); the sweeper picks it up next."""
    return await uow.found(
        OutboxRow,
        "UPDATE outbox SET dead_at = NULL, attempts = 0, next_attempt_at = now(), "
        "created_at = LEAST(created_at, now() - interval '1 hour') "
        "WHERE id = %s AND account_sid = %s AND dead_at IS NOT NULL RETURNING *",
        (row_id, account_sid),
        resource=f"/Outbox/DeadLetters/{row_id}",
    )
