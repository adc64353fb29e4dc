"""/parley/v1/WebChatSettings/{IG} (Parley extension): a `chat` address's business hours, pre-chat form, what
happens when nobody can answer, and the secret its site signs identity tokens with (write-only). The widget
reads the public part from GET /flex-api/v2/WebChats/Settings (api/routes/webchat.py); docs/webchat.md."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from api.deps import AdminPrincipal, DbDep, SettingsDep
from api.forms.conversations import UpdateWebChatSettings
from api.forms.parse import form_of
from storage.webchat import service as webchat
from storage.webchat.service import AddressWebChat, SettingsChanges

router = APIRouter(prefix="/parley/v1/WebChatSettings", tags=["Parley: web chat settings"])


class WebChatSettingsResource(BaseModel):
    account_sid: str
    address_sid: str
    business_hours: dict[str, Any] | None
    pre_chat_form: list[dict[str, Any]] | None  # None: the default form (a name), PreEngagementData free-form
    offline_form: bool
    identity_required: bool
    identity_secret_set: bool  # the secret itself is never answered
    date_updated: datetime | None
    url: str

    @classmethod
    def of(cls, chat: AddressWebChat, base_url: str) -> WebChatSettingsResource:
        settings = chat.settings.model_dump(mode="json")
        return cls(
            account_sid=chat.address.account_sid,
            address_sid=chat.address.sid,
            business_hours=settings["business_hours"],
            pre_chat_form=settings["pre_chat_form"],
            offline_form=chat.settings.offline_form,
            identity_required=chat.settings.identity_required,
            identity_secret_set=bool(chat.identity_secret),
            date_updated=chat.date_updated,
            url=f"{base_url}/parley/v1/WebChatSettings/{chat.address.sid}",
        )


@router.get("/{address_sid}", response_model=WebChatSettingsResource)
async def fetch_webchat_settings(
    address_sid: str, principal: AdminPrincipal, db: DbDep, settings: SettingsDep
) -> WebChatSettingsResource:
    """The address's settings (the defaults when none were set)."""
    async with db.read() as q:
        chat = await webchat.get_settings(q, account_sid=principal.account_sid, address_sid=address_sid)
    return WebChatSettingsResource.of(chat, settings.base_url)


@router.post("/{address_sid}", response_model=WebChatSettingsResource)
async def update_webchat_settings(
    address_sid: str,
    principal: AdminPrincipal,
    db: DbDep,
    form: Annotated[UpdateWebChatSettings, Depends(form_of(UpdateWebChatSettings))],
    settings: SettingsDep,
) -> WebChatSettingsResource:
    """Change what is sent: `BusinessHours` and `PreChatForm` as JSON (`null` back to the default),
    `OfflineForm`, `IdentityRequired`, `IdentitySecret` (empty removes it). Checked whole before it is kept."""
    async with db.unit() as uow:
        chat = await webchat.update_settings(
            uow,
            account_sid=principal.account_sid,
            address_sid=address_sid,
            changes=SettingsChanges(settings=form.changes(), identity_secret=form.identity_secret),
        )
    return WebChatSettingsResource.of(chat, settings.base_url)


@router.delete("/{address_sid}", status_code=204)
async def delete_webchat_settings(address_sid: str, principal: AdminPrincipal, db: DbDep) -> Response:
    """Back to the defaults: always open, the name-only form, no identity tokens."""
    async with db.unit() as uow:
        await webchat.reset_settings(uow, account_sid=principal.account_sid, address_sid=address_sid)
    return Response(status_code=204)
