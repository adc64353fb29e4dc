"""Flex Interactions use cases: open an interaction channel for a conversation, route a customer's message,
create the channel's task with Flex's attributes, bring an agent into the conversation when it accepts and
out when it completes, close the channel, move an agent participant to wrap-up or closed.

The interaction layer sits between Conversations and TaskRouter, as Flex does: it reacts to both inside their
transactions (a message that needs routing, a reservation accepted or completed) and drives both (closing a
channel ends its task). Hence the two-way references to storage.conversations and storage.taskrouter."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from domain.errors import InvalidParameter, PermissionDenied, RoutingConfigurationError
from domain.limits import DEFAULT_TASK_TTL
from domain.outbox import CloseInteractionChannel, InteractionChannelRef, RouteCustomerMessage
from domain.sids import SidPrefix, new_sid
from domain.states import (
    ENDED_CHANNEL,
    INTERACTION_PARTICIPANT_TRANSITIONS,
    ChannelUpdateStatus,
    InteractionChannelStatus,
    InteractionParticipantStatus,
    InteractionParticipantType,
    TaskStatus,
    check_transition,
)
from storage.attributes import attributes_of
from storage.conversations import service as conversations
from storage.conversations.tables import ConversationRow, MessageRow
from storage.db import UnitOfWork
from storage.interactions.tables import InteractionChannelRow, InteractionParticipantRow, InteractionRow
from storage.taskrouter import routing as taskrouter
from storage.taskrouter.tables import ReservationRow, TaskRow, WorkerRow

DEFAULT_TASK_CHANNEL = "chat"


def channel_ref(channel: InteractionChannelRow) -> InteractionChannelRef:
    return InteractionChannelRef(
        account_sid=channel.account_sid,
        interaction_sid=channel.interaction_sid,
        channel_sid=channel.sid,
        conversation_sid=channel.conversation_sid,
        channel_type=channel.type,
    )


# --- reads -------------------------------------------------------------------------------------------


async def get_interaction(uow: UnitOfWork, *, account_sid: str, sid: str) -> InteractionRow:
    return await uow.found(
        InteractionRow,
        "SELECT * FROM interactions WHERE sid = %s AND account_sid = %s",
        (sid, account_sid),
        resource=f"/Interactions/{sid}",
    )


async def get_channel(
    uow: UnitOfWork, *, account_sid: str, interaction_sid: str, channel_sid: str
) -> InteractionChannelRow:
    return await uow.found(
        InteractionChannelRow,
        "SELECT * FROM interaction_channels WHERE sid = %s AND interaction_sid = %s AND account_sid = %s",
        (channel_sid, interaction_sid, account_sid),
        resource=f"/Interactions/{interaction_sid}/Channels/{channel_sid}",
    )


async def can_read_interaction(
    uow: UnitOfWork,
    *,
    interaction_sid: str,
    worker_sid: str | None = None,
    workspace_sid: str | None = None,
    identity: str | None = None,
) -> bool:
    """Whether a token holder may read an interaction: an agent that was offered one of its tasks, a supervisor
    of the workspace its tasks were routed in, or the customer whose conversation it is."""
    if worker_sid is not None:
        row = await uow.fetchone(
            "SELECT 1 FROM tasks t JOIN reservations r ON r.task_sid = t.sid "
            "JOIN interaction_channels c ON c.sid = t.interaction_channel_sid "
            "WHERE c.interaction_sid = %s AND r.worker_sid = %s LIMIT 1",
            (interaction_sid, worker_sid),
        )
        return row is not None
    if workspace_sid is not None:
        row = await uow.fetchone(
            "SELECT 1 FROM tasks t JOIN interaction_channels c ON c.sid = t.interaction_channel_sid "
            "WHERE c.interaction_sid = %s AND t.workspace_sid = %s LIMIT 1",
            (interaction_sid, workspace_sid),
        )
        return row is not None
    if identity is not None:
        row = await uow.fetchone(
            "SELECT 1 FROM interaction_channels c JOIN participants p ON p.conversation_sid = c.conversation_sid "
            "WHERE c.interaction_sid = %s AND p.identity = %s LIMIT 1",
            (interaction_sid, identity),
        )
        return row is not None
    return False


# --- opening a channel and routing what the customer writes ------------------------------------------


async def open_channel(
    uow: UnitOfWork,
    *,
    account_sid: str,
    conversation_sid: str,
    channel_type: str,
    initiated_by: str,
    routing: dict[str, Any],
    customer_participant_sid: str | None,
) -> InteractionChannelRow:
    interaction_sid = new_sid(SidPrefix.INTERACTION)
    channel_sid = new_sid(SidPrefix.INTERACTION_CHANNEL)
    await uow.execute(
        "INSERT INTO interactions (sid, account_sid, channel, routing) VALUES (%s, %s, %s, %s)",
        (
            interaction_sid,
            account_sid,
            Jsonb(
                {
                    "type": channel_type,
                    "sid": channel_sid,
                    "initiated_by": initiated_by,
                    "properties": {"media_channel_sid": conversation_sid},
                }
            ),
            Jsonb(routing),
        ),
    )
    channel = await uow.one(
        InteractionChannelRow,
        """
        INSERT INTO interaction_channels (sid, account_sid, interaction_sid, type, status, conversation_sid, routing)
        VALUES (%s, %s, %s, %s, 'active', %s, %s) RETURNING *
        """,
        (
            channel_sid,
            account_sid,
            interaction_sid,
            channel_type,
            conversation_sid,
            Jsonb(routing.get("properties", routing)),
        ),
    )
    assert channel is not None
    if customer_participant_sid is not None:
        participant = await uow.fetchone(
            "SELECT identity, messaging_binding FROM participants WHERE sid = %s", (customer_participant_sid,)
        )
        await _insert_participant(
            uow,
            channel,
            InteractionParticipantType.CUSTOMER,
            media_properties={
                "conversation_sid": conversation_sid,
                "participant_sid": customer_participant_sid,
                "identity": (participant or {}).get("identity"),
                "messaging_binding": (participant or {}).get("messaging_binding"),
            },
        )
    return channel


async def _insert_participant(
    uow: UnitOfWork,
    channel: InteractionChannelRow,
    type: InteractionParticipantType,
    *,
    media_properties: dict[str, Any],
    routing_properties: dict[str, Any] | None = None,
) -> None:
    await uow.execute(
        """
        INSERT INTO interaction_participants (sid, account_sid, interaction_sid, channel_sid, type, status,
                                              media_properties, routing_properties)
        VALUES (%s, %s, %s, %s, %s, 'active', %s, %s)
        """,
        (
            new_sid(SidPrefix.INTERACTION_PARTICIPANT),
            channel.account_sid,
            channel.interaction_sid,
            channel.sid,
            type.value,
            Jsonb(media_properties),
            Jsonb(routing_properties) if routing_properties is not None else None,
        ),
    )


async def route_customer_message(uow: UnitOfWork, conversation: ConversationRow, message: MessageRow) -> None:
    """A customer's message on a channel with no open task (or no channel yet) starts routing. Called inside
    the message's transaction; costs nothing more than one row lock when a task is already open."""
    if message.participant_sid is None:
        return
    channel = await uow.one(
        InteractionChannelRow,
        "SELECT * FROM interaction_channels WHERE conversation_sid = %s AND status <> ALL(%s) FOR UPDATE",
        (conversation.sid, [s.value for s in ENDED_CHANNEL]),
    )
    if channel is None:
        if conversation.address_sid is None:
            return
        address = await uow.fetchone(
            "SELECT auto_creation FROM address_configurations WHERE sid = %s", (conversation.address_sid,)
        )
        routing = ((address or {}).get("auto_creation") or {}).get("routing")
        if not routing or await _is_agent(uow, message.participant_sid):
            return
        channel = await open_channel(
            uow,
            account_sid=conversation.account_sid,
            conversation_sid=conversation.sid,
            channel_type="web",
            initiated_by="customer",
            routing=routing,
            customer_participant_sid=message.participant_sid,
        )
    elif channel.active_task_sid is not None or await _is_agent(uow, message.participant_sid):
        return
    await uow.outbox(
        RouteCustomerMessage(
            account_sid=conversation.account_sid,
            channel=channel_ref(channel),
            message_sid=message.sid,
            index=message.index,
        ),
        dedupe_key=f"{message.sid}:route",
    )


async def _is_agent(uow: UnitOfWork, participant_sid: str) -> bool:
    row = await uow.fetchone("SELECT attributes FROM participants WHERE sid = %s", (participant_sid,))
    return attributes_of((row or {}).get("attributes")).get("role") == "agent"


# --- the channel's task ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelTask:
    task_sid: str
    workspace_sid: str
    # False when the channel already had another open task (the request is then ignored).
    created: bool


async def create_channel_task(uow: UnitOfWork, *, channel_sid: str, task_sid: str) -> ChannelTask:
    """The task Flex would create for this channel (idempotent on the workflow-minted task SID). Raises
    RoutingConfigurationError when the channel's routing cannot work; retrying would not change that."""
    channel = await uow.one(
        InteractionChannelRow, "SELECT * FROM interaction_channels WHERE sid = %s FOR UPDATE", (channel_sid,)
    )
    if channel is None:
        raise RoutingConfigurationError(f"Interaction channel {channel_sid} does not exist")
    if channel.active_task_sid is not None:
        existing = await uow.fetchone("SELECT workspace_sid FROM tasks WHERE sid = %s", (channel.active_task_sid,))
        return ChannelTask(
            task_sid=channel.active_task_sid,
            workspace_sid=(existing or {}).get("workspace_sid", ""),
            created=channel.active_task_sid == task_sid,
        )
    props = channel.routing or {}
    workspace_sid, workflow_sid, task_channel_sid = await _resolve_routing(uow, channel.account_sid, props)
    task = await taskrouter.insert_task(
        uow,
        sid=task_sid,
        account_sid=channel.account_sid,
        workspace_sid=workspace_sid,
        workflow_sid=workflow_sid,
        task_channel_sid=task_channel_sid,
        attributes=json.dumps(await _flex_task_attributes(uow, channel, props)),
        priority=int(props.get("priority") or 0),
        ttl=int(props.get("timeout") or DEFAULT_TASK_TTL),
        interaction_channel_sid=channel.sid,
    )
    await uow.execute(
        "UPDATE interaction_channels SET active_task_sid = %s, task_count = task_count + 1, date_updated = now() "
        "WHERE sid = %s",
        (task.sid, channel.sid),
    )
    return ChannelTask(task_sid=task.sid, workspace_sid=task.workspace_sid, created=True)


async def _resolve_routing(uow: UnitOfWork, account_sid: str, props: dict[str, Any]) -> tuple[str, str | None, str]:
    """The workspace, workflow and task channel a Routing's properties name, all in the given account."""
    workspace_sid = str(props.get("workspace_sid") or "")
    workspace = await uow.fetchone(
        "SELECT sid FROM workspaces WHERE sid = %s AND account_sid = %s", (workspace_sid, account_sid)
    )
    if workspace is None:
        raise RoutingConfigurationError(
            f"Routing names workspace {workspace_sid!r}, which does not exist in this account"
        )
    workflow_sid = props.get("workflow_sid")
    if workflow_sid is None:
        only = await uow.fetchall("SELECT sid FROM workflows WHERE workspace_sid = %s LIMIT 2", (workspace_sid,))
        workflow_sid = only[0]["sid"] if len(only) == 1 else None
    elif (
        await uow.fetchone(
            "SELECT 1 FROM workflows WHERE sid = %s AND workspace_sid = %s", (workflow_sid, workspace_sid)
        )
        is None
    ):
        raise RoutingConfigurationError(f"Routing names workflow {workflow_sid!r}, which is not in {workspace_sid}")
    task_channel = await uow.fetchone(
        "SELECT sid FROM task_channels WHERE workspace_sid = %s AND (sid = %s OR unique_name = %s)",
        (workspace_sid, props.get("task_channel_sid"), props.get("task_channel_unique_name") or DEFAULT_TASK_CHANNEL),
    )
    if task_channel is None:
        raise RoutingConfigurationError(f"Routing names a task channel that does not exist in {workspace_sid}")
    return workspace_sid, workflow_sid, task_channel["sid"]


async def check_routing(uow: UnitOfWork, *, account_sid: str, routing: dict[str, Any]) -> None:
    """Validate an `AutoCreation.Routing` before it is stored: everything it names must be the caller's."""
    props = routing.get("properties")
    if not isinstance(props, dict) or not props.get("workspace_sid"):
        raise InvalidParameter("AutoCreation.Routing.properties.workspace_sid is required")
    try:
        await _resolve_routing(uow, account_sid, props)
    except RoutingConfigurationError as exc:
        raise InvalidParameter(f"AutoCreation.Routing: {exc.message}") from None


async def _flex_task_attributes(
    uow: UnitOfWork, channel: InteractionChannelRow, props: dict[str, Any]
) -> dict[str, Any]:
    """Task attributes as Flex sets them, so Flex-style tools (and Flex UI plugins) work unchanged."""
    customer = await uow.fetchone(
        "SELECT p.identity, p.attributes, p.messaging_binding FROM interaction_participants ip "
        "JOIN participants p ON p.sid = ip.media_properties->>'participant_sid' "
        "WHERE ip.channel_sid = %s AND ip.type = 'customer' LIMIT 1",
        (channel.sid,),
    )
    customer_attributes = attributes_of((customer or {}).get("attributes"))
    customer_name = customer_attributes.get("friendly_name") or (customer or {}).get("identity") or "Customer"
    return {
        "flexInteractionSid": channel.interaction_sid,
        "flexInteractionChannelSid": channel.sid,
        "conversationSid": channel.conversation_sid,
        "channelType": channel.type,
        "customerName": customer_name,
        "customerAddress": (customer or {}).get("identity"),
        "initiatedBy": "customer",
        "direction": "inbound",
        "conversations": {
            "initiated_by": "customer",
            "conversation_id": channel.interaction_sid,
            "communication_channel": channel.type,
            "direction": "inbound",
            "media": [{"type": "ChatTranscript", "sid": channel.conversation_sid}],
        },
        **(props.get("attributes") or {}),
    }


async def set_channel_status(
    uow: UnitOfWork,
    *,
    channel_sid: str,
    status: InteractionChannelStatus,
    error_code: int | None = None,
    error_message: str | None = None,
) -> None:
    await uow.execute(
        "UPDATE interaction_channels SET status = %s, error_code = COALESCE(%s, error_code), "
        "error_message = COALESCE(%s, error_message), date_updated = now() WHERE sid = %s",
        (status.value, error_code, error_message, channel_sid),
    )


# --- agents joining and leaving ----------------------------------------------------------------------


def agent_identity(worker: WorkerRow) -> str:
    """The chat identity an agent uses: attributes.contact_uri without `client:` (Flex's convention),
    else attributes.identity, else the worker's friendly name."""
    attributes = attributes_of(worker.attributes)
    contact = attributes.get("contact_uri")
    if isinstance(contact, str) and contact:
        return contact.removeprefix("client:")
    identity = attributes.get("identity")
    return identity if isinstance(identity, str) and identity else worker.friendly_name


async def agent_joins(uow: UnitOfWork, *, task: TaskRow, reservation: ReservationRow) -> None:
    """Accepting a conversation task adds the worker to the conversation and the interaction channel, in the
    same transaction as the accept, so the agent can type the moment the accept returns."""
    if not task.interaction_channel_sid:
        return
    channel = await uow.one(
        InteractionChannelRow, "SELECT * FROM interaction_channels WHERE sid = %s", (task.interaction_channel_sid,)
    )
    worker = await uow.one(WorkerRow, "SELECT * FROM workers WHERE sid = %s", (reservation.worker_sid,))
    if channel is None or worker is None:
        return
    identity = agent_identity(worker)
    participant = await conversations.add_participant(
        uow,
        conversation_sid=channel.conversation_sid,
        identity=identity,
        attributes=json.dumps(
            {
                "role": "agent",
                "worker_sid": worker.sid,
                "friendly_name": attributes_of(worker.attributes).get("full_name") or worker.friendly_name,
            }
        ),
        if_absent=True,
    )
    await _insert_participant(
        uow,
        channel,
        InteractionParticipantType.AGENT,
        media_properties={
            "conversation_sid": channel.conversation_sid,
            "participant_sid": participant.sid,
            "identity": identity,
        },
        routing_properties={"task_sid": task.sid, "worker_sid": worker.sid, "reservation_sid": reservation.sid},
    )


async def agent_leaves(uow: UnitOfWork, *, task: TaskRow, reservation: ReservationRow) -> None:
    """On completion the agent leaves the conversation; the interaction channel stays open (parked)."""
    if not task.interaction_channel_sid:
        return
    participant = await uow.fetchone(
        "UPDATE interaction_participants SET status = 'closed', date_updated = now() "
        "WHERE channel_sid = %s AND type = 'agent' AND routing_properties->>'reservation_sid' = %s "
        "RETURNING media_properties",
        (task.interaction_channel_sid, reservation.sid),
    )
    if participant is not None and participant["media_properties"].get("participant_sid"):
        await conversations.remove_participant(
            uow,
            conversation_sid=participant["media_properties"]["conversation_sid"],
            participant_sid=participant["media_properties"]["participant_sid"],
        )


# --- Flex API changes --------------------------------------------------------------------------------

_CLOSED_BY_API = "Interaction channel closed"


async def update_channel(
    uow: UnitOfWork, *, channel: InteractionChannelRow, status: ChannelUpdateStatus, close_tasks: bool
) -> InteractionChannelRow:
    """Close a channel (its task is canceled, or completed / left wrapping) or make it inactive."""
    if channel.status is InteractionChannelStatus.CLOSED:
        raise InvalidParameter("Interaction Not Open", code=80906)
    if channel.active_task_sid:
        task = await uow.one(TaskRow, "SELECT * FROM tasks WHERE sid = %s", (channel.active_task_sid,))
        if task is not None and task.assignment_status.is_routable:
            await taskrouter.update_task_status(
                uow, task_sid=task.sid, status=TaskStatus.CANCELED, reason=_CLOSED_BY_API
            )
        elif task is not None and task.assignment_status.is_live:
            await taskrouter.update_task_status(
                uow,
                task_sid=task.sid,
                status=TaskStatus.COMPLETED if close_tasks else TaskStatus.WRAPPING,
                reason=_CLOSED_BY_API,
            )
    row = await uow.one(
        InteractionChannelRow,
        "UPDATE interaction_channels SET status = %s, date_updated = now() WHERE sid = %s RETURNING *",
        (status.value, channel.sid),
    )
    assert row is not None
    if status is ChannelUpdateStatus.CLOSED:
        await conversations.close_conversation(uow, conversation_sid=channel.conversation_sid)
        await uow.outbox(
            CloseInteractionChannel(account_sid=channel.account_sid, channel=channel_ref(channel), reason="api"),
            dedupe_key=f"{channel.sid}:close",
        )
    return row


async def update_participant(
    uow: UnitOfWork,
    *,
    channel: InteractionChannelRow,
    participant_sid: str,
    status: InteractionParticipantStatus,
    acting_worker_sid: str | None,
) -> InteractionParticipantRow:
    """An agent moves itself to wrap-up (its task wraps) or closed (its task completes). `acting_worker_sid` is
    None for an admin, who may act on any agent participant."""
    participant = await uow.found(
        InteractionParticipantRow,
        "SELECT * FROM interaction_participants WHERE sid = %s AND channel_sid = %s",
        (participant_sid, channel.sid),
        resource=f"/Participants/{participant_sid}",
    )
    if participant.type is not InteractionParticipantType.AGENT:
        raise InvalidParameter("Only agent participants can be moved to wrapup or closed")
    props = participant.routing_properties or {}
    if acting_worker_sid is not None and acting_worker_sid != props.get("worker_sid"):
        raise PermissionDenied("An agent may only update its own participant")
    if status is not participant.status:
        check_transition(
            INTERACTION_PARTICIPANT_TRANSITIONS, participant.status, status, what=f"Participant {participant_sid}"
        )
    task = await uow.one(TaskRow, "SELECT * FROM tasks WHERE sid = %s", (props.get("task_sid"),))
    current = task.assignment_status if task else None
    if task is not None and status is InteractionParticipantStatus.WRAPUP and current is TaskStatus.ASSIGNED:
        await taskrouter.update_task_status(uow, task_sid=task.sid, status=TaskStatus.WRAPPING)
        await uow.execute(
            "UPDATE interaction_participants SET status = 'wrapup', date_updated = now() "
            "WHERE sid = %s AND status = 'active'",
            (participant_sid,),
        )
    elif (
        task is not None
        and status is InteractionParticipantStatus.CLOSED
        and current
        in (
            TaskStatus.ASSIGNED,
            TaskStatus.WRAPPING,
        )
    ):
        await taskrouter.update_task_status(
            uow, task_sid=task.sid, status=TaskStatus.COMPLETED, reason="Agent closed the interaction"
        )
    row = await uow.one(
        InteractionParticipantRow, "SELECT * FROM interaction_participants WHERE sid = %s", (participant_sid,)
    )
    return row or participant
