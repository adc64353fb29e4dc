"""Hands outbox commands to Temporal: right after commit (the common case) and from the sweeper (after a crash
or a Temporal outage). Every command is keyed by a business id and every receiving handler de-duplicates, so a
command sent twice is harmless; a row is marked dispatched only after Temporal accepted it.

Commands are dispatched by type through a registry (`@handles`); a new kind of side effect is a new command
model in domain/outbox.py and a new handler here, never a new branch. A failing row backs off; after
OUTBOX_MAX_ATTEMPTS, or at once when it can never succeed (a payload that no longer validates), it is
dead-lettered: logged, counted, listed for the admin, and never in the way of newer rows."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, TypeVar

from pydantic import ValidationError
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from core import webhooks
from domain.assignment import parse_answer
from domain.limits import ASSIGNMENT_CALLBACK_TIMEOUT
from domain.outbox import (
    CallAssignmentCallback,
    CloseInteractionChannel,
    DeliverChannelMessage,
    DeliverWebhook,
    InteractionChannelRef,
    OutboxCommand,
    RequeueChannel,
    RouteCustomerMessage,
    ScheduleConversationTimers,
    SignalTaskWorkflow,
    StartChannelTask,
    StartTaskWorkflow,
    parse_command,
)
from domain.states import TaskStatus
from domain.webhooks import WebhookMethod
from storage.db import Database
from storage.outbox import service as outbox
from storage.outbox.tables import OutboxRow
from storage.taskrouter import assignment
from workflows import search_attributes as sa
from workflows.channel_delivery import ChannelDeliveryWorkflow
from workflows.channel_delivery import workflow_id as delivery_workflow_id
from workflows.contracts import (
    TASK_QUEUE,
    ChannelDelivery,
    ChannelInput,
    CloseChannel,
    CustomerMessage,
    Requeue,
    TaskAdded,
    TaskInput,
    TimersInput,
)
from workflows.conversation_timers import ConversationTimersWorkflow
from workflows.conversation_timers import workflow_id as timers_workflow_id
from workflows.interaction_channel import InteractionChannelWorkflow
from workflows.task import TaskWorkflow
from workflows.webhook_delivery import WebhookDeliveryWorkflow, workflow_id

log = logging.getLogger(__name__)

C = TypeVar("C")
Handler = Callable[["OutboxDispatcher", Any], Awaitable[None]]
_HANDLERS: dict[type, Handler] = {}
# Temporal answers these when a request can never succeed as sent; retrying would only repeat the error.
_PERMANENT = {RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNIMPLEMENTED}


def handles(command_type: type[C]) -> Callable[[Callable[[OutboxDispatcher, C], Awaitable[None]]], Handler]:
    def register(handler: Callable[[OutboxDispatcher, C], Awaitable[None]]) -> Handler:
        _HANDLERS[command_type] = handler
        return handler

    return register


class OutboxDispatcher:
    def __init__(self, db: Database, client: Client, *, task_queue: str = TASK_QUEUE) -> None:
        self.db = db
        self.client = client
        self.task_queue = task_queue
        self._background: set[asyncio.Task[Any]] = set()

    async def after_commit(self, ids: list[int]) -> None:
        """Dispatch in the background: the request that committed should not wait on Temporal."""
        task = asyncio.create_task(self.dispatch(ids))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Side work a handler starts and does not wait for (drain() does)."""
        task: asyncio.Task[Any] = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def dispatch(self, ids: Iterable[int]) -> tuple[int, int]:
        async with self.db.read() as q:
            rows = await outbox.undispatched(q, list(ids))
        return await self._send_all(rows)

    async def redrive(self, older_than_seconds: float) -> tuple[int, int]:
        async with self.db.read() as q:
            rows = await outbox.due(q, older_than_seconds=older_than_seconds)
        return await self._send_all(rows)

    async def _send_all(self, rows: list[OutboxRow]) -> tuple[int, int]:
        sent = failed = 0
        for row in rows:
            try:
                command = parse_command(_upgrade_legacy(row))
            except ValidationError as exc:
                failed += 1
                await self._failed(row, f"payload is not a valid {row.kind} command: {exc}", retryable=False)
                continue
            try:
                await _HANDLERS[type(command)](self, command)
            except Exception as exc:
                failed += 1
                permanent = isinstance(exc, RPCError) and exc.status in _PERMANENT
                log.warning("outbox %s (%s) not dispatched: %s", row.id, row.dedupe_key, exc)
                await self._failed(row, str(exc) or type(exc).__name__, retryable=not permanent)
                continue
            sent += 1
            async with self.db.unit() as uow:
                assert row.id is not None
                await outbox.mark_dispatched(uow, row.id)
        return sent, failed

    async def _failed(self, row: OutboxRow, error: str, *, retryable: bool) -> None:
        async with self.db.unit() as uow:
            await outbox.record_failure(uow, row, error, retryable=retryable)

    async def signal_with_start_channel(
        self, channel: InteractionChannelRef, signal: Callable[..., Any], arg: Any
    ) -> None:
        """Signal an InteractionChannel workflow, starting it if it is not running (workflow id = UO… SID)."""
        await self.client.start_workflow(
            InteractionChannelWorkflow.run,
            ChannelInput(
                account_sid=channel.account_sid,
                interaction_sid=channel.interaction_sid,
                channel_sid=channel.channel_sid,
                conversation_sid=channel.conversation_sid,
                channel_type=channel.channel_type,
            ),
            id=channel.channel_sid,
            task_queue=self.task_queue,
            start_signal=signal.__name__,
            start_signal_args=[arg],
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.ACCOUNT_SID, channel.account_sid),
                    SearchAttributePair(sa.CHANNEL_TYPE, channel.channel_type),
                    SearchAttributePair(sa.CONVERSATION_SID, channel.conversation_sid),
                ]
            ),
            static_summary=f"Interaction channel {channel.channel_sid}",
        )


@handles(StartTaskWorkflow)
async def _start_task(dispatcher: OutboxDispatcher, command: StartTaskWorkflow) -> None:
    try:
        await dispatcher.client.start_workflow(
            TaskWorkflow.run,
            TaskInput(account_sid=command.account_sid, task_sid=command.task_sid, workspace_sid=command.workspace_sid),
            id=command.task_sid,
            task_queue=dispatcher.task_queue,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.ACCOUNT_SID, command.account_sid),
                    SearchAttributePair(sa.TASK_STATUS, TaskStatus.PENDING.value),
                ]
            ),
            static_summary=f"TaskRouter task {command.task_sid}",
        )
    except WorkflowAlreadyStartedError:
        pass


@handles(SignalTaskWorkflow)
async def _signal_task(dispatcher: OutboxDispatcher, command: SignalTaskWorkflow) -> None:
    event = command.event
    if event.created_at is not None:
        # How long the event waited in the outbox: the workflow takes it off the reservation's window.
        event = event.model_copy(update={"age": max(time.time() - event.created_at, 0.0)})
    try:
        await dispatcher.client.get_workflow_handle(command.task_sid).signal(TaskWorkflow.routing_event, event)
    except RPCError as exc:
        # The workflow already finished: the event it would have carried is moot.
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


@handles(RouteCustomerMessage)
async def _route_customer_message(dispatcher: OutboxDispatcher, command: RouteCustomerMessage) -> None:
    await dispatcher.signal_with_start_channel(
        command.channel,
        InteractionChannelWorkflow.customer_message,
        CustomerMessage(message_sid=command.message_sid, index=command.index),
    )


@handles(CloseInteractionChannel)
async def _close_channel(dispatcher: OutboxDispatcher, command: CloseInteractionChannel) -> None:
    await dispatcher.signal_with_start_channel(
        command.channel, InteractionChannelWorkflow.close, CloseChannel(reason=command.reason)
    )


@handles(StartChannelTask)
async def _start_channel_task(dispatcher: OutboxDispatcher, command: StartChannelTask) -> None:
    await dispatcher.signal_with_start_channel(
        command.channel,
        InteractionChannelWorkflow.task_added,
        TaskAdded(
            task_sid=command.task_sid,
            workspace_sid=command.workspace_sid,
            transfer_sid=command.transfer_sid,
            summary=command.summary,
            released_task_sid=command.released_task_sid,
        ),
    )


@handles(RequeueChannel)
async def _requeue_channel(dispatcher: OutboxDispatcher, command: RequeueChannel) -> None:
    await dispatcher.signal_with_start_channel(
        command.channel,
        InteractionChannelWorkflow.requeue,
        Requeue(reason=command.reason, ended_task_sid=command.ended_task_sid),
    )


@handles(DeliverWebhook)
async def _deliver_webhook(dispatcher: OutboxDispatcher, command: DeliverWebhook) -> None:
    delivery = command.delivery
    attributes = [SearchAttributePair(sa.ACCOUNT_SID, delivery.account_sid)]
    if delivery.conversation_sid:
        attributes.append(SearchAttributePair(sa.CONVERSATION_SID, delivery.conversation_sid))
    try:
        await dispatcher.client.start_workflow(
            WebhookDeliveryWorkflow.run,
            delivery,
            id=workflow_id(delivery),
            task_queue=dispatcher.task_queue,
            # Delivered once: a re-driven row finds the finished run and starts nothing.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(attributes),
            static_summary=f"{delivery.event.value} → {delivery.url}",
        )
    except WorkflowAlreadyStartedError:
        pass


@handles(DeliverChannelMessage)
async def _deliver_channel_message(dispatcher: OutboxDispatcher, command: DeliverChannelMessage) -> None:
    try:
        await dispatcher.client.start_workflow(
            ChannelDeliveryWorkflow.run,
            ChannelDelivery(
                account_sid=command.account_sid,
                conversation_sid=command.conversation_sid,
                message_sid=command.message_sid,
                participant_sid=command.participant_sid,
            ),
            id=delivery_workflow_id(command.message_sid, command.participant_sid),
            task_queue=dispatcher.task_queue,
            # Sent once: a re-driven row finds the run (running or finished) and starts nothing.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.ACCOUNT_SID, command.account_sid),
                    SearchAttributePair(sa.CONVERSATION_SID, command.conversation_sid),
                ]
            ),
            static_summary=f"Deliver {command.message_sid} to {command.participant_sid}",
        )
    except WorkflowAlreadyStartedError:
        pass


@handles(CallAssignmentCallback)
async def _call_assignment_callback(dispatcher: OutboxDispatcher, command: CallAssignmentCallback) -> None:
    """Made in the background, so the rows behind it are not held up by a slow URL. At most once: a crash
    before the call leaves the reservation pending for the agent, as a failed callback does (Twilio)."""
    dispatcher.spawn(_assignment_callback(dispatcher.db, command.reservation_sid))


async def _assignment_callback(db: Database, reservation_sid: str) -> None:
    async with db.read() as q:
        call = await assignment.assignment_call(q, reservation_sid=reservation_sid)
    if call is None:
        return
    async with webhooks.new_client(ASSIGNMENT_CALLBACK_TIMEOUT) as http:
        for url in call.urls:
            answer = await webhooks.call(http, url, WebhookMethod.POST, list(call.params), auth_token=call.auth_token)
            if answer.outcome is webhooks.Outcome.DELIVERED and answer.status_code < 300:
                decided = parse_answer(answer.body)
                if decided.refused:
                    log.warning("assignment callback for %s: %s", reservation_sid, decided.refused)
                async with db.unit() as uow:
                    await assignment.carry_out(uow, reservation_sid=reservation_sid, answer=decided)
                return
            log.info("assignment callback %s for %s failed: %s", url, reservation_sid, answer.error)
    log.warning("assignment callbacks for %s all failed: the reservation stays pending", reservation_sid)


@handles(ScheduleConversationTimers)
async def _schedule_timers(dispatcher: OutboxDispatcher, command: ScheduleConversationTimers) -> None:
    await dispatcher.client.start_workflow(
        ConversationTimersWorkflow.run,
        TimersInput(account_sid=command.account_sid, conversation_sid=command.conversation_sid),
        id=timers_workflow_id(command.conversation_sid),
        task_queue=dispatcher.task_queue,
        start_signal="reschedule",
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(sa.ACCOUNT_SID, command.account_sid),
                SearchAttributePair(sa.CONVERSATION_SID, command.conversation_sid),
            ]
        ),
        static_summary=f"Timers of conversation {command.conversation_sid}",
    )


def _upgrade_legacy(row: OutboxRow) -> dict[str, Any]:
    """Rows written before commands were typed (kinds signal / signal_with_start / start_task) still dispatch."""
    payload = dict(row.payload)
    if row.kind == "start_task":
        given = payload.get("input") or {}
        return {"type": "start_task_workflow", "account_sid": row.account_sid, **given}
    if row.kind == "signal" and payload.get("signal") == "routing_event":
        return {
            "type": "signal_task_workflow",
            "account_sid": row.account_sid,
            "task_sid": payload.get("workflow_id"),
            "event": payload.get("arg"),
        }
    if row.kind == "signal_with_start":
        channel = {k: v for k, v in (payload.get("input") or {}).items() if k != "state"}
        arg = payload.get("arg") or {}
        if payload.get("signal") == "close":
            return {"type": "close_interaction_channel", "account_sid": row.account_sid, "channel": channel, **arg}
        return {"type": "route_customer_message", "account_sid": row.account_sid, "channel": channel, **arg}
    return payload


def dispatchable_types() -> set[type]:
    """Every command type has a handler (checked by a test, so a new command cannot be forgotten)."""
    return set(_HANDLERS)


__all__ = ["OutboxCommand", "OutboxDispatcher", "dispatchable_types", "handles"]
