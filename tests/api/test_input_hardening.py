"""Input no layer below can hold is refused at the edge with a Twilio 400 that writes nothing: a NUL anywhere
(path, query, form, JSON, a WebSocket frame) and a body that is not UTF-8. Each was a 500 before."""

from __future__ import annotations

import httpx

from tests.support.contact_center import ok


async def test_nul_and_bad_utf8_are_a_400_and_nothing_is_written(admin: httpx.AsyncClient, parley):
    before = len(
        (await ok(await admin.get("/conversations/v1/Conversations", params={"PageSize": "100"})))["conversations"]
    )
    form = await admin.post("/conversations/v1/Conversations", data={"FriendlyName": "a\x00b"})
    assert form.status_code == 400 and form.json()["code"] == 20001 and "NUL" in form.json()["message"]
    path = await admin.get("/conversations/v1/Conversations/CH%00x")
    assert path.status_code == 400
    query = await admin.get("/conversations/v1/Conversations", params={"State": "active\x00"})
    assert query.status_code == 400
    latin1 = await admin.post(
        "/conversations/v1/Conversations",
        content="FriendlyName=caf\xe9".encode("latin-1"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert latin1.status_code == 400 and "UTF-8" in latin1.json()["message"]
    encoded = await admin.post(
        "/conversations/v1/Conversations",
        content=b"FriendlyName=caf%E9",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert encoded.status_code == 400
    transfer_json = await admin.post(
        "/flex-api/v1/Interactions/KD" + "0" * 32 + "/Channels/UO" + "0" * 32 + "/Transfers",
        json={"type": "cold", "from": "UT\u0000", "to": "WK1"},
    )
    assert transfer_json.status_code == 400 and "NUL" in transfer_json.json()["message"]
    # A well-formed request still works, on the same keep-alive connection.
    created = await ok(await admin.post("/conversations/v1/Conversations", data={"FriendlyName": "café ✓"}), 201)
    assert created["friendly_name"] == "café ✓"
    after = len(
        (await ok(await admin.get("/conversations/v1/Conversations", params={"PageSize": "100"})))["conversations"]
    )
    assert after == before + 1
