"""Invites and transfers: more tasks on the same interaction channel, and what happens when they are answered.

An invite (KG…) is a new task on the channel, routed to a queue or straight to a worker; when its agent accepts,
the agent joins the same conversation (and sees its whole history). A transfer (UX…) rides on an invite:

- **cold**: the sender goes to wrap-up at once; if nobody takes the customer the channel routes again (its
  workflow sees a task end with nobody holding the customer);
- **warm**: the sender keeps the customer until the receiver accepts, then goes to wrap-up; if the receiver
  declines or nobody accepts in time, the transfer fails and the sender still has the customer.

Every step runs in the transaction of what caused it (the accept, the decline, the task's end), so a transfer's
status never disagrees with its task's."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from domain.errors import Conflict, InvalidParameter, PermissionDenied
from domain.events import EventType, ResourceType
from domain.interactions import RoutingSpec, TransferRequest, TransferUpdate
from domain.limits import (
    CHANNEL_CLOSED_REASON,
    DEFAULT_TASK_TTL,
    DEFAULT_TRANSFER_TIMEOUT,
    TRANSFER_CANCELED_REASON,
    TRANSFER_DECLINED_REASON,
    TRANSFER_TIMEOUT_REASON,
)
from domain.sids import SidPrefix, new_sid
from domain.states import (
    ENDED_CHANNEL,
    InteractionChannelStatus,
    InteractionParticipantStatus,
    InteractionParticipantType,
    ReservationStatus,
    TaskStatus,
    TransferStatus,
    TransferType,
)
from storage import crypto
from storage.attributes import attributes_of
from storage.db import UnitOfWork
from storage.interactions import service as interactions
from storage.interactions.tables import (
    InteractionChannelRow,
    InteractionInviteRow,
    InteractionTransferRow,
)
from storage.taskrouter import routing as taskrouter
from storage.taskrouter.events import record_event
from storage.taskrouter.lifecycle import lock_workspace
from storage.taskrouter.tables import ReservationRow, TaskRow


def require_open(channel: InteractionChannelRow) -> None:
    if channel.status in ENDED_CHANNEL:
        raise InvalidParameter("Interaction Not Open", code=80906)


# --- invites -----------------------------------------------------------------------------------------


async def create_invite(
    uow: UnitOfWork, *, channel: InteractionChannelRow, routing: RoutingSpec
) -> InteractionInviteRow:
    """A new task on the channel, routed by `routing` (to its worker, its queue, or through its workflow).
    Like Twilio, the channel's earlier task attributes are not copied: the caller sends what the task needs."""
    require_open(channel)
    if channel.status is InteractionChannelStatus.INACTIVE:
        # Re-engaging an inactive channel is what an invite is for (Twilio's recommended re-engagement).
        await interactions.set_channel_status(uow, channel_sid=channel.sid, status=InteractionChannelStatus.ACTIVE)
    props = routing.properties
    queue_sid = await interactions.target_queue(
        uow, props.workspace_sid, worker_sid=props.worker_sid, queue_sid=props.queue_sid
    )
    invite_sid = new_sid(SidPrefix.INVITE)
    attributes = await interactions.flex_task_attributes(uow, channel, props.attributes, invite_sid=invite_sid)
    task = await interactions.create_api_task(
        uow,
        channel=channel,
        props=props,
        attributes=attributes,
        routing_target=props.routing_target,
        task_queue_sid=queue_sid,
        ttl=props.timeout or DEFAULT_TASK_TTL,
        summary=f"invite to {await _target_name(uow, props.worker_sid or props.queue_sid)}",
    )
    return await _insert_invite(uow, channel, invite_sid, task)


async def _insert_invite(
    uow: UnitOfWork, channel: InteractionChannelRow, invite_sid: str, task: TaskRow
) -> InteractionInviteRow:
    """The invite record of a task on the channel; its `routing` is Twilio's `{reservation, properties}`."""
    row = await uow.one(
        InteractionInviteRow,
        "INSERT INTO interaction_invites (sid, account_sid, interaction_sid, channel_sid, routing, task_sid) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
        (
            invite_sid,
            channel.account_sid,
            channel.interaction_sid,
            channel.sid,
            Jsonb(await crypto.seal_document(uow, channel.account_sid, await interactions.routing_of(uow, task))),
            task.sid,
        ),
    )
    assert row is not None
    return row


async def _target_name(uow: UnitOfWork, sid: str | None) -> str:
    if sid is None:
        return "the workflow's queues"
    row = await uow.fetchone(
        "SELECT friendly_name FROM workers WHERE sid = %s "
        "UNION ALL SELECT friendly_name FROM task_queues WHERE sid = %s",
        (sid, sid),
    )
    return (row or {}).get("friendly_name") or sid


async def get_invite(uow: UnitOfWork, *, channel: InteractionChannelRow, sid: str) -> InteractionInviteRow:
    return await uow.found(
        InteractionInviteRow,
        "SELECT * FROM interaction_invites WHERE sid = %s AND channel_sid = %s",
        (sid, channel.sid),
        resource=f"/Invites/{sid}",
    )


# --- transfers ---------------------------------------------------------------------------------------


async def create_transfer(
    uow: UnitOfWork,
    *,
    channel: InteractionChannelRow,
    request: TransferRequest,
    acting_worker_sid: str | None,
    actor_name: str | None = None,
) -> InteractionTransferRow:
    """Hand the customer from an agent participant to a worker or a queue. Says why when it cannot happen.
    `actor_name`: who moved the chat when it is not the sending agent (a supervisor), as the receiver sees it."""
    require_open(channel)
    sender = await interactions.get_participant(uow, channel=channel, sid=request.from_)
    if sender.type is not InteractionParticipantType.AGENT or sender.status is not InteractionParticipantStatus.ACTIVE:
        raise InvalidParameter(f"Participant {sender.sid} is not an active agent of this channel")
    props = sender.routing_properties or {}
    if acting_worker_sid is not None and acting_worker_sid != props.get("worker_sid"):
        raise PermissionDenied("An agent may only transfer from its own participant")
    sent_task = await uow.one(TaskRow, "SELECT * FROM tasks WHERE sid = %s", (props.get("task_sid"),))
    if sent_task is not None:
        # Routing changes take the workspace lock first; so does a transfer, so two cannot interleave.
        await lock_workspace(uow, sent_task.workspace_sid)
    from_task = await uow.one(TaskRow, "SELECT * FROM tasks WHERE sid = %s", (props.get("task_sid"),))
    if from_task is None or from_task.assignment_status is not TaskStatus.ASSIGNED:
        raise InvalidParameter("The sending agent does not hold an assigned task on this channel")
    if await uow.fetchone(
        "SELECT 1 FROM interaction_transfers WHERE channel_sid = %s AND status = 'active'", (channel.sid,)
    ):
        raise Conflict("A transfer is already waiting for its receiver on this channel")
    worker_sid = request.to if request.to.startswith(SidPrefix.WORKER) else None
    if worker_sid == props.get("worker_sid"):
        raise InvalidParameter("An agent cannot transfer a conversation to itself")
    queue_sid = await interactions.target_queue(
        uow,
        from_task.workspace_sid,
        worker_sid=worker_sid,
        queue_sid=request.queue_sid if worker_sid else request.to,
        preferred=from_task.task_queue_sid,
    )
    if worker_sid is not None:
        await _require_reachable(uow, worker_sid)
    sender_name = actor_name or (sender.media_properties or {}).get("identity") or props.get("worker_sid") or sender.sid
    target_name = await _target_name(uow, request.to)
    transfer_sid = new_sid(SidPrefix.TRANSFER)
    invite_sid = new_sid(SidPrefix.INVITE)
    note_sid = new_sid(SidPrefix.NOTE) if request.note else None
    attributes = {
        # Like Flex UI: the receiver's task carries the original's attributes, and what the transfer was.
        **attributes_of(from_task.attributes),
        "flexChannelInviteSid": invite_sid,
        "transferTargetSid": request.to,
        "transferTargetType": "worker" if worker_sid else "queue",
        "transferMeta": {
            "mode": request.type.value.upper(),
            "transferSid": transfer_sid,
            "originalTask": from_task.sid,
            "originalReservation": props.get("reservation_sid"),
            "originalWorker": props.get("worker_sid"),
            "transferredBy": sender_name,
            "note": request.note,
            "noteSid": note_sid,
        },
    }
    summary = f"{request.type.value} transfer from {sender_name} to {target_name}, waiting for {target_name}"
    task = await interactions.create_api_task(
        uow,
        channel=channel,
        props=None,
        attributes=attributes,
        routing_target=request.to,
        task_queue_sid=queue_sid,
        ttl=request.timeout or DEFAULT_TRANSFER_TIMEOUT,
        summary=summary,
        from_task=from_task,
        transfer_sid=transfer_sid,
        # Cold: the sender lets go of the customer now (its task wraps up below), whatever the receiver does.
        released_task_sid=from_task.sid if request.type is TransferType.COLD else None,
    )
    await _insert_invite(uow, channel, invite_sid, task)
    row = await uow.one(
        InteractionTransferRow,
        """
        INSERT INTO interaction_transfers (sid, account_sid, interaction_sid, channel_sid, type, status,
            from_participant_sid, "to", from_task_sid, invite_sid, task_sid, note_sid, note)
        VALUES (%s, %s, %s, %s, %s, 'active', %s, %s, %s, %s, %s, %s, %s) RETURNING *
        """,
        (
            transfer_sid,
            channel.account_sid,
            channel.interaction_sid,
            channel.sid,
            request.type.value,
            sender.sid,
            request.to,
            from_task.sid,
            invite_sid,
            task.sid,
            note_sid,
            request.note,
        ),
    )
    assert row is not None
    await _log_transfer(
        uow,
        row,
        from_task.workspace_sid,
        EventType.TASK_TRANSFER_INITIATED,
        transfer_initiating_worker_sid=props.get("worker_sid"),
        transfer_initiating_reservation_sid=props.get("reservation_sid"),
    )
    if request.type is TransferType.COLD:
        await _sender_wraps_up(uow, from_task.sid, sender.sid)
    return row


# The TaskRouter event of each step of a transfer (task.transfer-*), recorded on the task it hands over, with
# the transfer's status after it (an attempt that failed leaves the transfer going: INITIATED) and its words.
_TRANSFER_STATUS = {
    EventType.TASK_TRANSFER_INITIATED: ("INITIATED", "initiated"),
    EventType.TASK_TRANSFER_ATTEMPT_FAILED: ("INITIATED", "an attempt failed"),
    EventType.TASK_TRANSFER_COMPLETED: ("COMPLETE", "complete"),
    EventType.TASK_TRANSFER_FAILED: ("FAILED", "failed"),
    EventType.TASK_TRANSFER_CANCELED: ("CANCELED", "canceled"),
}


async def _log_transfer(
    uow: UnitOfWork, transfer: InteractionTransferRow, workspace_sid: str, event_type: EventType, **extra: str | None
) -> None:
    """Like Flex's TaskTransfer: the original task's fields, and the transfer's sid, mode, target and status."""
    if transfer.from_task_sid is None:
        return
    await record_event(
        uow,
        workspace_sid=workspace_sid,
        event_type=event_type,
        resource_type=ResourceType.TASK,
        resource_sid=transfer.from_task_sid,
        description=f"Task {transfer.from_task_sid} {transfer.type.value} transfer to {transfer.to}: "
        + _TRANSFER_STATUS[event_type][1],
        task_sid=transfer.from_task_sid,
        data={
            "transfer_sid": transfer.sid,
            "transfer_mode": transfer.type.value.upper(),
            "transfer_type": "WORKER" if transfer.to.startswith(SidPrefix.WORKER) else "QUEUE",
            "transfer_to": transfer.to,
            "transfer_status": _TRANSFER_STATUS[event_type][0],
            "transfer_task_sid": transfer.task_sid,
            **extra,
        },
    )


async def _require_reachable(uow: UnitOfWork, worker_sid: str) -> None:
    row = await uow.fetchone(
        "SELECT w.friendly_name, a.friendly_name AS activity, a.available FROM workers w "
        "JOIN activities a ON a.sid = w.activity_sid WHERE w.sid = %s",
        (worker_sid,),
    )
    if row is not None and not row["available"]:
        raise InvalidParameter(
            f"Worker {row['friendly_name']} cannot take a transfer: activity '{row['activity']}' is unavailable"
        )


async def _sender_wraps_up(uow: UnitOfWork, task_sid: str | None, participant_sid: str) -> None:
    task = await uow.one(TaskRow, "SELECT * FROM tasks WHERE sid = %s", (task_sid,))
    if task is not None and task.assignment_status is TaskStatus.ASSIGNED:
        await taskrouter.update_task_status(uow, task_sid=task.sid, status=TaskStatus.WRAPPING, reason="transferred")
    await uow.execute(
        "UPDATE interaction_participants SET status = 'wrapup', date_updated = now() "
        "WHERE sid = %s AND status = 'active'",
        (participant_sid,),
    )


async def get_transfer(uow: UnitOfWork, *, channel: InteractionChannelRow, sid: str) -> InteractionTransferRow:
    return await uow.found(
        InteractionTransferRow,
        "SELECT * FROM interaction_transfers WHERE sid = %s AND channel_sid = %s",
        (sid, channel.sid),
        resource=f"/Transfers/{sid}",
    )


async def update_transfer(
    uow: UnitOfWork,
    *,
    channel: InteractionChannelRow,
    sid: str,
    change: TransferUpdate,
    acting_worker_sid: str | None,
) -> InteractionTransferRow:
    """The sender takes back a transfer nobody has accepted yet (`status=failed`): its task is canceled."""
    transfer = await get_transfer(uow, channel=channel, sid=sid)
    if acting_worker_sid is not None:
        sender = await interactions.get_participant(uow, channel=channel, sid=transfer.from_participant_sid)
        if (sender.routing_properties or {}).get("worker_sid") != acting_worker_sid:
            raise PermissionDenied("Only the sending agent may take a transfer back")
    if transfer.status is not TransferStatus.ACTIVE:
        raise InvalidParameter(f"Transfer {sid} is already {transfer.status.value}")
    task = await uow.one(TaskRow, "SELECT * FROM tasks WHERE sid = %s", (transfer.task_sid,))
    if task is not None and task.assignment_status.is_routable:
        await taskrouter.update_task_status(
            uow, task_sid=task.sid, status=TaskStatus.CANCELED, reason=TRANSFER_CANCELED_REASON
        )
    return await get_transfer(uow, channel=channel, sid=sid)


# --- what TaskRouter tells the transfer --------------------------------------------------------------


async def on_task_accepted(uow: UnitOfWork, task: TaskRow) -> None:
    """The receiver accepted: the transfer is done; a warm transfer's sender now goes to wrap-up."""
    transfer = await uow.one(
        InteractionTransferRow,
        "UPDATE interaction_transfers SET status = 'completed', date_updated = now() "
        "WHERE task_sid = %s AND status = 'active' RETURNING *",
        (task.sid,),
    )
    if transfer is not None:
        await _log_transfer(uow, transfer, task.workspace_sid, EventType.TASK_TRANSFER_COMPLETED)
    if transfer is not None and transfer.type is TransferType.WARM:
        await _sender_wraps_up(uow, transfer.from_task_sid, transfer.from_participant_sid)


async def on_task_ended(uow: UnitOfWork, task: TaskRow, status: TaskStatus, reason: str | None) -> None:
    """A transfer's task canceled (declined, timed out, taken back, the channel closed) fails the transfer."""
    if status is not TaskStatus.CANCELED:
        return
    transfer = await uow.one(
        InteractionTransferRow,
        "UPDATE interaction_transfers SET status = 'failed', reason = %s, date_updated = now() "
        "WHERE task_sid = %s AND status = 'active' RETURNING *",
        (_failure(reason), task.sid),
    )
    if transfer is not None:
        taken_back = reason == TRANSFER_CANCELED_REASON
        await _log_transfer(
            uow,
            transfer,
            task.workspace_sid,
            EventType.TASK_TRANSFER_CANCELED if taken_back else EventType.TASK_TRANSFER_FAILED,
            transfer_failed_reason=None if taken_back else transfer.reason,
        )


def _failure(reason: str | None) -> str:
    if reason in (TRANSFER_DECLINED_REASON, TRANSFER_CANCELED_REASON, CHANNEL_CLOSED_REASON):
        return reason or ""
    return f"{TRANSFER_TIMEOUT_REASON} ({reason})" if reason else TRANSFER_TIMEOUT_REASON


async def on_reservation_lost(uow: UnitOfWork, reservation: ReservationRow, status: ReservationStatus) -> None:
    """A reservation of a transfer's task rejected or timed out: a transfer to one agent that the agent rejects
    fails (on_reservation_declined); a transfer that goes on (to a queue, or to an agent who let the offer time
    out) records `task.transfer-attempt-failed`."""
    if status is ReservationStatus.REJECTED:
        await on_reservation_declined(uow, reservation)
    transfer = await uow.one(
        InteractionTransferRow,
        "SELECT * FROM interaction_transfers WHERE task_sid = %s AND status = 'active'",
        (reservation.task_sid,),
    )
    if transfer is not None:
        await _log_transfer(
            uow,
            transfer,
            reservation.workspace_sid,
            EventType.TASK_TRANSFER_ATTEMPT_FAILED,
            transfer_failed_reason=f"reservation {reservation.sid} {status.value} by worker {reservation.worker_sid}",
        )


async def on_reservation_declined(uow: UnitOfWork, reservation: ReservationRow) -> None:
    """A task routed to one worker (an invite or transfer to that agent) that the agent rejects is over: there is
    nobody else to offer it to, so it is canceled now rather than re-offered to the same agent."""
    task = await uow.one(TaskRow, "SELECT * FROM tasks WHERE sid = %s", (reservation.task_sid,))
    if (
        task is not None
        and task.interaction_channel_sid
        and (task.routing_target or "").startswith(SidPrefix.WORKER)
        and task.assignment_status.is_routable
    ):
        await taskrouter.update_task_status(
            uow, task_sid=task.sid, status=TaskStatus.CANCELED, reason=TRANSFER_DECLINED_REASON
        )
