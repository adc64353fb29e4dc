"""Conversations identity through the official `twilio` client, unchanged: Users (and the user created when an
identity joins a conversation), UserConversations with unread counts from the participants' read horizons and
notification levels, ParticipantConversations by identity and by address, Roles (the four a service starts with,
permissions checked by type, a role in use kept) and push Credentials (secrets stored, never returned)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from domain import permissions
from storage.accounts.service import Credentials, create_account
from storage.conversations.identity_tables import CredentialRow
from tests.support.contact_center import ok

DEFAULT_ROLE_NAMES = {"service admin", "service user", "channel admin", "channel user"}


@pytest.fixture
async def tenant(db) -> Credentials:
    async with db.unit() as uow:
        return await create_account(uow, friendly_name="Conversation identity")


@pytest.fixture
def twilio(parley, tenant: Credentials) -> Client:
    client = Client(tenant.account_sid, tenant.auth_token)
    client.conversations.base_url = f"{parley.base_url}/conversations"
    return client


@pytest.fixture
async def api(parley, tenant: Credentials) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"{parley.base_url}/conversations/v1", auth=(tenant.account_sid, tenant.auth_token), timeout=30
    ) as client:
        yield client


def refused(call, status: int, code: int | None = None) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as raised:
        call()
    assert raised.value.status == status, raised.value
    if code is not None:
        assert raised.value.code == code, raised.value
    return raised.value


def roles_by_name(roles) -> dict[str, object]:
    return {r.friendly_name: r for r in roles}


async def test_users_crud_with_identity_unique_in_the_service(twilio: Client, parley):
    conversations = twilio.conversations.v1
    service_user = roles_by_name(conversations.roles.list())["service user"]
    alice = conversations.users.create(
        identity="alice", friendly_name="Alice", attributes='{"team": "blue"}', x_twilio_webhook_enabled="true"
    )
    assert alice.sid.startswith("US") and alice.identity == "alice" and alice.friendly_name == "Alice"
    assert json.loads(alice.attributes) == {"team": "blue"}
    assert alice.role_sid == service_user.sid  # the service's default service role
    assert alice.url == f"{parley.base_url}/conversations/v1/Users/{alice.sid}"
    assert alice.links == {"user_conversations": f"{alice.url}/Conversations"}
    refused(lambda: conversations.users.create(identity="alice"), 409, 50201)

    assert conversations.users(alice.sid).fetch().identity == "alice"
    assert conversations.users("alice").fetch().sid == alice.sid  # the identity stands in for the SID
    bare = conversations.users.create(identity="bare")
    assert bare.friendly_name is None and bare.attributes == "{}"
    assert [u.identity for u in conversations.users.list()] == ["alice", "bare"]

    admin = roles_by_name(conversations.roles.list())["service admin"]
    changed = conversations.users("alice").update(
        friendly_name="Alice B.", attributes='{"team": "red"}', role_sid=admin.sid
    )
    assert (changed.friendly_name, json.loads(changed.attributes), changed.role_sid) == (
        "Alice B.",
        {"team": "red"},
        admin.sid,
    )
    channel_user = roles_by_name(conversations.roles.list())["channel user"]
    refused(lambda: conversations.users(alice.sid).update(role_sid=channel_user.sid), 400)  # a conversation role
    assert conversations.users(alice.sid).fetch().role_sid == admin.sid

    assert conversations.users(alice.sid).delete()
    refused(lambda: conversations.users(alice.sid).fetch(), 404, 20404)
    assert [u.identity for u in conversations.users.list()] == ["bare"]


async def test_a_chat_participant_is_a_user_of_the_service(twilio: Client):
    conversations = twilio.conversations.v1
    conversation = conversations.conversations.create(friendly_name="joined")
    conversations.conversations(conversation.sid).participants.create(identity="walk-in")
    user = conversations.users("walk-in").fetch()
    assert user.sid.startswith("US") and user.identity == "walk-in"
    # Joining a second conversation is the same user.
    other = conversations.conversations.create(friendly_name="joined too")
    conversations.conversations(other.sid).participants.create(identity="walk-in")
    assert [u.sid for u in conversations.users.list()] == [user.sid]
    assert {c.conversation_sid for c in conversations.users(user.sid).user_conversations.list()} == {
        conversation.sid,
        other.sid,
    }


async def test_user_conversations_count_unread_from_the_read_horizon(twilio: Client, parley):
    conversations = twilio.conversations.v1
    bob = conversations.users.create(identity="bob")
    first = conversations.conversations.create(friendly_name="first", unique_name="first-chat")
    second = conversations.conversations.create(friendly_name="second")
    elsewhere = conversations.conversations.create(friendly_name="not bob's")
    in_first = conversations.conversations(first.sid).participants.create(identity="bob")
    in_second = conversations.conversations(second.sid).participants.create(identity="bob")
    for body in ("one", "two", "three"):
        conversations.conversations(first.sid).messages.create(body=body, author="ops")
    conversations.conversations(second.sid).messages.create(body="hello", author="ops")

    listed = {c.conversation_sid: c for c in conversations.users(bob.sid).user_conversations.list()}
    assert set(listed) == {first.sid, second.sid}
    for item in listed.values():
        # Never read: no horizon, so no count (as Twilio's SDKs report it), and the default level.
        assert item.unread_messages_count is None and item.last_read_message_index is None
        assert item.notification_level == "default" and item.user_sid == bob.sid
    one = listed[first.sid]
    assert one.participant_sid == in_first.sid and one.friendly_name == "first" and one.unique_name == "first-chat"
    assert (
        one.conversation_state == "active" and one.attributes == "{}" and one.chat_service_sid == first.chat_service_sid
    )
    assert one.url == f"{parley.base_url}/conversations/v1/Users/{bob.sid}/Conversations/{first.sid}"
    assert one.links == {
        "participant": f"{parley.base_url}/conversations/v1/Conversations/{first.sid}/Participants/{in_first.sid}",
        "conversation": f"{parley.base_url}/conversations/v1/Conversations/{first.sid}",
    }

    # The read horizon is the participant's: set there, it drives the user conversation's count.
    conversations.conversations(first.sid).participants(in_first.sid).update(last_read_message_index=0)
    read_first = conversations.users("bob").user_conversations("first-chat").fetch()
    assert (read_first.last_read_message_index, read_first.unread_messages_count) == (0, 2)
    # Set on the user conversation, it is the participant's too.
    read_second = conversations.users(bob.sid).user_conversations(second.sid).update(last_read_message_index=0)
    assert (read_second.last_read_message_index, read_second.unread_messages_count) == (0, 0)
    participant = conversations.conversations(second.sid).participants(in_second.sid).fetch()
    assert participant.last_read_message_index == 0 and participant.last_read_timestamp is not None
    conversations.conversations(second.sid).messages.create(body="anyone?", author="ops")
    assert conversations.users(bob.sid).user_conversations(second.sid).fetch().unread_messages_count == 1

    muted = conversations.users(bob.sid).user_conversations(first.sid).update(notification_level="muted")
    assert muted.notification_level == "muted" and muted.unread_messages_count == 2
    levels = {c.conversation_sid: c.notification_level for c in conversations.users(bob.sid).user_conversations.list()}
    assert levels == {first.sid: "muted", second.sid: "default"}

    refused(lambda: conversations.users(bob.sid).user_conversations(elsewhere.sid).fetch(), 404, 20404)

    # Leaving removes the participant.
    assert conversations.users(bob.sid).user_conversations(second.sid).delete()
    assert [p.identity for p in conversations.conversations(second.sid).participants.list()] == []
    assert [c.conversation_sid for c in conversations.users(bob.sid).user_conversations.list()] == [first.sid]
    # Deleting the user leaves its participants where they are.
    assert conversations.users(bob.sid).delete()
    assert [p.sid for p in conversations.conversations(first.sid).participants.list()] == [in_first.sid]


async def test_participant_conversations_by_identity_or_by_address(twilio: Client, api: httpx.AsyncClient):
    conversations = twilio.conversations.v1
    carol = conversations.users.create(identity="carol")
    a = conversations.conversations.create(friendly_name="a", attributes='{"topic": "billing"}')
    b = conversations.conversations.create(friendly_name="b")
    c = conversations.conversations.create(friendly_name="c")
    in_a = conversations.conversations(a.sid).participants.create(identity="carol")
    conversations.conversations(c.sid).participants.create(identity="carol")
    sms = conversations.conversations(b.sid).participants.create(
        messaging_binding_address="+15551230001", messaging_binding_proxy_address="+15557654321"
    )

    by_identity = conversations.participant_conversations.list(identity="carol")
    assert [p.conversation_sid for p in by_identity] == [a.sid, c.sid]
    first = by_identity[0]
    assert (first.participant_sid, first.participant_identity, first.participant_user_sid) == (
        in_a.sid,
        "carol",
        carol.sid,
    )
    assert first.conversation_friendly_name == "a" and json.loads(first.conversation_attributes) == {"topic": "billing"}
    assert first.conversation_state == "active" and first.participant_messaging_binding is None
    assert first.links["conversation"].endswith(f"/conversations/v1/Conversations/{a.sid}")

    [by_address] = conversations.participant_conversations.list(address="+15551230001")
    assert (by_address.conversation_sid, by_address.participant_sid) == (b.sid, sms.sid)
    assert by_address.participant_identity is None and by_address.participant_user_sid is None
    assert by_address.participant_messaging_binding["address"] == "+15551230001"
    assert conversations.participant_conversations.list(identity="nobody") == []

    both = await api.get("/ParticipantConversations", params={"Identity": "carol", "Address": "+15551230001"})
    assert both.status_code == 400, both.text
    neither = await api.get("/ParticipantConversations")
    assert neither.status_code == 400, neither.text
    page = await ok(await api.get("/ParticipantConversations", params={"Identity": "carol", "PageSize": 1}))
    assert page["meta"]["key"] == "conversations" and len(page["conversations"]) == 1
    assert "Identity=carol" in page["meta"]["next_page_url"]


async def test_roles_are_checked_by_type_and_kept_while_in_use(twilio: Client, parley):
    conversations = twilio.conversations.v1
    defaults = roles_by_name(conversations.roles.list())
    assert set(defaults) == DEFAULT_ROLE_NAMES
    assert {name: defaults[name].type for name in DEFAULT_ROLE_NAMES} == {
        "service admin": "service",
        "service user": "service",
        "channel admin": "conversation",
        "channel user": "conversation",
    }
    assert "sendMessage" in defaults["channel user"].permissions
    assert "createConversation" in defaults["service user"].permissions

    role = conversations.roles.create(
        friendly_name="reader", type="conversation", permission=["sendMessage", "leaveConversation"]
    )
    assert role.sid.startswith("RL") and role.type == "conversation"
    assert role.permissions == ["sendMessage", "leaveConversation"]
    assert role.url == f"{parley.base_url}/conversations/v1/Roles/{role.sid}"
    # A service permission on a conversation role, a name Twilio does not know: 400, nothing written.
    refused(
        lambda: conversations.roles.create(friendly_name="x", type="conversation", permission=["joinConversation"]), 400
    )
    refused(lambda: conversations.roles.create(friendly_name="x", type="service", permission=["flyToTheMoon"]), 400)
    refused(lambda: conversations.roles(role.sid).update(permission=["createConversation"]), 400)
    assert {r.friendly_name for r in conversations.roles.list()} == DEFAULT_ROLE_NAMES | {"reader"}

    updated = conversations.roles(role.sid).update(permission=["sendMessage", "sendMediaMessage"])
    assert updated.permissions == ["sendMessage", "sendMediaMessage"]  # replaced, not added to
    assert conversations.roles(role.sid).fetch().permissions == ["sendMessage", "sendMediaMessage"]

    # In use (a user holds it): kept. Free again: deleted.
    moderator = conversations.roles.create(friendly_name="moderator", type="service", permission=["joinConversation"])
    dave = conversations.users.create(identity="dave", role_sid=moderator.sid)
    assert dave.role_sid == moderator.sid
    refused(lambda: conversations.roles(moderator.sid).delete(), 409)
    conversations.users(dave.sid).update(role_sid=defaults["service user"].sid)
    assert conversations.roles(moderator.sid).delete()
    refused(lambda: conversations.roles(moderator.sid).fetch(), 404, 20404)
    # The service's default roles are named by its Configuration: kept.
    refused(lambda: conversations.roles(defaults["channel user"].sid).delete(), 409)
    assert conversations.roles(role.sid).delete()


async def test_a_new_service_has_its_own_users_and_default_roles(twilio: Client, parley):
    conversations = twilio.conversations.v1
    service = conversations.services.create(friendly_name="Second")
    scoped = conversations.services(service.sid)
    roles = roles_by_name(scoped.roles.list())
    assert set(roles) == DEFAULT_ROLE_NAMES
    assert all(r.chat_service_sid == service.sid for r in roles.values())
    assert (
        roles["service user"].url
        == f"{parley.base_url}/conversations/v1/Services/{service.sid}/Roles/{roles['service user'].sid}"
    )
    configuration = scoped.configuration().fetch()
    assert configuration.default_chat_service_role_sid == roles["service user"].sid
    assert configuration.default_conversation_role_sid == roles["channel user"].sid
    assert configuration.default_conversation_creator_role_sid == roles["channel admin"].sid

    erin = scoped.users.create(identity="erin")
    assert erin.chat_service_sid == service.sid and erin.role_sid == roles["service user"].sid
    assert erin.url == f"{parley.base_url}/conversations/v1/Services/{service.sid}/Users/{erin.sid}"
    # The same identity is another user in the default service; each service sees only its own.
    default_erin = conversations.users.create(identity="erin")
    assert default_erin.sid != erin.sid
    assert [u.sid for u in scoped.users.list()] == [erin.sid]
    assert [u.sid for u in conversations.users.list()] == [default_erin.sid]
    # A role of another service is not one of this service's.
    refused(
        lambda: scoped.users(erin.sid).update(role_sid=roles_by_name(conversations.roles.list())["service admin"].sid),
        400,
    )

    chat = scoped.conversations.create(friendly_name="scoped chat")
    scoped.conversations(chat.sid).participants.create(identity="erin")
    [mine] = scoped.users(erin.sid).user_conversations.list()
    assert mine.conversation_sid == chat.sid
    assert (
        mine.url
        == f"{parley.base_url}/conversations/v1/Services/{service.sid}/Users/{erin.sid}/Conversations/{chat.sid}"
    )
    assert conversations.users(default_erin.sid).user_conversations.list() == []
    [found] = scoped.participant_conversations.list(identity="erin")
    assert found.conversation_sid == chat.sid and found.participant_user_sid == erin.sid


async def test_credentials_keep_their_secrets(twilio: Client, api: httpx.AsyncClient, db, tenant: Credentials, parley):
    conversations = twilio.conversations.v1
    certificate = "-----BEGIN CERTIFICATE-----\nMIIFnTCCBIWgAwIBAgIIAjy9H849+E8w\n-----END CERTIFICATE-----"
    private_key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpQIBAAKCAQEAuyf/lNrH9ck8DmNyo3fG\n-----END RSA PRIVATE KEY-----"
    apn = conversations.credentials.create(
        type="apn", friendly_name="iOS", certificate=certificate, private_key=private_key, sandbox=True
    )
    assert apn.sid.startswith("CR") and (apn.type, apn.friendly_name, apn.sandbox) == ("apn", "iOS", "True")
    assert apn.url == f"{parley.base_url}/conversations/v1/Credentials/{apn.sid}"
    fcm = conversations.credentials.create(type="fcm", friendly_name="Android", secret="fcm-server-key-1234")
    assert (fcm.type, fcm.sandbox) == ("fcm", "False")
    assert [c.sid for c in conversations.credentials.list()] == [apn.sid, fcm.sid]

    changed = conversations.credentials(apn.sid).update(friendly_name="iOS prod", sandbox=False)
    assert (changed.friendly_name, changed.sandbox, changed.type) == ("iOS prod", "False", "apn")
    assert conversations.credentials(fcm.sid).fetch().friendly_name == "Android"

    # Never on the wire, in any answer; but stored (a push sender would need them), and kept by an update.
    bodies = [
        (await api.get(f"/Credentials/{apn.sid}")).text,
        (await api.get("/Credentials")).text,
        (await api.post(f"/Credentials/{fcm.sid}", data={"FriendlyName": "Android 2"})).text,
    ]
    for body in bodies:
        for secret in ("BEGIN CERTIFICATE", "BEGIN RSA PRIVATE KEY", "fcm-server-key-1234"):
            assert secret not in body
        assert "private_key" not in body and "certificate" not in body
    async with db.read() as q:
        raw = await q.fetchall(
            "SELECT certificate, private_key, secret FROM conversation_credentials WHERE account_sid = %s",
            (tenant.account_sid,),
        )
        stored = await q.all(
            CredentialRow,
            "SELECT * FROM conversation_credentials WHERE account_sid = %s ORDER BY date_created",
            (tenant.account_sid,),
        )
    # Sealed at rest (storage/crypto.py); the row model opens them.
    assert not any(secret in str(r) for r in raw for secret in ("BEGIN", "fcm-server-key-1234"))
    assert [(r.certificate, r.private_key, r.secret) for r in stored] == [
        (certificate, private_key, None),
        (None, None, "fcm-server-key-1234"),
    ]

    bad = await api.post("/Credentials", data={"Type": "carrier-pigeon"})
    assert bad.status_code == 400, bad.text
    assert conversations.credentials(apn.sid).delete()
    refused(lambda: conversations.credentials(apn.sid).fetch(), 404, 20404)
    assert [c.sid for c in conversations.credentials.list()] == [fcm.sid]


def test_a_role_allows_what_it_holds_and_any_covers_own():
    channel_user = set(permissions.CHANNEL_USER.permissions)
    assert permissions.allows(channel_user, permissions.Permission.SEND_MESSAGE)
    assert not permissions.allows(channel_user, permissions.Permission.REMOVE_PARTICIPANT)
    assert permissions.allows({"editAnyMessage"}, permissions.Permission.EDIT_OWN_MESSAGE)
    assert not permissions.allows({"editOwnMessage"}, permissions.Permission.EDIT_ANY_MESSAGE)
    for role in permissions.DEFAULT_ROLES:  # each default holds only what its type may
        assert set(role.permissions) <= permissions.PERMISSIONS_OF[role.type], role.friendly_name
    assert permissions.check_permissions(permissions.RoleType.SERVICE, ["joinConversation", "joinConversation"]) == [
        permissions.Permission.JOIN_CONVERSATION
    ]
