"""/conversations/v1 configuration: the account's `Configuration` and `Configuration/Webhooks`, and
conversation-scoped `…/Webhooks`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response

from api.access import conversation_access
from api.deps import AdminPrincipal, DbDep, SettingsDep
from api.forms.conversations import (
    CreateScopedWebhook,
    UpdateConfiguration,
    UpdateScopedWebhook,
    UpdateWebhookConfiguration,
)
from api.forms.parse import form_of
from api.paging import paging
from api.schemas.conversations import (
    ConfigurationPublic,
    ScopedWebhookList,
    ScopedWebhookPublic,
    WebhookConfigurationPublic,
)
from domain.limits import CONVERSATION_WEBHOOKS_LIMIT
from storage.conversations import service as conversations
from storage.conversations import webhooks

router = APIRouter(prefix="/conversations/v1", tags=["Conversations"])


@router.get("/Configuration", response_model=ConfigurationPublic)
async def fetch_configuration(principal: AdminPrincipal, db: DbDep, settings: SettingsDep) -> ConfigurationPublic:
    """The account's default Conversation Service, Messaging Service and timers."""
    async with db.read() as q:
        row = await conversations.configuration(q, account_sid=principal.account_sid)
    return ConfigurationPublic.of(row, settings.base_url)


@router.post("/Configuration", response_model=ConfigurationPublic)
async def update_configuration(
    principal: AdminPrincipal, db: DbDep, form: Annotated[UpdateConfiguration, Form()], settings: SettingsDep
) -> ConfigurationPublic:
    """Change the defaults: the service must be the account's own; timers apply to conversations created
    from now on (≥ PT1M inactive, ≥ PT10M closed)."""
    async with db.unit() as uow:
        row = await conversations.update_configuration(
            uow,
            account_sid=principal.account_sid,
            changes=conversations.ConfigurationChanges(
                default_chat_service_sid=form.default_chat_service_sid,
                default_messaging_service_sid=form.default_messaging_service_sid,
                default_inactive_timer=form.default_inactive_timer,
                default_closed_timer=form.default_closed_timer,
            ),
        )
    return ConfigurationPublic.of(row, settings.base_url)


@router.get("/Configuration/Webhooks", response_model=WebhookConfigurationPublic)
async def fetch_webhook_configuration(
    principal: AdminPrincipal, db: DbDep, settings: SettingsDep
) -> WebhookConfigurationPublic:
    """The account's pre- and post-event webhook targets and the events they receive."""
    async with db.read() as q:
        row = await webhooks.configuration(q, account_sid=principal.account_sid)
    return WebhookConfigurationPublic.of(row, settings.base_url)


@router.post("/Configuration/Webhooks", response_model=WebhookConfigurationPublic)
async def update_webhook_configuration(
    request: Request,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[UpdateWebhookConfiguration, Depends(form_of(UpdateWebhookConfiguration))],
    settings: SettingsDep,
) -> WebhookConfigurationPublic:
    """Set the account's targets; what is not sent stays, an empty URL clears it. `Filters` replaces the list."""
    async with db.unit() as uow:
        row = await webhooks.update_configuration(
            uow,
            account_sid=principal.account_sid,
            chat_service_sid=None,
            changes=webhooks.ConfigurationChanges(
                method=form.method,
                filters=form.filters,
                pre_webhook_url=form.pre_webhook_url,
                post_webhook_url=form.post_webhook_url,
                target=form.target,
            ),
        )
    request.app.state.pre_events.forget(principal.account_sid)
    return WebhookConfigurationPublic.of(row, settings.base_url)


@router.get("/Conversations/{sid}/Webhooks", response_model=ScopedWebhookList)
async def list_scoped_webhooks(
    sid: str, request: Request, principal: AdminPrincipal, db: DbDep, settings: SettingsDep
) -> ScopedWebhookList:
    """A conversation's webhooks (at most five)."""
    page = paging(request.query_params, max_size=CONVERSATION_WEBHOOKS_LIMIT)
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid)
        result = await webhooks.scoped_webhooks(q, conversation_sid=conversation.sid, page=page.request)
    return ScopedWebhookList(
        webhooks=[ScopedWebhookPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="webhooks",
            url=f"{settings.base_url}/conversations/v1/Conversations/{conversation.sid}/Webhooks",
            has_more=result.has_more,
        ),
    )


@router.post("/Conversations/{sid}/Webhooks", status_code=201, response_model=ScopedWebhookPublic)
async def create_scoped_webhook(
    sid: str,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[CreateScopedWebhook, Form()],
    settings: SettingsDep,
) -> ScopedWebhookPublic:
    """Add a webhook to one conversation: `webhook` (the events of `Configuration.Filters`) or `trigger`
    (messages containing one of `Configuration.Triggers`). `Configuration.ReplayAfter` also sends the messages
    already there from that index on."""
    async with db.unit() as uow:
        conversation, _ = await conversation_access(uow, principal, sid, write=True)
        row = await webhooks.create_scoped_webhook(
            uow,
            conversation=conversation,
            target=form.target,
            fields=webhooks.ScopedWebhookChanges(
                url=form.url, method=form.method, filters=form.filters, triggers=form.triggers, flow_sid=form.flow_sid
            ),
            replay_after=form.replay_after,
        )
    return ScopedWebhookPublic.of(row, settings.base_url)


@router.get("/Conversations/{sid}/Webhooks/{webhook_sid}", response_model=ScopedWebhookPublic)
async def fetch_scoped_webhook(
    sid: str, webhook_sid: str, principal: AdminPrincipal, db: DbDep, settings: SettingsDep
) -> ScopedWebhookPublic:
    async with db.read() as q:
        conversation, _ = await conversation_access(q, principal, sid)
        row = await webhooks.get_scoped_webhook(q, conversation_sid=conversation.sid, sid=webhook_sid)
    return ScopedWebhookPublic.of(row, settings.base_url)


@router.post("/Conversations/{sid}/Webhooks/{webhook_sid}", response_model=ScopedWebhookPublic)
async def update_scoped_webhook(
    sid: str,
    webhook_sid: str,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[UpdateScopedWebhook, Form()],
    settings: SettingsDep,
) -> ScopedWebhookPublic:
    async with db.unit() as uow:
        conversation, _ = await conversation_access(uow, principal, sid, write=True)
        row = await webhooks.get_scoped_webhook(uow, conversation_sid=conversation.sid, sid=webhook_sid)
        row = await webhooks.update_scoped_webhook(
            uow,
            webhook=row,
            changes=webhooks.ScopedWebhookChanges(
                url=form.url, method=form.method, filters=form.filters, triggers=form.triggers, flow_sid=form.flow_sid
            ),
        )
    return ScopedWebhookPublic.of(row, settings.base_url)


@router.delete("/Conversations/{sid}/Webhooks/{webhook_sid}", status_code=204)
async def delete_scoped_webhook(sid: str, webhook_sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    async with db.unit() as uow:
        conversation, _ = await conversation_access(uow, principal, sid, write=True)
        await webhooks.delete_scoped_webhook(uow, conversation_sid=conversation.sid, sid=webhook_sid)
    return Response(status_code=204)
