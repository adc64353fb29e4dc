"""Conversation Services through the official `twilio` client: a second service with its own conversations
(reached only through its /Services/{IS}/ paths, its URLs built there), its configuration, push notification
settings, bindings and webhooks, and its deletion; another account's service is not reachable."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from storage.accounts.service import create_account
from tests.support.webhooks import webhook_receiver


@pytest.fixture
async def tenant(db):
    async with db.unit() as uow:
        return await create_account(uow, friendly_name="Services")


def client_for(parley, credentials) -> Client:
    client = Client(credentials.account_sid, credentials.auth_token)
    client.conversations.base_url = f"{parley.base_url}/conversations"
    return client


async def test_a_second_service_keeps_its_conversations_to_itself(parley, tenant, account):
    twilio = client_for(parley, tenant)
    default = twilio.conversations.v1.configuration().fetch().default_chat_service_sid
    support = twilio.conversations.v1.services.create(friendly_name="Support")
    assert support.sid.startswith("IS") and support.friendly_name == "Support"
    assert support.links["conversations"].endswith(f"/Services/{support.sid}/Conversations")
    assert {s.sid for s in twilio.conversations.v1.services.list()} == {default, support.sid}

    scoped = twilio.conversations.v1.services(support.sid)
    conversation = scoped.conversations.create(friendly_name="in support", unique_name="ticket-1")
    assert conversation.chat_service_sid == support.sid
    assert conversation.url.endswith(f"/Services/{support.sid}/Conversations/{conversation.sid}")
    participant = scoped.conversations(conversation.sid).participants.create(identity="ana")
    assert participant.chat_service_sid == support.sid and f"/Services/{support.sid}/" in participant.url
    message = scoped.conversations(conversation.sid).messages.create(body="hello", author="ana")
    assert message.chat_service_sid == support.sid and message.index == 0
    assert [m.body for m in scoped.conversations("ticket-1").messages.list()] == ["hello"]
    assert [c.sid for c in scoped.conversations.list()] == [conversation.sid]

    # The short paths are the default service's: this conversation is not there.
    with pytest.raises(TwilioRestException) as elsewhere:
        twilio.conversations.v1.conversations(conversation.sid).fetch()
    assert elsewhere.value.status == 404
    assert conversation.sid not in {c.sid for c in twilio.conversations.v1.conversations.list()}
    # The same unique name is free in another service.
    assert twilio.conversations.v1.conversations.create(unique_name="ticket-1").chat_service_sid == default

    # Another account can see neither the service nor its conversations.
    stranger = client_for(parley, account)
    with pytest.raises(TwilioRestException) as foreign:
        stranger.conversations.v1.services(support.sid).conversations(conversation.sid).fetch()
    assert foreign.value.status == 404
    with pytest.raises(TwilioRestException):
        stranger.conversations.v1.services(support.sid).fetch()

    with pytest.raises(TwilioRestException) as is_default:
        twilio.conversations.v1.services(default).delete()
    assert is_default.value.status == 409
    assert scoped.delete()
    with pytest.raises(TwilioRestException) as gone:
        twilio.conversations.v1.services(support.sid).conversations(conversation.sid).fetch()
    assert gone.value.status == 404


async def test_service_configuration_notifications_bindings_and_webhooks(parley, tenant):
    twilio = client_for(parley, tenant)
    service = twilio.conversations.v1.services.create(friendly_name="Sales")
    scoped = twilio.conversations.v1.services(service.sid)
    configuration = scoped.configuration().fetch()
    assert configuration.chat_service_sid == service.sid and configuration.reachability_enabled is False
    assert scoped.configuration().update(reachability_enabled=True).reachability_enabled is True
    with pytest.raises(TwilioRestException) as not_a_role:
        scoped.configuration().update(default_conversation_role_sid="CH" + "0" * 32)
    assert not_a_role.value.status == 400

    notifications = scoped.configuration.notifications().fetch()
    assert notifications.new_message["enabled"] is False and notifications.log_enabled is False
    changed = scoped.configuration.notifications().update(
        new_message_enabled=True, new_message_template="${PARTICIPANT}: ${MESSAGE}", log_enabled=True
    )
    assert changed.new_message["enabled"] is True and changed.new_message["template"] == "${PARTICIPANT}: ${MESSAGE}"
    assert changed.new_message["with_media"] == {"enabled": False, "template": None} and changed.log_enabled is True
    assert scoped.configuration.notifications().fetch().new_message["enabled"] is True

    assert scoped.bindings.list() == []
    with pytest.raises(TwilioRestException) as no_binding:
        scoped.bindings("BS" + "0" * 32).fetch()
    assert no_binding.value.status == 404

    with webhook_receiver() as receiver:
        hooks = scoped.configuration.webhooks().update(
            post_webhook_url=receiver.url("/sales"), filters=["onConversationAdded"], method="POST"
        )
        assert hooks.chat_service_sid == service.sid and hooks.post_webhook_url == receiver.url("/sales")
        # The default service's conversation is not the service's: its creation does not reach the service hook.
        twilio.conversations.v1.conversations.create(friendly_name="outside", x_twilio_webhook_enabled="true")
        inside = scoped.conversations.create(friendly_name="lead", x_twilio_webhook_enabled="true")
        [added] = await receiver.wait_for("onConversationAdded")
        assert added.form["ConversationSid"] == inside.sid and added.form["ChatServiceSid"] == service.sid
        assert added.signed_by(tenant.auth_token)
        assert len(receiver.of("onConversationAdded")) == 1
