"""A conversation's UniqueName over REST, as Twilio has it: usable in place of the SID, unique in its service
(409 / 50353 on create and on update), changed or removed by an update. The name is sealed in the database and
found by its blind index (docs/security/encryption-at-rest.md, "Unique names"); none of that shows here."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest

from domain.sids import SidPrefix, new_sid
from storage.accounts.service import Credentials, create_account
from tests.support.contact_center import ok

CONVERSATIONS = "/conversations/v1/Conversations"


@pytest.fixture
async def tenant(db) -> Credentials:
    async with db.unit() as uow:
        return await create_account(uow, friendly_name="Unique names")


@pytest.fixture
async def api(parley, tenant: Credentials) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=parley.base_url, auth=(tenant.account_sid, tenant.auth_token), timeout=30
    ) as client:
        yield client


def _conflict(response: httpx.Response, name: str) -> None:
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["code"] == 50353 and body["status"] == 409
    assert body["message"] == f"Conversation with unique name '{name}' already exists"


async def test_a_unique_name_addresses_the_conversation_and_is_unique_in_its_service(api: httpx.AsyncClient):
    name = f"ticket {secrets.token_hex(3)} Gia Rossi"
    created = await ok(await api.post(CONVERSATIONS, data={"UniqueName": name, "FriendlyName": "Gia"}), 201)
    assert created["unique_name"] == name
    path = f"{CONVERSATIONS}/{quote(name)}"
    fetched = await ok(await api.get(path))
    assert (fetched["sid"], fetched["unique_name"], fetched["friendly_name"]) == (created["sid"], name, "Gia")
    # Everything under the conversation takes the name too.
    await ok(await api.post(f"{path}/Messages", data={"Author": "ops", "Body": "hello"}), 201)
    assert [m["body"] for m in (await ok(await api.get(f"{path}/Messages")))["messages"]] == ["hello"]
    listed = (await ok(await api.get(CONVERSATIONS)))["conversations"]
    assert [c["unique_name"] for c in listed if c["sid"] == created["sid"]] == [name]

    # Taken: on create and on update.
    _conflict(await api.post(CONVERSATIONS, data={"UniqueName": name}), name)
    other = await ok(await api.post(CONVERSATIONS, data={"FriendlyName": "other"}), 201)
    _conflict(await api.post(f"{CONVERSATIONS}/{other['sid']}", data={"UniqueName": name}), name)
    assert (await ok(await api.get(f"{CONVERSATIONS}/{other['sid']}")))["unique_name"] is None
    # Its own name again is no conflict.
    assert (await ok(await api.post(path, data={"UniqueName": name})))["unique_name"] == name

    # Renamed: the new name finds it, the old one no longer does and is free again.
    renamed = f"{name}-2"
    updated = await ok(await api.post(f"{CONVERSATIONS}/{created['sid']}", data={"UniqueName": renamed}))
    assert updated["unique_name"] == renamed and updated["friendly_name"] == "Gia"
    gone = await api.get(path)
    assert gone.status_code == 404 and gone.json()["code"] == 20404
    assert (await ok(await api.post(f"{CONVERSATIONS}/{other['sid']}", data={"UniqueName": name})))[
        "unique_name"
    ] == name
    assert (await ok(await api.get(path)))["sid"] == other["sid"]

    # An empty UniqueName removes it; the conversation is still there by SID, and the name is free.
    cleared = await ok(await api.post(f"{CONVERSATIONS}/{created['sid']}", data={"UniqueName": ""}))
    assert cleared["unique_name"] is None and cleared["friendly_name"] == "Gia"
    assert (await ok(await api.get(f"{CONVERSATIONS}/{created['sid']}")))["unique_name"] is None
    assert (await api.get(f"{CONVERSATIONS}/{quote(renamed)}")).status_code == 404
    again = await ok(await api.post(CONVERSATIONS, data={"UniqueName": renamed}), 201)
    assert (await ok(await api.get(f"{CONVERSATIONS}/{quote(renamed)}")))["sid"] == again["sid"]
    # An update that does not send UniqueName leaves it alone.
    assert (await ok(await api.post(f"{CONVERSATIONS}/{again['sid']}", data={"FriendlyName": "x"})))[
        "unique_name"
    ] == renamed


async def test_a_unique_name_is_the_services_own_and_a_sid_shaped_one_still_works(api: httpx.AsyncClient):
    service = await ok(
        await api.post("/conversations/v1/Services", data={"FriendlyName": "second"}),
        201,
    )
    name = f"shared-{secrets.token_hex(3)}"
    in_default = await ok(await api.post(CONVERSATIONS, data={"UniqueName": name}), 201)
    scoped = f"/conversations/v1/Services/{service['sid']}/Conversations"
    in_other = await ok(await api.post(scoped, data={"UniqueName": name}), 201)
    assert in_other["sid"] != in_default["sid"]
    assert (await ok(await api.get(f"{CONVERSATIONS}/{name}")))["sid"] == in_default["sid"]
    assert (await ok(await api.get(f"{scoped}/{name}")))["sid"] == in_other["sid"]

    # A name shaped like a conversation SID: looked up by SID first, then by name.
    shaped = new_sid(SidPrefix.CONVERSATION)
    named = await ok(await api.post(CONVERSATIONS, data={"UniqueName": shaped}), 201)
    assert (await ok(await api.get(f"{CONVERSATIONS}/{shaped}")))["sid"] == named["sid"]
    missing = await api.get(f"{CONVERSATIONS}/{new_sid(SidPrefix.CONVERSATION)}")
    assert missing.status_code == 404
