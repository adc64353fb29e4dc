"""The writes every routing transaction is made of: the workspace lock, ending a reservation (freeing its
slot), finishing a task, and the signal that tells the task's workflow. Callers hold the workspace lock."""

from __future__ import annotations

import hashlib
from typing import Any

from domain.events import EventType, ResourceType
from domain.outbox import SignalTaskWorkflow
from domain.realtime import StreamEvent
from domain.routing.signals import RoutingEvent, RoutingEventKind
from domain.states import ReservationStatus, TaskStatus
from storage.db import UnitOfWork
from storage.taskrouter.events import record_event
from storage.taskrouter.tables import ReservationRow, TaskRow


def workspace_lock_key(workspace_sid: str) -> int:
    return int.from_bytes(hashlib.sha1(workspace_sid.encode()).digest()[:8], "big", signed=True)


async def lock_workspace(uow: UnitOfWork, workspace_sid: str) -> None:
    """Serializes every change to reservations and capacity counters of a workspace (ARCHITECTURE §4)."""
    await uow.execute("SELECT pg_advisory_xact_lock(%s)", (workspace_lock_key(workspace_sid),))


async def get_task(uow: UnitOfWork, task_sid: str) -> TaskRow:
    return await uow.found(TaskRow, "SELECT * FROM tasks WHERE sid = %s", (task_sid,), resource=f"/Tasks/{task_sid}")


async def signal_task(uow: UnitOfWork, task: TaskRow, kind: RoutingEventKind, **extra: Any) -> None:
    """Tell the task's workflow, after commit; keyed by the task's version so a retry is harmless."""
    await uow.outbox(
        SignalTaskWorkflow(account_sid=task.account_sid, task_sid=task.sid, event=RoutingEvent(kind=kind, **extra)),
        dedupe_key=f"{task.sid}:{kind.value}:{task.version}",
    )


# The TaskRouter event each reservation status is logged as (Twilio calls wrapping `reservation.wrapup`).
_RESERVATION_EVENT = {
    ReservationStatus.ACCEPTED: EventType.RESERVATION_ACCEPTED,
    ReservationStatus.REJECTED: EventType.RESERVATION_REJECTED,
    ReservationStatus.TIMEOUT: EventType.RESERVATION_TIMEOUT,
    ReservationStatus.CANCELED: EventType.RESERVATION_CANCELED,
    ReservationStatus.RESCINDED: EventType.RESERVATION_RESCINDED,
    ReservationStatus.WRAPPING: EventType.RESERVATION_WRAPUP,
    ReservationStatus.COMPLETED: EventType.RESERVATION_COMPLETED,
}


async def announce_reservation(uow: UnitOfWork, row: ReservationRow, *, task_status: TaskStatus | None = None) -> None:
    """Tell the worker's desktop (its realtime stream) and the event log that a reservation changed status.
    `task_status`: what the task is becoming in this transaction when that is written after this event."""
    status = row.reservation_status
    await uow.publish(
        account_sid=row.account_sid,
        stream=row.worker_sid,
        type=StreamEvent.for_reservation(status),
        data={"reservation_sid": row.sid, "task_sid": row.task_sid},
    )
    await record_event(
        uow,
        workspace_sid=row.workspace_sid,
        event_type=_RESERVATION_EVENT[status],
        resource_type=ResourceType.RESERVATION,
        resource_sid=row.sid,
        description=f"Reservation {row.sid} {status.value}",
        reservation_sid=row.sid,
        data={"task_assignment_status": task_status.value} if task_status else None,
    )


async def end_reservation(
    uow: UnitOfWork,
    reservation_sid: str,
    status: ReservationStatus,
    *,
    task_status: TaskStatus | None = None,
    announce: bool = True,
) -> ReservationRow | None:
    """pending → rejected | timeout | canceled | rescinded, freeing the reserved slot. None if not pending.
    `announce=False`: the caller announces it once the task's own change is written (its event shows it)."""
    row = await uow.one(
        ReservationRow,
        "UPDATE reservations SET reservation_status = %s, version = version + 1, date_updated = now() "
        "WHERE sid = %s AND reservation_status = 'pending' RETURNING *",
        (status.value, reservation_sid),
    )
    if row is None:
        return None
    await uow.execute(
        "UPDATE worker_channels SET reserved_tasks = reserved_tasks - 1, date_updated = now() WHERE sid = %s",
        (row.worker_channel_sid,),
    )
    if announce:
        await announce_reservation(uow, row, task_status=task_status)
    return row


_TASK_EVENT = {
    TaskStatus.CANCELED: (EventType.TASK_CANCELED, RoutingEventKind.TASK_CANCELED),
    TaskStatus.WRAPPING: (EventType.TASK_WRAPUP, RoutingEventKind.TASK_WRAPPING),
    TaskStatus.COMPLETED: (EventType.TASK_COMPLETED, RoutingEventKind.TASK_COMPLETED),
}


async def set_task_status(
    uow: UnitOfWork, task: TaskRow, status: TaskStatus, reason: str | None, *, requeue: bool = True
) -> TaskRow:
    """Write a task's move to canceled, wrapping or completed, with its event and its workflow's signal.
    A finished task leaves its routing step and its interaction channel's active-task slot. `requeue=False`:
    a canceled task's channel parks instead of routing the customer again."""
    row = await uow.one(
        TaskRow,
        "UPDATE tasks SET assignment_status = %s, reason = COALESCE(%s, reason), version = version + 1, "
        "parks_channel = parks_channel OR %s, "
        "routing_step = CASE WHEN %s THEN NULL ELSE routing_step END, "
        "waiting_reason = CASE WHEN %s THEN NULL ELSE waiting_reason END, "
        "date_updated = now() WHERE sid = %s RETURNING *",
        (
            status.value,
            reason,
            status is TaskStatus.CANCELED and not requeue,
            status.is_final,
            status.is_final,
            task.sid,
        ),
    )
    assert row is not None
    if status.is_final and task.interaction_channel_sid:
        # The channel's active task becomes another one still live on it (an invite's), else none.
        await uow.execute(
            "UPDATE interaction_channels SET date_updated = now(), active_task_sid = ("
            "  SELECT sid FROM tasks WHERE interaction_channel_sid = %s AND sid <> %s "
            "  AND assignment_status IN ('pending', 'reserved', 'assigned', 'wrapping') "
            "  ORDER BY date_created DESC LIMIT 1) "
            "WHERE sid = %s AND active_task_sid = %s",
            (task.interaction_channel_sid, task.sid, task.interaction_channel_sid, task.sid),
        )
    if task.interaction_channel_sid:
        # Every way a task ends passes here (the API, its workflow's timers, the assignment cap): a transfer
        # riding on it learns it in the same transaction. Imported here: transfers builds on routing, which
        # builds on this module.
        from storage.interactions import transfers

        await transfers.on_task_ended(uow, task, status, reason)
    event_type, kind = _TASK_EVENT[status]
    await signal_task(uow, row, kind, status=status.value, requeue=requeue)
    data: dict[str, Any] = {"reason": reason}
    if status is TaskStatus.CANCELED:
        data["task_canceled_reason"] = reason
    elif status is TaskStatus.COMPLETED:
        data["task_completed_reason"] = reason
    await record_event(
        uow,
        workspace_sid=task.workspace_sid,
        event_type=event_type,
        resource_type=ResourceType.TASK,
        resource_sid=task.sid,
        description=f"Task {task.sid} {status.value}",
        task_sid=task.sid,
        data=data,
    )
    return row


async def cancel_pending_reservations(
    uow: UnitOfWork, task_sid: str, status: ReservationStatus, *, task_status: TaskStatus | None = None
) -> None:
    for reservation in await uow.fetchall(
        "SELECT sid FROM reservations WHERE task_sid = %s AND reservation_status = 'pending'", (task_sid,)
    ):
        await end_reservation(uow, reservation["sid"], status, task_status=task_status)
