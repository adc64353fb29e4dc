"""TaskRouter's event types (the `/Events` log and, later, event callbacks), as Twilio names them."""

from __future__ import annotations

from enum import StrEnum


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
    RESERVATION_WRAPUP = "reservation.wrapup"
    TASK_CREATED = "task.created"
    TASK_UPDATED = "task.updated"
    TASK_CANCELED = "task.canceled"
    TASK_WRAPUP = "task.wrapup"
    TASK_COMPLETED = "task.completed"
    TASK_DELETED = "task.deleted"
    TASK_CHANNEL_CREATED = "task-channel.created"
    TASK_CHANNEL_UPDATED = "task-channel.updated"
    TASK_CHANNEL_DELETED = "task-channel.deleted"
    TASK_QUEUE_CREATED = "task-queue.created"
    TASK_QUEUE_DELETED = "task-queue.deleted"
    TASK_QUEUE_ENTERED = "task-queue.entered"
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
    WORKFLOW_SKIPPED = "workflow.skipped"


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
