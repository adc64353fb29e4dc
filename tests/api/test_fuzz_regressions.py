"""Inputs found by fuzzing (tests/api/test_fuzz.py) or reported as 500s, each replayed as one plain request:
the answer is a Twilio 4xx that names the parameter, and the resource it aimed at is still whole afterwards.
The fuzzer's random cases may never hit these exact values again; these tests do, every run."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from domain.sids import SidPrefix, new_sid
from tests.support.contact_center import ok

WORKSPACES = "/taskrouter/v1/Workspaces"
CONVERSATIONS = "/conversations/v1/Conversations"
# Past year 9999 once in UTC, and before year 1: PostgreSQL stores both, Python cannot read either back.
AFTER_YEAR_9999 = "9999-12-31T23:59:59-14:00"
BEFORE_YEAR_1 = "0001-01-01T00:00:00+14:00"


def refused(response: httpx.Response, message: str, *, status: int = 400, code: int = 20001) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def out_of_range(name: str, value: str) -> str:
    return f"Parameter '{name}' must fall within years 1-9999 in UTC, got '{value}'"


@pytest.fixture
async def ws(admin: httpx.AsyncClient) -> AsyncIterator[str]:
    created = await ok(
        await admin.post(WORKSPACES, data={"FriendlyName": f"fuzz-{new_sid(SidPrefix.WORKSPACE)[-8:]}"}), 201
    )
    yield created["sid"]
    await admin.delete(f"{WORKSPACES}/{created['sid']}")


async def _workflow(admin: httpx.AsyncClient, ws: str) -> str:
    queue = await ok(await admin.post(f"{WORKSPACES}/{ws}/TaskQueues", data={"FriendlyName": "All"}), 201)
    configuration = json.dumps({"task_routing": {"filters": [], "default_filter": {"queue": queue["sid"]}}})
    workflow = await ok(
        await admin.post(f"{WORKSPACES}/{ws}/Workflows", data={"FriendlyName": "All", "Configuration": configuration}),
        201,
    )
    return workflow["sid"]


async def test_a_date_past_year_9999_in_utc_is_a_400_and_the_conversation_stays_readable(
    admin: httpx.AsyncClient,
) -> None:
    # Was a 500 after the row was written: every later read of the conversation was a 500 too.
    conversation = await ok(await admin.post(CONVERSATIONS, data={"FriendlyName": "Dates"}), 201)
    path = f"{CONVERSATIONS}/{conversation['sid']}"
    for name in ("DateCreated", "DateUpdated"):
        refused(await admin.post(path, data={name: AFTER_YEAR_9999}), out_of_range(name, AFTER_YEAR_9999))
        refused(await admin.post(path, data={name: BEFORE_YEAR_1}), out_of_range(name, BEFORE_YEAR_1))
    fetched = await ok(await admin.get(path))
    assert fetched["date_created"] == conversation["date_created"]
    refused(
        await admin.post(CONVERSATIONS, data={"DateCreated": AFTER_YEAR_9999}),
        out_of_range("DateCreated", AFTER_YEAR_9999),
    )
    refused(
        await admin.post(f"{path}/Messages", data={"Body": "hi", "DateCreated": AFTER_YEAR_9999}),
        out_of_range("DateCreated", AFTER_YEAR_9999),
    )
    participant = await ok(await admin.post(f"{path}/Participants", data={"Identity": "dates"}), 201)
    refused(
        await admin.post(f"{path}/Participants/{participant['sid']}", data={"LastReadTimestamp": AFTER_YEAR_9999}),
        out_of_range("LastReadTimestamp", AFTER_YEAR_9999),
    )
    assert (await ok(await admin.get(f"{path}/Messages")))["messages"] == []
    # The edges themselves, in UTC, are fine.
    edge = await ok(await admin.post(path, data={"DateCreated": "9999-12-31T23:59:59Z"}))
    assert edge["date_created"] == "9999-12-31T23:59:59Z"


async def test_a_virtual_start_time_before_year_1_in_utc_is_a_400(admin: httpx.AsyncClient, ws: str) -> None:
    workflow = await _workflow(admin, ws)
    refused(
        await admin.post(f"{WORKSPACES}/{ws}/Tasks", data={"WorkflowSid": workflow, "VirtualStartTime": BEFORE_YEAR_1}),
        out_of_range("VirtualStartTime", BEFORE_YEAR_1),
    )
    assert (await ok(await admin.get(f"{WORKSPACES}/{ws}/Tasks")))["tasks"] == []


async def test_integers_beyond_their_column_are_a_400(admin: httpx.AsyncClient, ws: str) -> None:
    worker = await ok(await admin.post(f"{WORKSPACES}/{ws}/Workers", data={"FriendlyName": "ints"}), 201)
    channel = f"{WORKSPACES}/{ws}/Workers/{worker['sid']}/Channels/default"
    refused(await admin.post(channel, data={"Capacity": str(2**31)}), "Parameter 'Capacity' must be at most 50")
    assert (await ok(await admin.get(channel)))["configured_capacity"] == 1

    workflow = await _workflow(admin, ws)
    tasks = f"{WORKSPACES}/{ws}/Tasks"
    refused(
        await admin.post(tasks, data={"WorkflowSid": workflow, "Priority": str(2**31)}),
        "Parameter 'Priority' must be at most 2147483647",
    )
    refused(await admin.get(tasks, params={"Priority": str(2**31)}), "Parameter 'Priority' must be at most 2147483647")
    refused(await admin.get(tasks, params={"Priority": str(2**63)}), "Parameter 'Priority' must be at most 2147483647")
    refused(await admin.get(tasks, params={"Priority": "-1"}), "Parameter 'Priority' must be at least 0")
    task = await ok(await admin.post(tasks, data={"WorkflowSid": workflow}), 201)
    refused(
        await admin.post(f"{tasks}/{task['sid']}", data={"Priority": str(2**31)}),
        "Parameter 'Priority' must be at most 2147483647",
    )
    assert (await ok(await admin.get(f"{tasks}/{task['sid']}")))["priority"] == 0


async def test_pages_beyond_bigint_are_a_400(admin: httpx.AsyncClient, ws: str) -> None:
    for path, max_size in ((f"{WORKSPACES}/{ws}/Workers", 1000), (CONVERSATIONS, 100)):
        refused(await admin.get(path, params={"Page": str(10**30)}), "Parameter 'Page' must be at most 1000000000")
        refused(await admin.get(path, params={"Page": "-1"}), "Parameter 'Page' must be at least 0")
        refused(
            await admin.get(path, params={"PageSize": str(2**63)}), f"Parameter 'PageSize' must be at most {max_size}"
        )
        token = "PT" + "9" * 30
        refused(await admin.get(path, params={"PageToken": token}), f"Invalid PageToken '{token}'")
        # The largest page and offset allowed still answer, with an empty page.
        last = await ok(await admin.get(path, params={"Page": "1000000000", "PageToken": "PT" + "9" * 18}))
        assert last["meta"]["page"] == 1000000000


async def test_a_duplicate_unique_name_on_update_is_a_409(admin: httpx.AsyncClient) -> None:
    name = f"taken-{new_sid(SidPrefix.CONVERSATION)[-8:]}"
    await ok(await admin.post(CONVERSATIONS, data={"UniqueName": name}), 201)
    other = await ok(await admin.post(CONVERSATIONS, data={"FriendlyName": "other"}), 201)
    refused(
        await admin.post(f"{CONVERSATIONS}/{other['sid']}", data={"UniqueName": name}),
        f"Conversation with unique name '{name}' already exists",
        status=409,
        code=50353,
    )
    assert (await ok(await admin.get(f"{CONVERSATIONS}/{other['sid']}")))["unique_name"] is None
