"""Where a customer's conversation stands in routing, as the web chat shows it: waiting in a queue (its place
and an estimate of the wait), with an agent, or neither. A Parley extension (docs/webchat.md): Twilio leaves
queue position to a Flex plugin.

The place counts the tasks of the same queue still waiting (pending or offered) that TaskRouter would offer
first: a higher priority, or the same priority and an earlier (virtual) start. The estimate is the queue's
average wait until an agent accepted, over the last WAIT_ESTIMATE_WINDOW, times the place; none when the
queue has accepted nothing in that window (an honest "we don't know" beats a made-up figure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.limits import WAIT_ESTIMATE_WINDOW
from storage.db import UnitOfWork


class Standing(StrEnum):
    WAITING = "waiting"  # a task is pending or offered to an agent
    WITH_AGENT = "with_agent"  # an agent holds it (assigned or wrapping up)
    NONE = "none"  # no live task: not routed yet, or parked


@dataclass(frozen=True, slots=True)
class QueueStanding:
    status: Standing
    queue_name: str | None = None
    position: int | None = None  # 1: next to be offered
    estimated_wait: int | None = None  # seconds


async def queue_standing(uow: UnitOfWork, *, conversation_sid: str) -> QueueStanding:
    task = await uow.fetchone(
        "SELECT t.sid, t.workspace_sid, t.task_queue_sid, t.assignment_status, t.priority, "
        "       COALESCE(t.virtual_start_time, t.date_created) AS started, q.friendly_name AS queue_name "
        "FROM tasks t JOIN interaction_channels c ON c.sid = t.interaction_channel_sid "
        "LEFT JOIN task_queues q ON q.sid = t.task_queue_sid "
        "WHERE c.conversation_sid = %s AND t.assignment_status IN ('pending', 'reserved', 'assigned', 'wrapping') "
        "ORDER BY t.date_created DESC LIMIT 1",
        (conversation_sid,),
    )
    if task is None:
        return QueueStanding(status=Standing.NONE)
    if task["assignment_status"] in ("assigned", "wrapping"):
        return QueueStanding(status=Standing.WITH_AGENT, queue_name=task["queue_name"])
    if task["task_queue_sid"] is None:
        return QueueStanding(status=Standing.WAITING)
    ahead = await uow.fetchone(
        "SELECT count(*) AS n FROM tasks WHERE task_queue_sid = %s AND assignment_status IN ('pending', 'reserved') "
        "AND sid <> %s AND (priority > %s OR (priority = %s AND COALESCE(virtual_start_time, date_created) < %s))",
        (task["task_queue_sid"], task["sid"], task["priority"], task["priority"], task["started"]),
    )
    position = int(ahead["n"] if ahead else 0) + 1
    average = await uow.fetchone(
        "SELECT avg((event_data->>'task_age')::numeric) AS seconds FROM taskrouter_events "
        "WHERE workspace_sid = %s AND event_type = 'reservation.accepted' AND event_data->>'task_queue_sid' = %s "
        "AND event_date >= now() - make_interval(secs => %s)",
        (task["workspace_sid"], task["task_queue_sid"], WAIT_ESTIMATE_WINDOW),
    )
    seconds = average["seconds"] if average else None
    return QueueStanding(
        status=Standing.WAITING,
        queue_name=task["queue_name"],
        position=position,
        estimated_wait=round(float(seconds) * position) if seconds is not None else None,
    )
