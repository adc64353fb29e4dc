"""Assignment callbacks (reference/twilio-api.md §4.7): what TaskRouter POSTs to a workflow's
AssignmentCallbackUrl when it reserves a worker, and carrying out the instruction the answer gives."""

from __future__ import annotations

import time
from dataclasses import dataclass

from domain.assignment import CallbackAnswer, Instruction
from domain.errors import Conflict
from domain.states import ReservationStatus
from storage import crypto
from storage.accounts.service import auth_token
from storage.db import UnitOfWork
from storage.taskrouter.routing import update_reservation


@dataclass(frozen=True, slots=True)
class AssignmentCall:
    account_sid: str
    auth_token: str
    reservation_sid: str
    # The workflow's AssignmentCallbackUrl, then its FallbackAssignmentCallbackUrl (either may be missing).
    urls: tuple[str, ...]
    params: tuple[tuple[str, str], ...]


async def assignment_call(uow: UnitOfWork, *, reservation_sid: str) -> AssignmentCall | None:
    """The callback to make for a reservation still pending, with Twilio's parameters; None if there is none."""
    row = await uow.fetchone(
        """
        SELECT r.sid, r.account_sid, r.workspace_sid, r.worker_sid, r.task_sid, r.reservation_status,
               t.attributes AS task_attributes, t.priority, t.task_queue_sid, t.workflow_sid,
               floor(extract(epoch FROM now() - t.date_created))::bigint AS task_age,
               w.attributes AS worker_attributes,
               wf.assignment_callback_url, wf.fallback_assignment_callback_url
          FROM reservations r
          JOIN tasks t ON t.sid = r.task_sid
          JOIN workers w ON w.sid = r.worker_sid
          JOIN workflows wf ON wf.sid = t.workflow_sid
         WHERE r.sid = %s
        """,
        (reservation_sid,),
    )
    if row is None or row["reservation_status"] != ReservationStatus.PENDING.value:
        return None
    urls = tuple(u for u in (row["assignment_callback_url"], row["fallback_assignment_callback_url"]) if u)
    if not urls:
        return None
    params = (
        ("AccountSid", row["account_sid"]),
        ("WorkspaceSid", row["workspace_sid"]),
        ("WorkflowSid", row["workflow_sid"]),
        ("TaskQueueSid", row["task_queue_sid"] or ""),
        ("WorkerSid", row["worker_sid"]),
        ("WorkerAttributes", row["worker_attributes"]),
        ("TaskSid", row["task_sid"]),
        ("TaskAttributes", crypto.opened(row["task_attributes"])),
        ("TaskAge", str(row["task_age"])),
        ("TaskPriority", str(row["priority"])),
        ("ReservationSid", row["sid"]),
        ("Timestamp", str(int(time.time()))),
    )
    return AssignmentCall(
        account_sid=row["account_sid"],
        auth_token=await auth_token(uow, row["account_sid"]),
        reservation_sid=row["sid"],
        urls=urls,
        params=params,
    )


async def carry_out(uow: UnitOfWork, *, reservation_sid: str, answer: CallbackAnswer) -> bool:
    """Accept or reject the reservation as the callback's answer says; False when there was nothing to do (no
    instruction, or the agent answered first)."""
    if answer.instruction is None:
        return False
    status = ReservationStatus.ACCEPTED if answer.instruction is Instruction.ACCEPT else ReservationStatus.REJECTED
    try:
        await update_reservation(
            uow, reservation_sid=reservation_sid, status=status, worker_activity_sid=answer.activity_sid
        )
    except Conflict:
        return False  # no longer pending: the agent (or a timeout) got there first
    return True
