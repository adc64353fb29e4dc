"""TaskRouter event log (the `/Events` resource) and the workspace's event callbacks: one row per state change,
written in its transaction, with Twilio's `event_data` fields (docs/taskrouter-events.md).

`event_data` is built here and nowhere else. A caller names what the event is about (a task, a reservation, a
worker, a worker channel) and passes only what the rows cannot say (a previous activity, a queue the task
left, a reason); one INSERT … SELECT reads the task with its queue, workflow and channel, the reservation, the
worker with its activity and the workspace, builds the fields, inserts the event and returns the workspace's
`event_callback_url` / `events_filter`. So recording an event costs the one statement it always did, and a
workspace with a callback URL adds one outbox row (`DeliverWebhook`, delivered by WebhookDeliveryWorkflow)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from core.metrics import TASKROUTER_EVENTS
from domain.events import ActorType, EventType, ResourceType, callback_params, wanted
from domain.outbox import DeliverWebhook
from domain.sids import SidPrefix, new_sid
from domain.webhooks import WORKSPACE_SCOPE, WebhookDelivery, WebhookMethod
from storage import crypto
from storage.db import UnitOfWork


@dataclass(frozen=True, slots=True)
class PreviousActivity:
    """Where a worker was before an activity change: `worker_previous_activity_*` and the time spent there."""

    activity_sid: str
    since: datetime | None


# The event's date is the clock's, not the transaction's start (`now()`): the events of one change (a workspace
# and what it comes with, an accept and the task it assigns) are then listed in the order they happened.
# Twilio's field groups (reference/twilio-api.md §4.8), from the rows an event is about. Each group is present
# when its row is: a task's on every task and reservation event, a worker's on worker and reservation events.
_RECORD = """
WITH src AS (
    SELECT ws.account_sid, ws.event_callback_url, ws.events_filter,
           jsonb_build_object('workspace_sid', ws.sid, 'workspace_name', ws.friendly_name)
        || CASE WHEN t.sid IS NULL THEN '{}'::jsonb ELSE jsonb_build_object(
               'task_sid', t.sid,
               'task_attributes', t.attributes,
               'task_age', floor(extract(epoch FROM now() - t.date_created))::bigint,
               'task_priority', t.priority,
               'task_assignment_status', t.assignment_status,
               'task_channel_sid', t.task_channel_sid,
               'task_channel_unique_name', tc.unique_name,
               'task_queue_sid', q.sid,
               'task_queue_name', q.friendly_name,
               'task_queue_target_expression', q.target_workers,
               'workflow_sid', t.workflow_sid,
               'workflow_name', wf.friendly_name,
               'task_date_created', floor(extract(epoch FROM t.date_created))::bigint,
               'task_queue_entered_date', floor(extract(epoch FROM t.task_queue_entered_date))::bigint
           ) END
        || CASE WHEN r.sid IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('reservation_sid', r.sid) END
        || CASE WHEN w.sid IS NULL THEN '{}'::jsonb ELSE jsonb_build_object(
               'worker_sid', w.sid,
               'worker_name', w.friendly_name,
               'worker_attributes', w.attributes,
               'worker_activity_sid', w.activity_sid,
               'worker_activity_name', wa.friendly_name,
               'worker_version', w.version
           ) END
        || CASE WHEN pa.sid IS NULL THEN '{}'::jsonb ELSE jsonb_build_object(
               'worker_previous_activity_sid', pa.sid,
               'worker_previous_activity_name', pa.friendly_name,
               'worker_time_in_previous_activity',
                   floor(extract(epoch FROM now() - %(since)s::timestamptz))::bigint,
               'worker_time_in_previous_activity_ms',
                   floor(extract(epoch FROM now() - %(since)s::timestamptz) * 1000)::bigint
           ) END
        || CASE WHEN wc.sid IS NULL THEN '{}'::jsonb ELSE jsonb_build_object(
               'worker_channel_sid', wc.sid,
               'task_channel_sid', wc.task_channel_sid,
               'task_channel_unique_name', wtc.unique_name,
               'worker_channel_available', wc.available,
               'worker_channel_configured_capacity', wc.configured_capacity,
               'worker_channel_available_capacity', CASE WHEN wc.configured_capacity <= 0 THEN 0 ELSE greatest(0,
                   least(100, round(100.0 * (wc.configured_capacity - wc.assigned_tasks - wc.reserved_tasks)
                                    / wc.configured_capacity)))::int END,
               'worker_channel_task_count', wc.assigned_tasks
           ) END
        || %(data)s::jsonb AS data
      FROM workspaces ws
      LEFT JOIN reservations r ON r.sid = %(reservation)s::text
      LEFT JOIN tasks t ON t.sid = COALESCE(%(task)s::text, r.task_sid)
      LEFT JOIN task_channels tc ON tc.sid = t.task_channel_sid
      LEFT JOIN task_queues q ON q.sid = COALESCE(%(queue)s::text, t.task_queue_sid)
      LEFT JOIN workflows wf ON wf.sid = t.workflow_sid
      LEFT JOIN worker_channels wc ON wc.sid = %(worker_channel)s::text
      LEFT JOIN task_channels wtc ON wtc.sid = wc.task_channel_sid
      LEFT JOIN workers w ON w.sid = COALESCE(%(worker)s::text, r.worker_sid, wc.worker_sid)
      LEFT JOIN activities wa ON wa.sid = w.activity_sid
      LEFT JOIN activities pa ON pa.sid = %(previous_activity)s::text
     WHERE ws.sid = %(workspace)s
), ins AS (
    INSERT INTO taskrouter_events (sid, account_sid, workspace_sid, event_type, resource_type, resource_sid,
                                   actor_type, actor_sid, description, event_data, event_date)
    SELECT %(sid)s, account_sid, %(workspace)s, %(event_type)s, %(resource_type)s, %(resource_sid)s,
           %(actor_type)s, %(actor_sid)s, %(description)s, data, clock_timestamp()
      FROM src
    RETURNING event_date
)
SELECT src.account_sid, src.event_callback_url, src.events_filter, src.data, ins.event_date FROM src, ins
"""


async def record_event(
    uow: UnitOfWork,
    *,
    workspace_sid: str,
    event_type: EventType,
    resource_type: ResourceType,
    resource_sid: str,
    description: str,
    task_sid: str | None = None,
    reservation_sid: str | None = None,
    worker_sid: str | None = None,
    worker_channel_sid: str | None = None,
    queue_sid: str | None = None,
    previous_activity: PreviousActivity | None = None,
    data: Mapping[str, Any] | None = None,
    actor_type: ActorType = ActorType.WORKSPACE,
    actor_sid: str | None = None,
) -> str | None:
    """Record one event about the rows named (a reservation brings its task and worker; `queue_sid` replaces
    the task's current queue, for the queue a task left); `data` adds or overrides fields. Returns the event's
    SID (None if the workspace is gone). Call it after the state change, so the fields show the new state."""
    sid = new_sid(SidPrefix.EVENT)
    row = await uow.fetchone(
        _RECORD,
        {
            "sid": sid,
            "workspace": workspace_sid,
            "event_type": event_type.value,
            "resource_type": resource_type.value,
            "resource_sid": resource_sid,
            "actor_type": actor_type.value,
            "actor_sid": actor_sid or workspace_sid,
            "description": description,
            "task": task_sid,
            "reservation": reservation_sid,
            "worker": worker_sid,
            "worker_channel": worker_channel_sid,
            "queue": queue_sid,
            "previous_activity": previous_activity.activity_sid if previous_activity else None,
            "since": previous_activity.since if previous_activity else None,
            "data": Jsonb(dict(data or {})),
        },
    )
    if row is None:
        return None
    TASKROUTER_EVENTS.labels(event_type.value).inc()
    url = row["event_callback_url"]
    if url and wanted(row["events_filter"], event_type.value):
        await _callback(uow, sid, row["account_sid"], url, event_type, resource_type, resource_sid, description, row)
    return sid


async def _callback(
    uow: UnitOfWork,
    sid: str,
    account_sid: str,
    url: str,
    event_type: EventType,
    resource_type: ResourceType,
    resource_sid: str,
    description: str,
    row: Mapping[str, Any],
) -> None:
    """The event's POST to the workspace's EventCallbackUrl, fixed now and delivered after commit; the event SID
    is its delivery id, so its `I-Twilio-Idempotency-Token` and workflow id (`webhook-EV…`) are the event's."""
    delivery = WebhookDelivery(
        delivery_id=sid,
        account_sid=account_sid,
        event=event_type,
        url=url,
        method=WebhookMethod.POST,
        params=callback_params(
            sid=sid,
            account_sid=account_sid,
            event_type=event_type.value,
            description=description,
            resource_type=resource_type.value,
            resource_sid=resource_sid,
            date=row["event_date"],
            data=crypto.opened_values(row["data"]),
        ),
        scope=WORKSPACE_SCOPE,
    )
    await uow.outbox(DeliverWebhook(account_sid=account_sid, delivery=delivery), dedupe_key=f"webhook:{sid}")
