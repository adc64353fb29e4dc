"""Conversations webhooks over the wire: real HTTP POSTs (and GETs) to a receiver on loopback, each checked with
the official `twilio.request_validator.RequestValidator`; post-events delivered from the outbox by the webhook
workflow, retried with the same idempotency token and body, never twice; pre-events that reject or change an
SDK user's message. Each test has its own account, so its webhooks hear only its own actions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import WorkflowFailureError

from storage.accounts.service import Credentials, create_account
from tests.support import outbox
from tests.support.contact_center import ok, start_webchat
from tests.support.histories import record_handle
from tests.support.webhooks import Answer, Receiver

ENABLED = {"X-Twilio-Webhook-Enabled": "true"}


@pytest.fixture
async def tenant(db) -> Credentials:
    async with db.unit() as uow:
        return await create_account(uow, friendly_name="Webhook tests")


@pytest.fixture
async def api(parley, tenant: Credentials) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=parley.base_url, auth=(tenant.account_sid, tenant.auth_token), timeout=30
    ) as client:
        yield client


async def configure(api: httpx.AsyncClient, **fields: str | list[str]) -> dict:
    return await ok(await api.post("/conversations/v1/Configuration/Webhooks", data=fields))


async def new_conversation(api: httpx.AsyncClient, headers: dict[str, str] | None = None, **fields: str) -> dict:
    return await ok(await api.post("/conversations/v1/Conversations", data=fields, headers=headers or {}), 201)


async def test_rest_actions_fire_post_events_only_when_asked_and_signed_as_twilio_signs(
    api: httpx.AsyncClient, receiver: Receiver, tenant: Credentials
):
    config = await configure(
        api,
        PostWebhookUrl=receiver.url("/post"),
        Filters=["onConversationAdded", "onMessageAdded"],
        Method="POST",
    )
    assert config["post_webhook_url"] == receiver.url("/post")
    assert config["filters"] == ["onConversationAdded", "onMessageAdded"]
    assert config["target"] == "webhook" and config["method"] == "POST"

    quiet = await new_conversation(api, FriendlyName="no header")
    # An empty parameter is sent, and signed, as Twilio does.
    loud = await new_conversation(api, headers=ENABLED, FriendlyName="", UniqueName="loud-one")
    [added] = await receiver.wait_for("onConversationAdded")
    form = added.form
    assert form["ConversationSid"] == loud["sid"] and form["FriendlyName"] == "" and form["UniqueName"] == "loud-one"
    assert form["AccountSid"] == tenant.account_sid and form["Source"] == "API" and form["State"] == "active"
    assert form["ChatServiceSid"] == loud["chat_service_sid"]
    assert added.method == "POST" and added.headers["content-type"] == "application/x-www-form-urlencoded"
    assert added.signed_by(tenant.auth_token)
    assert not added.signed_by("not-the-token")
    assert added.headers["i-twilio-idempotency-token"]

    # A REST message with the header fires onMessageAdded; the quiet conversation never fired anything.
    message = await ok(
        await api.post(
            f"/conversations/v1/Conversations/{loud['sid']}/Messages",
            data={"Body": "hello hooks", "Author": "ops"},
            headers=ENABLED,
        ),
        201,
    )
    [hook] = await receiver.wait_for("onMessageAdded")
    assert hook.form["MessageSid"] == message["sid"] and hook.form["Body"] == "hello hooks"
    assert hook.form["Index"] == "0" and hook.form["Author"] == "ops" and hook.signed_by(tenant.auth_token)
    assert all(r.form.get("ConversationSid") != quiet["sid"] for r in receiver.requests)


async def deliveries(db, conversation_sid: str) -> list[dict]:
    """The webhook callbacks the conversation's actions recorded (in their own transactions)."""
    async with db.read() as q:
        return await outbox.deliveries(q, conversation_sid=conversation_sid)


async def test_filters_are_honoured_and_an_empty_url_clears_the_target(api, receiver: Receiver, db):
    await configure(api, PostWebhookUrl=receiver.url(), Filters="onMessageAdded")
    conversation = await new_conversation(api, headers=ENABLED)
    await api.post(
        f"/conversations/v1/Conversations/{conversation['sid']}/Messages", data={"Body": "one"}, headers=ENABLED
    )
    await receiver.wait_for("onMessageAdded")
    assert receiver.of("onConversationAdded") == []  # not in Filters

    cleared = await configure(api, PostWebhookUrl="")
    assert cleared["post_webhook_url"] is None and cleared["filters"] == ["onMessageAdded"]
    await api.post(
        f"/conversations/v1/Conversations/{conversation['sid']}/Messages", data={"Body": "two"}, headers=ENABLED
    )
    fetched = await ok(await api.get("/conversations/v1/Configuration/Webhooks"))
    assert fetched["post_webhook_url"] is None
    # A callback is recorded with its action or never: "two" has none.
    recorded = await deliveries(db, conversation["sid"])
    assert [dict(d["params"])["Body"] for d in recorded] == ["one"]


async def test_bad_configuration_is_a_clear_400_that_writes_nothing(api):
    bad_filter = await api.post("/conversations/v1/Configuration/Webhooks", data={"Filters": "onNothing"})
    assert bad_filter.status_code == 400 and bad_filter.json()["code"] == 50365
    assert "onNothing" in bad_filter.json()["message"]
    bad_url = await api.post("/conversations/v1/Configuration/Webhooks", data={"PostWebhookUrl": "file:///etc/passwd"})
    assert bad_url.status_code == 400
    bad_method = await api.post("/conversations/v1/Configuration/Webhooks", data={"Method": "PUT"})
    assert bad_method.status_code == 400
    fetched = await ok(await api.get("/conversations/v1/Configuration/Webhooks"))
    assert fetched["post_webhook_url"] is None and fetched["filters"] == [] and fetched["method"] == "POST"


async def test_a_failing_target_is_retried_with_the_same_body_and_token_and_delivered_once(
    api, receiver: Receiver, tenant: Credentials, temporal, db
):
    answers = iter([Answer(503), Answer(429, headers={"Retry-After": "1"}), Answer(200)])
    receiver.script = lambda _: next(answers, Answer(200))
    await configure(api, PostWebhookUrl=receiver.url(), Filters="onConversationAdded")
    conversation = await new_conversation(api, headers=ENABLED, FriendlyName="retry me")
    attempts = await receiver.wait_for("onConversationAdded", count=3, timeout=30)
    assert {a.form["ConversationSid"] for a in attempts} == {conversation["sid"]}
    assert len({a.headers["i-twilio-idempotency-token"] for a in attempts}) == 1
    assert len({a.body for a in attempts}) == 1
    assert all(a.signed_by(tenant.auth_token) for a in attempts)
    # The delivery is one workflow, its attempts visible in the Temporal UI: three tries of one activity.
    token = attempts[0].headers["i-twilio-idempotency-token"]
    handle = temporal.get_workflow_handle(f"webhook-{token}")
    assert (await handle.result())["status_code"] == 200
    history = await handle.fetch_history()
    started = [
        e.activity_task_started_event_attributes
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert [s.attempt for s in started] == [3]  # retries are recorded on the one started event
    assert "HTTP 429" in started[0].last_failure.message
    await record_handle(handle, "WebhookDelivery", "retried-then-delivered")
    # Delivered: one callback was recorded, its workflow is over; nothing can send it again.
    assert [d["delivery_id"] for d in await deliveries(db, conversation["sid"])] == [token]
    assert len(receiver.of("onConversationAdded")) == 3


async def test_a_target_that_refuses_for_good_is_not_retried(api, receiver: Receiver, temporal):
    receiver.script = lambda _: Answer(400)
    await configure(api, PostWebhookUrl=receiver.url(), Filters="onConversationAdded")
    await new_conversation(api, headers=ENABLED)
    [refused] = await receiver.wait_for("onConversationAdded")
    handle = temporal.get_workflow_handle(f"webhook-{refused.headers['i-twilio-idempotency-token']}")
    with pytest.raises(WorkflowFailureError):
        await handle.result()  # failed for good, after its one attempt
    history = await handle.fetch_history()
    started = [e for e in history.events if e.HasField("activity_task_started_event_attributes")]
    assert [e.activity_task_started_event_attributes.attempt for e in started] == [1]
    assert len(receiver.of("onConversationAdded")) == 1


async def test_conversation_lifecycle_events_carry_twilios_parameters(api, receiver: Receiver, tenant):
    await configure(
        api,
        PostWebhookUrl=receiver.url(),
        Filters=[
            "onConversationUpdated",
            "onConversationStateUpdated",
            "onParticipantAdded",
            "onParticipantUpdated",
            "onParticipantRemoved",
            "onMessageUpdated",
            "onMessageRemoved",
            "onConversationRemoved",
        ],
    )
    conversation = await new_conversation(api, headers=ENABLED)
    path = f"/conversations/v1/Conversations/{conversation['sid']}"
    await ok(await api.post(path, data={"FriendlyName": "renamed", "State": "inactive"}, headers=ENABLED))
    [updated] = await receiver.wait_for("onConversationUpdated")
    assert updated.form["FriendlyName"] == "renamed" and updated.form["State"] == "inactive"
    [state] = await receiver.wait_for("onConversationStateUpdated")
    assert (state.form["StateFrom"], state.form["StateTo"], state.form["Reason"]) == ("active", "inactive", "API")
    assert state.form["StateUpdated"].endswith("Z")

    participant = await ok(
        await api.post(f"{path}/Participants", data={"Identity": "alice", "Attributes": '{"a": 1}'}, headers=ENABLED),
        201,
    )
    [joined] = await receiver.wait_for("onParticipantAdded")
    assert joined.form["ParticipantSid"] == participant["sid"] and joined.form["Identity"] == "alice"
    assert joined.form["MessagingBinding.Type"] == "CHAT" and joined.form["Attributes"] == '{"a": 1}'
    role = await ok(
        await api.post(
            "/conversations/v1/Roles",
            data={"FriendlyName": "helper", "Type": "conversation", "Permission": ["sendMessage"]},
        ),
        201,
    )
    await ok(
        await api.post(
            f"{path}/Participants/alice", data={"LastReadMessageIndex": "0", "RoleSid": role["sid"]}, headers=ENABLED
        )
    )
    [changed] = await receiver.wait_for("onParticipantUpdated")
    assert changed.form["LastReadMessageIndex"] == "0" and changed.form["RoleSid"] == role["sid"]

    message = await ok(await api.post(f"{path}/Messages", data={"Body": "typo"}), 201)
    # Without the header this REST message fires nothing, not even the state change it causes.
    await ok(await api.post(f"{path}/Messages/{message['sid']}", data={"Body": "fixed"}, headers=ENABLED))
    [edited] = await receiver.wait_for("onMessageUpdated")
    assert edited.form["Body"] == "fixed" and edited.form["MessageSid"] == message["sid"]
    assert (await api.delete(f"{path}/Messages/{message['sid']}", headers=ENABLED)).status_code == 204
    [removed] = await receiver.wait_for("onMessageRemoved")
    assert removed.form["DateRemoved"].endswith("Z") and removed.form["Body"] == "fixed"
    assert (await api.delete(f"{path}/Participants/alice", headers=ENABLED)).status_code == 204
    [left] = await receiver.wait_for("onParticipantRemoved")
    assert left.form["Identity"] == "alice" and "DateRemoved" in left.form

    assert (await api.delete(path, headers=ENABLED)).status_code == 204
    [gone] = await receiver.wait_for("onConversationRemoved")
    assert gone.form["ConversationSid"] == conversation["sid"] and gone.signed_by(tenant.auth_token)
    assert (await api.get(path)).status_code == 404


async def test_conversation_scoped_webhooks_limits_triggers_get_and_replay(api, receiver: Receiver, tenant):
    conversation = await new_conversation(api)
    path = f"/conversations/v1/Conversations/{conversation['sid']}"
    for body in ("first", "second", "third"):
        await ok(await api.post(f"{path}/Messages", data={"Body": body}), 201)

    replaying = await ok(
        await api.post(
            f"{path}/Webhooks",
            data={
                "Target": "webhook",
                "Configuration.Url": receiver.url("/replay"),
                "Configuration.Method": "GET",
                "Configuration.Filters": ["onMessageAdded", "onConversationStateUpdated"],
                "Configuration.ReplayAfter": "1",
            },
        ),
        201,
    )
    assert replaying["sid"].startswith("WH") and replaying["target"] == "webhook"
    assert replaying["configuration"]["method"] == "get"
    assert replaying["configuration"]["filters"] == ["onMessageAdded", "onConversationStateUpdated"]
    replayed = await receiver.wait_for("onMessageAdded", count=2, path="/replay")
    assert sorted(r.form["Body"] for r in replayed) == ["second", "third"]
    assert all(r.method == "GET" and r.signed_by(tenant.auth_token) for r in replayed)

    trigger = await ok(
        await api.post(
            f"{path}/Webhooks",
            data={
                "Target": "trigger",
                "Configuration.Url": receiver.url("/trigger"),
                "Configuration.Triggers": ["refund", "cancel"],
            },
        ),
        201,
    )
    assert trigger["configuration"]["triggers"] == ["refund", "cancel"]
    # The REST rule holds for scoped webhooks too: only with X-Twilio-Webhook-Enabled.
    await ok(await api.post(f"{path}/Messages", data={"Body": "a refund, quietly"}), 201)
    await ok(await api.post(f"{path}/Messages", data={"Body": "just saying hi"}, headers=ENABLED), 201)
    await ok(await api.post(f"{path}/Messages", data={"Body": "I want a Refund!"}, headers=ENABLED), 201)
    [triggered] = await receiver.wait_for("onMessageAdded", path="/trigger")
    assert triggered.form["Body"] == "I want a Refund!"

    for n in range(3):
        await ok(
            await api.post(
                f"{path}/Webhooks",
                data={
                    "Target": "webhook",
                    "Configuration.Url": receiver.url(f"/n{n}"),
                    "Configuration.Filters": "onMessageAdded",
                },
            ),
            201,
        )
    sixth = await api.post(f"{path}/Webhooks", data={"Target": "webhook", "Configuration.Url": receiver.url()})
    assert sixth.status_code == 400 and sixth.json()["code"] == 50361
    listed = await ok(await api.get(f"{path}/Webhooks", params={"PageSize": "5"}))
    assert len(listed["webhooks"]) == 5 and listed["meta"]["key"] == "webhooks"

    studio = await api.post(f"{path}/Webhooks", data={"Target": "studio", "Configuration.FlowSid": "FW" + "0" * 32})
    assert studio.status_code == 400 and studio.json()["code"] == 50364 and "not supported" in studio.json()["message"]
    bogus = await api.post(f"{path}/Webhooks", data={"Target": "carrier-pigeon"})
    assert bogus.status_code == 400 and bogus.json()["code"] == 50364

    updated = await ok(await api.post(f"{path}/Webhooks/{trigger['sid']}", data={"Configuration.Triggers": "urgent"}))
    assert updated["configuration"]["triggers"] == ["urgent"]
    assert (await api.delete(f"{path}/Webhooks/{trigger['sid']}")).status_code == 204
    assert (await api.get(f"{path}/Webhooks/{trigger['sid']}")).status_code == 404


async def test_sdk_messages_fire_pre_and_post_events_and_a_pre_event_can_reject_or_change_them(
    api, receiver: Receiver, tenant, parley
):
    def script(request):
        body = request.form.get("Body", "")
        if request.event == "onMessageAdd" and "forbidden" in body:
            return Answer(403)
        if request.event == "onMessageAdd" and "card" in body:
            return Answer(200, body={"body": "[redacted]", "attributes": {"redacted": True}})
        return Answer(200)

    receiver.script = script
    await configure(
        api,
        PreWebhookUrl=receiver.url("/pre"),
        PostWebhookUrl=receiver.url("/post"),
        Filters=["onMessageAdd", "onMessageAdded"],
    )
    address = await ok(
        await api.post(
            "/conversations/v1/Configuration/Addresses",
            data={"Type": "chat", "Address": "hooks-chat", "AutoCreation.Enabled": "true"},
        ),
        201,
    )
    chat = await start_webchat(parley.base_url, address["sid"], "Pat")
    headers = {"Authorization": f"Bearer {chat['token']}"}
    path = f"/conversations/v1/Conversations/{chat['conversation_sid']}/Messages"
    async with httpx.AsyncClient(base_url=parley.base_url, headers=headers, timeout=30) as customer:
        sent = await ok(await customer.post(path, data={"Body": "hello there"}), 201)
        [pre] = await receiver.wait_for("onMessageAdd")
        assert pre.form["Source"] == "SDK" and pre.form["ClientIdentity"] == chat["identity"]
        assert pre.form["Body"] == "hello there" and pre.signed_by(tenant.auth_token)
        [post] = await receiver.wait_for("onMessageAdded")
        assert post.form["MessageSid"] == sent["sid"] and post.form["ClientIdentity"] == chat["identity"]

        rejected = await customer.post(path, data={"Body": "something forbidden"})
        assert rejected.status_code == 403 and "pre-event webhook" in rejected.json()["message"]
        changed = await ok(await customer.post(path, data={"Body": "my card is 4111 1111 1111 1111"}), 201)
        assert changed["body"] == "[redacted]" and json.loads(changed["attributes"]) == {"redacted": True}
        assert changed["author"] == chat["identity"]
        listed = await ok(await api.get(path))
        assert [m["body"] for m in listed["messages"]] == ["hello there", "[redacted]"]
        await receiver.wait_for("onMessageAdded", count=2)
        assert [r.form["Body"] for r in receiver.of("onMessageAdded")] == ["hello there", "[redacted]"]


async def test_user_events_reach_the_account_and_service_targets(api, receiver: Receiver, tenant):
    await configure(api, PostWebhookUrl=receiver.url(), Filters=["onUserAdded", "onUserUpdated"])
    user = await ok(
        await api.post("/conversations/v1/Users", data={"Identity": "uma", "FriendlyName": "Uma"}, headers=ENABLED),
        201,
    )
    [added] = await receiver.wait_for("onUserAdded")
    assert added.form["UserSid"] == user["sid"] and added.form["Identity"] == "uma"
    assert added.form["FriendlyName"] == "Uma" and added.form["ChatServiceSid"] == user["chat_service_sid"]
    assert added.signed_by(tenant.auth_token)
    await ok(await api.post(f"/conversations/v1/Users/{user['sid']}", data={"FriendlyName": "U."}, headers=ENABLED))
    [updated] = await receiver.wait_for("onUserUpdated")
    assert updated.form["FriendlyName"] == "U." and "DateUpdated" in updated.form
    # Adding a chat participant whose identity has no user yet creates it, and says so.
    conversation = await new_conversation(api)
    await ok(
        await api.post(
            f"/conversations/v1/Conversations/{conversation['sid']}/Participants",
            data={"Identity": "newcomer"},
            headers=ENABLED,
        ),
        201,
    )
    implicit = await receiver.wait_for("onUserAdded", count=2)
    assert {r.form["Identity"] for r in implicit} == {"uma", "newcomer"}


async def test_a_service_level_pre_event_rejects_an_sdk_message_in_that_service_only(
    api, receiver: Receiver, tenant, parley
):
    """The service's own PreWebhookUrl runs besides the account's, for the conversations of that service."""
    receiver.script = lambda request: Answer(451 if request.event == "onMessageAdd" else 200)
    address = await ok(
        await api.post(
            "/conversations/v1/Configuration/Addresses",
            data={"Type": "chat", "Address": "service-pre", "AutoCreation.Enabled": "true"},
        ),
        201,
    )
    chat = await start_webchat(parley.base_url, address["sid"], "Ivo")
    service = (await ok(await api.get(f"/conversations/v1/Conversations/{chat['conversation_sid']}")))[
        "chat_service_sid"
    ]
    other = await ok(await api.post("/conversations/v1/Services", data={"FriendlyName": "Elsewhere"}), 201)
    # A pre-event URL on another service does not see this conversation's messages.
    await ok(
        await api.post(
            f"/conversations/v1/Services/{other['sid']}/Configuration/Webhooks",
            data={"PreWebhookUrl": receiver.url("/elsewhere"), "Filters": "onMessageAdd"},
        )
    )
    path = f"/conversations/v1/Conversations/{chat['conversation_sid']}/Messages"
    headers = {"Authorization": f"Bearer {chat['token']}"}
    async with httpx.AsyncClient(base_url=parley.base_url, headers=headers, timeout=30) as customer:
        await ok(await customer.post(path, data={"Body": "first"}), 201)
        assert receiver.of("onMessageAdd") == []
        await ok(
            await api.post(
                f"/conversations/v1/Services/{service}/Configuration/Webhooks",
                data={"PreWebhookUrl": receiver.url("/service"), "Filters": "onMessageAdd"},
            )
        )
        refused = await customer.post(path, data={"Body": "second"})
        assert refused.status_code == 403
    [pre] = receiver.of("onMessageAdd", path="/service")
    assert pre.form["ChatServiceSid"] == service and pre.signed_by(tenant.auth_token)
    assert receiver.of("onMessageAdd", path="/elsewhere") == []
    listed = await ok(await api.get(path))
    assert [m["body"] for m in listed["messages"]] == ["first"]
