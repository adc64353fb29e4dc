"""A web chat address's own settings (/parley/v1/WebChatSettings/{IG}, GET /flex-api/v2/WebChats/Settings):
when nobody can answer the customer leaves a message and an email and a task waits for the first agent; the
business hours close the address; a configured pre-chat form is enforced; a site's signed identity token
identifies the customer, whose open chat is resumed on another device. Bad settings and bad input get a 400
and change nothing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest

from domain.limits import DEFAULT_TASK_TTL, WEBCHAT_OFFLINE_TASK_TTL
from tests.support.contact_center import ContactCenter, agent_attributes, build_contact_center, ok
from tests.support.waiting import eventually

SECRET = "s" * 40


async def _public(parley: Any, address_sid: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=parley.base_url) as anonymous:
        return await ok(await anonymous.get("/flex-api/v2/WebChats/Settings", params={"AddressSid": address_sid}))


async def _start(parley: Any, data: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=parley.base_url) as anonymous:
        return await anonymous.post("/flex-api/v2/WebChats", data=data)


async def _tasks(admin: httpx.AsyncClient, center: ContactCenter) -> list[dict[str, Any]]:
    return (await ok(await admin.get(center.path("/Tasks"))))["tasks"]


async def _set(admin: httpx.AsyncClient, center: ContactCenter, data: dict[str, str]) -> httpx.Response:
    return await admin.post(f"/parley/v1/WebChatSettings/{center.address_sid}", data=data)


async def _available(admin: httpx.AsyncClient, center: ContactCenter, name: str) -> None:
    await ok(
        await admin.post(
            center.path(f"/Workers/{center.workers[name]}"), data={"ActivitySid": center.activities["Available"]}
        )
    )


@pytest.fixture
async def center(admin: httpx.AsyncClient) -> ContactCenter:
    return await build_contact_center(admin, agents={"alice": agent_attributes("alice")})


async def test_with_nobody_available_the_customer_leaves_a_message_and_an_email_for_the_first_agent(
    parley, admin, center
) -> None:
    shown = await _public(parley, center.address_sid)
    assert shown["availability"] == "no_agents"  # alice is offline
    assert [f["name"] for f in shown["pre_chat_form"]] == ["name"]
    assert [(f["name"], f["required"]) for f in shown["offline_form"]] == [("name", True), ("email", True)]

    # Without the email the message cannot be answered: refused, nothing written.
    refused = await _start(parley, {"AddressSid": center.address_sid, "CustomerFriendlyName": "Olga", "Message": "Hi"})
    assert refused.status_code == 400 and "email" in refused.json()["message"].lower()
    bad_email = await _start(
        parley,
        {
            "AddressSid": center.address_sid,
            "CustomerFriendlyName": "Olga",
            "Message": "Hi",
            "PreEngagementData": json.dumps({"email": "not-an-address"}),
        },
    )
    assert bad_email.status_code == 400
    assert await _tasks(admin, center) == []

    chat = await ok(
        await _start(
            parley,
            {
                "AddressSid": center.address_sid,
                "CustomerFriendlyName": "Olga",
                "Message": "My order never arrived",
                "PreEngagementData": json.dumps({"email": "olga@example.com"}),
            },
        ),
        201,
    )
    assert chat["offline"] is True and chat["resumed"] is False
    task = await eventually(lambda: _first(admin, center), what="the offline message's task")
    attributes = json.loads(task["attributes"])
    assert attributes["offline"] is True
    assert attributes["customers"]["email"] == "olga@example.com"
    assert attributes["pre_engagement_data"] == {"email": "olga@example.com", "name": "Olga"}
    assert task["timeout"] == WEBCHAT_OFFLINE_TASK_TTL  # waits days, not a live chat's day
    messages = await ok(await admin.get(f"/conversations/v1/Conversations/{chat['conversation_sid']}/Messages"))
    assert [m["body"] for m in messages["messages"]] == ["My order never arrived"]
    assert messages["messages"][0]["author"] == chat["identity"]

    # The first agent to come on is offered it.
    await _available(admin, center, "alice")

    async def offered() -> dict[str, Any] | None:
        listed = await ok(
            await admin.get(
                center.path(f"/Workers/{center.workers['alice']}/Reservations"), params={"ReservationStatus": "pending"}
            )
        )
        return listed["reservations"][0] if listed["reservations"] else None

    reservation = await eventually(offered, what="alice offered the message")
    assert reservation["task_sid"] == task["sid"]
    assert (await _public(parley, center.address_sid))["availability"] == "open"

    # Now that someone can answer, a first message starts a live chat, routed as usual.
    live = await ok(
        await _start(parley, {"AddressSid": center.address_sid, "CustomerFriendlyName": "Pia", "Message": "Hello?"}),
        201,
    )
    assert live["offline"] is False
    live_task = await eventually(lambda: _task_of(admin, center, live["conversation_sid"]), what="the live chat's task")
    assert live_task["timeout"] == DEFAULT_TASK_TTL and "offline" not in json.loads(live_task["attributes"])


async def _first(admin: httpx.AsyncClient, center: ContactCenter) -> dict[str, Any] | None:
    tasks = await _tasks(admin, center)
    return tasks[0] if tasks else None


async def _task_of(admin: httpx.AsyncClient, center: ContactCenter, conversation_sid: str) -> dict[str, Any] | None:
    for task in await _tasks(admin, center):
        if json.loads(task["attributes"]).get("conversationSid") == conversation_sid:
            return task
    return None


async def test_outside_business_hours_the_address_is_closed_and_says_when_it_opens(parley, admin, center) -> None:
    await _available(admin, center, "alice")
    today = datetime.now(UTC).date().isoformat()
    every_day = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "open": "00:00", "close": "23:59"}
    hours = {"time_zone": "UTC", "hours": [every_day], "closed_dates": [today]}
    changed = await ok(await _set(admin, center, {"BusinessHours": json.dumps(hours)}))
    assert changed["business_hours"]["closed_dates"] == [today]
    shown = await _public(parley, center.address_sid)
    assert shown["availability"] == "closed"
    assert shown["next_opening"] is not None and shown["next_opening"][:10] > today
    chat = await ok(
        await _start(
            parley,
            {
                "AddressSid": center.address_sid,
                "CustomerFriendlyName": "Nina",
                "Message": "Are you open tomorrow?",
                "PreEngagementData": json.dumps({"email": "nina@example.com"}),
            },
        ),
        201,
    )
    assert chat["offline"] is True

    # Without the offline form a closed address still starts a chat: the customer waits in the queue.
    await ok(await _set(admin, center, {"OfflineForm": "false"}))
    assert (await _public(parley, center.address_sid))["offline_form"] is None
    waits = await ok(
        await _start(parley, {"AddressSid": center.address_sid, "CustomerFriendlyName": "Ola", "Message": "Hi"}), 201
    )
    assert waits["offline"] is False

    # Back to the defaults: open again.
    async with httpx.AsyncClient(base_url=parley.base_url, auth=admin.auth) as same:
        assert (await same.delete(f"/parley/v1/WebChatSettings/{center.address_sid}")).status_code == 204
    assert (await _public(parley, center.address_sid))["availability"] == "open"


async def test_a_configured_pre_chat_form_is_what_the_widget_shows_and_what_the_api_accepts(
    parley, admin, center
) -> None:
    form = [
        {"name": "name", "label": "Your name", "required": True},
        {"name": "topic", "label": "Topic", "type": "select", "options": ["Billing", "Orders"], "required": True},
        {"name": "phone", "label": "Phone", "type": "tel"},
    ]
    await ok(await _set(admin, center, {"PreChatForm": json.dumps(form)}))
    shown = await _public(parley, center.address_sid)
    assert [(f["name"], f["type"], f["required"]) for f in shown["pre_chat_form"]] == [
        ("name", "text", True),
        ("topic", "select", True),
        ("phone", "tel", False),
    ]
    assert shown["pre_chat_form"][1]["options"] == ["Billing", "Orders"]

    def start(data: dict[str, Any]) -> dict[str, str]:
        return {"AddressSid": center.address_sid, "PreEngagementData": json.dumps(data)}

    for bad, why in (
        ({"name": "Ivy"}, "Topic is required"),
        ({"name": "Ivy", "topic": "Refunds"}, "Topic must be one of"),
        ({"name": "Ivy", "topic": "Billing", "phone": "call me"}, "Phone must be a phone number"),
        ({"name": "Ivy", "topic": "Billing", "shoe_size": "42"}, "fields the form does not"),
    ):
        answer = await _start(parley, start(bad))
        assert answer.status_code == 400, bad
        assert why in answer.json()["message"]
    started = await ok(await _start(parley, start({"name": " Ivy ", "topic": "Billing"})), 201)
    conversation = await ok(await admin.get(f"/conversations/v1/Conversations/{started['conversation_sid']}"))
    assert json.loads(conversation["attributes"])["pre_engagement_data"] == {"name": "Ivy", "topic": "Billing"}
    assert conversation["friendly_name"] == "Chat with Ivy"


async def test_bad_settings_are_refused_whole_and_the_secret_is_never_answered(parley, admin, center) -> None:
    for data, why in (
        ({"BusinessHours": json.dumps({"time_zone": "Mars/Olympus", "hours": []})}, "time_zone"),
        (
            {
                "BusinessHours": json.dumps(
                    {"time_zone": "UTC", "hours": [{"days": ["mon"], "open": "17:00", "close": "09:00"}]}
                )
            },
            "close",
        ),
        ({"PreChatForm": json.dumps([{"name": "Bad Name", "label": "x"}])}, "field name"),
        ({"PreChatForm": json.dumps([{"name": "a", "label": "A", "type": "select"}])}, "options"),
        ({"IdentitySecret": "short"}, "at least 32"),
        ({"IdentityRequired": "true"}, "IdentitySecret"),
        ({"PreChatForm": json.dumps([{"name": "name", "label": "A"}, {"name": "name", "label": "B"}])}, "unique"),
    ):
        answer = await _set(admin, center, data)
        assert answer.status_code == 400, (data, answer.text)
        assert why in answer.json()["message"], answer.json()["message"]
    current = await ok(await admin.get(f"/parley/v1/WebChatSettings/{center.address_sid}"))
    assert current["business_hours"] is None and current["pre_chat_form"] is None
    assert current["identity_secret_set"] is False

    stored = await ok(await _set(admin, center, {"IdentitySecret": SECRET}))
    assert stored["identity_secret_set"] is True and SECRET not in json.dumps(stored)
    cleared = await ok(await _set(admin, center, {"IdentitySecret": ""}))
    assert cleared["identity_secret_set"] is False

    sms = await ok(
        await admin.post(
            "/conversations/v1/Configuration/Addresses",
            data={"Type": "sms", "Address": "+15550001111", "AutoCreation.Enabled": "true"},
        ),
        201,
    )
    assert (await admin.get(f"/parley/v1/WebChatSettings/{sms['sid']}")).status_code == 400
    assert (await admin.get(f"/parley/v1/WebChatSettings/IG{'0' * 32}")).status_code == 404


def _identity_token(sub: str, *, secret: str = SECRET, ttl: int = 600, **claims: Any) -> str:
    now = int(time.time())
    return jwt.encode({"sub": sub, "iat": now, "exp": now + ttl, **claims}, secret, algorithm="HS256")


async def test_a_signed_in_customer_is_identified_and_finds_its_open_chat_on_another_device(
    parley, admin, center
) -> None:
    await ok(await _set(admin, center, {"IdentitySecret": SECRET, "IdentityRequired": "true"}))
    assert (await _public(parley, center.address_sid))["identity_required"] is True
    anonymous = await _start(parley, {"AddressSid": center.address_sid, "CustomerFriendlyName": "Anon"})
    assert anonymous.status_code == 401

    token = _identity_token("cust-42", name="Quinn Doe", email="quinn@example.com", aud=center.address_sid)
    first = await ok(await _start(parley, {"AddressSid": center.address_sid, "IdentityToken": token}), 201)
    assert first["identity"].startswith("webchat-u-") and "cust-42" not in first["identity"]
    assert first["resumed"] is False
    participants = await ok(
        await admin.get(f"/conversations/v1/Conversations/{first['conversation_sid']}/Participants")
    )
    customer = json.loads(participants["participants"][0]["attributes"])
    assert customer == {
        "role": "customer",
        "friendly_name": "Quinn Doe",
        "email": "quinn@example.com",
        "customer_id": "cust-42",
        "verified": True,
    }

    # The same customer on another device (a new token, a new widget): the same chat, not a second one.
    again = await ok(
        await _start(parley, {"AddressSid": center.address_sid, "IdentityToken": _identity_token("cust-42")}), 201
    )
    assert again["resumed"] is True
    assert (again["conversation_sid"], again["identity"]) == (first["conversation_sid"], first["identity"])
    other = await ok(
        await _start(
            parley,
            {"AddressSid": center.address_sid, "IdentityToken": _identity_token("cust-43", aud=[center.address_sid])},
        ),
        201,
    )
    assert other["conversation_sid"] != first["conversation_sid"]

    for forged in (
        _identity_token("cust-42", secret="x" * 40),  # not signed with the address's secret
        _identity_token("cust-42", ttl=-60),  # expired
        _identity_token("cust-42", ttl=3 * 86_400),  # valid far too long: a leaked one would be forever
        _identity_token("cust-42", aud="IG" + "1" * 32),  # minted for another address
        _identity_token("cust-42", aud=f"x{center.address_sid}x"),  # a string that merely contains the SID
        _identity_token("cust-42", aud=["IG" + "1" * 32]),
    ):
        refused = await _start(parley, {"AddressSid": center.address_sid, "IdentityToken": forged})
        assert refused.status_code == 401, refused.text
