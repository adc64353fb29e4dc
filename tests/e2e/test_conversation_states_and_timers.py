"""Conversation states and timers over REST, with Twilio's rules and error codes: not created closed (50384),
timers only with a State (50382), closed is final (50404) and read-only (50407), the timers' deadlines in
`timers` moved on by each message, and the account's default timers and service from `/Configuration`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from storage.accounts.service import create_account
from tests.support.contact_center import ok

CONVERSATIONS = "/conversations/v1/Conversations"


@pytest.fixture
async def api(parley, db) -> AsyncIterator[httpx.AsyncClient]:
    async with db.unit() as uow:
        tenant = await create_account(uow, friendly_name="States and timers")
    async with httpx.AsyncClient(
        base_url=parley.base_url, auth=(tenant.account_sid, tenant.auth_token), timeout=30
    ) as client:
        yield client


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_creation_rules(api: httpx.AsyncClient):
    closed = await api.post(CONVERSATIONS, data={"State": "closed"})
    assert closed.status_code == 400 and closed.json()["code"] == 50384
    no_state = await api.post(CONVERSATIONS, data={"Timers.Inactive": "PT5M"})
    assert no_state.status_code == 400 and no_state.json()["code"] == 50382
    too_short = await api.post(CONVERSATIONS, data={"State": "active", "Timers.Inactive": "PT30S"})
    assert too_short.status_code == 400 and "PT1M" in too_short.json()["message"]
    closed_too_short = await api.post(CONVERSATIONS, data={"State": "active", "Timers.Closed": "PT5M"})
    assert closed_too_short.status_code == 400 and "PT10M" in closed_too_short.json()["message"]
    garbage = await api.post(CONVERSATIONS, data={"State": "active", "Timers.Inactive": "five minutes"})
    assert garbage.status_code == 400 and "ISO 8601" in garbage.json()["message"]
    listed = await ok(await api.get(CONVERSATIONS))
    assert listed["conversations"] == []  # nothing was written by any of them

    plain = await ok(await api.post(CONVERSATIONS, data={}), 201)
    assert plain["state"] == "active" and plain["timers"] == {}
    dated = await ok(
        await api.post(CONVERSATIONS, data={"DateCreated": "2025-01-02T03:04:05Z", "FriendlyName": "imported"}), 201
    )
    assert dated["date_created"] == "2025-01-02T03:04:05Z" and dated["date_updated"] == "2025-01-02T03:04:05Z"


async def test_timers_deadlines_and_messages_move_them(api: httpx.AsyncClient):
    created = await ok(
        await api.post(CONVERSATIONS, data={"State": "active", "Timers.Inactive": "PT5M", "Timers.Closed": "P1D"}),
        201,
    )
    timers = created["timers"]
    assert at(timers["date_closed"]) > at(timers["date_inactive"]) > at(created["date_created"])
    assert (at(timers["date_inactive"]) - at(created["date_created"])).total_seconds() == pytest.approx(300, abs=5)
    path = f"{CONVERSATIONS}/{created['sid']}"
    await ok(await api.post(f"{path}/Messages", data={"Body": "still here"}), 201)
    moved = (await ok(await api.get(path)))["timers"]
    assert at(moved["date_inactive"]) >= at(timers["date_inactive"])

    # Inactive: only the closed timer runs; a message makes it active again with both.
    inactive = await ok(await api.post(path, data={"State": "inactive"}))
    assert "date_inactive" not in inactive["timers"] and "date_closed" in inactive["timers"]
    await ok(await api.post(f"{path}/Messages", data={"Body": "back"}), 201)
    again = await ok(await api.get(path))
    assert again["state"] == "active" and set(again["timers"]) == {"date_inactive", "date_closed"}


async def test_closed_is_final_and_read_only(api: httpx.AsyncClient):
    created = await ok(await api.post(CONVERSATIONS, data={"FriendlyName": "to close"}), 201)
    path = f"{CONVERSATIONS}/{created['sid']}"
    message = await ok(await api.post(f"{path}/Messages", data={"Body": "last words"}), 201)
    await ok(await api.post(f"{path}/Participants", data={"Identity": "kim"}), 201)
    closed = await ok(await api.post(path, data={"State": "closed"}))
    assert closed["state"] == "closed" and closed["timers"] == {}

    reopen = await api.post(path, data={"State": "active"})
    assert reopen.status_code == 400 and reopen.json()["code"] == 50404
    rename = await api.post(path, data={"FriendlyName": "renamed"})
    assert rename.status_code == 409 and rename.json()["code"] == 50407
    write = await api.post(f"{path}/Messages", data={"Body": "more"})
    assert write.status_code == 409 and write.json()["code"] == 50407
    edit = await api.post(f"{path}/Messages/{message['sid']}", data={"Body": "edited"})
    assert edit.status_code == 409 and edit.json()["code"] == 50407
    member = await api.post(f"{path}/Participants/kim", data={"Attributes": "{}"})
    assert member.status_code == 409 and member.json()["code"] == 50407
    assert (await ok(await api.get(path)))["friendly_name"] == "to close"


async def test_account_configuration_sets_default_timers_and_service(api: httpx.AsyncClient, account):
    config = await ok(await api.get("/conversations/v1/Configuration"))
    assert config["default_chat_service_sid"].startswith("IS") and config["default_inactive_timer"] is None
    assert config["links"]["webhooks"].endswith("/conversations/v1/Configuration/Webhooks")
    updated = await ok(
        await api.post(
            "/conversations/v1/Configuration",
            data={"DefaultInactiveTimer": "PT2M", "DefaultClosedTimer": "PT30M"},
        )
    )
    assert (updated["default_inactive_timer"], updated["default_closed_timer"]) == ("PT2M", "PT30M")
    created = await ok(await api.post(CONVERSATIONS, data={}), 201)
    assert set(created["timers"]) == {"date_inactive", "date_closed"}
    assert (at(created["timers"]["date_closed"]) - at(created["date_created"])).total_seconds() == pytest.approx(
        1800, abs=5
    )
    bad = await api.post("/conversations/v1/Configuration", data={"DefaultInactiveTimer": "PT10S"})
    assert bad.status_code == 400
    # Another account's service is not this account's to make its default.
    async with httpx.AsyncClient(base_url=str(api.base_url), auth=(account.account_sid, account.auth_token)) as other:
        theirs = (await ok(await other.get("/conversations/v1/Configuration")))["default_chat_service_sid"]
    stolen = await api.post("/conversations/v1/Configuration", data={"DefaultChatServiceSid": theirs})
    assert stolen.status_code == 404
    assert (await ok(await api.get("/conversations/v1/Configuration")))["default_chat_service_sid"] != theirs


async def test_conversation_with_participants_is_all_or_nothing(api: httpx.AsyncClient):
    participants = [
        json.dumps({"identity": "ana", "attributes": {"vip": True}}),
        json.dumps({"messaging_binding": {"address": "+15550100001", "proxy_address": "+15550199999"}}),
    ]
    created = await ok(
        await api.post(
            "/conversations/v1/ConversationWithParticipants",
            data={"FriendlyName": "group", "Participant": participants},
        ),
        201,
    )
    members = (await ok(await api.get(f"{CONVERSATIONS}/{created['sid']}/Participants")))["participants"]
    assert {(p["identity"], (p["messaging_binding"] or {}).get("address")) for p in members} == {
        ("ana", None),
        (None, "+15550100001"),
    }
    assert json.loads(next(p for p in members if p["identity"] == "ana")["attributes"]) == {"vip": True}

    # The same customer and proxy address cannot be in two open conversations (50416); nothing is written.
    again = await api.post(
        "/conversations/v1/ConversationWithParticipants",
        data={"FriendlyName": "duplicate", "Participant": [json.dumps({"identity": "bo"}), participants[1]]},
    )
    assert again.status_code == 409 and again.json()["code"] == 50416
    bad = await api.post(
        "/conversations/v1/ConversationWithParticipants",
        data={"FriendlyName": "broken", "Participant": ["{not json"]},
    )
    assert bad.status_code == 400
    both = await api.post(
        "/conversations/v1/ConversationWithParticipants",
        data={
            "Participant": json.dumps(
                {"identity": "x", "messaging_binding": {"address": "+1555", "proxy_address": "+1"}}
            )
        },
    )
    assert both.status_code == 400 and both.json()["code"] == 50402
    too_many = await api.post(
        "/conversations/v1/ConversationWithParticipants",
        data={"Participant": [json.dumps({"identity": f"p{n}"}) for n in range(11)]},
    )
    assert too_many.status_code == 400
    names = {c["friendly_name"] for c in (await ok(await api.get(CONVERSATIONS)))["conversations"]}
    assert names == {"group"}


async def test_an_import_keeps_its_original_times(api: httpx.AsyncClient):
    created = await ok(await api.post(CONVERSATIONS, data={"DateCreated": "2024-05-01T10:00:00Z"}), 201)
    path = f"{CONVERSATIONS}/{created['sid']}"
    member = await ok(
        await api.post(f"{path}/Participants", data={"Identity": "old", "DateCreated": "2024-05-01T10:01:00Z"}), 201
    )
    assert member["date_created"] == "2024-05-01T10:01:00Z" and member["date_updated"] == "2024-05-01T10:01:00Z"
    message = await ok(
        await api.post(
            f"{path}/Messages",
            data={"Body": "from the old system", "Author": "old", "DateCreated": "2024-05-01T10:02:00Z"},
        ),
        201,
    )
    assert message["date_created"] == "2024-05-01T10:02:00Z" and message["participant_sid"] == member["sid"]
