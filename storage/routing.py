"""Routing state changes. Each function runs inside the caller's unit of work, takes the workspace lock
first and calls `match` before returning whenever it may have freed capacity or made a task routable."""

from __future__ import annotations

import json
from typing import Any

from psycopg.types.json import Jsonb

from domain.errors import Conflict, InvalidParameter, NotFound
from domain.routing import parse_expression
from domain.sids import SidPrefix, new_sid
from storage import conversations
from storage.db import UnitOfWork
from storage.events import record_event
from storage.matching import _attrs, lock_workspace, match

LIVE_RESERVATION = ("pending", "accepted", "wrapping")


# --- queue membership cache --------------------------------------------------------------------------


def _worker_context(worker: dict[str, Any], activity_name: str | None = None) -> dict[str, Any]:
    return {
        **_attrs(worker["attributes"]),
        "sid": worker["sid"],
        "friendly_name": worker["friendly_name"],
        "activity_sid": worker["activity_sid"],
        "activity_name": activity_name,
    }


async def refresh_membership_for_worker(uow: UnitOfWork, worker_sid: str) -> None:
    worker = await uow.fetchone("SELECT * FROM workers WHERE sid = %s", (worker_sid,))
    if worker is None:
        return
    await uow.execute("DELETE FROM queue_members WHERE worker_sid = %s", (worker_sid,))
    context = _attrs(worker["attributes"])
    for queue in await uow.fetchall(
        "SELECT sid, target_workers FROM task_queues WHERE workspace_sid = %s", (worker["workspace_sid"],)
    ):
        if queue["target_workers"] and parse_expression(queue["target_workers"]).evaluate(context):
            await uow.execute(
                "INSERT INTO queue_members (queue_sid, worker_sid, workspace_sid) VALUES (%s, %s, %s)",
                (queue["sid"], worker_sid, worker["workspace_sid"]),
            )


async def refresh_membership_for_queue(uow: UnitOfWork, queue_sid: str) -> None:
    queue = await uow.fetchone("SELECT * FROM task_queues WHERE sid = %s", (queue_sid,))
    if queue is None:
        return
    await uow.execute("DELETE FROM queue_members WHERE queue_sid = %s", (queue_sid,))
    if not queue["target_workers"]:
        return
    expression = parse_expression(queue["target_workers"])
    for worker in await uow.fetchall(
        "SELECT sid, attributes FROM workers WHERE workspace_sid = %s", (queue["workspace_sid"],)
    ):
        if expression.evaluate(_attrs(worker["attributes"])):
            await uow.execute(
                "INSERT INTO queue_members (queue_sid, worker_sid, workspace_sid) VALUES (%s, %s, %s)",
                (queue_sid, worker["sid"], queue["workspace_sid"]),
            )


async def ensure_worker_channels(uow: UnitOfWork, *, workspace_sid: str, worker_sid: str | None = None) -> None:
    """One worker channel per (worker, task channel), created on demand with capacity 1 (Twilio's default)."""
    await uow.execute(
        """
        INSERT INTO worker_channels (sid, account_sid, workspace_sid, worker_sid, task_channel_sid,
                                     configured_capacity, available, assigned_tasks, reserved_tasks)
        SELECT 'WC' || md5(w.sid || tc.sid), w.account_sid, w.workspace_sid, w.sid, tc.sid, 1, true, 0, 0
          FROM workers w JOIN task_channels tc ON tc.workspace_sid = w.workspace_sid
         WHERE w.workspace_sid = %s AND (%s::text IS NULL OR w.sid = %s)
        ON CONFLICT (worker_sid, task_channel_sid) DO NOTHING
        """,
        (workspace_sid, worker_sid, worker_sid),
    )


# --- workers -----------------------------------------------------------------------------------------


async def set_worker_activity(
    uow: UnitOfWork, *, worker: dict[str, Any], activity_sid: str, reject_pending: bool = False
) -> None:
    await lock_workspace(uow, worker["workspace_sid"])
    activity = await uow.fetchone(
        "SELECT sid, friendly_name, available FROM activities WHERE sid = %s AND workspace_sid = %s",
        (activity_sid, worker["workspace_sid"]),
    )
    if activity is None:
        raise InvalidParameter(f"Activity {activity_sid} does not exist in this workspace")
    if activity_sid == worker["activity_sid"]:
        return
    await uow.execute(
        "UPDATE workers SET activity_sid = %s, available = %s, date_status_changed = now(), "
        "date_updated = now(), version = version + 1 WHERE sid = %s",
        (activity_sid, activity["available"], worker["sid"]),
    )
    await uow.publish(
        account_sid=worker["account_sid"],
        stream_table="workers",
        stream=worker["sid"],
        type="worker.activity.update",
        data={
            "worker_sid": worker["sid"],
            "activity_sid": activity_sid,
            "activity_name": activity["friendly_name"],
            "available": activity["available"],
        },
    )
    await record_event(
        uow,
        account_sid=worker["account_sid"],
        workspace_sid=worker["workspace_sid"],
        event_type="worker.activity.update",
        resource_type="worker",
        resource_sid=worker["sid"],
        description=f"Worker {worker['friendly_name']} updated to {activity['friendly_name']} Activity",
        data={
            "worker_sid": worker["sid"],
            "worker_activity_sid": activity_sid,
            "worker_activity_name": activity["friendly_name"],
            "worker_previous_activity_sid": worker["activity_sid"],
        },
    )
    if not activity["available"] and reject_pending:
        for reservation in await uow.fetchall(
            "SELECT sid FROM reservations WHERE worker_sid = %s AND reservation_status = 'pending'",
            (worker["sid"],),
        ):
            await update_reservation(uow, reservation_sid=reservation["sid"], status="rejected")
    if activity["available"]:
        await match(uow, worker["workspace_sid"])


async def update_worker_channel(
    uow: UnitOfWork, *, channel: dict[str, Any], capacity: int | None, available: bool | None
) -> dict[str, Any]:
    await lock_workspace(uow, channel["workspace_sid"])
    row = await uow.fetchone(
        "UPDATE worker_channels SET configured_capacity = COALESCE(%s, configured_capacity), "
        "available = COALESCE(%s, available), date_updated = now() WHERE sid = %s RETURNING *",
        (capacity, available, channel["sid"]),
    )
    assert row is not None
    await match(uow, channel["workspace_sid"])
    return row


# --- tasks -------------------------------------------------------------------------------------------


async def enter_step(uow: UnitOfWork, *, task_sid: str, step: dict[str, Any]) -> dict[str, Any]:
    """Put a pending task in a routing step (queue + target options) and try to offer it at once."""
    task = await _task_for_update(uow, task_sid)
    await lock_workspace(uow, task["workspace_sid"])
    if task["assignment_status"] not in ("pending", "reserved"):
        return task
    attributes = _attrs(task["attributes"])
    resolved = dict(step)
    for key in ("known_worker_sid", "known_worker_friendly_name"):
        path = step.get(key)
        if path:
            resolved["has_known_worker"] = True
            value = _lookup_path({"task": attributes}, path if path.startswith("task.") else f"task.{path}")
            resolved[key] = value if isinstance(value, str) else None
    priority = step.get("priority")
    await uow.execute(
        """
        UPDATE tasks SET routing_step = %s, task_queue_sid = %s,
               priority = COALESCE(%s, priority),
               task_queue_entered_date = CASE WHEN task_queue_sid IS DISTINCT FROM %s THEN now()
                                              ELSE task_queue_entered_date END,
               version = version + 1, date_updated = now()
         WHERE sid = %s
        """,
        (Jsonb(resolved), step["queue_sid"], priority, step["queue_sid"], task_sid),
    )
    await record_event(
        uow,
        account_sid=task["account_sid"],
        workspace_sid=task["workspace_sid"],
        event_type="task-queue.entered",
        resource_type="task",
        resource_sid=task_sid,
        description=f"Task {task_sid} entered queue {step['queue_sid']}",
        data={"task_sid": task_sid, "task_queue_sid": step["queue_sid"], "step": step},
    )
    await match(uow, task["workspace_sid"])
    return await _task_for_update(uow, task_sid)


def _lookup_path(document: dict[str, Any], path: str) -> Any:
    current: Any = document
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


async def _task_for_update(uow: UnitOfWork, task_sid: str) -> dict[str, Any]:
    task = await uow.fetchone("SELECT * FROM tasks WHERE sid = %s", (task_sid,))
    if task is None:
        raise NotFound(f"The requested resource /Tasks/{task_sid} was not found")
    return task


async def _task_event(uow: UnitOfWork, task: dict[str, Any], kind: str, **extra: Any) -> None:
    await uow.outbox(
        account_sid=task["account_sid"],
        kind="signal",
        dedupe_key=f"{task['sid']}:{kind}:{task['version']}",
        payload={"workflow_id": task["sid"], "signal": "routing_event", "arg": {"kind": kind, **extra}},
    )


async def update_task_status(
    uow: UnitOfWork, *, task_sid: str, status: str, reason: str | None = None
) -> dict[str, Any]:
    """Twilio's task transitions: cancel while pending/reserved; wrap up or complete once assigned."""
    task = await _task_for_update(uow, task_sid)
    await lock_workspace(uow, task["workspace_sid"])
    task = await _task_for_update(uow, task_sid)
    current = task["assignment_status"]
    if status == current:
        return task
    if status == "canceled":
        if current not in ("pending", "reserved"):
            raise Conflict(f"Task {task_sid} is {current}; only pending or reserved tasks can be canceled")
        for r in await uow.fetchall(
            "SELECT sid FROM reservations WHERE task_sid = %s AND reservation_status = 'pending'", (task_sid,)
        ):
            await _end_reservation(uow, r["sid"], "canceled")
    elif status == "wrapping":
        if current != "assigned":
            raise Conflict(f"Task {task_sid} is {current}; only assigned tasks can move to wrapping")
        wrapping = await uow.fetchone(
            "UPDATE reservations SET reservation_status = 'wrapping', version = version + 1, date_updated = now() "
            "WHERE task_sid = %s AND reservation_status = 'accepted' RETURNING sid, worker_sid",
            (task_sid,),
        )
        if wrapping is not None:
            await uow.publish(
                account_sid=task["account_sid"],
                stream_table="workers",
                stream=wrapping["worker_sid"],
                type="reservation.wrapping",
                data={"reservation_sid": wrapping["sid"], "task_sid": task_sid},
            )
    elif status == "completed":
        if current not in ("assigned", "wrapping"):
            raise Conflict(f"Task {task_sid} is {current}; only assigned or wrapping tasks can be completed")
        accepted = await uow.fetchone(
            "UPDATE reservations SET reservation_status = 'completed', version = version + 1, date_updated = now() "
            "WHERE task_sid = %s AND reservation_status IN ('accepted', 'wrapping') "
            "RETURNING sid, worker_sid, worker_channel_sid",
            (task_sid,),
        )
        if accepted is not None:
            await uow.execute(
                "UPDATE worker_channels SET assigned_tasks = assigned_tasks - 1, date_updated = now() WHERE sid = %s",
                (accepted["worker_channel_sid"],),
            )
            await uow.publish(
                account_sid=task["account_sid"],
                stream_table="workers",
                stream=accepted["worker_sid"],
                type="reservation.completed",
                data={"reservation_sid": accepted["sid"], "task_sid": task_sid},
            )
            await _agent_leaves(uow, task, accepted)
    elif status in ("pending", "reserved", "assigned"):
        raise InvalidParameter(f"AssignmentStatus '{status}' cannot be set through the API")
    else:
        raise InvalidParameter(f"Unknown AssignmentStatus '{status}'")
    row = await uow.fetchone(
        "UPDATE tasks SET assignment_status = %s, reason = COALESCE(%s, reason), version = version + 1, "
        "routing_step = CASE WHEN %s IN ('canceled', 'completed') THEN NULL ELSE routing_step END, "
        "date_updated = now() WHERE sid = %s RETURNING *",
        (status, reason, status, task_sid),
    )
    assert row is not None
    if status in ("canceled", "completed") and task["interaction_channel_sid"]:
        await uow.execute(
            "UPDATE interaction_channels SET active_task_sid = NULL, date_updated = now() "
            "WHERE sid = %s AND active_task_sid = %s",
            (task["interaction_channel_sid"], task_sid),
        )
    await _task_event(uow, row, f"task_{status}", status=status)
    event = {"canceled": "task.canceled", "wrapping": "task.wrapup", "completed": "task.completed"}[status]
    await record_event(
        uow,
        account_sid=task["account_sid"],
        workspace_sid=task["workspace_sid"],
        event_type=event,
        resource_type="task",
        resource_sid=task_sid,
        description=f"Task {task_sid} {status}",
        data={"task_sid": task_sid, "task_assignment_status": status, "reason": reason},
    )
    if status in ("canceled", "completed"):
        await match(uow, task["workspace_sid"])
    return row


async def _agent_leaves(uow: UnitOfWork, task: dict[str, Any], reservation: dict[str, Any]) -> None:
    """On completion the agent leaves the conversation; the interaction channel stays open (parked)."""
    if not task["interaction_channel_sid"]:
        return
    participant = await uow.fetchone(
        "UPDATE interaction_participants SET status = 'closed', date_updated = now() "
        "WHERE channel_sid = %s AND type = 'agent' AND routing_properties->>'reservation_sid' = %s "
        "RETURNING media_properties",
        (task["interaction_channel_sid"], reservation["sid"]),
    )
    if participant is not None and participant["media_properties"].get("participant_sid"):
        await conversations.remove_participant(
            uow,
            conversation_sid=participant["media_properties"]["conversation_sid"],
            participant_sid=participant["media_properties"]["participant_sid"],
        )


# --- reservations ------------------------------------------------------------------------------------


async def _end_reservation(uow: UnitOfWork, reservation_sid: str, status: str) -> dict[str, Any] | None:
    """pending → rejected | timeout | canceled | rescinded, freeing the reserved slot."""
    row = await uow.fetchone(
        "UPDATE reservations SET reservation_status = %s, version = version + 1, date_updated = now() "
        "WHERE sid = %s AND reservation_status = 'pending' RETURNING *",
        (status, reservation_sid),
    )
    if row is None:
        return None
    await uow.execute(
        "UPDATE worker_channels SET reserved_tasks = reserved_tasks - 1, date_updated = now() WHERE sid = %s",
        (row["worker_channel_sid"],),
    )
    await uow.publish(
        account_sid=row["account_sid"],
        stream_table="workers",
        stream=row["worker_sid"],
        type=f"reservation.{status}",
        data={"reservation_sid": reservation_sid, "task_sid": row["task_sid"]},
    )
    await record_event(
        uow,
        account_sid=row["account_sid"],
        workspace_sid=row["workspace_sid"],
        event_type=f"reservation.{status}",
        resource_type="reservation",
        resource_sid=reservation_sid,
        description=f"Reservation {reservation_sid} {status}",
        data={
            "task_sid": row["task_sid"],
            "worker_sid": row["worker_sid"],
            "reservation_sid": reservation_sid,
        },
    )
    return row


async def update_reservation(
    uow: UnitOfWork,
    *,
    reservation_sid: str,
    status: str,
    worker_activity_sid: str | None = None,
    expected_version: int | None = None,
) -> dict[str, Any]:
    reservation = await uow.fetchone("SELECT * FROM reservations WHERE sid = %s", (reservation_sid,))
    if reservation is None:
        raise NotFound(f"The requested resource /Reservations/{reservation_sid} was not found")
    workspace_sid = reservation["workspace_sid"]
    await lock_workspace(uow, workspace_sid)
    reservation = await uow.fetchone("SELECT * FROM reservations WHERE sid = %s", (reservation_sid,))
    assert reservation is not None
    if expected_version is not None and reservation["version"] != expected_version:
        raise Conflict("If-Match does not match the reservation's current ETag", code=20409, status=412)
    current = reservation["reservation_status"]
    task_sid = reservation["task_sid"]
    if status == current:
        return reservation
    if status == "accepted":
        if current != "pending":
            raise Conflict(f"Reservation {reservation_sid} is {current}; only a pending reservation can be accepted")
        return await _accept(uow, reservation)
    if status in ("rejected", "timeout"):
        if current != "pending":
            raise Conflict(f"Reservation {reservation_sid} is {current}; only a pending reservation can be {status}")
        ended = await _end_reservation(uow, reservation_sid, status)
        assert ended is not None
        await _after_reservation_lost(uow, reservation, status)
        if status == "timeout":
            workspace = await uow.fetchone(
                "SELECT timeout_activity_sid FROM workspaces WHERE sid = %s", (workspace_sid,)
            )
            worker_activity_sid = worker_activity_sid or (workspace or {}).get("timeout_activity_sid")
        if worker_activity_sid:
            worker = await uow.fetchone("SELECT * FROM workers WHERE sid = %s", (reservation["worker_sid"],))
            assert worker is not None
            await set_worker_activity(uow, worker=worker, activity_sid=worker_activity_sid)
        await match(uow, workspace_sid)
        return ended
    if status in ("wrapping", "completed"):
        if current not in ("accepted", "wrapping"):
            raise Conflict(f"Reservation {reservation_sid} is {current}; it must be accepted first")
        await update_task_status(uow, task_sid=task_sid, status=status, reason="reservation " + status)
        updated = await uow.fetchone("SELECT * FROM reservations WHERE sid = %s", (reservation_sid,))
        assert updated is not None
        return updated
    raise InvalidParameter(f"ReservationStatus '{status}' cannot be set through the API")


async def _after_reservation_lost(uow: UnitOfWork, reservation: dict[str, Any], status: str) -> None:
    task_sid = reservation["task_sid"]
    remaining = await uow.fetchone(
        "SELECT count(*) AS n FROM reservations WHERE task_sid = %s AND reservation_status = 'pending'",
        (task_sid,),
    )
    if remaining is not None and remaining["n"] == 0:
        await uow.execute(
            "UPDATE tasks SET assignment_status = 'pending', version = version + 1, date_updated = now() "
            "WHERE sid = %s AND assignment_status = 'reserved'",
            (task_sid,),
        )
    task = await _task_for_update(uow, task_sid)
    await _task_event(
        uow,
        task,
        "reservation_ended",
        reservation_sid=reservation["sid"],
        status=status,
    )


async def _accept(uow: UnitOfWork, reservation: dict[str, Any]) -> dict[str, Any]:
    task = await _task_for_update(uow, reservation["task_sid"])
    if task["assignment_status"] not in ("reserved", "pending"):
        raise Conflict(f"Task {task['sid']} is {task['assignment_status']}; the reservation can no longer be accepted")
    row = await uow.fetchone(
        "UPDATE reservations SET reservation_status = 'accepted', version = version + 1, date_updated = now() "
        "WHERE sid = %s AND reservation_status = 'pending' RETURNING *",
        (reservation["sid"],),
    )
    assert row is not None
    await uow.execute(
        "UPDATE worker_channels SET reserved_tasks = reserved_tasks - 1, assigned_tasks = assigned_tasks + 1, "
        "date_updated = now() WHERE sid = %s",
        (row["worker_channel_sid"],),
    )
    # Multi-reservation: the first to accept wins; the others are rescinded.
    for other in await uow.fetchall(
        "SELECT sid FROM reservations WHERE task_sid = %s AND reservation_status = 'pending' AND sid <> %s",
        (task["sid"], row["sid"]),
    ):
        await _end_reservation(uow, other["sid"], "rescinded")
    task = (
        await uow.fetchone(
            "UPDATE tasks SET assignment_status = 'assigned', version = version + 1, date_updated = now() "
            "WHERE sid = %s RETURNING *",
            (task["sid"],),
        )
        or task
    )
    await uow.publish(
        account_sid=row["account_sid"],
        stream_table="workers",
        stream=row["worker_sid"],
        type="reservation.accepted",
        data={"reservation_sid": row["sid"], "task_sid": task["sid"]},
    )
    await record_event(
        uow,
        account_sid=row["account_sid"],
        workspace_sid=row["workspace_sid"],
        event_type="reservation.accepted",
        resource_type="reservation",
        resource_sid=row["sid"],
        description=f"Reservation {row['sid']} accepted",
        data={"task_sid": task["sid"], "worker_sid": row["worker_sid"], "reservation_sid": row["sid"]},
    )
    await _agent_joins(uow, task, row)
    await _task_event(uow, task, "task_assigned", reservation_sid=row["sid"], worker_sid=row["worker_sid"])
    await match(uow, row["workspace_sid"])
    return row


async def _agent_joins(uow: UnitOfWork, task: dict[str, Any], reservation: dict[str, Any]) -> None:
    """Accepting a conversation task adds the worker to the conversation and the interaction channel, in
    the same transaction as the accept, so the agent can type the moment the accept returns."""
    if not task["interaction_channel_sid"]:
        return
    channel = await uow.fetchone(
        "SELECT * FROM interaction_channels WHERE sid = %s", (task["interaction_channel_sid"],)
    )
    worker = await uow.fetchone("SELECT * FROM workers WHERE sid = %s", (reservation["worker_sid"],))
    if channel is None or worker is None:
        return
    identity = agent_identity(worker)
    participant = await conversations.add_participant(
        uow,
        conversation_sid=channel["conversation_sid"],
        identity=identity,
        attributes=json.dumps(
            {
                "role": "agent",
                "worker_sid": worker["sid"],
                "friendly_name": _attrs(worker["attributes"]).get("full_name") or worker["friendly_name"],
            }
        ),
        if_absent=True,
    )
    await uow.execute(
        """
        INSERT INTO interaction_participants (sid, account_sid, interaction_sid, channel_sid, type, status,
                                              media_properties, routing_properties)
        VALUES (%s, %s, %s, %s, 'agent', 'active', %s, %s)
        """,
        (
            new_sid(SidPrefix.INTERACTION_PARTICIPANT),
            channel["account_sid"],
            channel["interaction_sid"],
            channel["sid"],
            Jsonb(
                {
                    "conversation_sid": channel["conversation_sid"],
                    "participant_sid": participant["sid"],
                    "identity": identity,
                }
            ),
            Jsonb({"task_sid": task["sid"], "worker_sid": worker["sid"], "reservation_sid": reservation["sid"]}),
        ),
    )


def agent_identity(worker: dict[str, Any]) -> str:
    """The chat identity an agent uses: attributes.contact_uri without `client:` (Flex's convention),
    else attributes.identity, else the worker's friendly name."""
    attributes = _attrs(worker["attributes"])
    contact = attributes.get("contact_uri")
    if isinstance(contact, str) and contact:
        return contact.removeprefix("client:")
    identity = attributes.get("identity")
    return identity if isinstance(identity, str) and identity else str(worker["friendly_name"])
