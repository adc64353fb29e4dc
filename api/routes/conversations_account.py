"""/conversations/v1, the account's own resources: `Configuration`, `Configuration/Webhooks` and
`Configuration/Addresses` (conversation-scoped resources are in conversations.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request

from api.deps import AdminPrincipal, DbDep, SettingsDep
from api.forms.conversations import AddressType, CreateAddress, UpdateConfiguration, UpdateWebhookConfiguration
from api.forms.parse import form_of
from api.paging import echo, paging
from api.schemas.conversations import AddressList, AddressPublic, ConfigurationPublic, WebhookConfigurationPublic
from api.wire import Params
from domain.errors import InvalidParameter
from domain.limits import ADDRESSES_MAX_PAGE_SIZE
from storage.conversations import queries, webhooks
from storage.conversations import service as conversations

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


# --- address configurations --------------------------------------------------------------------------


@router.post("/Configuration/Addresses", status_code=201, response_model=AddressPublic)
async def create_address(
    principal: AdminPrincipal, db: DbDep, form: Annotated[CreateAddress, Form()], settings: SettingsDep
) -> AddressPublic:
    """Create an address configuration; with `AutoCreation.Routing` (Parley extension) a new contact's
    conversation is routed to an agent. Everything the routing names must belong to the account."""
    auto_creation: dict[str, Any] = {"enabled": form.auto_creation_enabled}
    if form.given("auto_creation_type"):
        auto_creation["type"] = (form.auto_creation_type or "default").lower()
    routing = form.auto_creation_routing
    if routing is not None:
        if not isinstance(routing, dict) or not isinstance(routing.get("properties"), dict):
            raise InvalidParameter("AutoCreation.Routing must be a JSON object with a 'properties' object")
        auto_creation["routing"] = routing
    async with db.unit() as uow:
        row = await conversations.create_address(
            uow,
            account_sid=principal.account_sid,
            type=form.type.value,
            address=form.address,
            friendly_name=form.friendly_name,
            auto_creation=auto_creation,
            address_country=form.address_country,
        )
    return AddressPublic.of(row, settings.base_url)


@router.get("/Configuration/Addresses", response_model=AddressList)
async def list_addresses(request: Request, principal: AdminPrincipal, db: DbDep, settings: SettingsDep) -> AddressList:
    """The account's address configurations. Filter: `Type`."""
    page = paging(request.query_params, max_size=ADDRESSES_MAX_PAGE_SIZE)
    address_type = Params(request.query_params).enum("Type", AddressType)
    async with db.read() as q:
        result = await queries.addresses(
            q, account_sid=principal.account_sid, type=address_type.value if address_type else None, page=page.request
        )
    return AddressList(
        address_configurations=[AddressPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="address_configurations",
            url=f"{settings.base_url}/conversations/v1/Configuration/Addresses",
            has_more=result.has_more,
            filters=echo(request.query_params, "Type"),
        ),
    )


@router.get("/Configuration/Addresses/{sid}", response_model=AddressPublic)
async def fetch_address(sid: str, principal: AdminPrincipal, db: DbDep, settings: SettingsDep) -> AddressPublic:
    """One address configuration, by SID or address."""
    async with db.read() as q:
        row = await conversations.get_address(q, account_sid=principal.account_sid, sid_or_address=sid)
    return AddressPublic.of(row, settings.base_url)
