"""TaskRouter's event types (the `/Events` log and the workspace's event callbacks), as Twilio names them
(reference/twilio-api.md §4.8). Every type Twilio lists is here, so an `EventsFilter` naming any of them is
accepted; docs/taskrouter-events.md says which ones Parley records (voice-only ones never happen)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.errors import InvalidParameter


class EventType(StrEnum):
    ACTIVITY_CREATED = "activity.created"
    ACTIVITY_UPDATED = "activity.updated"
    ACTIVITY_DELETED = "activity.deleted"
    RESERVATION_CREATED = "reservation.created"
    RESERVATION_ACCEPTED = "reservation.accepted"
    RESERVATION_REJECTED = "reservation.rejected"
    RESERVATION_TIMEOUT = "reservation.timeout"
    RESERVATION_CANCELED = "reservation.canceled"
    RESERVATION_RESCINDED = "reservation.rescinded"
    RESERVATION_COMPLETED = "reservation.completed"
    RESERVATION_FAILED = "reservation.failed"
    RESERVATION_WRAPUP = "reservation.wrapup"
    TASK_CREATED = "task.created"
    TASK_UPDATED = "task.updated"
    TASK_CANCELED = "task.canceled"
    TASK_WRAPUP = "task.wrapup"
    TASK_COMPLETED = "task.completed"
    TASK_DELETED = "task.deleted"
    TASK_SYSTEM_DELETED = "task.system-deleted"
    TASK_TRANSFER_INITIATED = "task.transfer-initiated"
    TASK_TRANSFER_ATTEMPT_FAILED = "task.transfer-attempt-failed"
    TASK_TRANSFER_FAILED = "task.transfer-failed"
    TASK_TRANSFER_CANCELED = "task.transfer-canceled"
    TASK_TRANSFER_COMPLETED = "task.transfer-completed"
    TASK_CHANNEL_CREATED = "task-channel.created"
    TASK_CHANNEL_UPDATED = "task-channel.updated"
    TASK_CHANNEL_DELETED = "task-channel.deleted"
    TASK_QUEUE_CREATED = "task-queue.created"
    TASK_QUEUE_DELETED = "task-queue.deleted"
    TASK_QUEUE_ENTERED = "task-queue.entered"
    TASK_QUEUE_TIMEOUT = "task-queue.timeout"
    TASK_QUEUE_MOVED = "task-queue.moved"
    TASK_QUEUE_EXPRESSION_UPDATED = "task-queue.expression.updated"
    WORKER_CREATED = "worker.created"
    WORKER_ACTIVITY_UPDATE = "worker.activity.update"
    WORKER_ATTRIBUTES_UPDATE = "worker.attributes.update"
    WORKER_CAPACITY_UPDATE = "worker.capacity.update"
    WORKER_CHANNEL_AVAILABILITY_UPDATE = "worker.channel.availability.update"
    WORKER_DELETED = "worker.deleted"
    WORKFLOW_CREATED = "workflow.created"
    WORKFLOW_UPDATED = "workflow.updated"
    WORKFLOW_DELETED = "workflow.deleted"
    WORKFLOW_TARGET_MATCHED = "workflow.target-matched"
    WORKFLOW_ENTERED = "workflow.entered"
    WORKFLOW_TIMEOUT = "workflow.timeout"
    WORKFLOW_SKIPPED = "workflow.skipped"
    WORKSPACE_CREATED = "workspace.created"
    WORKSPACE_UPDATED = "workspace.updated"
    WORKSPACE_DELETED = "workspace.deleted"


class ResourceType(StrEnum):
    TASK = "task"
    RESERVATION = "reservation"
    WORKER = "worker"
    ACTIVITY = "activity"
    WORKFLOW = "workflow"
    WORKSPACE = "workspace"
    TASK_QUEUE = "task_queue"
    TASK_CHANNEL = "task_channel"


class ActorType(StrEnum):
    WORKSPACE = "workspace"
    WORKER = "worker"
    ACCOUNT = "account"


# --- the workspace's event callbacks (EventCallbackUrl, EventsFilter) -----------------------------------


def check_events_filter(value: str | None) -> str | None:
    """A workspace's `EventsFilter`: comma-separated event types, de-duplicated in order; an empty value clears
    it (every event is sent), and a name that is not a TaskRouter event type is a 400 that names it."""
    if value is None:
        return None
    known = {e.value for e in EventType}
    names: list[str] = []
    for name in (part.strip() for part in value.split(",")):
        if not name:
            continue
        if name not in known:
            raise InvalidParameter(f"Parameter 'EventsFilter': '{name}' is not a TaskRouter event type")
        if name not in names:
            names.append(name)
    return ",".join(names)


def wanted(events_filter: str | None, event_type: str) -> bool:
    """Whether a workspace's callback gets this event: no filter means every event."""
    if not events_filter:
        return True
    return event_type in {part.strip() for part in events_filter.split(",")}


def pascal(name: str) -> str:
    """`worker_time_in_previous_activity_ms` → `WorkerTimeInPreviousActivityMs`, as Twilio names callback
    parameters after the event's snake_case fields."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def _param_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def callback_params(
    *,
    sid: str,
    account_sid: str,
    event_type: str,
    description: str,
    resource_type: str,
    resource_sid: str,
    date: datetime,
    data: Mapping[str, Any],
) -> list[tuple[str, str]]:
    """The form parameters of one event callback: Twilio's base parameters, then every field of the event's
    `event_data` under its PascalCase name (a null field is not sent)."""
    ms = int(date.timestamp() * 1000)
    params: list[tuple[str, str]] = [
        ("Sid", sid),
        ("EventType", event_type),
        ("AccountSid", account_sid),
        ("WorkspaceSid", str(data.get("workspace_sid", ""))),
        ("WorkspaceName", str(data.get("workspace_name", ""))),
        ("EventDescription", description),
        ("ResourceType", resource_type),
        ("ResourceSid", resource_sid),
        ("Timestamp", str(ms // 1000)),
        ("TimestampMs", str(ms)),
    ]
    taken = {name for name, _ in params}
    for key, value in data.items():
        name = pascal(key)
        if value is None or name in taken:
            continue
        params.append((name, _param_value(value)))
        taken.add(name)
    return params
