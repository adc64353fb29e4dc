"""The outbox cannot wedge: a row that can never be dispatched is dead-lettered at once, a failing one backs off
and is dead-lettered after OUTBOX_MAX_ATTEMPTS, and neither holds up newer rows. In a database of its own, so
the running worker's sweeper does not take these rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import get_args

import pytest
from psycopg.types.json import Jsonb
from temporalio.client import Client

from core.outbox import OutboxDispatcher, dispatchable_types
from core.temporal import DATA_CONVERTER
from domain.limits import OUTBOX_MAX_ATTEMPTS
from domain.outbox import OutboxCommand, SignalTaskWorkflow
from domain.routing.signals import RoutingEvent, RoutingEventKind
from domain.sids import SidPrefix, new_sid
from storage.accounts.service import create_account
from storage.db import Database
from storage.migrate import upgrade
from storage.outbox import service as outbox
from storage.outbox.tables import OutboxRow
from tests.support.services import admin_database_url, create_database, drop_database, free_port


@pytest.fixture(scope="module")
async def own_db() -> AsyncIterator[Database]:
    admin = admin_database_url()
    url = create_database(admin)
    upgrade(url)
    database = Database(url, max_size=4)
    await database.open()
    yield database
    await database.close()
    drop_database(admin, url)


@pytest.fixture(scope="module")
async def account_sid(own_db: Database) -> str:
    async with own_db.unit() as uow:
        return (await create_account(uow, friendly_name="Outbox")).account_sid


@pytest.fixture
async def temporal_down() -> Client:
    """A Temporal client whose server is not there: every hand-off fails, as in an outage."""
    return await Client.connect(f"127.0.0.1:{free_port()}", data_converter=DATA_CONVERTER, lazy=True)


def signal(account_sid: str) -> SignalTaskWorkflow:
    # To a task workflow that does not exist: Temporal answers NOT_FOUND, which the handler treats as done.
    return SignalTaskWorkflow(
        account_sid=account_sid,
        task_sid=new_sid(SidPrefix.TASK),
        event=RoutingEvent(kind=RoutingEventKind.TASK_CANCELED),
    )


async def write(db: Database, account_sid: str, count: int = 1, *, age_seconds: float = 3600) -> list[int]:
    async with db.unit() as uow:
        for _ in range(count):
            await uow.outbox(signal(account_sid), dedupe_key=new_sid(SidPrefix.EVENT))
        await uow.execute(
            "UPDATE outbox SET created_at = now() - make_interval(secs => %s), next_attempt_at = now() "
            "WHERE id = ANY(%s)",
            (age_seconds, uow.outbox_ids),
        )
        return list(uow.outbox_ids)


async def rows(db: Database, ids: list[int]) -> list[OutboxRow]:
    async with db.read() as q:
        return await q.all(OutboxRow, "SELECT * FROM outbox WHERE id = ANY(%s) ORDER BY id", (ids,))


def test_every_command_type_has_a_dispatcher() -> None:
    union, _discriminator = get_args(OutboxCommand)
    assert set(get_args(union)) == dispatchable_types()


async def test_a_row_that_can_never_be_dispatched_is_dead_lettered_at_once(own_db, account_sid, temporal):
    async with own_db.unit() as uow:
        poison = await uow.fetchone(
            "INSERT INTO outbox (account_sid, kind, dedupe_key, payload, created_at) "
            "VALUES (%s, 'signal_task_workflow', %s, %s, now() - interval '1 hour') RETURNING id",
            (account_sid, new_sid(SidPrefix.EVENT), Jsonb({"type": "signal_task_workflow", "task_sid": 42})),
        )
    dispatcher = OutboxDispatcher(own_db, temporal)
    sent, failed = await dispatcher.redrive(older_than_seconds=0)
    assert (sent, failed) == (0, 1)
    [row] = await rows(own_db, [poison["id"]])
    assert row.dead_at is not None and row.dispatched_at is None and row.attempts == 1
    assert "not a valid signal_task_workflow command" in (row.last_error or "")
    async with own_db.read() as q:
        assert (await outbox.stats(q, account_sid=account_sid)).dead_letters == 1
        assert [r.id for r in (await outbox.dead_letters(q, account_sid=account_sid, page=outbox_page())).items] == [
            poison["id"]
        ]
    # The sweeper never picks it up again.
    assert await dispatcher.redrive(older_than_seconds=0) == (0, 0)


async def test_a_failing_row_backs_off_and_is_dead_lettered_after_the_cap(own_db, account_sid, temporal_down, temporal):
    [row_id] = await write(own_db, account_sid)
    down = OutboxDispatcher(own_db, temporal_down)
    delays = []
    for attempt in range(1, OUTBOX_MAX_ATTEMPTS + 1):
        assert await down.redrive(older_than_seconds=0) == (0, 1)
        [row] = await rows(own_db, [row_id])
        assert row.attempts == attempt
        if attempt < OUTBOX_MAX_ATTEMPTS:
            assert row.dead_at is None
            async with own_db.read() as q:
                wait = await q.fetchone(
                    "SELECT extract(epoch FROM next_attempt_at - now()) AS s FROM outbox WHERE id = %s", (row_id,)
                )
            delays.append(float(wait["s"]))
            # Not due again until its backoff is over: a sweep now leaves it alone.
            assert await down.redrive(older_than_seconds=0) == (0, 0)
            async with own_db.unit() as uow:  # ...then time passes
                await uow.execute("UPDATE outbox SET next_attempt_at = now() WHERE id = %s", (row_id,))
    assert delays == sorted(delays) and delays[-1] > delays[0] * 8, delays  # exponential
    [row] = await rows(own_db, [row_id])
    assert row.dead_at is not None and row.dispatched_at is None
    # Fixed (Temporal is back) and re-queued by the admin: it goes through.
    async with own_db.unit() as uow:
        await outbox.requeue(uow, account_sid=account_sid, row_id=row_id)
    assert await OutboxDispatcher(own_db, temporal).redrive(older_than_seconds=0) == (1, 0)
    [row] = await rows(own_db, [row_id])
    assert row.dispatched_at is not None and row.dead_at is None


async def test_rows_that_keep_failing_never_hold_up_newer_ones(own_db, account_sid, temporal_down, temporal):
    failing = await write(own_db, account_sid, 520, age_seconds=7200)
    async with own_db.unit() as uow:  # they have failed a few times already, in an outage that goes on
        await uow.execute("UPDATE outbox SET attempts = 5 WHERE id = ANY(%s)", (failing,))
    await OutboxDispatcher(own_db, temporal_down).redrive(older_than_seconds=0)  # a sweep: a batch of 500 fails
    newest = await write(own_db, account_sid, 1, age_seconds=60)
    sent, failed = await OutboxDispatcher(own_db, temporal).redrive(older_than_seconds=0)
    assert failed == 0
    [row] = await rows(own_db, newest)
    assert row.dispatched_at is not None
    backed_off = [r for r in await rows(own_db, failing) if r.attempts == 6 and r.dispatched_at is None]
    assert len(backed_off) == 500  # still waiting out their backoff, untouched by the sweep that sent the new row
    assert sent == 21  # the 20 never-tried old rows and the new one


def outbox_page():
    from storage.paging import PageRequest

    return PageRequest(size=50)


async def test_a_command_recorded_again_before_its_hand_off_is_handed_on_again(own_db, account_sid):
    """A retried step whose first try committed, in a process that died before the hand-off, records the same
    command again: it is handed on after this commit too (its receiver de-duplicates), not left for the sweeper;
    once dispatched, recording it again hands nothing on."""
    key = new_sid(SidPrefix.EVENT)
    command = signal(account_sid)
    async with own_db.unit() as uow:
        await uow.outbox(command, dedupe_key=key)
        [first] = uow.outbox_ids
    async with own_db.unit() as uow:
        await uow.outbox(command, dedupe_key=key)
        assert uow.outbox_ids == [first]
    async with own_db.unit() as uow:
        await outbox.mark_dispatched(uow, first)
    async with own_db.unit() as uow:
        await uow.outbox(command, dedupe_key=key)
        assert uow.outbox_ids == []
    assert len(await rows(own_db, [first])) == 1
