"""Conversations use cases: conversations, participants, messages and address configurations.

The message hot path is one transaction: allocate the next index under the conversation's row lock, insert the
message, append a real-time event, and, only when the customer writes on a channel with no open task, record an
outbox command that (re)starts routing. No workflow round trip (ARCHITECTURE §3)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from domain.addresses import AutoCreation, AutoCreationType
from domain.errors import Conflict, InvalidParameter, NotFound
from domain.limits import (
    CONVERSATION_CLOSED_REASON,
    CONVERSATION_WITH_PARTICIPANTS_LIMIT,
    MESSAGE_ATTRIBUTES_LIMIT,
    MESSAGE_BODY_LIMIT,
    MIN_CLOSED_TIMER,
    MIN_INACTIVE_TIMER,
    TIMER_CLOSED_REASON,
)
from domain.outbox import ScheduleConversationTimers
from domain.participants import NewParticipant
from domain.permissions import RoleType
from domain.realtime import StreamEvent
from domain.sids import SidPrefix, is_sid, new_sid
from domain.states import CONVERSATION_TRANSITIONS, ConversationState, StateChangeReason
from domain.timers import check_timer, closed_timer, inactive_timer
from domain.webhooks import SYSTEM, Actor, ScopedWebhookTarget, WebhookEvent, webhook_date
from storage import crypto
from storage.accounts.tables import AccountRow
from storage.attributes import attributes_of
from storage.conversations import deliveries, media, roles, users, webhooks
from storage.conversations.tables import (
    AddressConfigurationRow,
    ConversationRow,
    ConversationServiceRow,
    MessageRow,
    ParticipantRow,
)
from storage.db import NOTIFY_CHANNEL, UnitOfWork
from storage.interactions import service as interactions
from storage.messaging import pools
from storage.realtime import service as realtime
from storage.search import service as search


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- conversations -----------------------------------------------------------------------------------


async def default_service_sid(uow: UnitOfWork, account_sid: str) -> str:
    row = await uow.fetchone("SELECT default_chat_service_sid FROM accounts WHERE sid = %s", (account_sid,))
    if row is None or row["default_chat_service_sid"] is None:
        raise NotFound("The account has no default Conversation Service")
    return str(row["default_chat_service_sid"])


# The account's conversations in the service %(service)s, by default the account's default service.
_IN_SERVICE = (
    "account_sid = %(account)s AND chat_service_sid = COALESCE(%(service)s::text, "
    "(SELECT default_chat_service_sid FROM accounts WHERE sid = %(account)s))"
)


async def get_conversation(
    uow: UnitOfWork, *, account_sid: str, sid_or_unique_name: str, chat_service_sid: str | None = None
) -> ConversationRow:
    """A conversation of the service (by default the account's default service), by SID or unique name.

    A unique name is sealed, so it is found by its blind index. A key shaped like a conversation SID is looked
    up by SID; only when no conversation has that SID is it tried as a unique name (a SID wins, as it did)."""
    params = {"account": account_sid, "key": sid_or_unique_name, "service": chat_service_sid}
    if is_sid(sid_or_unique_name, SidPrefix.CONVERSATION):
        row = await uow.one(
            ConversationRow, f"SELECT * FROM conversations WHERE sid = %(key)s AND {_IN_SERVICE}", params
        )
        if row is not None:
            return row
    return await uow.found(
        ConversationRow,
        f"SELECT * FROM conversations WHERE unique_name_index = %(index)s AND {_IN_SERVICE}",
        {**params, "index": await crypto.blind_index(uow, account_sid, sid_or_unique_name)},
        resource=f"/Conversations/{sid_or_unique_name}",
    )


# The timers' deadlines for a conversation in `state` with timers `inactive`/`closed`, from now (named
# parameters of the statements below): the inactive timer runs only while active; nothing runs once closed.
_INACTIVE_DEADLINE = (
    "CASE WHEN %(state)s::text = 'active' AND %(inactive)s::text IS NOT NULL THEN now() + %(inactive)s::interval END"
)
_CLOSED_DEADLINE = (
    "CASE WHEN %(state)s::text <> 'closed' AND %(closed)s::text IS NOT NULL THEN now() + %(closed)s::interval END"
)


async def create_conversation(
    uow: UnitOfWork,
    *,
    account_sid: str,
    chat_service_sid: str,
    friendly_name: str | None = None,
    unique_name: str | None = None,
    attributes: str = "{}",
    state: ConversationState | None = None,
    address_sid: str | None = None,
    messaging_service_sid: str | None = None,
    timers_inactive: str | None = None,
    timers_closed: str | None = None,
    date_created: datetime | None = None,
    date_updated: datetime | None = None,
    actor: Actor = SYSTEM,
) -> ConversationRow:
    """Twilio's rules: a conversation is not created closed (50384); timers need an explicit `State` (50382);
    the account's default timers and messaging service apply when none is given."""
    if state is ConversationState.CLOSED:
        raise InvalidParameter("A conversation cannot be created in the closed state", code=50384)
    if (timers_inactive or timers_closed) and state is None:
        raise InvalidParameter("Timers.Inactive and Timers.Closed need the State parameter", code=50382)
    inactive, closed = inactive_timer(timers_inactive), closed_timer(timers_closed)
    if messaging_service_sid is not None:
        await pools.ensure_service(uow, account_sid=account_sid, sid=messaging_service_sid)
    defaults = await uow.fetchone(
        "SELECT default_messaging_service_sid, default_inactive_timer, default_closed_timer FROM accounts "
        "WHERE sid = %s",
        (account_sid,),
    )
    if defaults is not None:
        inactive = inactive or defaults["default_inactive_timer"]
        closed = closed or defaults["default_closed_timer"]
        messaging_service_sid = messaging_service_sid or defaults["default_messaging_service_sid"]
    unique_index = await crypto.blind_index(uow, account_sid, unique_name)
    if unique_name is not None:
        await _ensure_unique_name(uow, chat_service_sid, unique_name, unique_index)
    effective = state or ConversationState.ACTIVE
    row = await uow.one(
        ConversationRow,
        f"""
        INSERT INTO conversations (sid, account_sid, chat_service_sid, messaging_service_sid, friendly_name,
                                   unique_name, unique_name_index, attributes, state, address_sid, timers_inactive,
                                   timers_closed, timers_date_inactive, timers_date_closed, date_created, date_updated)
        VALUES (%(sid)s, %(account)s, %(service)s, %(messaging)s, %(friendly)s, %(unique)s, %(unique_index)s,
                %(attributes)s, %(state)s::text, %(address)s, %(inactive)s::text, %(closed)s::text,
                {_INACTIVE_DEADLINE}, {_CLOSED_DEADLINE},
                COALESCE(%(created)s, now()), COALESCE(%(updated)s, %(created)s, now()))
        RETURNING *
        """,
        {
            "sid": new_sid(SidPrefix.CONVERSATION),
            "account": account_sid,
            "service": chat_service_sid,
            "messaging": messaging_service_sid,
            "friendly": await crypto.seal(uow, account_sid, friendly_name),
            "unique": await crypto.seal(uow, account_sid, unique_name),
            "unique_index": unique_index,
            "attributes": await crypto.seal(uow, account_sid, attributes),
            "state": effective.value,
            "address": address_sid,
            "inactive": inactive,
            "closed": closed,
            "created": date_created,
            "updated": date_updated,
        },
    )
    assert row is not None
    await _schedule_timers(uow, row)
    await webhooks.emit(
        uow,
        conversation=row,
        event=WebhookEvent.CONVERSATION_ADDED,
        params=webhooks.conversation_params(row),
        actor=actor,
    )
    return row


async def _schedule_timers(uow: UnitOfWork, row: ConversationRow) -> None:
    """A conversation whose timers run has a ConversationTimers workflow watching them (woken to re-read)."""
    if row.timers_date_inactive is None and row.timers_date_closed is None:
        return
    await uow.outbox(
        ScheduleConversationTimers(account_sid=row.account_sid, conversation_sid=row.sid),
        dedupe_key=f"timers:{row.sid}:{uuid.uuid4().hex}",
    )


async def _ensure_unique_name(
    uow: UnitOfWork, chat_service_sid: str, unique_name: str, index: str | None, exclude: str = ""
) -> None:
    """Twilio's 50353: a unique name is the service's once; compared by its blind index (it is sealed)."""
    existing = await uow.fetchone(
        "SELECT 1 FROM conversations WHERE chat_service_sid = %s AND unique_name_index = %s AND sid <> %s",
        (chat_service_sid, index, exclude),
    )
    if existing is not None:
        raise Conflict(f"Conversation with unique name '{unique_name}' already exists", code=50353)


@dataclass(frozen=True, slots=True)
class ConversationChanges:
    friendly_name: str | None = None
    attributes: str | None = None
    state: ConversationState | None = None
    unique_name: str | None = None  # "" clears it
    messaging_service_sid: str | None = None
    timers_inactive: str | None = None
    timers_closed: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None

    @property
    def times(self) -> bool:
        """Whether the timers' deadlines start again: the timers or the state changed."""
        return self.state is not None or self.timers_inactive is not None or self.timers_closed is not None


async def update_conversation(
    uow: UnitOfWork, *, conversation: ConversationRow, changes: ConversationChanges, actor: Actor
) -> ConversationRow:
    """Closed is final and read-only (50404 to re-open it, 50407 for any other change)."""
    if conversation.state is ConversationState.CLOSED:
        if changes.state is not None and changes.state is not ConversationState.CLOSED:
            raise InvalidParameter("A closed conversation cannot be re-opened", code=50404)
        raise Conflict("The conversation is closed; it is read-only", code=50407)
    if changes.state is not None and changes.state is not conversation.state:
        if changes.state not in CONVERSATION_TRANSITIONS[conversation.state]:
            raise InvalidParameter(f"A conversation cannot go from {conversation.state} to {changes.state}")
    unique_name = changes.unique_name or None
    unique_index = await crypto.blind_index(uow, conversation.account_sid, unique_name)
    if unique_name is not None:
        await _ensure_unique_name(
            uow, conversation.chat_service_sid, unique_name, unique_index, exclude=conversation.sid
        )
    if changes.messaging_service_sid is not None:
        await pools.ensure_service(uow, account_sid=conversation.account_sid, sid=changes.messaging_service_sid)
    state = changes.state or conversation.state
    inactive = inactive_timer(changes.timers_inactive) or conversation.timers_inactive
    closed = closed_timer(changes.timers_closed) or conversation.timers_closed
    row = await uow.one(
        ConversationRow,
        f"""
        UPDATE conversations
           SET friendly_name = COALESCE(%(friendly)s, friendly_name), attributes = COALESCE(%(attributes)s, attributes),
               state = %(state)s::text,
               unique_name = CASE WHEN %(clear_unique)s THEN NULL ELSE COALESCE(%(unique)s, unique_name) END,
               unique_name_index = CASE WHEN %(clear_unique)s THEN NULL
                                        ELSE COALESCE(%(unique_index)s, unique_name_index) END,
               messaging_service_sid = COALESCE(%(messaging)s, messaging_service_sid),
               timers_inactive = %(inactive)s::text, timers_closed = %(closed)s::text,
               timers_date_inactive = CASE WHEN %(retime)s THEN {_INACTIVE_DEADLINE} ELSE timers_date_inactive END,
               timers_date_closed = CASE WHEN %(retime)s THEN {_CLOSED_DEADLINE} ELSE timers_date_closed END,
               date_created = COALESCE(%(created)s, date_created), date_updated = COALESCE(%(updated)s, now())
         WHERE sid = %(sid)s RETURNING *
        """,
        {
            "friendly": await crypto.seal(uow, conversation.account_sid, changes.friendly_name),
            "attributes": await crypto.seal(uow, conversation.account_sid, changes.attributes),
            "state": state.value,
            "unique": await crypto.seal(uow, conversation.account_sid, unique_name),
            "unique_index": unique_index,
            "clear_unique": changes.unique_name == "",
            "messaging": changes.messaging_service_sid,
            "inactive": inactive,
            "closed": closed,
            "retime": changes.times,
            "created": changes.date_created,
            "updated": changes.date_updated,
            "sid": conversation.sid,
        },
    )
    assert row is not None
    if changes.times:
        await _schedule_timers(uow, row)
    await uow.publish(
        account_sid=row.account_sid,
        stream=row.sid,
        type=StreamEvent.CONVERSATION_UPDATED,
        data={
            "friendly_name": row.friendly_name,
            "unique_name": row.unique_name,
            "attributes": row.attributes,
            "state": row.state.value,
        },
    )
    await webhooks.emit(
        uow,
        conversation=row,
        event=WebhookEvent.CONVERSATION_UPDATED,
        params=webhooks.conversation_params(row),
        actor=actor,
    )
    if changes.state is not None and changes.state is not conversation.state:
        await _state_updated(uow, row, conversation.state, StateChangeReason.API, actor)
        if row.state is ConversationState.CLOSED:
            # Its interaction channel closes with it (its tasks end, an offer is withdrawn), as when a timer
            # closes it: no agent is handed, or left holding, a chat nobody can write in.
            await interactions.close_open_channel(uow, conversation_sid=row.sid, reason=CONVERSATION_CLOSED_REASON)
    return row


async def delete_conversation(uow: UnitOfWork, *, conversation: ConversationRow, actor: Actor) -> None:
    """Delete a conversation with its participants, messages, webhooks and events. One an interaction channel
    is still open on cannot go (the channel would be orphaned: close it first); a closed channel's records go
    with it."""
    locked = await uow.found(
        ConversationRow,
        "SELECT * FROM conversations WHERE sid = %s FOR UPDATE",
        (conversation.sid,),
        resource=f"/Conversations/{conversation.sid}",
    )
    if await interactions.has_open_channel(uow, conversation_sid=locked.sid):
        raise Conflict(
            f"Conversation {locked.sid} has an open interaction channel; close the channel first", code=50411
        )
    # The webhooks listening to the conversation hear of its removal before they go with it.
    await webhooks.emit(
        uow,
        conversation=locked,
        event=WebhookEvent.CONVERSATION_REMOVED,
        params=[*webhooks.conversation_params(locked), ("DateRemoved", webhook_date(utcnow()) or "")],
        actor=actor,
    )
    await interactions.forget_closed_channels(uow, conversation_sid=locked.sid)
    for table in ("messages", "participants", "realtime_events"):
        column = "stream" if table == "realtime_events" else "conversation_sid"
        await uow.execute(f"DELETE FROM {table} WHERE {column} = %s", (locked.sid,))
    await uow.execute("DELETE FROM conversations WHERE sid = %s", (locked.sid,))


async def close_conversation(uow: UnitOfWork, *, conversation_sid: str) -> None:
    """Closed is final and read-only (Flex closes the conversation with its interaction channel)."""
    before = await uow.one(
        ConversationRow, "SELECT * FROM conversations WHERE sid = %s FOR UPDATE", (conversation_sid,)
    )
    if before is None or before.state is ConversationState.CLOSED:
        return
    row = await uow.one(
        ConversationRow,
        "UPDATE conversations SET state = 'closed', date_updated = now() WHERE sid = %s RETURNING *",
        (conversation_sid,),
    )
    assert row is not None
    await _state_updated(uow, row, before.state, StateChangeReason.EVENT, SYSTEM)


async def _state_updated(
    uow: UnitOfWork, row: ConversationRow, before: ConversationState, reason: StateChangeReason, actor: Actor
) -> None:
    await uow.publish(
        account_sid=row.account_sid,
        stream=row.sid,
        type=StreamEvent.CONVERSATION_STATE_UPDATED,
        data={"state_from": before.value, "state_to": row.state.value, "reason": reason.value},
    )
    await webhooks.emit(
        uow,
        conversation=row,
        event=WebhookEvent.CONVERSATION_STATE_UPDATED,
        params=[
            ("ConversationSid", row.sid),
            ("ChatServiceSid", row.chat_service_sid),
            ("StateUpdated", webhook_date(row.date_updated) or ""),
            ("StateFrom", before.value),
            ("StateTo", row.state.value),
            ("Reason", reason.value),
            *([("MessagingServiceSid", row.messaging_service_sid)] if row.messaging_service_sid else []),
        ],
        actor=actor,
    )


@dataclass(frozen=True, slots=True)
class NewConversation:
    """A conversation as the API describes one (create_conversation's arguments)."""

    account_sid: str
    chat_service_sid: str
    friendly_name: str | None = None
    unique_name: str | None = None
    attributes: str = "{}"
    state: ConversationState | None = None
    messaging_service_sid: str | None = None
    timers_inactive: str | None = None
    timers_closed: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None


async def create_conversation_with_participants(
    uow: UnitOfWork, *, new: NewConversation, participants: list[NewParticipant], actor: Actor
) -> ConversationRow:
    """`ConversationWithParticipants`: the conversation and its participants in one transaction, so a bad
    participant leaves nothing behind."""
    if len(participants) > CONVERSATION_WITH_PARTICIPANTS_LIMIT:
        raise InvalidParameter(f"At most {CONVERSATION_WITH_PARTICIPANTS_LIMIT} participants can be given")
    for participant in participants:
        participant.binding()  # checked before anything is written
    conversation = await create_conversation(
        uow,
        account_sid=new.account_sid,
        chat_service_sid=new.chat_service_sid,
        friendly_name=new.friendly_name,
        unique_name=new.unique_name,
        attributes=new.attributes,
        state=new.state,
        messaging_service_sid=new.messaging_service_sid,
        timers_inactive=new.timers_inactive,
        timers_closed=new.timers_closed,
        date_created=new.date_created,
        date_updated=new.date_updated,
        actor=actor,
    )
    for participant in participants:
        await join(uow, conversation=conversation, participant=participant, actor=actor)
    return conversation


# --- participants ------------------------------------------------------------------------------------


async def get_participant(uow: UnitOfWork, *, conversation_sid: str, sid_or_identity: str) -> ParticipantRow:
    row = await uow.one(
        ParticipantRow,
        "SELECT * FROM participants WHERE conversation_sid = %s AND (sid = %s OR identity = %s)",
        (conversation_sid, sid_or_identity, sid_or_identity),
    )
    if row is None:
        raise NotFound.resource(f"/Conversations/{conversation_sid}/Participants/{sid_or_identity}")
    return row


async def find_participant(
    uow: UnitOfWork, *, conversation_sid: str, identity: str | None, worker_sid: str | None = None
) -> ParticipantRow | None:
    """The caller's own participant: by its token identity, or (an agent) by the worker SID it joined with."""
    if identity is not None:
        found = await uow.one(
            ParticipantRow,
            "SELECT * FROM participants WHERE conversation_sid = %s AND identity = %s",
            (conversation_sid, identity),
        )
        if found is not None or worker_sid is None:
            return found
    if worker_sid is None:
        return None
    # Attributes are sealed: an agent's participant is recognised by the worker SID in them, here.
    rows = await uow.all(ParticipantRow, "SELECT * FROM participants WHERE conversation_sid = %s", (conversation_sid,))
    return next((p for p in rows if attributes_of(p.attributes).get("worker_sid") == worker_sid), None)


async def join(
    uow: UnitOfWork, *, conversation: ConversationRow, participant: NewParticipant, actor: Actor
) -> ParticipantRow:
    """Add a participant the API described, with Twilio's checks: a closed conversation is read-only (50407),
    an identity is unique in the conversation (50433), and a customer address with the same proxy address
    may be in only one open conversation (50416)."""
    if conversation.state is ConversationState.CLOSED:
        raise Conflict("The conversation is closed; it is read-only", code=50407)
    binding = participant.binding()
    if participant.address is not None:
        # Addresses are sealed; they are found through their blind indexes (storage/crypto.py).
        clash = await uow.fetchone(
            "SELECT p.conversation_sid FROM participants p JOIN conversations c ON c.sid = p.conversation_sid "
            "WHERE p.account_sid = %s AND p.binding_address_hash = %s "
            "AND p.binding_proxy_hash IS NOT DISTINCT FROM %s AND c.state <> 'closed' LIMIT 1",
            (
                conversation.account_sid,
                await crypto.blind_index(uow, conversation.account_sid, participant.address),
                await crypto.blind_index(uow, conversation.account_sid, participant.proxy_address),
            ),
        )
        if clash is not None:
            raise Conflict(
                f"A binding for this participant and proxy address already exists in conversation "
                f"{clash['conversation_sid']}",
                code=50416,
            )
    return await add_participant(
        uow,
        conversation_sid=conversation.sid,
        identity=participant.identity,
        attributes=participant.attributes,
        messaging_binding=binding,
        role_sid=participant.role_sid,
        date_created=participant.date_created,
        date_updated=participant.date_updated,
        actor=actor,
    )


async def sealed_binding(
    uow: UnitOfWork, account_sid: str, binding: dict[str, Any] | None
) -> tuple[str | None, str | None, str | None]:
    """A messaging binding as stored: the sealed document, then the blind indexes of its address and proxy
    address (what inbound messages and the one-open-conversation rule look it up by)."""
    if not binding:
        return None, None, None
    return (
        await crypto.seal_json(uow, account_sid, binding),
        await crypto.blind_index(uow, account_sid, binding.get("address")),
        await crypto.blind_index(uow, account_sid, binding.get("proxy_address")),
    )


async def add_participant(
    uow: UnitOfWork,
    *,
    conversation_sid: str,
    identity: str | None,
    attributes: str = "{}",
    messaging_binding: dict[str, Any] | None = None,
    role_sid: str | None = None,
    if_absent: bool = False,
    date_created: datetime | None = None,
    date_updated: datetime | None = None,
    actor: Actor = SYSTEM,
) -> ParticipantRow:
    conversation = await uow.found(
        ConversationRow,
        "SELECT * FROM conversations WHERE sid = %s FOR UPDATE",
        (conversation_sid,),
        resource=f"/Conversations/{conversation_sid}",
    )
    if identity is not None:
        existing = await uow.one(
            ParticipantRow,
            "SELECT * FROM participants WHERE conversation_sid = %s AND identity = %s",
            (conversation_sid, identity),
        )
        if existing is not None:
            if if_absent:
                return existing
            raise Conflict("Participant already exists", code=50433)
        # A chat participant is a user of the service (created implicitly, as Twilio does).
        await users.ensure_user(
            uow,
            account_sid=conversation.account_sid,
            chat_service_sid=conversation.chat_service_sid,
            identity=identity,
            actor=actor,
        )
    if role_sid is not None:
        await roles.check_role(
            uow, chat_service_sid=conversation.chat_service_sid, role_sid=role_sid, type=RoleType.CONVERSATION
        )
    else:
        # Without a RoleSid a participant gets the service's default conversation role.
        service = await uow.fetchone(
            "SELECT default_conversation_role_sid FROM conversation_services WHERE sid = %s",
            (conversation.chat_service_sid,),
        )
        role_sid = service["default_conversation_role_sid"] if service else None
    row = await uow.one(
        ParticipantRow,
        """
        INSERT INTO participants (sid, account_sid, conversation_sid, chat_service_sid, identity, attributes,
                                  messaging_binding, binding_address_hash, binding_proxy_hash, role_sid,
                                  date_created, date_updated)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, COALESCE(%s, now()), COALESCE(%s, %s, now())) RETURNING *
        """,
        (
            new_sid(SidPrefix.PARTICIPANT),
            conversation.account_sid,
            conversation_sid,
            conversation.chat_service_sid,
            identity,
            await crypto.seal(uow, conversation.account_sid, attributes),
            *await sealed_binding(uow, conversation.account_sid, messaging_binding),
            role_sid,
            date_created,
            date_updated,
            date_created,
        ),
    )
    assert row is not None
    if row.binding_address_hash is not None:
        await uow.execute(
            "UPDATE conversations SET bound_participants = bound_participants + 1 WHERE sid = %s", (conversation_sid,)
        )
    await uow.publish(
        account_sid=row.account_sid,
        stream=conversation_sid,
        type=StreamEvent.PARTICIPANT_ADDED,
        data={"participant_sid": row.sid, "identity": identity, "attributes": attributes},
    )
    await webhooks.emit(
        uow,
        conversation=conversation,
        event=WebhookEvent.PARTICIPANT_ADDED,
        params=webhooks.participant_params(row),
        actor=actor,
    )
    return row


async def remove_participant(
    uow: UnitOfWork, *, conversation_sid: str, participant_sid: str, actor: Actor = SYSTEM
) -> bool:
    row = await uow.one(
        ParticipantRow,
        "DELETE FROM participants WHERE sid = %s AND conversation_sid = %s RETURNING *",
        (participant_sid, conversation_sid),
    )
    if row is None:
        return False
    if row.binding_address_hash is not None:
        await uow.execute(
            "UPDATE conversations SET bound_participants = bound_participants - 1 WHERE sid = %s", (conversation_sid,)
        )
    await uow.publish(
        account_sid=row.account_sid,
        stream=conversation_sid,
        type=StreamEvent.PARTICIPANT_REMOVED,
        data={"participant_sid": participant_sid, "identity": row.identity},
    )
    conversation = await uow.one(ConversationRow, "SELECT * FROM conversations WHERE sid = %s", (conversation_sid,))
    if conversation is not None:
        await webhooks.emit(
            uow,
            conversation=conversation,
            event=WebhookEvent.PARTICIPANT_REMOVED,
            params=[*webhooks.participant_params(row), ("DateRemoved", webhook_date(utcnow()) or "")],
            actor=actor,
        )
    return True


@dataclass(frozen=True, slots=True)
class ParticipantChanges:
    """A participant update; None leaves a field as it is."""

    attributes: str | None = None
    role_sid: str | None = None
    identity: str | None = None
    proxy_address: str | None = None
    projected_address: str | None = None
    last_read_message_index: int | None = None
    last_read_timestamp: datetime | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None


async def update_participant(
    uow: UnitOfWork,
    *,
    conversation: ConversationRow,
    participant: ParticipantRow,
    changes: ParticipantChanges,
    actor: Actor,
) -> ParticipantRow:
    """Twilio's rules: a chat participant keeps its identity unique in the conversation (50433); a non-chat one
    (an SMS or WhatsApp binding) has no identity to set, and only a binding has a proxy address."""
    if conversation.state is ConversationState.CLOSED:
        raise Conflict("The conversation is closed; it is read-only", code=50407)
    binding = dict(participant.messaging_binding or {})
    if changes.identity is not None and changes.identity != participant.identity:
        if participant.identity is None and binding.get("address"):
            raise InvalidParameter("A participant with a messaging binding cannot have an Identity", code=50402)
        clash = await uow.fetchone(
            "SELECT 1 FROM participants WHERE conversation_sid = %s AND identity = %s AND sid <> %s",
            (conversation.sid, changes.identity, participant.sid),
        )
        if clash is not None:
            raise Conflict("Participant already exists", code=50433)
    if changes.proxy_address is not None:
        if not binding.get("address"):
            raise InvalidParameter("Only a participant with a messaging binding has a ProxyAddress", code=50402)
        binding["proxy_address"] = changes.proxy_address
    if changes.projected_address is not None:
        if binding.get("address"):
            raise InvalidParameter("ProjectedAddress is for chat participants (group MMS)", code=50402)
        binding["projected_address"] = changes.projected_address
    if changes.last_read_message_index is not None and changes.last_read_message_index < 0:
        raise InvalidParameter("LastReadMessageIndex must be 0 or more")
    if changes.role_sid is not None:
        await roles.check_role(
            uow, chat_service_sid=conversation.chat_service_sid, role_sid=changes.role_sid, type=RoleType.CONVERSATION
        )
    row = await uow.one(
        ParticipantRow,
        """
        UPDATE participants
           SET attributes = COALESCE(%(attributes)s, attributes), role_sid = COALESCE(%(role)s, role_sid),
               identity = COALESCE(%(identity)s, identity), messaging_binding = %(binding)s,
               binding_address_hash = %(address_hash)s, binding_proxy_hash = %(proxy_hash)s,
               last_read_message_index = COALESCE(%(read_index)s, last_read_message_index),
               last_read_timestamp = COALESCE(%(read_at)s, %(read_at_default)s, last_read_timestamp),
               date_created = COALESCE(%(created)s, date_created), date_updated = COALESCE(%(updated)s, now())
         WHERE sid = %(sid)s RETURNING *
        """,
        {
            "attributes": await crypto.seal(uow, participant.account_sid, changes.attributes),
            "role": changes.role_sid,
            "identity": changes.identity,
            **dict(
                zip(
                    ("binding", "address_hash", "proxy_hash"),
                    await sealed_binding(uow, participant.account_sid, binding or None),
                    strict=True,
                )
            ),
            "read_index": changes.last_read_message_index,
            "read_at": changes.last_read_timestamp,
            # A new read horizon without a timestamp is read now.
            "read_at_default": utcnow() if changes.last_read_message_index is not None else None,
            "created": changes.date_created,
            "updated": changes.date_updated,
            "sid": participant.sid,
        },
    )
    assert row is not None
    await uow.publish(
        account_sid=row.account_sid,
        stream=conversation.sid,
        type=StreamEvent.PARTICIPANT_UPDATED,
        data={
            "participant_sid": row.sid,
            "identity": row.identity,
            "attributes": row.attributes,
            "last_read_message_index": row.last_read_message_index,
        },
    )
    await webhooks.emit(
        uow,
        conversation=conversation,
        event=WebhookEvent.PARTICIPANT_UPDATED,
        params=webhooks.participant_params(row),
        actor=actor,
    )
    return row


# --- messages ----------------------------------------------------------------------------------------


def check_message(body: str | None, attributes: str | None, *, has_media: bool = False) -> str | None:
    """Twilio's message limits, checked before any write; returns the body. A message with media may have
    no body."""
    if body is not None and len(body) > MESSAGE_BODY_LIMIT:
        raise InvalidParameter(f"Body must be at most {MESSAGE_BODY_LIMIT} characters", code=50008)
    if not body and not has_media:
        raise InvalidParameter("A message needs a Body or a MediaSid", code=50006)
    if attributes is not None and len(attributes) > MESSAGE_ATTRIBUTES_LIMIT:
        raise InvalidParameter(f"Attributes must be at most {MESSAGE_ATTRIBUTES_LIMIT} characters")
    return body or None


async def create_message(
    uow: UnitOfWork,
    *,
    conversation_sid: str,
    author: str,
    body: str | None,
    attributes: str = "{}",
    participant_sid: str | None = None,
    idempotency_key: str | None = None,
    media_sids: Sequence[str] = (),
    date_created: datetime | None = None,
    date_updated: datetime | None = None,
    actor: Actor = SYSTEM,
) -> MessageRow:
    """Every entry point that adds a message to a conversation calls this (REST, WebSocket, provider webhooks)."""
    if idempotency_key is not None:
        # Lock first so two retries of the same send serialize and the second finds the first.
        await uow.execute("SELECT 1 FROM conversations WHERE sid = %s FOR UPDATE", (conversation_sid,))
        existing = await uow.one(
            MessageRow,
            "SELECT * FROM messages WHERE conversation_sid = %s AND idempotency_key = %s",
            (conversation_sid, idempotency_key),
        )
        if existing is not None:
            return existing
    # The index and seq are allocated under the row lock the UPDATE takes; a message re-activates an inactive
    # conversation (the state before is read in the same statement, so the change can be announced).
    updated = await uow.fetchone(
        """
        UPDATE conversations c
           SET last_message_index = c.last_message_index + 1, last_event_seq = c.last_event_seq + 1,
               last_message_at = now(), date_updated = now(),
               state = CASE WHEN c.state = 'inactive' THEN 'active' ELSE c.state END,
               timers_date_inactive = now() + c.timers_inactive::interval,
               timers_date_closed = now() + c.timers_closed::interval
          FROM (SELECT state FROM conversations WHERE sid = %s FOR UPDATE) before
         WHERE c.sid = %s AND c.state <> 'closed'
        RETURNING c.*, before.state AS state_before
        """,
        (conversation_sid, conversation_sid),
    )
    conversation = ConversationRow.model_validate(updated) if updated is not None else None
    if conversation is None:
        exists = await uow.fetchone("SELECT state FROM conversations WHERE sid = %s", (conversation_sid,))
        if exists is None:
            raise NotFound.resource(f"/Conversations/{conversation_sid}")
        raise Conflict("The conversation is closed; it cannot take new messages", code=50407)
    message_sid = new_sid(SidPrefix.MESSAGE)
    media_items = (
        await media.attach(
            uow,
            media_sids=media_sids,
            account_sid=conversation.account_sid,
            chat_service_sid=conversation.chat_service_sid,
            conversation_sid=conversation_sid,
            message_sid=message_sid,
        )
        if media_sids
        else None
    )
    key = await crypto.sealer(uow, conversation.account_sid)
    message = await uow.one(
        MessageRow,
        """
        INSERT INTO messages (sid, account_sid, conversation_sid, chat_service_sid, index, author, body,
                              attributes, participant_sid, idempotency_key, media, date_created, date_updated)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, COALESCE(%s, now()), COALESCE(%s, %s, now()))
        RETURNING *
        """,
        (
            message_sid,
            conversation.account_sid,
            conversation_sid,
            conversation.chat_service_sid,
            conversation.last_message_index,
            author,
            key.seal(body) if body is not None else None,
            key.seal(attributes),
            participant_sid,
            idempotency_key,
            key.seal(json.dumps(media_items, separators=(",", ":"))) if media_items is not None else None,
            date_created,
            date_updated,
            date_created,
        ),
    )
    assert message is not None
    seq = conversation.last_event_seq
    # The seq was allocated with the index above; append the event and NOTIFY in one statement.
    await uow.execute(
        "WITH e AS (INSERT INTO realtime_events (account_sid, stream, seq, type, data) "
        "VALUES (%s, %s, %s, %s, %s)) SELECT pg_notify(%s, %s)",
        (
            conversation.account_sid,
            conversation_sid,
            seq,
            StreamEvent.MESSAGE_ADDED.value,
            Jsonb({"message_sid": message.sid, "index": message.index}),
            NOTIFY_CHANNEL,
            json.dumps({"stream": conversation_sid, "seq": seq}),
        ),
    )
    if updated is not None and updated["state_before"] != conversation.state.value:
        await _state_updated(
            uow, conversation, ConversationState(updated["state_before"]), StateChangeReason.EVENT, actor
        )
    await webhooks.emit(
        uow,
        conversation=conversation,
        event=WebhookEvent.MESSAGE_ADDED,
        params=webhooks.message_params(message, messaging_service_sid=conversation.messaging_service_sid),
        actor=actor,
        body=message.body,
    )
    if conversation.bound_participants:
        await deliveries.fan_out(uow, conversation=conversation, message=message)
    await search.index_message(uow, message)
    await interactions.route_customer_message(uow, conversation, message)
    return message


@dataclass(frozen=True, slots=True)
class MessageChanges:
    body: str | None = None
    attributes: str | None = None
    author: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None


async def update_message(
    uow: UnitOfWork, *, conversation: ConversationRow, message: MessageRow, changes: MessageChanges, actor: Actor
) -> MessageRow:
    if conversation.state is ConversationState.CLOSED:
        raise Conflict("The conversation is closed; it is read-only", code=50407)
    if changes.body is not None:
        check_message(changes.body, changes.attributes)
    elif changes.attributes is not None:
        check_message("-", changes.attributes)
    row = await uow.one(
        MessageRow,
        "UPDATE messages SET body = COALESCE(%s, body), attributes = COALESCE(%s, attributes), "
        "author = COALESCE(%s, author), date_created = COALESCE(%s, date_created), "
        "date_updated = COALESCE(%s, now()) WHERE sid = %s RETURNING *",
        (
            await crypto.seal(uow, message.account_sid, changes.body),
            await crypto.seal(uow, message.account_sid, changes.attributes),
            changes.author,
            changes.date_created,
            changes.date_updated,
            message.sid,
        ),
    )
    assert row is not None
    if changes.body is not None:
        await search.index_message(uow, row, edited=True)
    await uow.publish(
        account_sid=row.account_sid,
        stream=conversation.sid,
        type=StreamEvent.MESSAGE_UPDATED,
        data={"message_sid": row.sid, "index": row.index},
    )
    await webhooks.emit(
        uow,
        conversation=conversation,
        event=WebhookEvent.MESSAGE_UPDATED,
        params=webhooks.message_params(row),
        actor=actor,
    )
    return row


async def delete_message(uow: UnitOfWork, *, conversation: ConversationRow, message: MessageRow, actor: Actor) -> None:
    if conversation.state is ConversationState.CLOSED:
        raise Conflict("The conversation is closed; it is read-only", code=50407)
    await uow.execute("DELETE FROM messages WHERE sid = %s", (message.sid,))
    await uow.publish(
        account_sid=message.account_sid,
        stream=conversation.sid,
        type=StreamEvent.MESSAGE_REMOVED,
        data={"message_sid": message.sid, "index": message.index},
    )
    await webhooks.emit(
        uow,
        conversation=conversation,
        event=WebhookEvent.MESSAGE_REMOVED,
        params=[*webhooks.message_params(message), ("DateRemoved", webhook_date(utcnow()) or "")],
        actor=actor,
    )


# --- address configurations --------------------------------------------------------------------------


async def get_address(uow: UnitOfWork, *, account_sid: str, sid_or_address: str) -> AddressConfigurationRow:
    return await uow.found(
        AddressConfigurationRow,
        "SELECT * FROM address_configurations WHERE account_sid = %s AND (sid = %s OR address = %s)",
        (account_sid, sid_or_address, sid_or_address),
        resource=f"/Configuration/Addresses/{sid_or_address}",
    )


async def create_address(
    uow: UnitOfWork,
    *,
    account_sid: str,
    type: str,
    address: str,
    friendly_name: str | None,
    auto_creation: AutoCreation,
    address_country: str | None,
) -> AddressConfigurationRow:
    duplicate = await uow.fetchone(
        "SELECT 1 FROM address_configurations WHERE account_sid = %s AND type = %s AND address = %s",
        (account_sid, type, address),
    )
    if duplicate is not None:
        raise InvalidParameter("An address configuration for this address already exists", code=50353)
    settings = await _checked_auto_creation(uow, account_sid, auto_creation)
    row = await uow.one(
        AddressConfigurationRow,
        "INSERT INTO address_configurations (sid, account_sid, type, address, friendly_name, auto_creation, "
        "address_country) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (
            new_sid(SidPrefix.ADDRESS_CONFIGURATION),
            account_sid,
            type,
            address,
            friendly_name,
            Jsonb(settings.stored()),
            address_country,
        ),
    )
    assert row is not None
    return row


async def _checked_auto_creation(uow: UnitOfWork, account_sid: str, auto_creation: AutoCreation) -> AutoCreation:
    """Twilio's rules, and everything the settings name must be the account's: the service, the routing."""
    settings = auto_creation.checked()
    if settings.conversation_service_sid is not None:
        await get_service(uow, account_sid=account_sid, sid=settings.conversation_service_sid)
    if settings.routing is not None:
        await interactions.check_routing(uow, account_sid=account_sid, routing=settings.routing)
    return settings


def auto_creation_of(row: AddressConfigurationRow) -> AutoCreation:
    return AutoCreation.model_validate(row.auto_creation or {})


async def update_address(
    uow: UnitOfWork,
    *,
    address: AddressConfigurationRow,
    friendly_name: str | None,
    auto_creation: AutoCreation,
) -> AddressConfigurationRow:
    """New settings apply to conversations created from now on; existing ones keep their webhooks."""
    settings = await _checked_auto_creation(uow, address.account_sid, auto_creation)
    row = await uow.one(
        AddressConfigurationRow,
        "UPDATE address_configurations SET friendly_name = COALESCE(%s, friendly_name), auto_creation = %s, "
        "date_updated = now() WHERE sid = %s RETURNING *",
        (friendly_name, Jsonb(settings.stored()), address.sid),
    )
    assert row is not None
    return row


async def delete_address(uow: UnitOfWork, *, address: AddressConfigurationRow) -> None:
    """New contacts to the address no longer get a conversation; existing conversations stay (they keep the
    address's SID, so their routing ends with them)."""
    await uow.execute("DELETE FROM address_configurations WHERE sid = %s", (address.sid,))


async def auto_create_conversation(
    uow: UnitOfWork,
    *,
    address: AddressConfigurationRow,
    friendly_name: str | None,
    attributes: str,
    messaging_service_sid: str | None = None,
) -> ConversationRow:
    """A new contact wrote to an address with AutoCreation enabled: its conversation, in the address's service
    (or the default one), with the address's conversation-scoped webhook when its type is `webhook`."""
    settings = auto_creation_of(address)
    conversation = await create_conversation(
        uow,
        account_sid=address.account_sid,
        chat_service_sid=settings.conversation_service_sid or await default_service_sid(uow, address.account_sid),
        friendly_name=friendly_name,
        attributes=attributes,
        address_sid=address.sid,
        messaging_service_sid=messaging_service_sid,
    )
    if settings.type is AutoCreationType.WEBHOOK and settings.webhook_url:
        await webhooks.create_scoped_webhook(
            uow,
            conversation=conversation,
            target=ScopedWebhookTarget.WEBHOOK.value,
            fields=webhooks.ScopedWebhookChanges(
                url=settings.webhook_url,
                method=settings.webhook_method,
                filters=settings.webhook_filters or [],
            ),
        )
    return conversation


async def webchat_address(uow: UnitOfWork, address_sid: str) -> AddressConfigurationRow | None:
    """An enabled `chat` address (any account: the web chat is public and starts from the address SID)."""
    row = await uow.one(
        AddressConfigurationRow,
        "SELECT * FROM address_configurations WHERE sid = %s AND type = 'chat'",
        (address_sid,),
    )
    if row is None or not auto_creation_of(row).enabled:
        return None
    return row


async def open_webchat(uow: UnitOfWork, *, account_sid: str, identity: str) -> ConversationRow | None:
    """The conversation a web-chat customer identity is in, while it is not closed (a token is renewed only
    for a chat that goes on)."""
    return await uow.one(
        ConversationRow,
        "SELECT c.* FROM participants p JOIN conversations c ON c.sid = p.conversation_sid "
        "WHERE p.account_sid = %s AND p.identity = %s AND c.state <> 'closed'",
        (account_sid, identity),
    )


# --- typing and read horizons (the SDK's live signals) ------------------------------------------------


async def typing(uow: UnitOfWork, *, conversation: ConversationRow, participant: ParticipantRow) -> None:
    """A participant is typing: an ephemeral event to the conversation's live subscribers (not stored)."""
    if conversation.state is ConversationState.CLOSED:
        raise Conflict("The conversation is closed; it is read-only", code=50407)
    await realtime.signal(
        uow,
        stream=conversation.sid,
        event=StreamEvent.TYPING,
        data={"participant_sid": participant.sid, "identity": participant.identity},
    )


async def mark_read(
    uow: UnitOfWork, *, conversation: ConversationRow, participant: ParticipantRow, index: int, actor: Actor
) -> ParticipantRow:
    """Advance a participant's read horizon (Twilio's `advanceLastReadMessageIndex`): at most the
    conversation's last message, and only forward (a stale frame changes nothing and announces nothing); the
    other participants see it as a read receipt. REST `LastReadMessageIndex` may still set any value."""
    if index < 0:
        raise InvalidParameter("The read index must be 0 or more")
    current = await uow.found(
        ConversationRow,
        "SELECT * FROM conversations WHERE sid = %s",
        (conversation.sid,),
        resource=f"/Conversations/{conversation.sid}",
    )
    wanted = min(index, max(current.last_message_index, 0))
    if participant.last_read_message_index is not None and wanted <= participant.last_read_message_index:
        return participant
    return await update_participant(
        uow,
        conversation=current,
        participant=participant,
        changes=ParticipantChanges(last_read_message_index=wanted),
        actor=actor,
    )


# --- timers --------------------------------------------------------------------------------------------


async def apply_timers(uow: UnitOfWork, *, conversation_sid: str, as_of: datetime) -> datetime | None:
    """Carry out whatever timer of the conversation has run out by `as_of` (the ConversationTimers workflow's
    clock, or the database's if that is later) and return the next deadline, or None when no timer is left to
    watch (closed, deleted or timers gone). A deadline moved on by newer messages is simply the next one."""
    row = await uow.one(ConversationRow, "SELECT * FROM conversations WHERE sid = %s FOR UPDATE", (conversation_sid,))
    if row is None or row.state is ConversationState.CLOSED:
        return None
    now = max(await _db_now(uow), as_of)
    if row.timers_date_closed is not None and row.timers_date_closed <= now:
        await _timer_closes(uow, row)
        return None
    if (
        row.state is ConversationState.ACTIVE
        and row.timers_date_inactive is not None
        and row.timers_date_inactive <= now
    ):
        updated = await uow.one(
            ConversationRow,
            "UPDATE conversations SET state = 'inactive', timers_date_inactive = NULL, date_updated = now() "
            "WHERE sid = %s RETURNING *",
            (row.sid,),
        )
        assert updated is not None
        await _state_updated(uow, updated, row.state, StateChangeReason.TIMER, SYSTEM)
        row = updated
    deadlines = [d for d in (row.timers_date_inactive, row.timers_date_closed) if d is not None]
    if row.state is not ConversationState.ACTIVE:
        deadlines = [d for d in (row.timers_date_closed,) if d is not None]
    return min(deadlines) if deadlines else None


async def _timer_closes(uow: UnitOfWork, row: ConversationRow) -> None:
    """Timers.Closed ran out. An interaction channel still open on the conversation closes with it (its tasks
    end), so no agent is left holding a read-only conversation."""
    if await interactions.close_open_channel(uow, conversation_sid=row.sid, reason=TIMER_CLOSED_REASON):
        return  # closing the channel closed the conversation
    updated = await uow.one(
        ConversationRow,
        "UPDATE conversations SET state = 'closed', timers_date_inactive = NULL, timers_date_closed = NULL, "
        "date_updated = now() WHERE sid = %s RETURNING *",
        (row.sid,),
    )
    assert updated is not None
    await _state_updated(uow, updated, row.state, StateChangeReason.TIMER, SYSTEM)


async def _db_now(uow: UnitOfWork) -> datetime:
    found = await uow.fetchone("SELECT now() AS now")
    assert found is not None
    return found["now"]  # type: ignore[no-any-return]


# --- the account's Conversations configuration --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigurationChanges:
    default_chat_service_sid: str | None = None
    default_messaging_service_sid: str | None = None
    default_inactive_timer: str | None = None
    default_closed_timer: str | None = None


async def configuration(uow: UnitOfWork, *, account_sid: str) -> AccountRow:
    return await uow.found(
        AccountRow, "SELECT * FROM accounts WHERE sid = %s", (account_sid,), resource="/Configuration"
    )


async def update_configuration(uow: UnitOfWork, *, account_sid: str, changes: ConfigurationChanges) -> AccountRow:
    """The account's default service (one of its own), messaging service and timers for new conversations."""
    if changes.default_chat_service_sid is not None:
        await get_service(uow, account_sid=account_sid, sid=changes.default_chat_service_sid)
    if changes.default_messaging_service_sid is not None:
        await pools.ensure_service(uow, account_sid=account_sid, sid=changes.default_messaging_service_sid)
    row = await uow.one(
        AccountRow,
        "UPDATE accounts SET default_chat_service_sid = COALESCE(%s, default_chat_service_sid), "
        "default_messaging_service_sid = COALESCE(%s, default_messaging_service_sid), "
        "default_inactive_timer = COALESCE(%s, default_inactive_timer), "
        "default_closed_timer = COALESCE(%s, default_closed_timer), date_updated = now() "
        "WHERE sid = %s RETURNING *",
        (
            changes.default_chat_service_sid,
            changes.default_messaging_service_sid,
            check_timer(changes.default_inactive_timer, name="DefaultInactiveTimer", minimum=MIN_INACTIVE_TIMER),
            check_timer(changes.default_closed_timer, name="DefaultClosedTimer", minimum=MIN_CLOSED_TIMER),
            account_sid,
        ),
    )
    if row is None:
        raise NotFound.resource("/Configuration")
    return row


async def get_service(uow: UnitOfWork, *, account_sid: str, sid: str) -> ConversationServiceRow:
    return await uow.found(
        ConversationServiceRow,
        "SELECT * FROM conversation_services WHERE account_sid = %s AND sid = %s",
        (account_sid, sid),
        resource=f"/Services/{sid}",
    )
