"""Task ↔ worker matching: one transaction, serialized per workspace by an advisory lock.

Every routing mutation (task enters a step, worker becomes available, capacity frees, a reservation is
rejected or times out) takes the workspace lock first, changes state, then calls `match` in the same
transaction. Because reservations and the capacity counters only change under that lock, and `match` reads
them after taking it, two transactions can never both see the same free slot (no over-fill, no double
assignment), and a change that frees capacity always runs matching before it commits (no missed wake-up)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from domain.routing import parse_expression
from domain.sids import SidPrefix, new_sid
from storage.db import UnitOfWork
from storage.events import record_event

MAX_CANDIDATES_RECORDED = 50


def workspace_lock_key(workspace_sid: str) -> int:
    return int.from_bytes(hashlib.sha1(workspace_sid.encode()).digest()[:8], "big", signed=True)


async def lock_workspace(uow: UnitOfWork, workspace_sid: str) -> None:
    await uow.execute("SELECT pg_advisory_xact_lock(%s)", (workspace_lock_key(workspace_sid),))


@dataclass
class _Worker:
    sid: str
    friendly_name: str
    attributes: dict[str, Any]
    activity_sid: str
    activity_name: str
    activity_available: bool
    date_status_changed: datetime | None
    # task_channel_sid -> channel row (sid, configured_capacity, assigned_tasks, reserved_tasks, available, ...)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)

    def load(self) -> int:
        return sum(c["assigned_tasks"] + c["reserved_tasks"] for c in self.channels.values())

    def context(self) -> dict[str, Any]:
        return {
            **self.attributes,
            "sid": self.sid,
            "friendly_name": self.friendly_name,
            "activity_sid": self.activity_sid,
            "activity_name": self.activity_name,
        }


def _attrs(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _lookup(document: dict[str, Any], path: str) -> Any:
    current: Any = document
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def _order_key(worker: _Worker, channel: dict[str, Any], order_by: list[dict[str, Any]]) -> tuple[Any, ...]:
    """order_by clauses first (missing attributes last, whatever the direction), then longest idle."""
    parts: list[Any] = []
    context = worker.context()
    for clause in order_by:
        value = _lookup(context, clause["key"])
        if value is None or isinstance(value, (dict, list)):
            parts.append((1, 0))
            continue
        if isinstance(value, bool | int | float):
            sortable: Any = -float(value) if clause.get("descending") else float(value)
            parts.append((0, (0, sortable)))
        else:
            text = str(value)
            # Strings sort descending by inverting code points, which keeps one tuple type per clause.
            if clause.get("descending"):
                sortable = (*(-ord(c) for c in text), 1)
            else:
                sortable = tuple(ord(c) for c in text)
            parts.append((0, (1, sortable)))
    idle_since = channel.get("last_reserved_at") or worker.date_status_changed
    parts.append((0 if idle_since is None else 1, idle_since.timestamp() if idle_since else 0.0))
    parts.append(worker.sid)
    return tuple(parts)


async def match(uow: UnitOfWork, workspace_sid: str) -> list[dict[str, Any]]:
    """Offer every waiting task that can be offered now. Returns the reservations created."""
    await lock_workspace(uow, workspace_sid)
    workspace = await uow.fetchone(
        "SELECT sid, account_sid, friendly_name, multi_task_enabled, prioritize_queue_order "
        "FROM workspaces WHERE sid = %s",
        (workspace_sid,),
    )
    if workspace is None:
        return []
    tasks = await uow.fetchall(
        """
        SELECT t.sid, t.account_sid, t.attributes, t.priority, t.task_channel_sid, t.routing_step,
               t.virtual_start_time, t.date_created, t.assignment_status, t.task_queue_sid,
               t.interaction_channel_sid, q.task_order, q.max_reserved_workers,
               (SELECT count(*) FROM reservations r
                 WHERE r.task_sid = t.sid AND r.reservation_status = 'pending') AS pending_reservations
          FROM tasks t JOIN task_queues q ON q.sid = t.task_queue_sid
         WHERE t.workspace_sid = %s AND t.assignment_status IN ('pending', 'reserved')
           AND t.routing_step IS NOT NULL
        """,
        (workspace_sid,),
    )
    if not tasks:
        return []
    workers = await _load_workers(uow, workspace_sid)
    members: dict[str, set[str]] = {}
    for row in await uow.fetchall(
        "SELECT queue_sid, worker_sid FROM queue_members WHERE workspace_sid = %s", (workspace_sid,)
    ):
        members.setdefault(row["queue_sid"], set()).add(row["worker_sid"])
    excluded: dict[str, dict[str, str]] = {}
    for row in await uow.fetchall(
        "SELECT task_sid, worker_sid, reservation_status FROM reservations "
        "WHERE task_sid = ANY(%s) AND reservation_status IN ('pending', 'rejected', 'timeout')",
        ([t["sid"] for t in tasks],),
    ):
        excluded.setdefault(row["task_sid"], {})[row["worker_sid"]] = row["reservation_status"]

    created: list[dict[str, Any]] = []
    for task in _task_order(tasks, workspace["prioritize_queue_order"]):
        wanted = int(task["max_reserved_workers"]) - int(task["pending_reservations"])
        if wanted <= 0:
            continue
        chosen, decision = _choose(
            task,
            workers,
            members.get(task["task_queue_sid"], set()),
            excluded.get(task["sid"], {}),
            multi_task=bool(workspace["multi_task_enabled"]),
            wanted=wanted,
        )
        if not chosen:
            await _record_waiting_reason(uow, task, decision["summary"])
            continue
        for worker, channel, why in chosen:
            reservation = await _reserve(uow, workspace, task, worker, channel, {**decision, "chosen": why})
            created.append(reservation)
    return created


def _task_order(tasks: list[dict[str, Any]], prioritize: str) -> list[dict[str, Any]]:
    fifo = sorted(
        (t for t in tasks if t["task_order"] != "LIFO"),
        key=lambda t: (-int(t["priority"]), t["virtual_start_time"] or t["date_created"], t["sid"]),
    )
    lifo = sorted(
        (t for t in tasks if t["task_order"] == "LIFO"),
        key=lambda t: t["virtual_start_time"] or t["date_created"],
        reverse=True,
    )
    return lifo + fifo if prioritize == "LIFO" else fifo + lifo


async def _load_workers(uow: UnitOfWork, workspace_sid: str) -> dict[str, _Worker]:
    rows = await uow.fetchall(
        """
        SELECT w.sid, w.friendly_name, w.attributes, w.activity_sid, w.date_status_changed,
               a.friendly_name AS activity_name, a.available AS activity_available,
               wc.sid AS wc_sid, wc.task_channel_sid, wc.configured_capacity, wc.assigned_tasks,
               wc.reserved_tasks, wc.available AS wc_available, wc.last_reserved_at
          FROM workers w
          JOIN activities a ON a.sid = w.activity_sid
          LEFT JOIN worker_channels wc ON wc.worker_sid = w.sid
         WHERE w.workspace_sid = %s
        """,
        (workspace_sid,),
    )
    workers: dict[str, _Worker] = {}
    for row in rows:
        worker = workers.get(row["sid"])
        if worker is None:
            worker = workers[row["sid"]] = _Worker(
                sid=row["sid"],
                friendly_name=row["friendly_name"],
                attributes=_attrs(row["attributes"]),
                activity_sid=row["activity_sid"],
                activity_name=row["activity_name"],
                activity_available=bool(row["activity_available"]),
                date_status_changed=row["date_status_changed"],
            )
        if row["wc_sid"] is not None:
            worker.channels[row["task_channel_sid"]] = {
                "sid": row["wc_sid"],
                "configured_capacity": int(row["configured_capacity"]),
                "assigned_tasks": int(row["assigned_tasks"]),
                "reserved_tasks": int(row["reserved_tasks"]),
                "available": bool(row["wc_available"]),
                "last_reserved_at": row["last_reserved_at"],
            }
    return workers


def _choose(
    task: dict[str, Any],
    workers: dict[str, _Worker],
    queue_members: set[str],
    excluded: dict[str, str],
    *,
    multi_task: bool,
    wanted: int,
) -> tuple[list[tuple[_Worker, dict[str, Any], dict[str, Any]]], dict[str, Any]]:
    step = task["routing_step"] or {}
    task_attributes = _attrs(task["attributes"])
    expression = parse_expression(step["expression"]) if step.get("expression") else None
    known_sid = step.get("known_worker_sid")
    known_name = step.get("known_worker_friendly_name")
    candidates: list[dict[str, Any]] = []
    eligible: list[tuple[_Worker, dict[str, Any]]] = []
    for worker_sid in sorted(queue_members):
        worker = workers.get(worker_sid)
        if worker is None:
            continue
        channel = worker.channels.get(task["task_channel_sid"])
        reason: str | None = None
        if step.get("has_known_worker") and known_sid is None and known_name is None:
            reason = "known-worker routing: the task attribute naming the worker is missing"
        elif known_sid is not None and worker.sid != known_sid:
            reason = f"known-worker routing targets {known_sid}"
        elif known_name is not None and worker.friendly_name.lower() != str(known_name).lower():
            reason = f"known-worker routing targets '{known_name}'"
        elif worker_sid in excluded:
            status = excluded[worker_sid]
            reason = (
                "already holds a pending reservation for this task"
                if status == "pending"
                else (f"{'rejected' if status == 'rejected' else 'let time out'} a reservation for this task")
            )
        elif not worker.activity_available:
            reason = f"activity '{worker.activity_name}' is unavailable"
        elif channel is None:
            reason = "has no worker channel for the task's channel"
        elif not channel["available"]:
            reason = "worker channel is unavailable"
        elif channel["assigned_tasks"] + channel["reserved_tasks"] >= channel["configured_capacity"]:
            reason = (
                f"at capacity ({channel['assigned_tasks']} assigned + {channel['reserved_tasks']} reserved"
                f" of {channel['configured_capacity']})"
            )
        elif not multi_task and worker.load() > 0:
            reason = "single-tasking workspace and the worker already has a task"
        elif expression is not None and not expression.evaluate({"task": task_attributes, "worker": worker.context()}):
            reason = f"target expression '{step['expression']}' is false for this worker"
        candidates.append({"worker_sid": worker.sid, "friendly_name": worker.friendly_name, "excluded_because": reason})
        if reason is None and channel is not None:
            eligible.append((worker, channel))

    order_by = step.get("order_by") or []
    eligible.sort(key=lambda pair: _order_key(pair[0], pair[1], order_by))
    picked = eligible[:wanted]
    step_label = (
        f"queue {step.get('queue_sid')} (filter {step.get('filter_name') or step.get('filter_index')}, "
        f"target {step.get('target_index')})"
    )
    if picked:
        summary = f"{len(eligible)} eligible of {len(candidates)} queue members in {step_label}"
    elif not queue_members:
        summary = f"no worker matches the queue's target_workers in {step_label}"
    else:
        summary = f"no eligible worker among {len(candidates)} queue members in {step_label}"
    decision = {
        "step": {
            k: step.get(k)
            for k in (
                "queue_sid",
                "filter_index",
                "filter_name",
                "target_index",
                "step_index",
                "expression",
                "order_by",
            )
        },
        "summary": summary,
        "candidates": candidates[:MAX_CANDIDATES_RECORDED],
        "candidates_total": len(candidates),
    }
    chosen = []
    for rank, (worker, channel) in enumerate(picked):
        idle_since = channel.get("last_reserved_at") or worker.date_status_changed
        why = (
            f"ranked {rank + 1} of {len(eligible)} eligible by "
            + (
                ", ".join(f"worker.{c['key']} {'DESC' if c.get('descending') else 'ASC'}" for c in order_by) + ", then "
                if order_by
                else ""
            )
            + f"longest idle (idle since {idle_since.isoformat() if idle_since else 'never reserved'})"
        )
        chosen.append((worker, channel, {"worker_sid": worker.sid, "friendly_name": worker.friendly_name, "why": why}))
        # Later tasks in this pass must see the slot as taken.
        channel["reserved_tasks"] += 1
    return chosen, decision


async def _record_waiting_reason(uow: UnitOfWork, task: dict[str, Any], summary: str) -> None:
    step = task["routing_step"] or {}
    if step.get("waiting_reason") == summary:
        return
    await uow.execute(
        "UPDATE tasks SET routing_step = routing_step || %s WHERE sid = %s",
        (Jsonb({"waiting_reason": summary}), task["sid"]),
    )


async def _reserve(
    uow: UnitOfWork,
    workspace: dict[str, Any],
    task: dict[str, Any],
    worker: _Worker,
    channel: dict[str, Any],
    decision: dict[str, Any],
) -> dict[str, Any]:
    step = task["routing_step"] or {}
    timeout = int(step.get("reservation_timeout") or 120)
    reservation_sid = new_sid(SidPrefix.RESERVATION)
    row = await uow.fetchone(
        """
        INSERT INTO reservations (sid, account_sid, workspace_sid, task_sid, worker_sid, worker_channel_sid,
                                  reservation_status, timeout, decision)
        VALUES (%s, %s, %s, %s, %s, %s, 'pending', %s, %s)
        RETURNING *
        """,
        (
            reservation_sid,
            task["account_sid"],
            workspace["sid"],
            task["sid"],
            worker.sid,
            channel["sid"],
            timeout,
            Jsonb(decision),
        ),
    )
    assert row is not None
    await uow.execute(
        "UPDATE worker_channels SET reserved_tasks = reserved_tasks + 1, last_reserved_at = now(), "
        "date_updated = now() WHERE sid = %s",
        (channel["sid"],),
    )
    await uow.execute(
        "UPDATE tasks SET assignment_status = 'reserved', version = version + 1, date_updated = now(), "
        "routing_step = routing_step - 'waiting_reason' WHERE sid = %s",
        (task["sid"],),
    )
    task["pending_reservations"] = int(task["pending_reservations"]) + 1
    await uow.publish(
        account_sid=task["account_sid"],
        stream_table="workers",
        stream=worker.sid,
        type="reservation.created",
        data={
            "reservation_sid": reservation_sid,
            "task_sid": task["sid"],
            "workspace_sid": workspace["sid"],
            "worker_sid": worker.sid,
            "timeout": timeout,
            "task_attributes": task["attributes"],
            "task_channel_sid": task["task_channel_sid"],
            "task_queue_sid": task["task_queue_sid"],
            "interaction_channel_sid": task["interaction_channel_sid"],
            "date_created": row["date_created"].isoformat(),
        },
    )
    await uow.outbox(
        account_sid=task["account_sid"],
        kind="signal",
        dedupe_key=f"{reservation_sid}:created",
        payload={
            "workflow_id": task["sid"],
            "signal": "routing_event",
            "arg": {
                "kind": "reservation_created",
                "reservation_sid": reservation_sid,
                "worker_sid": worker.sid,
                "timeout": timeout,
                "created_at": row["date_created"].timestamp(),
            },
        },
    )
    await record_event(
        uow,
        account_sid=task["account_sid"],
        workspace_sid=workspace["sid"],
        event_type="reservation.created",
        resource_type="reservation",
        resource_sid=reservation_sid,
        description=f"Reservation {reservation_sid} created for worker {worker.friendly_name}",
        data={
            "task_sid": task["sid"],
            "worker_sid": worker.sid,
            "reservation_sid": reservation_sid,
            "task_queue_sid": task["task_queue_sid"],
            "decision": decision.get("chosen"),
        },
    )
    return dict(row)
