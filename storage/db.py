"""Database access: one psycopg async pool and a unit of work that collects after-commit side effects.

Every state change is one transaction. Side effects that must outlive it (signalling a workflow) are written
as typed outbox commands in the same transaction; real-time events are appended to `realtime_events` and
announced with NOTIFY, which PostgreSQL delivers only on commit. After commit the unit of work hands its
outbox ids to the dispatcher so the common case needs no sweeper round trip.

A PostgreSQL that does not answer is DatabaseUnavailable (a 503 with Retry-After at the api's edge), never a
hang: a connection is waited for at most `acquire_timeout` seconds, and a connection lost mid-request fails
that request at once (the pool then re-checks its idle connections and reconnects by itself)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from psycopg import AsyncConnection, OperationalError
from psycopg.rows import DictRow, class_row, dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from pydantic import BaseModel

from domain.errors import DependencyUnavailable, NotFound
from domain.limits import DB_BACKGROUND_ACQUIRE_TIMEOUT, DB_RECONNECT_TIMEOUT
from domain.outbox import OutboxCommand
from domain.realtime import StreamEvent
from domain.sids import SidPrefix
from storage import crypto

NOTIFY_CHANNEL = "parley_events"
# A stream's sequence counter lives on its row: conversations for CH… streams, workers for WK… streams.
_STREAM_TABLES = {SidPrefix.CONVERSATION: "conversations", SidPrefix.WORKER: "workers"}

AfterCommit = Callable[[list[int]], Awaitable[None]]
M = TypeVar("M", bound=BaseModel)
# SQLSTATEs of a server that is going away or cannot take a connection (besides class 08, connection exceptions).
_SERVER_GONE = {"57P01", "57P02", "57P03", "53300"}

log = logging.getLogger(__name__)


class DatabaseUnavailable(DependencyUnavailable):
    """PostgreSQL does not answer, or gave no connection in time: the unit of work did not happen."""

    def __init__(self, message: str) -> None:
        super().__init__("postgres", message)


def connection_lost(exc: BaseException) -> bool:
    """Whether a psycopg error means the server is unreachable or the connection broke (rather than the
    statement failing: a constraint, a deadlock, a canceled query)."""
    if not isinstance(exc, OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in _SERVER_GONE


class UnitOfWork:
    def __init__(self, conn: AsyncConnection[DictRow]) -> None:
        self.conn = conn
        self.outbox_ids: list[int] = []
        self.now = datetime.now(UTC)

    async def fetchone(self, sql: str, params: Any = None) -> dict[str, Any] | None:
        cur = await self.conn.execute(sql, params)
        return await cur.fetchone()

    async def fetchall(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        cur = await self.conn.execute(sql, params)
        return await cur.fetchall()

    async def execute(self, sql: str, params: Any = None) -> int:
        cur = await self.conn.execute(sql, params)
        return cur.rowcount

    async def one(self, model: type[M], sql: str, params: Any = None) -> M | None:
        """The first row as a typed row model (None if there is none)."""
        async with self.conn.cursor(row_factory=class_row(model)) as cur:
            await cur.execute(sql, params)
            return await cur.fetchone()

    async def found(self, model: type[M], sql: str, params: Any = None, *, resource: str) -> M:
        """The first row, or Twilio's 404 for `resource` (its path, e.g. `/Workspaces/WS…`) if there is none."""
        row = await self.one(model, sql, params)
        if row is None:
            raise NotFound.resource(resource)
        return row

    async def all(self, model: type[M], sql: str, params: Any = None) -> list[M]:
        async with self.conn.cursor(row_factory=class_row(model)) as cur:
            await cur.execute(sql, params)
            return await cur.fetchall()

    async def outbox(self, command: OutboxCommand, *, dedupe_key: str) -> None:
        """Record a side effect to run after commit; the dedupe key makes re-recording it harmless. Re-recorded
        while still undispatched (a retried step whose first try committed, and whose process died before the
        hand-off), it is handed on again after this commit rather than left for the sweeper: every command's
        receiver de-duplicates (core/outbox.py)."""
        row = await self.fetchone(
            "INSERT INTO outbox (account_sid, kind, dedupe_key, payload) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (dedupe_key) DO UPDATE SET dedupe_key = EXCLUDED.dedupe_key "
            "WHERE outbox.dispatched_at IS NULL AND outbox.dead_at IS NULL RETURNING id",
            (
                command.account_sid,
                command.type,
                dedupe_key,
                Jsonb(await crypto.seal_document(self, command.account_sid, command.model_dump(mode="json"))),
            ),
        )
        if row is not None:
            self.outbox_ids.append(row["id"])

    async def publish(self, *, account_sid: str, stream: str, type: StreamEvent, data: dict[str, Any]) -> int:
        """Append a real-time event to a conversation (CH…) or worker (WK…) stream; returns its seq."""
        table = _STREAM_TABLES.get(stream[:2])  # type: ignore[call-overload]
        if table is None:
            raise ValueError(f"{stream} is not a conversation or worker stream")
        row = await self.fetchone(
            f"UPDATE {table} SET last_event_seq = last_event_seq + 1 WHERE sid = %s RETURNING last_event_seq",
            (stream,),
        )
        if row is None:
            raise LookupError(stream)
        seq = int(row["last_event_seq"])
        await self.execute(
            "INSERT INTO realtime_events (account_sid, stream, seq, type, data) VALUES (%s, %s, %s, %s, %s)",
            (account_sid, stream, seq, type.value, Jsonb(await crypto.sealed_values(self, account_sid, data))),
        )
        await self.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, json.dumps({"stream": stream, "seq": seq})))
        return seq


class Database:
    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 16,
        acquire_timeout: float = DB_BACKGROUND_ACQUIRE_TIMEOUT,
    ) -> None:
        self.url = url
        self.acquire_timeout = acquire_timeout
        crypto.use_database(url)
        self.pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            kwargs={"row_factory": dict_row},
            connection_class=AsyncConnection[DictRow],
            timeout=acquire_timeout,
            reconnect_timeout=DB_RECONNECT_TIMEOUT,
        )
        self.after_commit: AfterCommit | None = None
        self._recheck: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=30)

    async def close(self) -> None:
        if self._recheck is not None:
            self._recheck.cancel()
        await self.pool.close()

    async def ping(self) -> None:
        async with self._connection() as conn:
            await conn.execute("SELECT 1")

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[UnitOfWork]:
        async with self._connection() as conn:
            async with conn.transaction():
                uow = UnitOfWork(conn)
                yield uow
        if uow.outbox_ids and self.after_commit is not None:
            await self.after_commit(uow.outbox_ids)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[UnitOfWork]:
        async with self._connection() as conn:
            yield UnitOfWork(conn)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection[DictRow]]:
        """A pooled connection, or DatabaseUnavailable: none within `acquire_timeout`, or it broke while in use."""
        try:
            async with self.pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise DatabaseUnavailable(
                f"PostgreSQL gave no connection within {self.acquire_timeout:g} s (down, or every connection busy)"
            ) from exc
        except OperationalError as exc:
            if not connection_lost(exc):
                raise
            self._check_idle_connections()
            raise DatabaseUnavailable(f"PostgreSQL connection lost: {exc}") from exc

    def _check_idle_connections(self) -> None:
        """One connection broke: the idle ones likely did too (a restart, a network cut). Test them in the
        background so the next requests wait for fresh connections instead of each failing on a dead one."""
        if self._recheck is not None and not self._recheck.done():
            return
        self._recheck = asyncio.get_running_loop().create_task(self._check_pool())

    async def _check_pool(self) -> None:
        try:
            await self.pool.check()
        except Exception as exc:  # a closing pool; nothing to repair
            log.debug("pool check failed: %s", exc)
