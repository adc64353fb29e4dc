"""Routing activities: persistence steps of the Task and InteractionChannel workflows. Each is idempotent
(keyed by SIDs minted in the workflow) so Temporal's at-least-once retries are harmless."""

from __future__ import annotations

import json
from typing import Any

from temporalio import activity

from domain.errors import Conflict
from domain.routing import parse_workflow_configuration, plan_routing
from storage import routing
from storage.db import Database
from storage.events import record_event
from workflows.contracts import (
    ActivityName,
    CancelTask,
    CreateChannelTask,
    CreatedTask,
    EnterRoutingStep,
    ReservationRef,
    RoutingPlanResult,
    RoutingStepSpec,
    SetChannelStatus,
    TaskRef,
)


class RoutingActivities:
    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn(name=ActivityName.PLAN_TASK_ROUTING)
    async def plan_task_routing(self, ref: TaskRef) -> RoutingPlanResult:
        async with self.db.read() as q:
            task = await q.fetchone("SELECT * FROM tasks WHERE sid = %s", (ref.task_sid,))
            if task is None:
                return RoutingPlanResult(steps=[], ttl_deadline=0, cancel_reason="Task no longer exists")
            workflow_row = (
                await q.fetchone("SELECT * FROM workflows WHERE sid = %s", (task["workflow_sid"],))
                if task["workflow_sid"]
                else None
            )
        created = task["date_created"].timestamp()
        ttl_deadline = created + int(task["timeout"])
        if task["assignment_status"] not in ("pending", "reserved"):
            return RoutingPlanResult(steps=[], ttl_deadline=ttl_deadline, cancel_reason=None)
        if workflow_row is None:
            return RoutingPlanResult(steps=[], ttl_deadline=ttl_deadline, cancel_reason="Task has no workflow")
        config = parse_workflow_configuration(workflow_row["configuration"])
        attributes = json.loads(task["attributes"] or "{}")
        plan = plan_routing(config, attributes)
        steps: list[RoutingStepSpec] = []
        for index, step in enumerate(plan.steps):
            target = step.target
            steps.append(
                RoutingStepSpec(
                    step={
                        "queue_sid": target.queue_sid,
                        "expression": target.expression,
                        "priority": target.priority,
                        "order_by": [
                            {"key": clause.attribute, "descending": clause.direction.value == "DESC"}
                            for clause in target.order_by
                        ],
                        "skip_if": target.skip_if,
                        "known_worker_sid": target.known_worker_sid,
                        "known_worker_friendly_name": target.known_worker_friendly_name,
                        "filter_index": step.filter_index,
                        "filter_name": step.filter_friendly_name,
                        "target_index": step.target_index,
                        "step_index": index,
                        "reservation_timeout": int(workflow_row["task_reservation_timeout"]),
                    },
                    ends_at=None if step.cumulative_timeout is None else created + step.cumulative_timeout,
                    label=f"queue {target.queue_sid}"
                    + (f" (filter '{step.filter_friendly_name}')" if step.filter_friendly_name else ""),
                )
            )
        if not steps:
            return RoutingPlanResult(
                steps=[],
                ttl_deadline=ttl_deadline,
                reasons=list(plan.reason),
                cancel_reason="No filter matched and the workflow has no default_filter",
            )
        async with self.db.unit() as uow:
            await record_event(
                uow,
                account_sid=task["account_sid"],
                workspace_sid=task["workspace_sid"],
                event_type="workflow.target-matched",
                resource_type="task",
                resource_sid=task["sid"],
                description="; ".join(plan.reason),
                data={
                    "task_sid": task["sid"],
                    "workflow_sid": workflow_row["sid"],
                    "reasons": list(plan.reason),
                },
            )
        return RoutingPlanResult(steps=steps, ttl_deadline=ttl_deadline, reasons=list(plan.reason))

    @activity.defn(name=ActivityName.ENTER_ROUTING_STEP)
    async def enter_routing_step(self, request: EnterRoutingStep) -> None:
        async with self.db.unit() as uow:
            await routing.enter_step(uow, task_sid=request.task_sid, step=request.step)

    @activity.defn(name=ActivityName.TIMEOUT_RESERVATION)
    async def timeout_reservation(self, ref: ReservationRef) -> None:
        try:
            async with self.db.unit() as uow:
                await routing.update_reservation(uow, reservation_sid=ref.reservation_sid, status="timeout")
        except Conflict:
            # Accepted or rejected before the timer fired: the agent won the race, nothing to do.
            activity.logger.info("reservation %s was no longer pending at its timeout", ref.reservation_sid)

    @activity.defn(name=ActivityName.CANCEL_TASK)
    async def cancel_task(self, request: CancelTask) -> None:
        try:
            async with self.db.unit() as uow:
                await routing.update_task_status(
                    uow, task_sid=request.task_sid, status="canceled", reason=request.reason
                )
        except Conflict:
            activity.logger.info("task %s was no longer cancelable", request.task_sid)

    @activity.defn(name=ActivityName.CREATE_CHANNEL_TASK)
    async def create_channel_task(self, request: CreateChannelTask) -> CreatedTask:
        async with self.db.unit() as uow:
            channel = await uow.fetchone(
                "SELECT * FROM interaction_channels WHERE sid = %s FOR UPDATE", (request.channel_sid,)
            )
            if channel is None:
                raise LookupError(f"interaction channel {request.channel_sid} does not exist")
            active = channel["active_task_sid"]
            if active is not None:
                workspace = await uow.fetchone("SELECT workspace_sid FROM tasks WHERE sid = %s", (active,))
                return CreatedTask(
                    task_sid=active,
                    workspace_sid=(workspace or {}).get("workspace_sid", ""),
                    created=active == request.task_sid,
                )
            task = await _insert_channel_task(uow, channel, request.task_sid)
            await uow.execute(
                "UPDATE interaction_channels SET active_task_sid = %s, task_count = task_count + 1, "
                "date_updated = now() WHERE sid = %s",
                (task["sid"], channel["sid"]),
            )
            return CreatedTask(task_sid=task["sid"], workspace_sid=task["workspace_sid"], created=True)

    @activity.defn(name=ActivityName.SET_CHANNEL_STATUS)
    async def set_channel_status(self, request: SetChannelStatus) -> None:
        async with self.db.unit() as uow:
            await uow.execute(
                "UPDATE interaction_channels SET status = %s, date_updated = now() WHERE sid = %s",
                (request.status, request.channel_sid),
            )


async def _insert_channel_task(uow: Any, channel: dict[str, Any], task_sid: str) -> dict[str, Any]:
    """The task Flex would create for this channel, with Flex's attributes so Flex-style tools work."""
    props = channel["routing"] or {}
    workspace_sid = str(props.get("workspace_sid") or "")
    workflow_sid = props.get("workflow_sid")
    if workflow_sid is None:
        only = await uow.fetchall("SELECT sid FROM workflows WHERE workspace_sid = %s LIMIT 2", (workspace_sid,))
        workflow_sid = only[0]["sid"] if len(only) == 1 else None
    task_channel = await uow.fetchone(
        "SELECT sid FROM task_channels WHERE workspace_sid = %s AND (sid = %s OR unique_name = %s)",
        (workspace_sid, props.get("task_channel_sid"), props.get("task_channel_unique_name") or "chat"),
    )
    if task_channel is None:
        raise LookupError(f"task channel for channel {channel['sid']} not found in workspace {workspace_sid}")
    customer = await uow.fetchone(
        "SELECT p.identity, p.attributes, p.messaging_binding FROM interaction_participants ip "
        "JOIN participants p ON p.sid = ip.media_properties->>'participant_sid' "
        "WHERE ip.channel_sid = %s AND ip.type = 'customer' LIMIT 1",
        (channel["sid"],),
    )
    customer_attributes = json.loads((customer or {}).get("attributes") or "{}")
    customer_name = customer_attributes.get("friendly_name") or (customer or {}).get("identity") or "Customer"
    attributes = {
        "flexInteractionSid": channel["interaction_sid"],
        "flexInteractionChannelSid": channel["sid"],
        "conversationSid": channel["conversation_sid"],
        "channelType": channel["type"],
        "customerName": customer_name,
        "customerAddress": (customer or {}).get("identity"),
        "initiatedBy": "customer",
        "direction": "inbound",
        "conversations": {
            "initiated_by": "customer",
            "conversation_id": channel["interaction_sid"],
            "communication_channel": channel["type"],
            "direction": "inbound",
            "media": [{"type": "ChatTranscript", "sid": channel["conversation_sid"]}],
        },
        **(props.get("attributes") or {}),
    }
    row = await uow.fetchone(
        """
        INSERT INTO tasks (sid, account_sid, workspace_sid, workflow_sid, task_channel_sid, attributes,
                           assignment_status, priority, timeout, virtual_start_time, interaction_channel_sid)
        VALUES (%s, %s, %s, %s, %s, %s, 'pending', %s, %s, now(), %s)
        ON CONFLICT (sid) DO NOTHING RETURNING *
        """,
        (
            task_sid,
            channel["account_sid"],
            workspace_sid,
            workflow_sid,
            task_channel["sid"],
            json.dumps(attributes),
            int(props.get("priority") or 0),
            int(props.get("timeout") or 86400),
            channel["sid"],
        ),
    )
    if row is None:
        row = await uow.fetchone("SELECT * FROM tasks WHERE sid = %s", (task_sid,))
    await record_event(
        uow,
        account_sid=channel["account_sid"],
        workspace_sid=workspace_sid,
        event_type="task.created",
        resource_type="task",
        resource_sid=task_sid,
        description=f"Task {task_sid} created",
        data={"task_sid": task_sid, "interaction_channel_sid": channel["sid"]},
    )

    return dict(row)
