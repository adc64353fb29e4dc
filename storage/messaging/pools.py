"""Messaging Services use cases: the service resource (`MG…`), its sender pool (phone numbers `PN…` and
channel senders `XE…`, each in one pool at most) and the sticky sender: a customer keeps hearing from the
sender they last heard from (or wrote to) in a service, as Twilio's `StickySender` does."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from typing import Any

from channels.base import ChannelKind
from domain.errors import Conflict, InvalidParameter, NotFound
from domain.sids import SidPrefix, new_sid
from storage import crypto
from storage.channels.tables import ChannelSenderRow
from storage.db import UnitOfWork
from storage.messaging.tables import MessagingServiceRow
from storage.paging import Page, PageRequest, fetch_page


@dataclass(frozen=True, slots=True)
class ServiceFields:
    """A service's settable fields; None leaves one as it is (or takes the default on create)."""

    friendly_name: str | None = None
    inbound_request_url: str | None = None
    inbound_method: str | None = None
    fallback_url: str | None = None
    fallback_method: str | None = None
    status_callback: str | None = None
    sticky_sender: bool | None = None
    mms_converter: bool | None = None
    smart_encoding: bool | None = None
    scan_message_content: str | None = None
    fallback_to_long_code: bool | None = None
    area_code_geomatch: bool | None = None
    validity_period: int | None = None
    synchronous_validation: bool | None = None
    usecase: str | None = None
    use_inbound_webhook_on_number: bool | None = None

    def given(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


async def create_service(uow: UnitOfWork, *, account_sid: str, values: ServiceFields) -> MessagingServiceRow:
    given = values.given()
    columns = ["sid", "account_sid", *given]
    row = await uow.one(
        MessagingServiceRow,
        f"INSERT INTO messaging_services ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
        "RETURNING *",
        (new_sid(SidPrefix.MESSAGING_SERVICE), account_sid, *given.values()),
    )
    assert row is not None
    return row


async def get_service(uow: UnitOfWork, *, account_sid: str, sid: str) -> MessagingServiceRow:
    return await uow.found(
        MessagingServiceRow,
        "SELECT * FROM messaging_services WHERE account_sid = %s AND sid = %s",
        (account_sid, sid),
        resource=f"/Services/{sid}",
    )


async def list_services(uow: UnitOfWork, *, account_sid: str, page: PageRequest) -> Page[MessagingServiceRow]:
    return await fetch_page(
        uow,
        MessagingServiceRow,
        "SELECT * FROM messaging_services WHERE account_sid = %s ORDER BY date_created, sid",
        (account_sid,),
        page,
    )


async def update_service(
    uow: UnitOfWork, *, service: MessagingServiceRow, values: ServiceFields
) -> MessagingServiceRow:
    given = values.given()
    if not given:
        return service
    assignments = ", ".join(f"{name} = %s" for name in given)
    row = await uow.one(
        MessagingServiceRow,
        f"UPDATE messaging_services SET {assignments}, date_updated = now() WHERE sid = %s RETURNING *",
        (*given.values(), service.sid),
    )
    assert row is not None
    return row


async def delete_service(uow: UnitOfWork, *, service: MessagingServiceRow) -> None:
    """The pool's senders are released (they stay the provider's); sticky choices go with the service."""
    await uow.execute("DELETE FROM messaging_services WHERE sid = %s", (service.sid,))


# --- the pool -------------------------------------------------------------------------------------------


async def add_sender(uow: UnitOfWork, *, service: MessagingServiceRow, sender: ChannelSenderRow) -> ChannelSenderRow:
    taken = await uow.fetchone("SELECT service_sid FROM messaging_service_senders WHERE sender_sid = %s", (sender.sid,))
    if taken is not None:
        raise Conflict(f"{sender.address} is already in Messaging Service {taken['service_sid']}", code=21710)
    await uow.execute(
        "INSERT INTO messaging_service_senders (sender_sid, service_sid, account_sid) VALUES (%s, %s, %s)",
        (sender.sid, service.sid, service.account_sid),
    )
    return sender


async def pool_sender(uow: UnitOfWork, *, service: MessagingServiceRow, sid: str) -> ChannelSenderRow:
    row = await uow.one(
        ChannelSenderRow,
        "SELECT s.* FROM channel_senders s JOIN messaging_service_senders m ON m.sender_sid = s.sid "
        "WHERE m.service_sid = %s AND s.sid = %s",
        (service.sid, sid),
    )
    if row is None:
        raise NotFound.resource(f"/Services/{service.sid}/Senders/{sid}")
    return row


async def list_pool(
    uow: UnitOfWork, *, service: MessagingServiceRow, phone_numbers: bool, page: PageRequest
) -> Page[ChannelSenderRow]:
    """The pool's phone numbers (`PN…`, SMS) or its channel senders (`XE…`, WhatsApp and Messenger)."""
    return await fetch_page(
        uow,
        ChannelSenderRow,
        "SELECT s.* FROM channel_senders s JOIN messaging_service_senders m ON m.sender_sid = s.sid "
        "WHERE m.service_sid = %s AND (s.channel = 'sms') = %s ORDER BY m.date_created, s.sid",
        (service.sid, phone_numbers),
        page,
    )


async def remove_sender(uow: UnitOfWork, *, service: MessagingServiceRow, sender: ChannelSenderRow) -> None:
    await uow.execute(
        "DELETE FROM messaging_service_senders WHERE service_sid = %s AND sender_sid = %s", (service.sid, sender.sid)
    )
    await uow.execute(
        "DELETE FROM messaging_sticky_senders WHERE service_sid = %s AND sender_sid = %s", (service.sid, sender.sid)
    )


async def service_of_sender(uow: UnitOfWork, *, sender_sid: str) -> MessagingServiceRow | None:
    return await uow.one(
        MessagingServiceRow,
        "SELECT s.* FROM messaging_services s JOIN messaging_service_senders m ON m.service_sid = s.sid "
        "WHERE m.sender_sid = %s",
        (sender_sid,),
    )


async def remember_sender(uow: UnitOfWork, *, service_sid: str, customer_address: str, sender_sid: str) -> None:
    """The customer wrote to (or was answered from) this sender: they stick to it."""
    service = await uow.fetchone("SELECT account_sid FROM messaging_services WHERE sid = %s", (service_sid,))
    if service is None:
        return
    await uow.execute(
        "INSERT INTO messaging_sticky_senders (service_sid, customer_hash, sender_sid) VALUES (%s, %s, %s) "
        "ON CONFLICT (service_sid, customer_hash) DO UPDATE SET sender_sid = EXCLUDED.sender_sid, date_updated = now()",
        (service_sid, await crypto.blind_index(uow, service["account_sid"], customer_address), sender_sid),
    )


async def ensure_service(uow: UnitOfWork, *, account_sid: str, sid: str) -> None:
    """A Messaging Service a request names (a conversation's, the account default) is one of the caller's."""
    found = await uow.fetchone(
        "SELECT 1 FROM messaging_services WHERE sid = %s AND account_sid = %s", (sid, account_sid)
    )
    if found is None:
        raise InvalidParameter(f"MessagingServiceSid {sid} is not a Messaging Service of this account")


async def pick_sender(
    uow: UnitOfWork, *, service_sid: str, customer_address: str, channel: ChannelKind
) -> ChannelSenderRow | None:
    """The pool's sender for this customer on this channel: with StickySender the one they last used (while it
    is still in the pool); else, and the first time, one chosen by the customer's address (stable, so every
    message of a conversation leaves from the same number), then remembered."""
    service = await uow.one(MessagingServiceRow, "SELECT * FROM messaging_services WHERE sid = %s", (service_sid,))
    if service is None:
        return None
    key = await crypto.blind_index(uow, service.account_sid, customer_address)
    if service.sticky_sender:
        sticky = await uow.one(
            ChannelSenderRow,
            "SELECT s.* FROM messaging_sticky_senders k JOIN channel_senders s ON s.sid = k.sender_sid "
            "JOIN messaging_service_senders m ON m.sender_sid = s.sid AND m.service_sid = k.service_sid "
            "WHERE k.service_sid = %s AND k.customer_hash = %s AND s.channel = %s",
            (service_sid, key, channel.value),
        )
        if sticky is not None:
            return sticky
    pool = await uow.all(
        ChannelSenderRow,
        "SELECT s.* FROM channel_senders s JOIN messaging_service_senders m ON m.sender_sid = s.sid "
        "WHERE m.service_sid = %s AND s.channel = %s ORDER BY s.sid",
        (service_sid, channel.value),
    )
    if not pool:
        return None
    chosen = pool[int(hashlib.sha256(customer_address.encode()).hexdigest(), 16) % len(pool)]
    if service.sticky_sender:
        await remember_sender(uow, service_sid=service_sid, customer_address=customer_address, sender_sid=chosen.sid)
    return chosen
