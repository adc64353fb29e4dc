"""The official `twilio` client drives the Conversations webhooks and the update/delete endpoints unchanged;
the callbacks it asks for arrive on loopback and pass its own RequestValidator."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from storage.accounts.service import create_account
from tests.support.webhooks import webhook_receiver


@pytest.fixture
async def tenant(db):
    async with db.unit() as uow:
        return await create_account(uow, friendly_name="twilio-python webhooks")


@pytest.fixture
def twilio(parley, tenant) -> Client:
    client = Client(tenant.account_sid, tenant.auth_token)
    client.conversations.base_url = f"{parley.base_url}/conversations"
    return client


async def test_configuration_webhooks_and_scoped_webhooks_through_twilio_python(twilio: Client, tenant):
    with webhook_receiver() as receiver:
        config = twilio.conversations.v1.configuration.webhooks().update(
            method="POST",
            filters=["onMessageAdded", "onParticipantUpdated", "onConversationRemoved"],
            post_webhook_url=receiver.url("/post"),
            target="webhook",
        )
        assert config.post_webhook_url == receiver.url("/post")
        assert config.filters == ["onMessageAdded", "onParticipantUpdated", "onConversationRemoved"]
        fetched = twilio.conversations.v1.configuration.webhooks().fetch()
        assert fetched.method == "POST" and fetched.target == "webhook" and fetched.pre_webhook_url is None

        conversation = twilio.conversations.v1.conversations.create(friendly_name="hooked")
        scoped = twilio.conversations.v1.conversations(conversation.sid).webhooks.create(
            target="webhook",
            configuration_url=receiver.url("/scoped"),
            configuration_method="POST",
            configuration_filters=["onMessageAdded"],
        )
        assert scoped.sid.startswith("WH") and scoped.configuration["filters"] == ["onMessageAdded"]
        assert [w.sid for w in twilio.conversations.v1.conversations(conversation.sid).webhooks.list()] == [scoped.sid]
        updated = (
            twilio.conversations.v1.conversations(conversation.sid)
            .webhooks(scoped.sid)
            .update(configuration_url=receiver.url("/scoped2"))
        )
        assert updated.configuration["url"] == receiver.url("/scoped2")

        message = twilio.conversations.v1.conversations(conversation.sid).messages.create(
            body="via twilio-python", author="ops", x_twilio_webhook_enabled="true"
        )
        hooks = await receiver.wait_for("onMessageAdded", count=2)
        assert {h.url.rsplit("/", 1)[1] for h in hooks} == {"post", "scoped2"}
        assert all(h.form["MessageSid"] == message.sid and h.signed_by(tenant.auth_token) for h in hooks)

        edited = (
            twilio.conversations.v1.conversations(conversation.sid)
            .messages(message.sid)
            .update(body="edited", attributes='{"edited": true}')
        )
        assert edited.body == "edited" and edited.attributes == '{"edited": true}'
        participant = twilio.conversations.v1.conversations(conversation.sid).participants.create(identity="sam")
        changed = (
            twilio.conversations.v1.conversations(conversation.sid)
            .participants(participant.sid)
            .update(attributes='{"vip": true}', last_read_message_index=0, x_twilio_webhook_enabled="true")
        )
        assert changed.attributes == '{"vip": true}' and changed.last_read_message_index == 0
        assert changed.last_read_timestamp is not None
        [hook] = await receiver.wait_for("onParticipantUpdated")
        assert hook.form["Attributes"] == '{"vip": true}'

        assert twilio.conversations.v1.conversations(conversation.sid).messages(message.sid).delete()
        assert twilio.conversations.v1.conversations(conversation.sid).webhooks(scoped.sid).delete()
        # twilio-python 9.13 builds the X-Twilio-Webhook-Enabled header for delete and then drops it, so this
        # REST delete fires nothing (tests/e2e/test_conversation_webhooks.py sends the header itself).
        assert twilio.conversations.v1.conversations(conversation.sid).delete(x_twilio_webhook_enabled="true")
        with pytest.raises(TwilioRestException) as gone:
            twilio.conversations.v1.conversations(conversation.sid).fetch()
        assert gone.value.status == 404


async def test_participant_uniqueness_and_binding_rules_through_twilio_python(twilio: Client):
    conversation = twilio.conversations.v1.conversations.create()
    participants = twilio.conversations.v1.conversations(conversation.sid).participants
    participants.create(identity="ann")
    bob = participants.create(identity="bob")
    with pytest.raises(TwilioRestException) as clash:
        participants(bob.sid).update(identity="ann")
    assert clash.value.status == 409 and clash.value.code == 50433
    sms = participants.create(messaging_binding_address="+15550001111", messaging_binding_proxy_address="+15550002222")
    with pytest.raises(TwilioRestException) as chat_only:
        participants(sms.sid).update(identity="not-allowed")
    assert chat_only.value.code == 50402
    moved = participants(sms.sid).update(messaging_binding_proxy_address="+15550003333")
    assert moved.messaging_binding["proxy_address"] == "+15550003333"
    assert participants(bob.sid).update(identity="robert").identity == "robert"
