"""Workflow timers on the time-skipping test server, with the real activities and the real database:
Twilio's default 120 s reservation timeout, a target timeout that ends in `Workflow Timeout`, task TTL, a
parked channel's policy, and a conversation's Timers.Inactive / Timers.Closed."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from core.temporal import DATA_CONVERTER
from domain.limits import PARKED_CHANNEL_CLOSE_AFTER, PARKED_CHANNEL_INACTIVE_AFTER, WRAPUP_TIMEOUT_REASON
from domain.sids import SidPrefix, new_sid
from domain.states import ChannelRunStatus, ConversationState, ReservationStatus, TaskStatus
from storage.conversations import service as conversations
from storage.db import Database
from storage.interactions import service as interactions
from storage.taskrouter import membership, routing
from storage.taskrouter.models import NewWorkspace
from storage.taskrouter.service import create_workspace
from tests.support.histories import record_handle
from tests.support.services import time_skipping_server_binary
from tests.support.waiting import eventually
from workers.build import build_worker
from workflows import search_attributes
from workflows.contracts import ChannelInput, ChannelState, TaskInput
from workflows.conversation_timers import workflow_id as timers_workflow_id
from workflows.interaction_channel import InteractionChannelWorkflow
from workflows.task import TaskWorkflow


@pytest.fixture
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER, test_server_existing_path=time_skipping_server_binary()
    )
    # The Java test server only knows search attributes registered through the operator service.
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for key in search_attributes.ALL},
        )
    )
    yield env
    await env.shutdown()


@dataclass
class TimerHarness:
    env: WorkflowEnvironment
    db: Database
    task_queue: str
    account_sid: str
    started: list[str] = field(default_factory=list)

    async def start_task(self, setup: dict) -> WorkflowHandle:
        self.started.append(setup["task_sid"])
        return await self.env.client.start_workflow(
            TaskWorkflow.run,
            TaskInput(account_sid=self.account_sid, task_sid=setup["task_sid"], workspace_sid=setup["workspace_sid"]),
            id=setup["task_sid"],
            task_queue=self.task_queue,
        )


@pytest.fixture
async def harness(time_skipping, database_url, account) -> AsyncIterator[TimerHarness]:
    """A worker on the time-skipping server, backed by its own pool on the test database. Tests move the clock
    explicitly (env.sleep with auto-skipping disabled): the server's automatic skipping while a result is
    awaited proved unreliable (~1 run in 20 never skipped). Each test gets its own test server (it starts in
    a fraction of a second): a workflow left over by one test could otherwise hold the clock of the next."""
    db = Database(database_url, max_size=4)
    await db.open()
    task_queue = f"timers-{uuid.uuid4().hex[:8]}"
    worker = build_worker(time_skipping.client, db, Settings(database_url=database_url), task_queue=task_queue)
    async with worker:
        harness = TimerHarness(time_skipping, db, task_queue, account.account_sid)
        yield harness
        for workflow_id in harness.started:
            handle = time_skipping.client.get_workflow_handle(workflow_id)
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")
    await db.close()


async def _workspace(db: Database, account_sid: str, targets: list[dict], *, agents: int) -> dict:
    async with db.unit() as uow:
        workspace = await create_workspace(uow, account_sid=account_sid, new=NewWorkspace(friendly_name="Timers"))
        ws = workspace.sid
        queue_sid = new_sid(SidPrefix.TASK_QUEUE)
        await uow.execute(
            "INSERT INTO task_queues (sid, account_sid, workspace_sid, friendly_name) VALUES (%s, %s, %s, 'Everyone')",
            (queue_sid, account_sid, ws),
        )
        configuration = {
            "task_routing": {
                "filters": [{"expression": "1==1", "targets": [{"queue": queue_sid, **target} for target in targets]}]
            }
        }
        workflow_sid = new_sid(SidPrefix.WORKFLOW)
        await uow.execute(
            "INSERT INTO workflows (sid, account_sid, workspace_sid, friendly_name, configuration) "
            "VALUES (%s, %s, %s, 'Default timeouts', %s)",
            (workflow_sid, account_sid, ws, json.dumps(configuration)),
        )
        available = await uow.fetchone(
            "SELECT sid FROM activities WHERE workspace_sid = %s AND friendly_name = 'Available'", (ws,)
        )
        workers = []
        for n in range(agents):
            worker_sid = new_sid(SidPrefix.WORKER)
            await uow.execute(
                "INSERT INTO workers (sid, account_sid, workspace_sid, friendly_name, activity_sid, available, "
                "date_status_changed) VALUES (%s, %s, %s, %s, %s, true, now() - make_interval(secs => %s))",
                (worker_sid, account_sid, ws, f"agent-{n}", available["sid"], 100 - n),
            )
            await membership.ensure_worker_channels(uow, workspace_sid=ws, worker_sid=worker_sid)
            workers.append(worker_sid)
        await membership.refresh_for_queue(uow, queue_sid)
        channel = await uow.fetchone(
            "SELECT sid FROM task_channels WHERE workspace_sid = %s AND unique_name = 'default'", (ws,)
        )
        task_sid = new_sid(SidPrefix.TASK)
        await uow.execute(
            "INSERT INTO tasks (sid, account_sid, workspace_sid, workflow_sid, task_channel_sid, timeout) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (task_sid, account_sid, ws, workflow_sid, channel["sid"], 3600),
        )
    return {"workspace_sid": ws, "task_sid": task_sid, "workers": workers}


async def _reservations(db: Database, task_sid: str) -> list[dict]:
    async with db.read() as q:
        return await q.fetchall(
            "SELECT worker_sid, reservation_status FROM reservations WHERE task_sid = %s ORDER BY date_created",
            (task_sid,),
        )


async def _task(db: Database, task_sid: str) -> dict:
    async with db.read() as q:
        row = await q.fetchone("SELECT assignment_status, reason FROM tasks WHERE sid = %s", (task_sid,))
    assert row is not None
    return row


async def test_unanswered_reservation_times_out_after_the_default_120_seconds(harness):
    env, db = harness.env, harness.db
    setup = await _workspace(db, harness.account_sid, targets=[{}], agents=2)
    task_sid, (first, second) = setup["task_sid"], setup["workers"]
    # Time moves only when this test says so; otherwise the server would skip past every timer at once.
    with env.auto_time_skipping_disabled():
        handle = await harness.start_task(setup)
        assert await eventually(lambda: _reservations(db, task_sid), what="first offer") == [
            {"worker_sid": first, "reservation_status": "pending"}
        ]  # the longest idle agent goes first

        async def timer_armed() -> bool:
            # The workflow owns the timeout: wait until it has the reservation, then move the clock.
            return bool((await handle.query(TaskWorkflow.snapshot)).pending_reservations)

        await eventually(timer_armed, what="the workflow to arm the reservation timer")
        await env.sleep(timedelta(seconds=110))
        assert (await _reservations(db, task_sid))[0]["reservation_status"] == "pending"
        await env.sleep(timedelta(seconds=11))

        async def re_offered():
            rows = await _reservations(db, task_sid)
            return len(rows) == 2 and rows

        assert await eventually(re_offered, what="second offer") == [
            {"worker_sid": first, "reservation_status": "timeout"},
            {"worker_sid": second, "reservation_status": "pending"},
        ]


async def test_task_leaves_the_workflow_when_the_last_target_times_out(harness):
    db = harness.db
    setup = await _workspace(db, harness.account_sid, targets=[{"timeout": 300}], agents=0)
    task_sid = setup["task_sid"]
    with harness.env.auto_time_skipping_disabled():
        handle = await harness.start_task(setup)
        await harness.env.sleep(timedelta(seconds=301))
        assert await handle.result() == "canceled"
    assert await _task(db, task_sid) == {"assignment_status": "canceled", "reason": "Workflow Timeout"}


async def test_pending_task_is_canceled_when_its_ttl_expires(harness):
    db = harness.db
    setup = await _workspace(db, harness.account_sid, targets=[{}], agents=0)
    task_sid = setup["task_sid"]
    with harness.env.auto_time_skipping_disabled():
        handle = await harness.start_task(setup)
        await harness.env.sleep(timedelta(seconds=3601))
        assert await handle.result() == "canceled"
    assert await _task(db, task_sid) == {"assignment_status": "canceled", "reason": "Task TTL Exceeded"}


async def test_an_agent_in_wrap_up_past_the_channel_limit_has_the_task_completed_for_it(harness):
    db = harness.db
    setup = await _workspace(db, harness.account_sid, targets=[{}], agents=1)
    task_sid = setup["task_sid"]
    with harness.env.auto_time_skipping_disabled():
        harness.started.append(task_sid)
        handle = await harness.env.client.start_workflow(
            TaskWorkflow.run,
            TaskInput(
                account_sid=harness.account_sid,
                task_sid=task_sid,
                workspace_sid=setup["workspace_sid"],
                wrapup_timeout=90,
            ),
            id=task_sid,
            task_queue=harness.task_queue,
        )
        [offer] = await eventually(lambda: _pending(db, task_sid), what="the offer")
        async with db.unit() as uow:
            await routing.update_reservation(uow, reservation_sid=offer["sid"], status=ReservationStatus.ACCEPTED)
        async with db.unit() as uow:
            await routing.update_task_status(uow, task_sid=task_sid, status=TaskStatus.WRAPPING)

        async def wrapping() -> bool:
            return (await handle.query(TaskWorkflow.snapshot)).status == TaskStatus.WRAPPING.value

        await eventually(wrapping, what="the workflow to see the wrap-up")
        await harness.env.sleep(timedelta(seconds=80))
        assert (await _task(db, task_sid))["assignment_status"] == "wrapping"
        await harness.env.sleep(timedelta(seconds=11))
        assert await handle.result() == "completed"
        await record_handle(handle, "Task", "wrapup-timeout")
    assert await _task(db, task_sid) == {"assignment_status": "completed", "reason": WRAPUP_TIMEOUT_REASON}


async def _pending(db: Database, task_sid: str) -> list[dict]:
    async with db.read() as q:
        return await q.fetchall(
            "SELECT sid FROM reservations WHERE task_sid = %s AND reservation_status = 'pending'", (task_sid,)
        )


async def test_a_parked_channel_goes_inactive_then_closes_by_policy(harness):
    db = harness.db
    async with db.unit() as uow:
        conversation = await conversations.create_conversation(
            uow,
            account_sid=harness.account_sid,
            chat_service_sid=await conversations.default_service_sid(uow, harness.account_sid),
        )
        channel = await interactions.open_channel(
            uow,
            account_sid=harness.account_sid,
            conversation_sid=conversation.sid,
            channel_type="web",
            initiated_by="customer",
            routing={"properties": {}},
            customer_participant_sid=None,
        )
    with harness.env.auto_time_skipping_disabled():
        harness.started.append(channel.sid)
        # A channel whose one task came and went: parked, waiting for the customer.
        handle = await harness.env.client.start_workflow(
            InteractionChannelWorkflow.run,
            ChannelInput(
                account_sid=harness.account_sid,
                interaction_sid=channel.interaction_sid,
                channel_sid=channel.sid,
                conversation_sid=conversation.sid,
                state=ChannelState(task_count=1),
            ),
            id=channel.sid,
            task_queue=harness.task_queue,
        )

        async def parked() -> bool:
            return (await handle.query(InteractionChannelWorkflow.snapshot)).status is ChannelRunStatus.PARKED

        await eventually(parked, what="the channel parked")
        await harness.env.sleep(timedelta(seconds=PARKED_CHANNEL_INACTIVE_AFTER - 60))
        assert (await handle.query(InteractionChannelWorkflow.snapshot)).status is ChannelRunStatus.PARKED
        await harness.env.sleep(timedelta(seconds=61))

        async def inactive() -> bool:
            return (await handle.query(InteractionChannelWorkflow.snapshot)).status is ChannelRunStatus.INACTIVE

        await eventually(inactive, what="the parked channel marked inactive")
        async with db.read() as q:
            marked = await q.fetchone("SELECT status FROM interaction_channels WHERE sid = %s", (channel.sid,))
        assert marked == {"status": "inactive"}
        await harness.env.sleep(timedelta(seconds=PARKED_CHANNEL_CLOSE_AFTER - PARKED_CHANNEL_INACTIVE_AFTER - 60))
        assert (await handle.query(InteractionChannelWorkflow.snapshot)).status is ChannelRunStatus.INACTIVE
        await harness.env.sleep(timedelta(seconds=61))
        assert await handle.result() == "closed"
        await record_handle(handle, "InteractionChannel", "parked-inactive-closed")
    async with db.read() as q:
        row = await q.fetchone(
            "SELECT c.status, c.error_message, v.state FROM interaction_channels c "
            "JOIN conversations v ON v.sid = c.conversation_sid WHERE c.sid = %s",
            (channel.sid,),
        )
    assert row is not None
    assert (row["status"], row["state"]) == ("closed", "closed")
    assert "parked" in row["error_message"]


async def test_conversation_timers_make_it_inactive_then_close_it(harness):
    """Timers.Inactive=PT1M and Timers.Closed=PT10M carried out by the ConversationTimers workflow, started
    from the outbox by the conversation's creation."""
    db = harness.db
    async with db.unit() as uow:
        conversation = await conversations.create_conversation(
            uow,
            account_sid=harness.account_sid,
            chat_service_sid=await conversations.default_service_sid(uow, harness.account_sid),
            state=ConversationState.ACTIVE,
            timers_inactive="PT1M",
            timers_closed="PT10M",
        )
    handle = harness.env.client.get_workflow_handle(timers_workflow_id(conversation.sid))
    harness.started.append(handle.id)

    async def state() -> str:
        async with db.read() as q:
            row = await q.fetchone("SELECT state FROM conversations WHERE sid = %s", (conversation.sid,))
        return row["state"] if row else "gone"

    async def running() -> bool:
        try:
            return (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        except Exception:
            return False

    with harness.env.auto_time_skipping_disabled():
        await eventually(running, what="the timers workflow started from the outbox")
        await harness.env.sleep(timedelta(seconds=50))
        assert await state() == "active"
        await harness.env.sleep(timedelta(seconds=11))
        await eventually(lambda: _is(state, "inactive"), what="the conversation made inactive by its timer")
        await harness.env.sleep(timedelta(minutes=9))
        await eventually(lambda: _is(state, "closed"), what="the conversation closed by its timer")
        assert await handle.result() is None
        await record_handle(handle, "ConversationTimers", "inactive-then-closed")
    async with db.read() as q:
        events = await q.fetchall(
            "SELECT data FROM realtime_events WHERE stream = %s AND type = 'conversation.state_updated' ORDER BY seq",
            (conversation.sid,),
        )
    assert [(e["data"]["state_to"], e["data"]["reason"]) for e in events] == [
        ("inactive", "TIMER"),
        ("closed", "TIMER"),
    ]


async def _is(probe, wanted: str) -> bool:
    return await probe() == wanted
