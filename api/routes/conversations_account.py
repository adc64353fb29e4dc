"""/conversations/v1, the account's own resources: `Configuration`, `Configuration/Webhooks` and
`Configuration/Addresses` (conversation-scoped resources are in conversations.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request, Response

from api.deps import ActorDep, AdminPrincipal, DbDep, SettingsDep
from api.forms.conversations import (
    AddressType,
    CreateAddress,
    CreateService,
    UpdateAddress,
    UpdateConfiguration,
    UpdateServiceConfiguration,
    UpdateServiceNotifications,
    UpdateServiceWebhookConfiguration,
    UpdateWebhookConfiguration,
)
from api.forms.parse import form_of
from api.query import QueryParam, QueryParameters, QueryValues
from api.schemas.conversations import (
    AddressList,
    AddressPublic,
    BindingList,
    BindingPublic,
    ConfigurationPublic,
    ServiceConfigurationPublic,
    ServiceList,
    ServiceNotificationsPublic,
    ServicePublic,
    ServiceWebhookConfigurationPublic,
    WebhookConfigurationPublic,
)
from domain.limits import ADDRESSES_MAX_PAGE_SIZE, CONVERSATIONS_MAX_PAGE_SIZE
from storage.conversations import queries, services, webhooks
from storage.conversations import service as conversations

router = APIRouter(prefix="/conversations/v1", tags=["Conversations"])

ADDRESSES_QUERY = QueryParameters(
    QueryParam.one_of("Type", [t.value for t in AddressType], "Only the address configurations of this type."),
    page_size=ADDRESSES_MAX_PAGE_SIZE,
)
SERVICES_QUERY = QueryParameters(page_size=CONVERSATIONS_MAX_PAGE_SIZE)
BINDINGS_QUERY = QueryParameters(
    QueryParam.repeatable("BindingType", "Only the bindings of these push technologies.", services.BINDING_TYPES),
    QueryParam.repeatable("Identity", "Only the bindings of the users of these identities."),
    page_size=CONVERSATIONS_MAX_PAGE_SIZE,
)
ServiceSidPath = Annotated[str, Path(alias="ChatServiceSid", description="The Conversation Service (`IS…`).")]


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
    """Create an address configuration. `AutoCreation.Type=webhook` adds a conversation-scoped webhook
    (`WebhookUrl`, `WebhookMethod`, `WebhookFilters`) to each conversation it creates; `studio` is refused.
    With `AutoCreation.Routing` (Parley extension) a new contact's conversation is routed to an agent.
    Everything the settings name must belong to the account."""
    async with db.unit() as uow:
        row = await conversations.create_address(
            uow,
            account_sid=principal.account_sid,
            type=form.type.value,
            address=form.address,
            friendly_name=form.friendly_name,
            auto_creation=form.auto_creation(),
            address_country=form.address_country,
        )
    return AddressPublic.of(row, settings.base_url)


@router.get("/Configuration/Addresses", response_model=AddressList)
async def list_addresses(
    principal: AdminPrincipal, db: DbDep, query: Annotated[QueryValues, Depends(ADDRESSES_QUERY)], settings: SettingsDep
) -> AddressList:
    """The account's address configurations. Filter: `Type`."""
    page = query.paging()
    address_type = query.enum("Type", AddressType)
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
            filters=query.echo("Type"),
        ),
    )


@router.get("/Configuration/Addresses/{sid}", response_model=AddressPublic)
async def fetch_address(sid: str, principal: AdminPrincipal, db: DbDep, settings: SettingsDep) -> AddressPublic:
    """One address configuration, by SID or address."""
    async with db.read() as q:
        row = await conversations.get_address(q, account_sid=principal.account_sid, sid_or_address=sid)
    return AddressPublic.of(row, settings.base_url)


# --- services ---------------------------------------------------------------------------------------


@router.post("/Services", status_code=201, response_model=ServicePublic)
async def create_service(
    principal: AdminPrincipal, db: DbDep, form: Annotated[CreateService, Form()], settings: SettingsDep
) -> ServicePublic:
    """A new Conversation Service: its own conversations, users, roles and webhooks."""
    async with db.unit() as uow:
        row = await services.create_service(uow, account_sid=principal.account_sid, friendly_name=form.friendly_name)
    return ServicePublic.of(row, settings.base_url)


@router.get("/Services", response_model=ServiceList)
async def list_services(
    principal: AdminPrincipal, db: DbDep, query: Annotated[QueryValues, Depends(SERVICES_QUERY)], settings: SettingsDep
) -> ServiceList:
    page = query.paging()
    async with db.read() as q:
        result = await services.services(q, account_sid=principal.account_sid, page=page.request)
    return ServiceList(
        services=[ServicePublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(key="services", url=f"{settings.base_url}/conversations/v1/Services", has_more=result.has_more),
    )


@router.get("/Services/{sid}", response_model=ServicePublic)
async def fetch_service(sid: str, principal: AdminPrincipal, db: DbDep, settings: SettingsDep) -> ServicePublic:
    async with db.read() as q:
        row = await conversations.get_service(q, account_sid=principal.account_sid, sid=sid)
    return ServicePublic.of(row, settings.base_url)


@router.delete("/Services/{sid}", status_code=204)
async def delete_service(sid: str, principal: AdminPrincipal, actor: ActorDep, db: DbDep) -> Response:
    """Delete a service and everything in it (not the account's default service: 409)."""
    async with db.unit() as uow:
        await services.delete_service(uow, account_sid=principal.account_sid, sid=sid, actor=actor)
    return Response(status_code=204)


@router.get("/Services/{ChatServiceSid}/Configuration", response_model=ServiceConfigurationPublic)
async def fetch_service_configuration(
    service_sid: ServiceSidPath, principal: AdminPrincipal, db: DbDep, settings: SettingsDep
) -> ServiceConfigurationPublic:
    async with db.read() as q:
        row = await conversations.get_service(q, account_sid=principal.account_sid, sid=service_sid)
    return ServiceConfigurationPublic.of(row, settings.base_url)


@router.post("/Services/{ChatServiceSid}/Configuration", response_model=ServiceConfigurationPublic)
async def update_service_configuration(
    service_sid: ServiceSidPath,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[UpdateServiceConfiguration, Form()],
    settings: SettingsDep,
) -> ServiceConfigurationPublic:
    """The roles new users, participants and conversation creators get, and `ReachabilityEnabled`."""
    async with db.unit() as uow:
        service = await conversations.get_service(uow, account_sid=principal.account_sid, sid=service_sid)
        row = await services.update_configuration(
            uow,
            service=service,
            changes=services.ServiceConfigurationChanges(
                default_conversation_creator_role_sid=form.default_conversation_creator_role_sid,
                default_conversation_role_sid=form.default_conversation_role_sid,
                default_chat_service_role_sid=form.default_chat_service_role_sid,
                reachability_enabled=form.reachability_enabled,
            ),
        )
    return ServiceConfigurationPublic.of(row, settings.base_url)


@router.get("/Services/{ChatServiceSid}/Configuration/Notifications", response_model=ServiceNotificationsPublic)
async def fetch_service_notifications(
    service_sid: ServiceSidPath, principal: AdminPrincipal, db: DbDep, settings: SettingsDep
) -> ServiceNotificationsPublic:
    """Push notification settings, stored as Twilio stores them (Parley sends no push notifications)."""
    async with db.read() as q:
        row = await conversations.get_service(q, account_sid=principal.account_sid, sid=service_sid)
    return ServiceNotificationsPublic.of(row, services.notifications_of(row), settings.base_url)


@router.post("/Services/{ChatServiceSid}/Configuration/Notifications", response_model=ServiceNotificationsPublic)
async def update_service_notifications(
    service_sid: ServiceSidPath,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[UpdateServiceNotifications, Form()],
    settings: SettingsDep,
) -> ServiceNotificationsPublic:
    async with db.unit() as uow:
        service = await conversations.get_service(uow, account_sid=principal.account_sid, sid=service_sid)
        row = await services.update_notifications(uow, service=service, changes=form.changes())
    return ServiceNotificationsPublic.of(row, services.notifications_of(row), settings.base_url)


@router.get("/Services/{ChatServiceSid}/Configuration/Webhooks", response_model=ServiceWebhookConfigurationPublic)
async def fetch_service_webhooks(
    service_sid: ServiceSidPath, principal: AdminPrincipal, db: DbDep, settings: SettingsDep
) -> ServiceWebhookConfigurationPublic:
    """The service's own pre- and post-event targets (they fire besides the account's)."""
    async with db.read() as q:
        await conversations.get_service(q, account_sid=principal.account_sid, sid=service_sid)
        row = await webhooks.configuration(q, account_sid=principal.account_sid, chat_service_sid=service_sid)
    return ServiceWebhookConfigurationPublic.of(row, settings.base_url)


@router.post("/Services/{ChatServiceSid}/Configuration/Webhooks", response_model=ServiceWebhookConfigurationPublic)
async def update_service_webhooks(
    service_sid: ServiceSidPath,
    request: Request,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[UpdateServiceWebhookConfiguration, Depends(form_of(UpdateServiceWebhookConfiguration))],
    settings: SettingsDep,
) -> ServiceWebhookConfigurationPublic:
    async with db.unit() as uow:
        await conversations.get_service(uow, account_sid=principal.account_sid, sid=service_sid)
        row = await webhooks.update_configuration(
            uow,
            account_sid=principal.account_sid,
            chat_service_sid=service_sid,
            changes=webhooks.ConfigurationChanges(
                method=form.method,
                filters=form.filters,
                pre_webhook_url=form.pre_webhook_url,
                post_webhook_url=form.post_webhook_url,
            ),
        )
    request.app.state.pre_events.forget(principal.account_sid)
    return ServiceWebhookConfigurationPublic.of(row, settings.base_url)


@router.get("/Services/{ChatServiceSid}/Bindings", response_model=BindingList)
async def list_bindings(
    service_sid: ServiceSidPath,
    principal: AdminPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(BINDINGS_QUERY)],
    settings: SettingsDep,
) -> BindingList:
    """Push registrations of the service's users (`BindingType`, `Identity`: repeat to filter by several)."""
    page = query.paging()
    async with db.read() as q:
        await conversations.get_service(q, account_sid=principal.account_sid, sid=service_sid)
        result = await services.bindings(
            q,
            chat_service_sid=service_sid,
            binding_types=query.list("BindingType"),
            identities=query.list("Identity"),
            page=page.request,
        )
    return BindingList(
        bindings=[BindingPublic.of(r, settings.base_url) for r in result.items],
        meta=page.meta(
            key="bindings",
            url=f"{settings.base_url}/conversations/v1/Services/{service_sid}/Bindings",
            has_more=result.has_more,
            filters=query.echo("BindingType", "Identity"),
        ),
    )


@router.get("/Services/{ChatServiceSid}/Bindings/{sid}", response_model=BindingPublic)
async def fetch_binding(
    service_sid: ServiceSidPath, sid: str, principal: AdminPrincipal, db: DbDep, settings: SettingsDep
) -> BindingPublic:
    async with db.read() as q:
        await conversations.get_service(q, account_sid=principal.account_sid, sid=service_sid)
        row = await services.get_binding(q, chat_service_sid=service_sid, sid=sid)
    return BindingPublic.of(row, settings.base_url)


@router.delete("/Services/{ChatServiceSid}/Bindings/{sid}", status_code=204)
async def delete_binding(service_sid: ServiceSidPath, sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    async with db.unit() as uow:
        await conversations.get_service(uow, account_sid=principal.account_sid, sid=service_sid)
        await services.delete_binding(uow, chat_service_sid=service_sid, sid=sid)
    return Response(status_code=204)


@router.post("/Configuration/Addresses/{sid}", response_model=AddressPublic)
async def update_address(
    sid: str,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[UpdateAddress, Form()],
    settings: SettingsDep,
) -> AddressPublic:
    """Change an address's name or AutoCreation settings (what is not sent stays); they apply to
    conversations created from now on."""
    async with db.unit() as uow:
        row = await conversations.get_address(uow, account_sid=principal.account_sid, sid_or_address=sid)
        row = await conversations.update_address(
            uow,
            address=row,
            friendly_name=form.friendly_name,
            auto_creation=form.auto_creation(conversations.auto_creation_of(row)),
        )
    return AddressPublic.of(row, settings.base_url)


@router.delete("/Configuration/Addresses/{sid}", status_code=204)
async def delete_address(sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    """New contacts to the address no longer get a conversation; existing conversations stay."""
    async with db.unit() as uow:
        row = await conversations.get_address(uow, account_sid=principal.account_sid, sid_or_address=sid)
        await conversations.delete_address(uow, address=row)
    return Response(status_code=204)
