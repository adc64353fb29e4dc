"""Hands outbox rows to Temporal: right after commit (the common case) and from the sweeper (after a crash or
a Temporal outage). Every row is keyed by a business id and every receiving handler de-duplicates, so a row
sent twice is harmless; a row is marked dispatched only after Temporal accepted it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from storage.db import Database
from workflows import search_attributes as sa
from workflows.contracts import (
    TASK_QUEUE,
    ChannelInput,
    CloseChannel,
    CustomerMessage,
    RoutingEvent,
    TaskEnded,
    TaskInput,
)
from workflows.interaction_channel import InteractionChannelWorkflow
from workflows.task import TaskWorkflow

log = logging.getLogger(__name__)

# Signals that may travel through the outbox, with the typed handler and argument model for each.
SIGNALS: dict[str, tuple[Any, type[BaseModel]]] = {
    "routing_event": (TaskWorkflow.routing_event, RoutingEvent),
    "customer_message": (InteractionChannelWorkflow.customer_message, CustomerMessage),
    "task_ended": (InteractionChannelWorkflow.task_ended, TaskEnded),
    "close": (InteractionChannelWorkflow.close, CloseChannel),
}


class OutboxDispatcher:
    def __init__(self, db: Database, client: Client, *, task_queue: str = TASK_QUEUE) -> None:
        self.db = db
        self.client = client
        self.task_queue = task_queue
        self._background: set[asyncio.Task[tuple[int, int]]] = set()

    async def after_commit(self, ids: list[int]) -> None:
        """Dispatch in the background: the request that committed should not wait on Temporal."""
        task = asyncio.create_task(self.dispatch(ids))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def dispatch(self, ids: Iterable[int]) -> tuple[int, int]:
        async with self.db.read() as q:
            rows = await q.fetchall(
                "SELECT * FROM outbox WHERE id = ANY(%s) AND dispatched_at IS NULL ORDER BY id", (list(ids),)
            )
        return await self._send_all(rows)

    async def redrive(self, older_than_seconds: float, limit: int = 500) -> tuple[int, int]:
        async with self.db.read() as q:
            rows = await q.fetchall(
                "SELECT * FROM outbox WHERE dispatched_at IS NULL "
                "AND created_at < now() - make_interval(secs => %s) ORDER BY id LIMIT %s",
                (older_than_seconds, limit),
            )
        return await self._send_all(rows)

    async def _send_all(self, rows: list[dict[str, Any]]) -> tuple[int, int]:
        sent = failed = 0
        for row in rows:
            try:
                await self._send(row)
            except Exception as exc:
                failed += 1
                log.warning("outbox %s (%s) not dispatched: %s", row["id"], row["dedupe_key"], exc)
                async with self.db.unit() as uow:
                    await uow.execute(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = %s WHERE id = %s",
                        (str(exc)[:500], row["id"]),
                    )
                continue
            sent += 1
            async with self.db.unit() as uow:
                await uow.execute(
                    "UPDATE outbox SET dispatched_at = now(), attempts = attempts + 1 WHERE id = %s",
                    (row["id"],),
                )
        return sent, failed

    async def _send(self, row: dict[str, Any]) -> None:
        payload = row["payload"]
        if row["kind"] == "start_task":
            task_input = TaskInput.model_validate(payload["input"])
            try:
                await self.client.start_workflow(
                    TaskWorkflow.run,
                    task_input,
                    id=payload["workflow_id"],
                    task_queue=self.task_queue,
                    search_attributes=TypedSearchAttributes(
                        [
                            SearchAttributePair(sa.ACCOUNT_SID, task_input.account_sid),
                            SearchAttributePair(sa.TASK_STATUS, "pending"),
                        ]
                    ),
                    static_summary=f"TaskRouter task {task_input.task_sid}",
                )
            except WorkflowAlreadyStartedError:
                pass
            return
        handler, model = SIGNALS[payload["signal"]]
        raw_arg = dict(payload["arg"])
        if raw_arg.get("created_at") is not None:
            raw_arg["age"] = max(time.time() - float(raw_arg["created_at"]), 0.0)
        arg = model.model_validate(raw_arg)
        if row["kind"] == "signal":
            try:
                await self.client.get_workflow_handle(payload["workflow_id"]).signal(handler, arg)
            except RPCError as exc:
                # The workflow already finished: the event it would have carried is moot.
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
        elif row["kind"] == "signal_with_start":
            channel_input = ChannelInput.model_validate(payload["input"])
            await self.client.start_workflow(
                InteractionChannelWorkflow.run,
                channel_input,
                id=payload["workflow_id"],
                task_queue=self.task_queue,
                start_signal=payload["signal"],
                start_signal_args=[arg],
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(sa.ACCOUNT_SID, channel_input.account_sid),
                        SearchAttributePair(sa.CHANNEL_TYPE, channel_input.channel_type),
                    ]
                ),
                static_summary=f"Interaction channel {channel_input.channel_sid}",
            )
        else:
            raise ValueError(f"unknown outbox kind {row['kind']}")
