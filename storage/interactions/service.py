"""Flex Interactions use cases: open an interaction channel for a conversation, route a customer's message,
create the channel's task with Flex's attributes, bring an agent into the conversation when it accepts and
out when it completes, close the channel, move an agent participant to wrap-up or closed.

The interaction layer sits between Conversations and TaskRouter, as Flex does: it reacts to both inside their
transactions (a message that needs routing, a reservation accepted or completed) and drives both (closing a
channel ends its task). Hence the two-way references to storage.conversations and storage.taskrouter."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from domain.errors import Conflict, InvalidParameter, PermissionDenied, RoutingConfigurationError
from domain.interactions import ChannelSpec, InitiatedBy, InteractionChannelType, RoutingProperties, RoutingSpec
from domain.limits import (
    AGENT_GONE_REASON,
    CHANNEL_CLOSED_REASON,
    DEFAULT_KNOWN_AGENT_WINDOW,
    DEFAULT_TASK_TTL,
    WEBCHAT_OFFLINE_TASK_TTL,
)
from domain.outbox import (
    CloseInteractionChannel,
    InteractionChannelRef,
    RequeueChannel,
    RouteCustomerMessage,
    StartChannelTask,
)
from domain.sids import SidPrefix, new_sid
from domain.states import (
    ENDED_CHANNEL,
    HOLDING_TASK,
    INTERACTION_PARTICIPANT_TRANSITIONS,
    LIVE_TASK,
    ChannelUpdateStatus,
    ConversationState,
    InteractionChannelStatus,
    InteractionParticipantStatus,
    InteractionParticipantType,
    TaskStatus,
    check_transition,
)
from storage import crypto
from storage.attributes import attributes_of
from storage.conversations import service as conversations
from storage.conversations.tables import ConversationRow, MessageRow, ParticipantRow
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


async def get_participant(uow: UnitOfWork, *, channel: InteractionChannelRow, sid: str) -> InteractionParticipantRow:
    return await uow.found(
        InteractionParticipantRow,
        "SELECT * FROM interaction_participants WHERE sid = %s AND channel_sid = %s",
        (sid, channel.sid),
        resource=f"/Participants/{sid}",
    )


async def conversation_routed_in(uow: UnitOfWork, *, conversation_sid: str, workspace_sid: str) -> bool:
    """Whether a task of the conversation's interaction channels was ever routed in the workspace."""
    row = await uow.fetchone(
        "SELECT 1 FROM interaction_channels c JOIN tasks t ON t.interaction_channel_sid = c.sid "
        "WHERE c.conversation_sid = %s AND t.workspace_sid = %s LIMIT 1",
        (conversation_sid, workspace_sid),
    )
    return row is not None


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


async def create_interaction(
    uow: UnitOfWork,
    *,
    account_sid: str,
    channel: ChannelSpec,
    routing: RoutingSpec | None,
    interaction_context_sid: str | None,
    webhook_ttid: str | None,
) -> InteractionRow:
    """`POST /Interactions`: open a channel on a conversation and route its first task.

    - `customer`: the conversation exists and the customer is in it; an inbound task.
    - `api`: the conversation given, or a new one with the listed participants; an inbound task.
    - `agent`: a new conversation with the listed participants, and an outbound task straight to
      `Routing.properties.worker_sid` (in its `queue_sid`)."""
    if channel.sid is not None:
        raise InvalidParameter("Channel.sid: binding an existing channel is not supported; create an Invite on it")
    if routing is None:
        raise InvalidParameter("Routing is required")
    props = routing.properties
    await _resolve_or_reject(uow, account_sid, props)
    if channel.initiated_by is InitiatedBy.AGENT and (props.worker_sid is None or props.queue_sid is None):
        raise InvalidParameter("An agent-initiated interaction needs Routing.properties.worker_sid and queue_sid")
    if channel.initiated_by is InitiatedBy.AGENT:
        await target_queue(uow, props.workspace_sid, worker_sid=props.worker_sid, queue_sid=props.queue_sid)
    media_sid = channel.properties.media_channel_sid
    if media_sid is not None and channel.initiated_by is not InitiatedBy.AGENT:
        conversation = await conversations.get_conversation(uow, account_sid=account_sid, sid_or_unique_name=media_sid)
        if conversation.state is ConversationState.CLOSED:
            raise InvalidParameter(f"Conversation {conversation.sid} is closed", code=50407)
        if await uow.fetchone(
            "SELECT 1 FROM interaction_channels WHERE conversation_sid = %s AND status <> ALL(%s)",
            (conversation.sid, [s.value for s in ENDED_CHANNEL]),
        ):
            raise Conflict(f"Conversation {conversation.sid} already has an open interaction channel")
    else:
        conversation = await conversations.create_conversation(
            uow,
            account_sid=account_sid,
            chat_service_sid=await conversations.default_service_sid(uow, account_sid),
            friendly_name=channel.properties.from_name,
        )
    for listed in channel.participants:
        await conversations.add_participant(
            uow,
            conversation_sid=conversation.sid,
            identity=listed.identity,
            attributes=json.dumps({"friendly_name": listed.name} if listed.name else {}),
            messaging_binding=(
                {"address": listed.address, "proxy_address": listed.proxy_address} if listed.address else None
            ),
            if_absent=True,
        )
    # Attributes are sealed, so the customer (the first participant that is not an agent) is picked here.
    customer = next(
        (
            row
            for row in await uow.fetchall(
                "SELECT sid, attributes FROM participants WHERE conversation_sid = %s ORDER BY date_created",
                (conversation.sid,),
            )
            if attributes_of(row["attributes"]).get("role") != "agent"
        ),
        None,
    )
    if customer is None and channel.initiated_by is InitiatedBy.CUSTOMER:
        raise InvalidParameter(f"Conversation {conversation.sid} has no customer participant to route for")
    opened = await open_channel(
        uow,
        account_sid=account_sid,
        conversation_sid=conversation.sid,
        channel_type=channel.type.value,
        initiated_by=channel.initiated_by.value,
        routing={"properties": {k: v for k, v in props.stored().items() if k not in ("worker_sid", "queue_sid")}},
        customer_participant_sid=(customer or {}).get("sid"),
        interaction_context_sid=interaction_context_sid,
        webhook_ttid=webhook_ttid,
        participants=[p.model_dump(exclude_none=True) for p in channel.participants],
    )
    outbound = channel.initiated_by is InitiatedBy.AGENT
    task = await create_api_task(
        uow,
        channel=opened,
        props=props,
        attributes=await flex_task_attributes(uow, opened, props.attributes, initiated_by=channel.initiated_by),
        routing_target=props.worker_sid if outbound else None,
        task_queue_sid=props.queue_sid if outbound else None,
        ttl=props.timeout or DEFAULT_TASK_TTL,
        summary=f"{channel.initiated_by.value}-initiated {channel.type.value} interaction",
    )
    row = await uow.one(
        InteractionRow,
        "UPDATE interactions SET routing = %s WHERE sid = %s RETURNING *",
        (Jsonb(await crypto.seal_document(uow, account_sid, await routing_of(uow, task))), opened.interaction_sid),
    )
    assert row is not None
    return row


async def update_interaction(
    uow: UnitOfWork, *, interaction: InteractionRow, webhook_ttid: str | None
) -> InteractionRow:
    row = await uow.one(
        InteractionRow,
        "UPDATE interactions SET webhook_ttid = %s, date_updated = now() WHERE sid = %s RETURNING *",
        (webhook_ttid, interaction.sid),
    )
    assert row is not None
    return row


async def add_channel_participant(
    uow: UnitOfWork,
    *,
    channel: InteractionChannelRow,
    type: InteractionParticipantType,
    media_properties: dict[str, Any],
    routing_properties: dict[str, Any] | None,
) -> InteractionParticipantRow:
    """`POST …/Participants`: someone joins the channel and its conversation: a supervisor watching or barging
    in (`identity`), an agent (`routing_properties.worker_sid`), or a customer / external party (`identity`,
    or a messaging `address` with its `proxy_address`)."""
    if channel.status in ENDED_CHANNEL:
        raise InvalidParameter("Interaction Not Open", code=80906)
    identity = media_properties.get("identity")
    address = media_properties.get("address")
    attributes: dict[str, Any] = {"role": type.value}
    if type is InteractionParticipantType.AGENT:
        worker_sid = (routing_properties or {}).get("worker_sid")
        worker = await uow.one(
            WorkerRow,
            "SELECT w.* FROM workers w JOIN workspaces ws ON ws.sid = w.workspace_sid "
            "WHERE w.sid = %s AND ws.account_sid = %s",
            (worker_sid, channel.account_sid),
        )
        if worker is None:
            raise InvalidParameter("An agent participant needs RoutingProperties.worker_sid, a worker of this account")
        identity = identity or agent_identity(worker)
        attributes.update(worker_sid=worker.sid, friendly_name=worker.friendly_name)
    if not identity and not address:
        raise InvalidParameter("MediaProperties needs an identity (chat) or an address (sms, whatsapp)")
    if media_properties.get("friendly_name"):
        attributes["friendly_name"] = media_properties["friendly_name"]
    participant = await conversations.add_participant(
        uow,
        conversation_sid=channel.conversation_sid,
        identity=identity,
        attributes=json.dumps(attributes),
        messaging_binding=(
            {"address": address, "proxy_address": media_properties.get("proxy_address")} if address else None
        ),
        if_absent=True,
    )
    already = await uow.one(
        InteractionParticipantRow,
        "SELECT * FROM interaction_participants WHERE channel_sid = %s AND type = %s AND status = 'active' "
        "AND media_properties->>'participant_sid' = %s",
        (channel.sid, type.value, participant.sid),
    )
    if already is not None:
        return already  # joining twice (a supervisor clicking Join again) is the same participant
    return await _insert_participant(
        uow,
        channel,
        type,
        media_properties={
            **media_properties,
            "conversation_sid": channel.conversation_sid,
            "participant_sid": participant.sid,
            "identity": identity,
        },
        routing_properties=routing_properties,
    )


async def open_channel(
    uow: UnitOfWork,
    *,
    account_sid: str,
    conversation_sid: str,
    channel_type: str,
    initiated_by: str,
    routing: dict[str, Any],
    customer_participant_sid: str | None,
    interaction_context_sid: str | None = None,
    webhook_ttid: str | None = None,
    participants: list[dict[str, Any]] | None = None,
) -> InteractionChannelRow:
    interaction_sid = new_sid(SidPrefix.INTERACTION)
    channel_sid = new_sid(SidPrefix.INTERACTION_CHANNEL)
    described: dict[str, Any] = {
        "type": channel_type,
        "sid": channel_sid,
        "initiated_by": initiated_by,
        "properties": {"media_channel_sid": conversation_sid},
    }
    if participants:
        described["participants"] = participants
    await uow.execute(
        "INSERT INTO interactions (sid, account_sid, channel, routing, interaction_context_sid, webhook_ttid) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (
            interaction_sid,
            account_sid,
            Jsonb(described),
            Jsonb(await crypto.seal_document(uow, account_sid, routing)),
            interaction_context_sid,
            webhook_ttid,
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
            Jsonb(await crypto.seal_document(uow, account_sid, routing.get("properties", routing))),
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
                # Still sealed: the row model opens it (storage/interactions/tables.py).
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
) -> InteractionParticipantRow:
    row = await uow.one(
        InteractionParticipantRow,
        """
        INSERT INTO interaction_participants (sid, account_sid, interaction_sid, channel_sid, type, status,
                                              media_properties, routing_properties)
        VALUES (%s, %s, %s, %s, %s, 'active', %s, %s) RETURNING *
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
    assert row is not None
    return row


async def route_customer_message(uow: UnitOfWork, conversation: ConversationRow, message: MessageRow) -> None:
    """A customer's message on a channel with no open task (or no channel yet) starts routing. Called inside
    the message's transaction; costs nothing more than one row lock when a task already holds the customer."""
    if message.participant_sid is None:
        return
    # The channel, and whether a task on it has the customer or is finding someone for them (an agent in
    # wrap-up does not: a customer writing then is routed again), in the one round trip the lock costs anyway.
    found = await uow.fetchone(
        "SELECT c.*, EXISTS (SELECT 1 FROM tasks t WHERE t.interaction_channel_sid = c.sid "
        "AND t.assignment_status = ANY(%s)) AS held FROM interaction_channels c "
        "WHERE c.conversation_sid = %s AND c.status <> ALL(%s) FOR UPDATE OF c",
        ([s.value for s in HOLDING_TASK], conversation.sid, [s.value for s in ENDED_CHANNEL]),
    )
    channel = InteractionChannelRow.model_validate(found) if found is not None else None
    if found is not None and found["held"]:
        return
    if channel is None:
        if conversation.address_sid is None:
            return
        address = await uow.fetchone(
            "SELECT auto_creation FROM address_configurations WHERE sid = %s", (conversation.address_sid,)
        )
        routing = ((address or {}).get("auto_creation") or {}).get("routing")
        if not routing:
            return
        author = await _author(uow, message.participant_sid)
        if author.is_agent:
            return
        channel = await open_channel(
            uow,
            account_sid=conversation.account_sid,
            conversation_sid=conversation.sid,
            # A web chat customer is on `web`; one with a messaging binding on its channel (sms, whatsapp, …).
            channel_type=author.channel_type,
            initiated_by="customer",
            routing=routing,
            customer_participant_sid=message.participant_sid,
        )
    elif (await _author(uow, message.participant_sid)).is_agent:
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


@dataclass(frozen=True, slots=True)
class _Author:
    is_agent: bool
    channel_type: str


async def _author(uow: UnitOfWork, participant_sid: str) -> _Author:
    row = await uow.one(ParticipantRow, "SELECT * FROM participants WHERE sid = %s", (participant_sid,))
    if row is None:
        return _Author(is_agent=False, channel_type=InteractionChannelType.WEB.value)
    binding_type = (row.messaging_binding or {}).get("type")
    known = {t.value for t in InteractionChannelType}
    return _Author(
        is_agent=attributes_of(row.attributes).get("role") == "agent",
        channel_type=binding_type if binding_type in known else InteractionChannelType.WEB.value,
    )


# --- the channel's task ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelTask:
    task_sid: str
    workspace_sid: str
    # False when the channel already had another open task (the request is then ignored).
    created: bool
    channel_ended: bool = False
    wrapup_timeout: int | None = None


async def create_channel_task(uow: UnitOfWork, *, channel_sid: str, task_sid: str) -> ChannelTask:
    """The task Flex would create for this channel (idempotent on the workflow-minted task SID), unless a task
    already holds the customer or the channel is no longer open. Raises RoutingConfigurationError when the
    channel's routing cannot work; retrying would not change that."""
    channel = await uow.one(
        InteractionChannelRow, "SELECT * FROM interaction_channels WHERE sid = %s FOR UPDATE", (channel_sid,)
    )
    if channel is None:
        raise RoutingConfigurationError(f"Interaction channel {channel_sid} does not exist")
    if channel.status in ENDED_CHANNEL:
        return ChannelTask(task_sid=task_sid, workspace_sid="", created=False, channel_ended=True)
    if channel.status is InteractionChannelStatus.INACTIVE:
        # Twilio: an inactive channel can be re-engaged; the customer wrote again.
        await set_channel_status(uow, channel_sid=channel.sid, status=InteractionChannelStatus.ACTIVE)
    holding = await uow.fetchone(
        "SELECT sid, workspace_sid FROM tasks WHERE interaction_channel_sid = %s AND (sid = %s OR "
        "assignment_status = ANY(%s)) ORDER BY sid = %s DESC, date_created DESC LIMIT 1",
        (channel.sid, task_sid, [s.value for s in HOLDING_TASK], task_sid),
    )
    props = channel.routing or {}
    if holding is not None:
        return ChannelTask(
            task_sid=holding["sid"],
            workspace_sid=holding["workspace_sid"],
            created=holding["sid"] == task_sid,
            wrapup_timeout=props.get("wrapup_timeout"),
        )
    workspace_sid, workflow_sid, task_channel_sid = await _resolve_routing(uow, channel.account_sid, props)
    attributes = await flex_task_attributes(uow, channel, props.get("attributes") or {})
    previous = await _previous_agent(uow, channel)
    window = int(props.get("known_agent_window", DEFAULT_KNOWN_AGENT_WINDOW))
    if previous is not None and window > 0:
        # Re-engaging: the agent the customer last spoke with is offered the task first, for a while.
        attributes["knownAgent"] = {"worker_sid": previous, "window": window}
    task = await taskrouter.insert_task(
        uow,
        sid=task_sid,
        account_sid=channel.account_sid,
        workspace_sid=workspace_sid,
        workflow_sid=workflow_sid,
        task_channel_sid=task_channel_sid,
        attributes=json.dumps(attributes),
        priority=int(props.get("priority") or 0),
        # A message left while nobody could answer waits for the first agent longer than a live chat would.
        ttl=WEBCHAT_OFFLINE_TASK_TTL if attributes.get("offline") else int(props.get("timeout") or DEFAULT_TASK_TTL),
        interaction_channel_sid=channel.sid,
    )
    await _task_added(uow, channel, task.sid)
    return ChannelTask(
        task_sid=task.sid,
        workspace_sid=task.workspace_sid,
        created=True,
        wrapup_timeout=props.get("wrapup_timeout"),
    )


async def _previous_agent(uow: UnitOfWork, channel: InteractionChannelRow) -> str | None:
    """The agent the customer last spoke with, if that agent is available now (an agent who went offline, or
    on a break, would only make the customer wait out the preference window)."""
    row = await uow.fetchone(
        "SELECT w.sid, w.available FROM interaction_participants ip "
        "JOIN workers w ON w.sid = ip.routing_properties->>'worker_sid' "
        "WHERE ip.channel_sid = %s AND ip.type = 'agent' ORDER BY ip.date_created DESC LIMIT 1",
        (channel.sid,),
    )
    return row["sid"] if row is not None and row["available"] else None


async def _task_added(uow: UnitOfWork, channel: InteractionChannelRow, task_sid: str) -> None:
    await uow.execute(
        "UPDATE interaction_channels SET active_task_sid = %s, task_count = task_count + 1, date_updated = now() "
        "WHERE sid = %s",
        (task_sid, channel.sid),
    )


async def create_api_task(
    uow: UnitOfWork,
    *,
    channel: InteractionChannelRow,
    props: RoutingProperties | None,
    attributes: dict[str, Any],
    routing_target: str | None,
    task_queue_sid: str | None,
    ttl: int,
    summary: str,
    from_task: TaskRow | None = None,
    transfer_sid: str | None = None,
    released_task_sid: str | None = None,
) -> TaskRow:
    """A task the API puts on a channel (an interaction's first, an invite's, a transfer's): inserted here, its
    workflow started by the channel's workflow through the outbox, so the channel knows every task it carries.
    A transfer's task (no `props`) goes where the sender's task went, in its workspace and task channel."""
    if props is not None:
        workspace_sid, workflow_sid, task_channel_sid = await _resolve_or_reject(uow, channel.account_sid, props)
        priority = props.priority
    else:
        assert from_task is not None
        workspace_sid, workflow_sid = from_task.workspace_sid, from_task.workflow_sid
        task_channel_sid, priority = from_task.task_channel_sid, from_task.priority
    task = await taskrouter.insert_task(
        uow,
        sid=new_sid(SidPrefix.TASK),
        account_sid=channel.account_sid,
        workspace_sid=workspace_sid,
        workflow_sid=workflow_sid,
        task_channel_sid=task_channel_sid,
        attributes=json.dumps(attributes),
        priority=priority,
        ttl=ttl,
        interaction_channel_sid=channel.sid,
        routing_target=routing_target,
        task_queue_sid=task_queue_sid,
    )
    await _task_added(uow, channel, task.sid)
    await uow.outbox(
        StartChannelTask(
            account_sid=channel.account_sid,
            channel=channel_ref(channel),
            task_sid=task.sid,
            workspace_sid=task.workspace_sid,
            transfer_sid=transfer_sid,
            summary=summary,
            released_task_sid=released_task_sid,
        ),
        dedupe_key=f"{task.sid}:start",
    )
    return task


async def target_queue(
    uow: UnitOfWork, workspace_sid: str, *, worker_sid: str | None, queue_sid: str | None, preferred: str | None = None
) -> str | None:
    """The queue a targeted task waits in: the one named, else for a worker the preferred queue if the worker is
    in it, else any queue of the worker's. Everything named must be in the workspace."""
    if queue_sid is not None and not await uow.fetchone(
        "SELECT 1 FROM task_queues WHERE sid = %s AND workspace_sid = %s", (queue_sid, workspace_sid)
    ):
        raise InvalidParameter(f"TaskQueue {queue_sid} does not exist in workspace {workspace_sid}")
    if worker_sid is None:
        return queue_sid
    worker = await uow.one(
        WorkerRow, "SELECT * FROM workers WHERE sid = %s AND workspace_sid = %s", (worker_sid, workspace_sid)
    )
    if worker is None:
        raise InvalidParameter(f"Worker {worker_sid} does not exist in workspace {workspace_sid}")
    queues = [
        r["queue_sid"]
        for r in await uow.fetchall(
            "SELECT queue_sid FROM queue_members WHERE worker_sid = %s ORDER BY queue_sid", (worker_sid,)
        )
    ]
    if queue_sid is not None:
        if queue_sid not in queues:
            raise InvalidParameter(f"Worker {worker.friendly_name} is not in TaskQueue {queue_sid}")
        return queue_sid
    if preferred in queues:
        return preferred
    if not queues:
        raise InvalidParameter(f"Worker {worker.friendly_name} is in no TaskQueue, so no task can reach it")
    return queues[0]


async def _resolve_or_reject(
    uow: UnitOfWork, account_sid: str, props: RoutingProperties
) -> tuple[str, str | None, str]:
    """`_resolve_routing` for a request: what it names must exist in the caller's account (else a clear 400)."""
    try:
        return await _resolve_routing(uow, account_sid, props.stored())
    except RoutingConfigurationError as exc:
        raise InvalidParameter(f"Routing: {exc.message}") from None


async def routing_of(uow: UnitOfWork, task: TaskRow) -> dict[str, Any]:
    """Twilio's `routing` response: `{"reservation": null, "properties": <the task, epoch-second dates>}`."""
    names = await uow.fetchone(
        "SELECT (SELECT friendly_name FROM workflows WHERE sid = %s) AS workflow_name, "
        "(SELECT friendly_name FROM task_queues WHERE sid = %s) AS queue_name, "
        "(SELECT unique_name FROM task_channels WHERE sid = %s) AS task_channel_unique_name",
        (task.workflow_sid, task.task_queue_sid, task.task_channel_sid),
    )

    def epoch(value: datetime | None) -> int | None:
        return int(value.timestamp()) if value is not None else None

    return {
        "reservation": None,
        "properties": {
            "sid": task.sid,
            "account_sid": task.account_sid,
            "workspace_sid": task.workspace_sid,
            "workflow_sid": task.workflow_sid,
            "workflow_name": (names or {}).get("workflow_name"),
            "queue_sid": task.task_queue_sid,
            "queue_name": (names or {}).get("queue_name"),
            "task_channel_sid": task.task_channel_sid,
            "task_channel_unique_name": (names or {}).get("task_channel_unique_name"),
            "assignment_status": task.assignment_status.value,
            "attributes": task.attributes,
            "priority": task.priority,
            "age": 0,
            "age_in_queue": 0,
            "timeout": task.timeout,
            "reason": task.reason or "",
            "routing_target": task.routing_target,
            "addons": "{}",
            "assignmentCounter": task.assignment_count,
            "date_created": epoch(task.date_created),
            "date_updated": epoch(task.date_updated),
            "task_queue_entered_date": epoch(task.task_queue_entered_date),
        },
    }


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


async def flex_task_attributes(
    uow: UnitOfWork,
    channel: InteractionChannelRow,
    extra: dict[str, Any],
    *,
    invite_sid: str | None = None,
    initiated_by: InitiatedBy | None = None,
) -> dict[str, Any]:
    """Task attributes as Flex sets them, so Flex-style tools (and Flex UI plugins) work unchanged; `extra`
    (Routing.properties.attributes) goes on top, as is."""
    customer = await uow.fetchone(
        "SELECT p.identity, p.attributes, p.messaging_binding FROM interaction_participants ip "
        "JOIN participants p ON p.sid = ip.media_properties->>'participant_sid' "
        "WHERE ip.channel_sid = %s AND ip.type = 'customer' ORDER BY ip.date_created LIMIT 1",
        (channel.sid,),
    )
    # The interaction's channel spec and the conversation's attributes (a web chat's pre-chat data), in one trip.
    interaction = await uow.fetchone(
        "SELECT (SELECT channel FROM interactions WHERE sid = %s) AS channel, "
        "(SELECT attributes FROM conversations WHERE sid = %s) AS conversation_attributes",
        (channel.interaction_sid, channel.conversation_sid),
    )
    conversation_attributes = attributes_of((interaction or {}).get("conversation_attributes"))
    started_by = initiated_by or InitiatedBy(
        ((interaction or {}).get("channel") or {}).get("initiated_by") or "customer"
    )
    direction = "outbound" if started_by is InitiatedBy.AGENT else "inbound"
    customer_attributes = attributes_of((customer or {}).get("attributes"))
    binding = crypto.opened_json((customer or {}).get("messaging_binding")) or {}
    address = (customer or {}).get("identity") or binding.get("address")
    customer_name = customer_attributes.get("friendly_name") or address or "Customer"
    attributes: dict[str, Any] = {
        "flexInteractionSid": channel.interaction_sid,
        "flexInteractionChannelSid": channel.sid,
        "conversationSid": channel.conversation_sid,
        "channelType": channel.type,
        "customerName": customer_name,
        "customerAddress": address,
        "customers": {
            ("email" if channel.type == "email" else "phone" if binding else "identity"): address,
            "name": customer_name,
        },
        "initiatedBy": started_by.value,
        "direction": direction,
        "conversations": {
            "initiated_by": started_by.value,
            "conversation_id": channel.interaction_sid,
            "communication_channel": channel.type,
            "direction": direction,
            "media": [{"type": "ChatTranscript", "sid": channel.conversation_sid}],
        },
    }
    customers = attributes["customers"]
    for key in ("email", "customer_id"):  # a web chat's pre-chat email, a site-verified customer's id
        if isinstance(customer_attributes.get(key), str):
            customers[key] = customer_attributes[key]
    # Parley: what the web chat's pre-chat form collected, and whether the chat is a message left while
    # nobody could answer (a workflow may send those to a queue of their own: `offline == true`).
    if isinstance(conversation_attributes.get("pre_engagement_data"), dict):
        attributes["pre_engagement_data"] = conversation_attributes["pre_engagement_data"]
    if conversation_attributes.get("offline") is True:
        attributes["offline"] = True
    if invite_sid is not None:
        attributes["flexChannelInviteSid"] = invite_sid
    return {**attributes, **extra}


async def set_channel_status(
    uow: UnitOfWork,
    *,
    channel_sid: str,
    status: InteractionChannelStatus,
    error_code: int | None = None,
    error_message: str | None = None,
) -> None:
    """A channel's status as its workflow or a re-engagement sets it; a closed channel is never reopened."""
    await uow.execute(
        "UPDATE interaction_channels SET status = %s, error_code = COALESCE(%s, error_code), "
        "error_message = COALESCE(%s, error_message), date_updated = now() "
        "WHERE sid = %s AND (status <> 'closed' OR %s = 'closed')",
        (status.value, error_code, error_message, channel_sid, status.value),
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


async def update_channel(
    uow: UnitOfWork,
    *,
    channel: InteractionChannelRow,
    status: ChannelUpdateStatus,
    close_tasks: bool,
    reason: str = CHANNEL_CLOSED_REASON,
    notify_workflow: bool = True,
) -> InteractionChannelRow:
    """Close a channel or make it inactive. Every task on it ends: one still routing is canceled (a transfer
    waiting for its receiver fails), one an agent holds is completed or left in wrap-up."""
    if channel.status is InteractionChannelStatus.CLOSED:
        raise InvalidParameter("Interaction Not Open", code=80906)
    for task in await uow.all(
        TaskRow,
        "SELECT * FROM tasks WHERE interaction_channel_sid = %s AND assignment_status = ANY(%s) ORDER BY date_created",
        (channel.sid, [s.value for s in LIVE_TASK]),
    ):
        if task.assignment_status.is_routable:
            await taskrouter.update_task_status(uow, task_sid=task.sid, status=TaskStatus.CANCELED, reason=reason)
        elif close_tasks or task.assignment_status is TaskStatus.ASSIGNED:
            await taskrouter.update_task_status(
                uow,
                task_sid=task.sid,
                status=TaskStatus.COMPLETED if close_tasks else TaskStatus.WRAPPING,
                reason=reason,
            )
    row = await uow.one(
        InteractionChannelRow,
        "UPDATE interaction_channels SET status = %s, date_updated = now() WHERE sid = %s RETURNING *",
        (status.value, channel.sid),
    )
    assert row is not None
    if status is ChannelUpdateStatus.CLOSED:
        await conversations.close_conversation(uow, conversation_sid=channel.conversation_sid)
        if notify_workflow:
            await uow.outbox(
                CloseInteractionChannel(account_sid=channel.account_sid, channel=channel_ref(channel), reason="api"),
                dedupe_key=f"{channel.sid}:close",
            )
    return row


async def close_channel_by_policy(uow: UnitOfWork, *, channel_sid: str, reason: str) -> None:
    """The channel's workflow closes it (re-queued too often, or parked too long): as the API would, with the
    reason on the channel; a channel already closed is left as it is."""
    channel = await uow.one(
        InteractionChannelRow, "SELECT * FROM interaction_channels WHERE sid = %s FOR UPDATE", (channel_sid,)
    )
    if channel is None or channel.status is InteractionChannelStatus.CLOSED:
        return
    await update_channel(
        uow, channel=channel, status=ChannelUpdateStatus.CLOSED, close_tasks=False, reason=reason, notify_workflow=False
    )
    await uow.execute("UPDATE interaction_channels SET error_message = %s WHERE sid = %s", (reason, channel_sid))


async def release_worker_conversations(uow: UnitOfWork, *, worker_sid: str) -> None:
    """An agent gone offline holding conversations: each of its chat tasks is completed (the agent leaves) and
    its channel routes again, so no customer waits on someone who is not there."""
    for task in await uow.all(
        TaskRow,
        "SELECT t.* FROM tasks t JOIN reservations r ON r.task_sid = t.sid "
        "WHERE r.worker_sid = %s AND r.reservation_status = 'accepted' AND t.assignment_status = 'assigned' "
        "AND t.interaction_channel_sid IS NOT NULL",
        (worker_sid,),
    ):
        await taskrouter.update_task_status(
            uow, task_sid=task.sid, status=TaskStatus.COMPLETED, reason=AGENT_GONE_REASON
        )
        channel = await uow.one(
            InteractionChannelRow,
            "SELECT * FROM interaction_channels WHERE sid = %s",
            (task.interaction_channel_sid,),
        )
        if channel is not None and channel.status not in ENDED_CHANNEL:
            await uow.outbox(
                RequeueChannel(
                    account_sid=channel.account_sid,
                    channel=channel_ref(channel),
                    reason=AGENT_GONE_REASON,
                    ended_task_sid=task.sid,
                ),
                dedupe_key=f"{task.sid}:requeue",
            )


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
    participant = await get_participant(uow, channel=channel, sid=participant_sid)
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


# --- conversation deletion ---------------------------------------------------------------------------


async def has_open_channel(uow: UnitOfWork, *, conversation_sid: str) -> bool:
    row = await uow.fetchone(
        "SELECT 1 FROM interaction_channels WHERE conversation_sid = %s AND status <> ALL(%s) LIMIT 1",
        (conversation_sid, [s.value for s in ENDED_CHANNEL]),
    )
    return row is not None


async def forget_closed_channels(uow: UnitOfWork, *, conversation_sid: str) -> None:
    """A deleted conversation takes its ended channels' records (participants, invites, transfers) with it; the
    tasks routed on them stay in TaskRouter's history."""
    channels = [
        r["sid"]
        for r in await uow.fetchall(
            "SELECT sid FROM interaction_channels WHERE conversation_sid = %s", (conversation_sid,)
        )
    ]
    if not channels:
        return
    for table in ("interaction_transfers", "interaction_invites", "interaction_participants"):
        await uow.execute(f"DELETE FROM {table} WHERE channel_sid = ANY(%s)", (channels,))
    await uow.execute("DELETE FROM interaction_channels WHERE sid = ANY(%s)", (channels,))


async def close_open_channel(uow: UnitOfWork, *, conversation_sid: str, reason: str) -> bool:
    """Close the interaction channel open on a conversation (its tasks end and its conversation closes), as the
    API's `Status=closed` does; False when none is open."""
    channel = await uow.one(
        InteractionChannelRow,
        "SELECT * FROM interaction_channels WHERE conversation_sid = %s AND status <> ALL(%s) FOR UPDATE",
        (conversation_sid, [s.value for s in ENDED_CHANNEL]),
    )
    if channel is None:
        return False
    await update_channel(uow, channel=channel, status=ChannelUpdateStatus.CLOSED, close_tasks=True, reason=reason)
    return True
