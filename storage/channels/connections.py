"""Provider connections (`XP…`) and their senders (`PN…` phone numbers, `XE…` WhatsApp and Messenger
senders): what an admin sets up once per provider so inbound messages find their account and replies find
their way out. Credentials are sealed under the account's data key and never answered."""

from __future__ import annotations

import json
from dataclasses import dataclass

from channels import registry
from channels.base import ChannelKind, channel_of
from domain.errors import Conflict, InvalidParameter
from domain.sids import SidPrefix, new_sid
from storage import crypto
from storage.channels.tables import ChannelProviderRow, ChannelSenderRow
from storage.db import UnitOfWork
from storage.paging import Page, PageRequest, fetch_page

_E164 = "+0123456789"


@dataclass(frozen=True, slots=True)
class ProviderFields:
    kind: str | None = None
    friendly_name: str | None = None
    api_base_url: str | None = None
    credentials: str | None = None  # a JSON object's text


def _checked_credentials(kind: str, text: str) -> str:
    adapter = registry.adapter(kind)
    try:
        given = json.loads(text)
    except ValueError:
        raise InvalidParameter("Credentials must be a JSON object") from None
    if not isinstance(given, dict):
        raise InvalidParameter("Credentials must be a JSON object")
    try:
        model = adapter.Credentials.model_validate(given)
    except ValueError as exc:
        raise InvalidParameter(f"Credentials are not valid for {kind}: {exc}".splitlines()[0]) from None
    return model.model_dump_json()


def _kind(kind: str) -> str:
    if kind not in registry.adapters():
        known = ", ".join(sorted(registry.adapters()))
        raise InvalidParameter(f"Kind {kind!r} is not a channel adapter (known: {known})")
    return kind


async def create_provider(uow: UnitOfWork, *, account_sid: str, fields: ProviderFields) -> ChannelProviderRow:
    kind = _kind(fields.kind or "")
    credentials = _checked_credentials(kind, fields.credentials or "{}")
    row = await uow.one(
        ChannelProviderRow,
        "INSERT INTO channel_providers (sid, account_sid, kind, friendly_name, api_base_url, credentials) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
        (
            new_sid(SidPrefix.CHANNEL_PROVIDER),
            account_sid,
            kind,
            fields.friendly_name,
            (fields.api_base_url or registry.adapter(kind).default_api_base_url).rstrip("/"),
            await crypto.seal(uow, account_sid, credentials),
        ),
    )
    assert row is not None
    return row


async def get_provider(uow: UnitOfWork, *, account_sid: str, sid: str) -> ChannelProviderRow:
    return await uow.found(
        ChannelProviderRow,
        "SELECT * FROM channel_providers WHERE account_sid = %s AND sid = %s",
        (account_sid, sid),
        resource=f"/ChannelProviders/{sid}",
    )


async def list_providers(uow: UnitOfWork, *, account_sid: str, page: PageRequest) -> Page[ChannelProviderRow]:
    return await fetch_page(
        uow,
        ChannelProviderRow,
        "SELECT * FROM channel_providers WHERE account_sid = %s ORDER BY date_created, sid",
        (account_sid,),
        page,
    )


async def update_provider(
    uow: UnitOfWork, *, provider: ChannelProviderRow, fields: ProviderFields
) -> ChannelProviderRow:
    sealed = (
        await crypto.seal(uow, provider.account_sid, _checked_credentials(provider.kind, fields.credentials))
        if fields.credentials is not None
        else None
    )
    row = await uow.one(
        ChannelProviderRow,
        "UPDATE channel_providers SET friendly_name = COALESCE(%s, friendly_name), "
        "api_base_url = COALESCE(%s, api_base_url), credentials = COALESCE(%s, credentials), date_updated = now() "
        "WHERE sid = %s RETURNING *",
        (fields.friendly_name, fields.api_base_url.rstrip("/") if fields.api_base_url else None, sealed, provider.sid),
    )
    assert row is not None
    return row


async def delete_provider(uow: UnitOfWork, *, provider: ChannelProviderRow) -> None:
    await uow.execute("DELETE FROM channel_providers WHERE sid = %s", (provider.sid,))


def _checked_address(address: str, kind: str) -> ChannelKind:
    channel = channel_of(address)
    # An SMS address is the bare number: any other prefix (`sms:`, `tel:`, `WhatsApp:`) is not one.
    number = address if channel is ChannelKind.SMS else address.split(":", 1)[1]
    if channel is not ChannelKind.MESSENGER and not (
        number.startswith("+") and 8 <= len(number) <= 16 and all(c in _E164 for c in number) and "+" not in number[1:]
    ):
        raise InvalidParameter(f"Address {address!r} is not an E.164 number (+15551234567)", code=21211)
    if channel is ChannelKind.MESSENGER and not number.isdigit():
        raise InvalidParameter("A Messenger address is messenger:<page id>", code=21211)
    adapter = registry.adapter(kind)
    if channel not in adapter.channels:
        carried = ", ".join(sorted(c.value for c in adapter.channels))
        raise InvalidParameter(f"A {kind} connection carries {carried}, not {channel.value}")
    return channel


async def create_sender(
    uow: UnitOfWork,
    *,
    provider: ChannelProviderRow,
    address: str,
    friendly_name: str | None = None,
    country_code: str | None = None,
) -> ChannelSenderRow:
    channel = _checked_address(address, provider.kind)
    if await uow.fetchone(
        "SELECT 1 FROM channel_senders WHERE account_sid = %s AND address = %s", (provider.account_sid, address)
    ):
        raise Conflict(f"{address} is already a sender of this account", code=21710)
    prefix = SidPrefix.PHONE_NUMBER if channel is ChannelKind.SMS else SidPrefix.CHANNEL_SENDER
    row = await uow.one(
        ChannelSenderRow,
        "INSERT INTO channel_senders (sid, account_sid, provider_sid, channel, address, friendly_name, country_code) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (new_sid(prefix), provider.account_sid, provider.sid, channel.value, address, friendly_name, country_code),
    )
    assert row is not None
    return row


async def get_sender(
    uow: UnitOfWork, *, account_sid: str, sid: str, provider_sid: str | None = None
) -> ChannelSenderRow:
    return await uow.found(
        ChannelSenderRow,
        "SELECT * FROM channel_senders WHERE account_sid = %s AND sid = %s "
        "AND provider_sid = COALESCE(%s, provider_sid)",
        (account_sid, sid, provider_sid),
        resource=f"/Senders/{sid}",
    )


async def list_senders(uow: UnitOfWork, *, provider: ChannelProviderRow, page: PageRequest) -> Page[ChannelSenderRow]:
    return await fetch_page(
        uow,
        ChannelSenderRow,
        "SELECT * FROM channel_senders WHERE provider_sid = %s ORDER BY date_created, sid",
        (provider.sid,),
        page,
    )


async def delete_sender(uow: UnitOfWork, *, sender: ChannelSenderRow) -> None:
    await uow.execute("DELETE FROM channel_senders WHERE sid = %s", (sender.sid,))
