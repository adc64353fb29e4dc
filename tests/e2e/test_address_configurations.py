"""Address configurations through the official `twilio` client: update and delete, and `AutoCreation.Type`:
`webhook` adds the configured conversation-scoped webhook to each conversation the address creates (here a
web chat), `studio` is refused with a clear error; the service named must be the account's own."""

from __future__ import annotations

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from storage.accounts.service import create_account
from tests.support.contact_center import start_webchat
from tests.support.realtime import RealtimeClient
from tests.support.webhooks import webhook_receiver


@pytest.fixture
async def tenant(db):
    async with db.unit() as uow:
        return await create_account(uow, friendly_name="Addresses")


async def test_auto_creation_webhook_update_and_delete(parley, tenant, account):
    twilio = Client(tenant.account_sid, tenant.auth_token)
    twilio.conversations.base_url = f"{parley.base_url}/conversations"
    addresses = twilio.conversations.v1.address_configurations
    with webhook_receiver() as receiver:
        address = addresses.create(
            type="chat",
            address="site-chat",
            friendly_name="Site chat",
            auto_creation_enabled=True,
            auto_creation_type="webhook",
            auto_creation_webhook_url=receiver.url("/bot"),
            auto_creation_webhook_method="POST",
            auto_creation_webhook_filters=["onMessageAdded", "onParticipantAdded"],
        )
        assert address.auto_creation["type"] == "webhook"
        assert address.auto_creation["webhook_filters"] == ["onMessageAdded", "onParticipantAdded"]

        chat = await start_webchat(parley.base_url, address.sid, "Lee")
        [webhook] = twilio.conversations.v1.conversations(chat["conversation_sid"]).webhooks.list()
        assert webhook.configuration["url"] == receiver.url("/bot")
        async with RealtimeClient(parley.base_url, chat["token"]) as customer:
            sent = await customer.send_message(chat["conversation_sid"], "hi bot")
        [hook] = await receiver.wait_for("onMessageAdded", path="/bot")
        assert hook.form["MessageSid"] == sent["sid"] and hook.form["Source"] == "SDK"
        assert hook.signed_by(tenant.auth_token)

        renamed = addresses(address.sid).update(friendly_name="Renamed", auto_creation_webhook_url=receiver.url("/v2"))
        assert renamed.friendly_name == "Renamed" and renamed.auto_creation["webhook_url"] == receiver.url("/v2")
        assert renamed.auto_creation["webhook_filters"] == ["onMessageAdded", "onParticipantAdded"]  # kept
        second = await start_webchat(parley.base_url, address.sid, "Max")
        [newer] = twilio.conversations.v1.conversations(second["conversation_sid"]).webhooks.list()
        assert newer.configuration["url"] == receiver.url("/v2")
        # The earlier conversation keeps the webhook it was created with.
        [older] = twilio.conversations.v1.conversations(chat["conversation_sid"]).webhooks.list()
        assert older.configuration["url"] == receiver.url("/bot")

    with pytest.raises(TwilioRestException) as studio:
        addresses.create(
            type="chat",
            address="flow",
            auto_creation_enabled=True,
            auto_creation_type="studio",
            auto_creation_studio_flow_sid="FW" + "0" * 32,
        )
    assert studio.value.status == 400 and "not supported" in studio.value.msg
    with pytest.raises(TwilioRestException) as no_url:
        addresses.create(type="chat", address="no-url", auto_creation_enabled=True, auto_creation_type="webhook")
    assert no_url.value.status == 400
    others = Client(account.account_sid, account.auth_token)
    others.conversations.base_url = f"{parley.base_url}/conversations"
    foreign_service = others.conversations.v1.configuration().fetch().default_chat_service_sid
    with pytest.raises(TwilioRestException) as foreign:
        addresses.create(
            type="chat",
            address="theirs",
            auto_creation_enabled=True,
            auto_creation_conversation_service_sid=foreign_service,
        )
    assert foreign.value.status == 404
    assert {a.address for a in addresses.list()} == {"site-chat"}

    assert addresses(address.sid).delete()
    with pytest.raises(TwilioRestException) as gone:
        addresses(address.sid).fetch()
    assert gone.value.status == 404
    async with httpx.AsyncClient(base_url=parley.base_url) as anonymous:
        refused = await anonymous.post("/flex-api/v2/WebChats", data={"AddressSid": address.sid})
    assert refused.status_code == 404
