"""/conversations/v1: conversations, participants, messages and address configurations (default service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response

from api.access import conversation_access
from api.deps import ActorDep, AdminPrincipal, CurrentPrincipal, DbDep, ScopeDep, SettingsDep
from api.forms.conversations import (
    CreateConversation,
    CreateConversationWithParticipants,
    CreateMessage,
    CreateParticipant,
    CreateScopedWebhook,
    UpdateConversation,
    UpdateMessage,
    UpdateParticipant,
    UpdateScopedWebhook,
)
from api.forms.parse import form_of
from api.messaging import edit_message, post_message, remove_message, remove_participant
from api.query import QueryParam, QueryParameters, QueryValues
from api.schemas.conversations import (
    ConversationList,
    ConversationPublic,
    MessageList,
    MessagePublic,
    ParticipantList,
    ParticipantPublic,
    ReceiptList,
    ReceiptPublic,
    ScopedWebhookList,
    ScopedWebhookPublic,
    conversations_root,
)
from domain.errors import NotFound
from domain.limits import CONVERSATION_WEBHOOKS_LIMIT, CONVERSATIONS_MAX_PAGE_SIZE, RECEIPTS_MAX_PAGE_SIZE
from domain.states import ConversationState
from storage.conversations import queries, receipts, webhooks
from storage.conversations import service as conversations
from storage.conversations.service import ConversationChanges, MessageChanges, ParticipantChanges

# Included twice (api/app.py): under /conversations/v1 for the account's default service, and under
# /conversations/v1/Services/{ChatServiceSid} (with the `scoped_service` dependency) for any of its services.
router = APIRouter(tags=["Conversations"])

PAGED = QueryParameters(page_size=CONVERSATIONS_MAX_PAGE_SIZE)
CONVERSATIONS_QUERY = QueryParameters(
    QueryParam.one_of("State", [s.value for s in ConversationState], "Only the conversations in this state."),
    page_size=CONVERSATIONS_MAX_PAGE_SIZE,
)
MESSAGES_QUERY = QueryParameters(
    QueryParam.one_of(
        "Order", [o.value for o in queries.MessageOrder], "`asc` (the default): oldest first; `desc`: newest first."
    ),
    page_size=CONVERSATIONS_MAX_PAGE_SIZE,
)
RECEIPTS_QUERY = QueryParameters(page_size=RECEIPTS_MAX_PAGE_SIZE)
WEBHOOKS_QUERY = QueryParameters(page_size=CONVERSATION_WEBHOOKS_LIMIT)


@router.post("/Conversations", status_code=201, response_model=ConversationPublic)
async def create_conversation(
    principal: AdminPrincipal,
    scope: ScopeDep,
    actor: ActorDep,
    db: DbDep,
    form: Annotated[CreateConversation, Depends(form_of(CreateConversation))],
    settings: SettingsDep,
) -> ConversationPublic:
    """Create a conversation in the service (on the short path, the account's default Conversation Service)."""
    async with db.unit() as uow:
        row = await conversations.create_conversation(
            uow,
            account_sid=principal.account_sid,
            chat_service_sid=scope.sid or await conversations.default_service_sid(uow, principal.account_sid),
            friendly_name=form.friendly_name,
            unique_name=form.unique_name,
            attributes=form.attributes or "{}",
            state=form.state,
            messaging_service_sid=form.messaging_service_sid,
            timers_inactive=form.timers_inactive,
            timers_closed=form.timers_closed,
            date_created=form.date_created,
            date_updated=form.date_updated,
            actor=actor,
        )
    return ConversationPublic.of(row, settings.base_url, scoped=scope.scoped)


@router.post("/ConversationWithParticipants", status_code=201, response_model=ConversationPublic)
async def create_conversation_with_participants(
    principal: AdminPrincipal,
    scope: ScopeDep,
    actor: ActorDep,
    db: DbDep,
    form: Annotated[CreateConversationWithParticipants, Depends(form_of(CreateConversationWithParticipants))],
    settings: SettingsDep,
) -> ConversationPublic:
    """A conversation and up to 10 participants at once (`Participant`, repeated JSON objects), in one
    transaction: all of it is there when this answers (201), or nothing is (400)."""
    participants = form.participants()
    async with db.unit() as uow:
        row = await conversations.create_conversation_with_participants(
            uow,
            new=conversations.NewConversation(
                account_sid=principal.account_sid,
                chat_service_sid=scope.sid or await conversations.default_service_sid(uow, principal.account_sid),
                friendly_name=form.friendly_name,
                unique_name=form.unique_name,
                attributes=form.attributes or "{}",
                state=form.state,
                messaging_service_sid=form.messaging_service_sid,
                timers_inactive=form.timers_inactive,
                timers_closed=form.timers_closed,
                date_created=form.date_created,
                date_updated=form.date_updated,
            ),
            participants=participants,
            actor=actor,
        )
    return ConversationPublic.of(row, settings.base_url, scoped=scope.scoped)


@router.get("/Conversations", response_model=ConversationList)
async def list_conversations(
    principal: AdminPrincipal,
    scope: ScopeDep,
    db: DbDep,
    query: Annotated[QueryValues, Depends(CONVERSATIONS_QUERY)],
    settings: SettingsDep,
) -> ConversationList:
    """The account's conversations, oldest first. Filter: `State`."""
    page = query.paging()
    state = query.enum("State", ConversationState)
    async with db.read() as q:
        result = await queries.conversations(
            q, account_sid=principal.account_sid, chat_service_sid=scope.sid, state=state, page=page.request
        )
    return ConversationList(
        conversations=[ConversationPublic.of(r, settings.base_url, scoped=scope.scoped) for r in result.items],
        meta=page.meta(
            key="conversations",
            url=f"{conversations_root(settings.base_url, scope.sid)}/Conversations",
            has_more=result.has_more,
            filters=[("State", state.value if state else None)],
        ),
    )


@router.get("/Conversations/{sid}", response_model=ConversationPublic)
async def fetch_conversation(
    sid: str, principal: CurrentPrincipal, scope: ScopeDep, db: DbDep, settings: SettingsDep
) -> ConversationPublic:
    """One conversation, by SID or unique name (a token holder: one it takes part in)."""
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid, service_sid=scope.sid)
    return ConversationPublic.of(conversation, settings.base_url, scoped=scope.scoped)


@router.post("/Conversations/{sid}", response_model=ConversationPublic)
async def update_conversation(
    sid: str,
    principal: AdminPrincipal,
    scope: ScopeDep,
    actor: ActorDep,
    db: DbDep,
    form: Annotated[UpdateConversation, Depends(form_of(UpdateConversation))],
    settings: SettingsDep,
) -> ConversationPublic:
    """Change a conversation; `closed` is final (a closed conversation cannot be re-opened: 50404)."""
    changes = ConversationChanges(
        friendly_name=form.friendly_name,
        attributes=form.attributes,
        state=form.state,
        unique_name=form.unique_name,
        messaging_service_sid=form.messaging_service_sid,
        timers_inactive=form.timers_inactive,
        timers_closed=form.timers_closed,
        date_created=form.date_created,
        date_updated=form.date_updated,
    )
    async with db.unit() as uow:
        conversation, _ = await conversation_access(uow, principal, sid, write=True, service_sid=scope.sid)
        row = await conversations.update_conversation(uow, conversation=conversation, changes=changes, actor=actor)
    return ConversationPublic.of(row, settings.base_url, scoped=scope.scoped)


@router.delete("/Conversations/{sid}", status_code=204)
async def delete_conversation(
    sid: str, principal: AdminPrincipal, scope: ScopeDep, actor: ActorDep, db: DbDep
) -> Response:
    """Delete a conversation with its participants, messages and webhooks (not while an interaction channel is
    open on it: 409)."""
    async with db.unit() as uow:
        conversation, _ = await conversation_access(uow, principal, sid, write=True, service_sid=scope.sid)
        await conversations.delete_conversation(uow, conversation=conversation, actor=actor)
    return Response(status_code=204)


# --- participants ------------------------------------------------------------------------------------


@router.get("/Conversations/{sid}/Participants", response_model=ParticipantList)
async def list_participants(
    sid: str,
    principal: CurrentPrincipal,
    scope: ScopeDep,
    db: DbDep,
    query: Annotated[QueryValues, Depends(PAGED)],
    settings: SettingsDep,
) -> ParticipantList:
    """A conversation's participants."""
    page = query.paging()
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid, service_sid=scope.sid)
        result = await queries.participants(q, conversation_sid=conversation.sid, page=page.request)
    return ParticipantList(
        participants=[ParticipantPublic.of(r, settings.base_url, scoped=scope.scoped) for r in result.items],
        meta=page.meta(
            key="participants",
            url=f"{conversations_root(settings.base_url, scope.sid)}/Conversations/{conversation.sid}/Participants",
            has_more=result.has_more,
        ),
    )


@router.post("/Conversations/{sid}/Participants", status_code=201, response_model=ParticipantPublic)
async def create_participant(
    sid: str,
    principal: AdminPrincipal,
    scope: ScopeDep,
    actor: ActorDep,
    db: DbDep,
    form: Annotated[CreateParticipant, Form()],
    settings: SettingsDep,
) -> ParticipantPublic:
    """Add a chat participant (`Identity`) or an SMS/WhatsApp one (`MessagingBinding.Address` and
    `MessagingBinding.ProxyAddress`); an identity is unique in the conversation (50433), a customer address
    with its proxy address in one open conversation (50416)."""
    async with db.unit() as uow:
        conversation, _ = await conversation_access(uow, principal, sid, write=True, service_sid=scope.sid)
        row = await conversations.join(uow, conversation=conversation, participant=form.new(), actor=actor)
    return ParticipantPublic.of(row, settings.base_url, scoped=scope.scoped)


@router.get("/Conversations/{sid}/Participants/{participant}", response_model=ParticipantPublic)
async def fetch_participant(
    sid: str, participant: str, principal: CurrentPrincipal, scope: ScopeDep, db: DbDep, settings: SettingsDep
) -> ParticipantPublic:
    """One participant, by SID or identity."""
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid, service_sid=scope.sid)
        row = await conversations.get_participant(q, conversation_sid=conversation.sid, sid_or_identity=participant)
    return ParticipantPublic.of(row, settings.base_url, scoped=scope.scoped)


@router.post("/Conversations/{sid}/Participants/{participant}", response_model=ParticipantPublic)
async def update_participant(
    sid: str,
    participant: str,
    principal: AdminPrincipal,
    scope: ScopeDep,
    actor: ActorDep,
    db: DbDep,
    form: Annotated[UpdateParticipant, Form()],
    settings: SettingsDep,
) -> ParticipantPublic:
    """Change a participant: attributes, role, identity (chat participants), proxy or projected address, and
    the read horizon (`LastReadMessageIndex`, `LastReadTimestamp`)."""
    changes = ParticipantChanges(
        attributes=form.attributes,
        role_sid=form.role_sid,
        identity=form.identity,
        proxy_address=form.proxy_address,
        projected_address=form.projected_address,
        last_read_message_index=form.last_read_message_index,
        last_read_timestamp=form.last_read_timestamp,
        date_created=form.date_created,
        date_updated=form.date_updated,
    )
    async with db.unit() as uow:
        conversation, _ = await conversation_access(uow, principal, sid, write=True, service_sid=scope.sid)
        row = await conversations.get_participant(uow, conversation_sid=conversation.sid, sid_or_identity=participant)
        row = await conversations.update_participant(
            uow, conversation=conversation, participant=row, changes=changes, actor=actor
        )
    return ParticipantPublic.of(row, settings.base_url, scoped=scope.scoped)


@router.delete("/Conversations/{sid}/Participants/{participant}", status_code=204)
async def delete_participant(
    sid: str, participant: str, principal: CurrentPrincipal, scope: ScopeDep, actor: ActorDep, db: DbDep
) -> Response:
    """Remove a participant (by SID or identity). A token holder may leave (its role's `leaveConversation`)
    or remove another participant (`removeParticipant`)."""
    if not await remove_participant(db, principal, sid, participant, actor=actor, service_sid=scope.sid):
        raise NotFound.resource(f"/Conversations/{sid}/Participants/{participant}")
    return Response(status_code=204)


# --- messages ----------------------------------------------------------------------------------------


@router.post("/Conversations/{sid}/Messages", status_code=201, response_model=MessagePublic)
async def create_message(
    sid: str,
    request: Request,
    principal: CurrentPrincipal,
    scope: ScopeDep,
    actor: ActorDep,
    db: DbDep,
    form: Annotated[CreateMessage, Form()],
    settings: SettingsDep,
) -> MessagePublic:
    """Add a message: a token holder writes as its own participant, an admin as `Author`. An
    `I-Twilio-Idempotency-Token` (or `Idempotency-Key`) header makes a retry return the same message."""
    message = await post_message(
        db,
        principal,
        sid,
        body=form.body,
        attributes=form.attributes,
        author=form.author,
        idempotency_key=request.headers.get("i-twilio-idempotency-token") or request.headers.get("idempotency-key"),
        actor=actor,
        pre_events=request.app.state.pre_events,
        service_sid=scope.sid,
        media_sids=form.media_sid,
        date_created=form.date_created,
        date_updated=form.date_updated,
    )
    return MessagePublic.of(message, settings.base_url, scoped=scope.scoped)


@router.get("/Conversations/{sid}/Messages", response_model=MessageList)
async def list_messages(
    sid: str,
    principal: CurrentPrincipal,
    scope: ScopeDep,
    db: DbDep,
    query: Annotated[QueryValues, Depends(MESSAGES_QUERY)],
    settings: SettingsDep,
) -> MessageList:
    """A conversation's messages by index (`Order`: `asc`, the default, or `desc`)."""
    page = query.paging()
    order = query.enum("Order", queries.MessageOrder) or queries.MessageOrder.ASC
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid, service_sid=scope.sid)
        result = await queries.messages(q, conversation_sid=conversation.sid, order=order, page=page.request)
        summaries = await receipts.delivery_summaries(q, [m.sid for m in result.items])
    return MessageList(
        messages=[
            MessagePublic.of(r, settings.base_url, scoped=scope.scoped, delivery=summaries.get(r.sid))
            for r in result.items
        ],
        meta=page.meta(
            key="messages",
            url=f"{conversations_root(settings.base_url, scope.sid)}/Conversations/{conversation.sid}/Messages",
            has_more=result.has_more,
            filters=[("Order", order.value)],
        ),
    )


@router.get("/Conversations/{sid}/Messages/{message_sid}", response_model=MessagePublic)
async def fetch_message(
    sid: str, message_sid: str, principal: CurrentPrincipal, scope: ScopeDep, db: DbDep, settings: SettingsDep
) -> MessagePublic:
    """One message."""
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid, service_sid=scope.sid)
        row = await queries.found_message(q, conversation_sid=conversation.sid, message_sid=message_sid)
        summary = (await receipts.delivery_summaries(q, [row.sid])).get(row.sid)
    return MessagePublic.of(row, settings.base_url, scoped=scope.scoped, delivery=summary)


@router.get("/Conversations/{sid}/Messages/{message_sid}/Receipts", response_model=ReceiptList)
async def list_receipts(
    sid: str,
    message_sid: str,
    principal: CurrentPrincipal,
    scope: ScopeDep,
    db: DbDep,
    query: Annotated[QueryValues, Depends(RECEIPTS_QUERY)],
    settings: SettingsDep,
) -> ReceiptList:
    """How the message reached each non-chat participant (SMS, WhatsApp, …), as their channels reported."""
    page = query.paging()
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid, service_sid=scope.sid)
        message = await queries.found_message(q, conversation_sid=conversation.sid, message_sid=message_sid)
        result = await receipts.receipts(q, message_sid=message.sid, page=page.request)
    root = conversations_root(settings.base_url, scope.sid)
    return ReceiptList(
        delivery_receipts=[ReceiptPublic.of(r, settings.base_url, scoped=scope.scoped) for r in result.items],
        meta=page.meta(
            key="delivery_receipts",
            url=f"{root}/Conversations/{conversation.sid}/Messages/{message.sid}/Receipts",
            has_more=result.has_more,
        ),
    )


@router.get("/Conversations/{sid}/Messages/{message_sid}/Receipts/{receipt_sid}", response_model=ReceiptPublic)
async def fetch_receipt(
    sid: str,
    message_sid: str,
    receipt_sid: str,
    principal: CurrentPrincipal,
    scope: ScopeDep,
    db: DbDep,
    settings: SettingsDep,
) -> ReceiptPublic:
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid, service_sid=scope.sid)
        message = await queries.found_message(q, conversation_sid=conversation.sid, message_sid=message_sid)
        row = await receipts.get_receipt(q, message=message, sid=receipt_sid)
    return ReceiptPublic.of(row, settings.base_url, scoped=scope.scoped)


@router.post("/Conversations/{sid}/Messages/{message_sid}", response_model=MessagePublic)
async def update_message(
    sid: str,
    message_sid: str,
    principal: CurrentPrincipal,
    scope: ScopeDep,
    actor: ActorDep,
    db: DbDep,
    form: Annotated[UpdateMessage, Form()],
    settings: SettingsDep,
) -> MessagePublic:
    """Edit a message's body, attributes, author or dates (not in a closed conversation: 50407). A token
    holder edits as its role allows (50107), and not the author or dates."""
    row = await edit_message(
        db,
        principal,
        sid,
        message_sid,
        changes=MessageChanges(
            body=form.body,
            attributes=form.attributes,
            author=form.author,
            date_created=form.date_created,
            date_updated=form.date_updated,
        ),
        actor=actor,
        service_sid=scope.sid,
    )
    return MessagePublic.of(row, settings.base_url, scoped=scope.scoped)


@router.delete("/Conversations/{sid}/Messages/{message_sid}", status_code=204)
async def delete_message(
    sid: str, message_sid: str, principal: CurrentPrincipal, scope: ScopeDep, actor: ActorDep, db: DbDep
) -> Response:
    """Delete a message; its index is not reused. A token holder deletes as its role allows (50107)."""
    await remove_message(db, principal, sid, message_sid, actor=actor, service_sid=scope.sid)
    return Response(status_code=204)


# --- conversation-scoped webhooks ---------------------------------------------------------------------


@router.get("/Conversations/{sid}/Webhooks", response_model=ScopedWebhookList)
async def list_scoped_webhooks(
    sid: str,
    principal: AdminPrincipal,
    scope: ScopeDep,
    db: DbDep,
    query: Annotated[QueryValues, Depends(WEBHOOKS_QUERY)],
    settings: SettingsDep,
) -> ScopedWebhookList:
    """A conversation's webhooks (at most five)."""
    page = query.paging()
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid, service_sid=scope.sid)
        result = await webhooks.scoped_webhooks(q, conversation_sid=conversation.sid, page=page.request)
    return ScopedWebhookList(
        webhooks=[ScopedWebhookPublic.of(r, settings.base_url, scoped=scope.scoped) for r in result.items],
        meta=page.meta(
            key="webhooks",
            url=f"{conversations_root(settings.base_url, scope.sid)}/Conversations/{conversation.sid}/Webhooks",
            has_more=result.has_more,
        ),
    )


@router.post("/Conversations/{sid}/Webhooks", status_code=201, response_model=ScopedWebhookPublic)
async def create_scoped_webhook(
    sid: str,
    principal: AdminPrincipal,
    scope: ScopeDep,
    db: DbDep,
    form: Annotated[CreateScopedWebhook, Form()],
    settings: SettingsDep,
) -> ScopedWebhookPublic:
    """Add a webhook to one conversation: `webhook` (the events of `Configuration.Filters`) or `trigger`
    (messages containing one of `Configuration.Triggers`). `Configuration.ReplayAfter` also sends the messages
    already there from that index on."""
    async with db.unit() as uow:
        conversation, _ = await conversation_access(uow, principal, sid, write=True, service_sid=scope.sid)
        row = await webhooks.create_scoped_webhook(
            uow,
            conversation=conversation,
            target=form.target,
            fields=webhooks.ScopedWebhookChanges(
                url=form.url, method=form.method, filters=form.filters, triggers=form.triggers, flow_sid=form.flow_sid
            ),
            replay_after=form.replay_after,
        )
    return ScopedWebhookPublic.of(row, settings.base_url, scoped=scope.scoped)


@router.get("/Conversations/{sid}/Webhooks/{webhook_sid}", response_model=ScopedWebhookPublic)
async def fetch_scoped_webhook(
    sid: str, webhook_sid: str, principal: AdminPrincipal, scope: ScopeDep, db: DbDep, settings: SettingsDep
) -> ScopedWebhookPublic:
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid, service_sid=scope.sid)
        row = await webhooks.get_scoped_webhook(q, conversation_sid=conversation.sid, sid=webhook_sid)
    return ScopedWebhookPublic.of(row, settings.base_url, scoped=scope.scoped)


@router.post("/Conversations/{sid}/Webhooks/{webhook_sid}", response_model=ScopedWebhookPublic)
async def update_scoped_webhook(
    sid: str,
    webhook_sid: str,
    principal: AdminPrincipal,
    scope: ScopeDep,
    db: DbDep,
    form: Annotated[UpdateScopedWebhook, Form()],
    settings: SettingsDep,
) -> ScopedWebhookPublic:
    async with db.unit() as uow:
        conversation, _ = await conversation_access(uow, principal, sid, write=True, service_sid=scope.sid)
        row = await webhooks.get_scoped_webhook(uow, conversation_sid=conversation.sid, sid=webhook_sid)
        row = await webhooks.update_scoped_webhook(
            uow,
            webhook=row,
            changes=webhooks.ScopedWebhookChanges(
                url=form.url, method=form.method, filters=form.filters, triggers=form.triggers, flow_sid=form.flow_sid
            ),
        )
    return ScopedWebhookPublic.of(row, settings.base_url, scoped=scope.scoped)


@router.delete("/Conversations/{sid}/Webhooks/{webhook_sid}", status_code=204)
async def delete_scoped_webhook(
    sid: str, webhook_sid: str, principal: AdminPrincipal, scope: ScopeDep, db: DbDep
) -> Response:
    async with db.unit() as uow:
        conversation, _ = await conversation_access(uow, principal, sid, write=True, service_sid=scope.sid)
        await webhooks.delete_scoped_webhook(uow, conversation_sid=conversation.sid, sid=webhook_sid)
    return Response(status_code=204)
