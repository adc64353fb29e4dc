"""Form parameters are parsed by typed models (and so documented in the OpenAPI), and a bad one is a 400 with
Twilio's error body naming the parameter and what is wrong with it. Nothing is written when it is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from domain.sids import SidPrefix, new_sid

WORKSPACES = "/taskrouter/v1/Workspaces"


@pytest.fixture
async def ws(admin: httpx.AsyncClient) -> AsyncIterator[str]:
    created = await admin.post(WORKSPACES, data={"FriendlyName": f"forms-{new_sid(SidPrefix.WORKSPACE)[-8:]}"})
    assert created.status_code == 201, created.text
    yield created.json()["sid"]
    await admin.delete(f"{WORKSPACES}/{created.json()['sid']}")


def refused(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body == {
        "code": 20001,
        "message": message,
        "more_info": "https://www.twilio.com/docs/errors/20001",
        "status": 400,
    }


async def test_each_kind_of_bad_parameter_says_what_is_wrong(admin: httpx.AsyncClient, ws: str) -> None:
    workers = f"{WORKSPACES}/{ws}/Workers"
    refused(await admin.post(workers, data={}), "Missing required parameter FriendlyName in the post body")
    refused(await admin.post(workers, data={"FriendlyName": "   "}), "Parameter 'FriendlyName' must not be empty")
    refused(
        await admin.post(workers, data={"FriendlyName": "x" * 65}),
        "Parameter 'FriendlyName' must be at most 64 characters",
    )
    refused(
        await admin.post(workers, data={"FriendlyName": "ann", "Attributes": "[1]"}),
        "Parameter 'Attributes' must be a JSON object",
    )
    refused(
        await admin.post(workers, data={"FriendlyName": "ann", "Attributes": "{"}),
        "Parameter 'Attributes' is not valid JSON: Expecting property name enclosed in double quotes at position 1",
    )
    refused(
        await admin.post(workers, data={"FriendlyName": "ann", "ActivitySid": "WK" + "0" * 32}),
        f"Parameter 'ActivitySid' must be a WA SID, got 'WK{'0' * 32}'",
    )
    queues = f"{WORKSPACES}/{ws}/TaskQueues"
    refused(
        await admin.post(queues, data={"FriendlyName": "Q", "MaxReservedWorkers": "51"}),
        "Parameter 'MaxReservedWorkers' must be at most 50",
    )
    refused(
        await admin.post(queues, data={"FriendlyName": "Q", "MaxReservedWorkers": "0"}),
        "Parameter 'MaxReservedWorkers' must be at least 1",
    )
    refused(
        await admin.post(queues, data={"FriendlyName": "Q", "MaxReservedWorkers": "two"}),
        "Parameter 'MaxReservedWorkers' must be an integer, got 'two'",
    )
    refused(
        await admin.post(queues, data={"FriendlyName": "Q", "TaskOrder": "random"}),
        "Parameter 'TaskOrder' must be one of FIFO, LIFO; got 'random'",
    )
    refused(
        await admin.post(f"{WORKSPACES}/{ws}/Activities", data={"FriendlyName": "Lunch", "Available": "maybe"}),
        "Parameter 'Available' must be true or false, got 'maybe'",
    )
    listing = (await admin.get(workers)).json()
    assert listing["workers"] == []  # nothing was written
    assert [q["friendly_name"] for q in (await admin.get(queues)).json()["task_queues"]] == []


async def test_enums_and_booleans_match_whatever_their_case(admin: httpx.AsyncClient, ws: str) -> None:
    queue = await admin.post(f"{WORKSPACES}/{ws}/TaskQueues", data={"FriendlyName": "Late", "TaskOrder": "lifo"})
    assert queue.status_code == 201 and queue.json()["task_order"] == "LIFO"
    activity = await admin.post(f"{WORKSPACES}/{ws}/Activities", data={"FriendlyName": "On", "Available": "TRUE"})
    assert activity.status_code == 201 and activity.json()["available"] is True


async def test_unknown_parameters_are_ignored_as_twilio_does(admin: httpx.AsyncClient, ws: str) -> None:
    created = await admin.post(f"{WORKSPACES}/{ws}/Activities", data={"FriendlyName": "Tea", "Colour": "green"})
    assert created.status_code == 201


async def test_an_empty_target_workers_means_no_worker_ever_matches(admin: httpx.AsyncClient, ws: str) -> None:
    queue = (await admin.post(f"{WORKSPACES}/{ws}/TaskQueues", data={"FriendlyName": "Everyone"})).json()
    assert queue["target_workers"] == "1==1"
    worker = await admin.post(f"{WORKSPACES}/{ws}/Workers", data={"FriendlyName": "zed"})
    assert worker.status_code == 201
    members = await admin.get(f"{WORKSPACES}/{ws}/Workers", params={"TaskQueueSid": queue["sid"]})
    assert [w["friendly_name"] for w in members.json()["workers"]] == ["zed"]
    emptied = await admin.post(f"{WORKSPACES}/{ws}/TaskQueues/{queue['sid']}", data={"TargetWorkers": ""})
    assert emptied.status_code == 200 and emptied.json()["target_workers"] == ""
    members = await admin.get(f"{WORKSPACES}/{ws}/Workers", params={"TaskQueueSid": queue["sid"]})
    assert members.json()["workers"] == []


async def test_every_form_parameter_is_in_the_openapi_document(admin: httpx.AsyncClient) -> None:
    document = (await admin.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    create_worker = document["paths"]["/taskrouter/v1/Workspaces/{workspace_sid}/Workers"]["post"]
    body = create_worker["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    properties = schemas[body["$ref"].rsplit("/", 1)[-1]]["properties"]
    assert set(properties) == {"FriendlyName", "Attributes", "ActivitySid"}
    assert properties["FriendlyName"]["description"]
    # Every operation that takes parameters in its body documents them.
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "post" and path not in ("/parley/v1/Outbox/DeadLetters/{row_id}",):
                assert "requestBody" in operation, (method, path)
                content = operation["requestBody"]["content"]
                # Twilio's spec gives Interactions transfers and the bulk queue statistics a JSON body, as
                # Temporal's codec protocol does; a media upload is the file itself; every other body is a form.
                if path.startswith("/mcs/"):
                    assert "image/png" in content and "application/x-www-form-urlencoded" not in content, path
                    continue
                json_bodied = (
                    "/Transfers" in path
                    or path.endswith("/TaskQueues/RealTimeStatistics")
                    or path.startswith("/codec/")
                )
                wanted = "application/json" if json_bodied else "application/x-www-form-urlencoded"
                assert wanted in content, (method, path)
