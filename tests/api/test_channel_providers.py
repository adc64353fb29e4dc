"""Parley's provider admin API, `/parley/v1/ChannelProviders`: an account's connections to messaging providers
(credentials sealed, never answered) and the business addresses (senders) each carries."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest

from storage.bootstrap import create_account
from storage.channels.tables import ChannelProviderRow
from storage.db import Database
from tests.support.contact_center import ok

PROVIDERS = "/parley/v1/ChannelProviders"


def _credentials(kind: str, secret: str | None = None) -> dict[str, str]:
    secret = secret or secrets.token_hex(16)
    if kind == "twilio":
        return {"account_sid": "AC" + secrets.token_hex(16), "auth_token": secret}
    if kind == "whatsapp_cloud":
        return {"phone_number_id": "1098", "access_token": secret, "app_secret": "a" + secret, "verify_token": "v"}
    return {"page_id": "1234567", "page_access_token": secret, "app_secret": "a" + secret, "verify_token": "v"}


async def _provider(admin: httpx.AsyncClient, kind: str = "twilio", **data: str) -> dict[str, Any]:
    form = {"Kind": kind, "ApiBaseUrl": "http://127.0.0.1:9", "Credentials": json.dumps(_credentials(kind)), **data}
    return await ok(await admin.post(PROVIDERS, data=form), 201)


async def _sender(admin: httpx.AsyncClient, provider: dict[str, Any], address: str, **data: str) -> dict[str, Any]:
    return await ok(await admin.post(f"{PROVIDERS}/{provider['sid']}/Senders", data={"Address": address, **data}), 201)


def _number() -> str:
    return "+1555" + str(secrets.randbelow(10**7)).zfill(7)


async def _count(db: Database, account_sid: str, table: str) -> int:
    async with db.read() as q:
        row = await q.fetchone(f"SELECT count(*) AS n FROM {table} WHERE account_sid = %s", (account_sid,))
    assert row is not None
    return int(row["n"])


async def _stored(db: Database, sid: str) -> tuple[str, ChannelProviderRow]:
    """The credentials column as stored (sealed) and the row as the code reads it (opened)."""
    async with db.read() as q:
        raw = await q.fetchone("SELECT credentials FROM channel_providers WHERE sid = %s", (sid,))
        row = await q.one(ChannelProviderRow, "SELECT * FROM channel_providers WHERE sid = %s", (sid,))
    assert raw is not None and row is not None
    return str(raw["credentials"]), row


async def test_a_provider_connection_round_trip(admin: httpx.AsyncClient, account: Any) -> None:
    created = await ok(
        await admin.post(
            PROVIDERS,
            data={"Kind": "twilio", "FriendlyName": "Our carrier", "Credentials": json.dumps(_credentials("twilio"))},
        ),
        201,
    )
    sid = created["sid"]
    assert sid.startswith("XP") and len(sid) == 34
    assert created["account_sid"] == account.account_sid
    assert created["kind"] == "twilio" and created["friendly_name"] == "Our carrier"
    assert created["api_base_url"] == "https://api.twilio.com"  # the adapter's default
    assert created["credentials"] == ["account_sid", "auth_token"]
    assert created["url"].endswith(f"{PROVIDERS}/{sid}")
    assert created["webhook_url"] == f"{created['url']}/Webhook"
    assert created["links"] == {"senders": f"{created['url']}/Senders"}
    assert created["date_created"] and created["date_updated"]

    assert await ok(await admin.get(f"{PROVIDERS}/{sid}")) == created
    listed = await ok(await admin.get(PROVIDERS, params={"PageSize": 1000}))
    assert sid in [p["sid"] for p in listed["channel_providers"]]
    assert listed["meta"]["key"] == "channel_providers" and listed["meta"]["page_size"] == 1000

    updated = await ok(
        await admin.post(f"{PROVIDERS}/{sid}", data={"FriendlyName": "Renamed", "ApiBaseUrl": "http://127.0.0.1:9/"})
    )
    assert updated["friendly_name"] == "Renamed" and updated["api_base_url"] == "http://127.0.0.1:9"
    assert updated["kind"] == "twilio" and updated["credentials"] == ["account_sid", "auth_token"]
    assert (await ok(await admin.get(f"{PROVIDERS}/{sid}")))["friendly_name"] == "Renamed"

    assert (await admin.delete(f"{PROVIDERS}/{sid}")).status_code == 204
    gone = await admin.get(f"{PROVIDERS}/{sid}")
    assert gone.status_code == 404 and gone.json()["code"] == 20404
    assert (await admin.delete(f"{PROVIDERS}/{sid}")).status_code == 404
    listed = await ok(await admin.get(PROVIDERS, params={"PageSize": 1000}))
    assert sid not in [p["sid"] for p in listed["channel_providers"]]


async def test_providers_list_in_pages(admin: httpx.AsyncClient) -> None:
    for _ in range(3):
        await _provider(admin)
    first = await ok(await admin.get(PROVIDERS, params={"PageSize": 2}))
    assert len(first["channel_providers"]) == 2 and first["meta"]["next_page_url"]
    second = await ok(await admin.get(first["meta"]["next_page_url"]))
    assert second["meta"]["page"] == 1
    assert not {p["sid"] for p in first["channel_providers"]} & {p["sid"] for p in second["channel_providers"]}


@pytest.mark.parametrize("kind", ["twilio", "whatsapp_cloud", "messenger"])
async def test_credentials_are_sealed_and_never_answered(admin: httpx.AsyncClient, db: Database, kind: str) -> None:
    secret = "s3cr3t-" + secrets.token_hex(8)
    created = await ok(
        await admin.post(PROVIDERS, data={"Kind": kind, "Credentials": json.dumps(_credentials(kind, secret))}), 201
    )
    assert created["credentials"] == sorted(_credentials(kind))
    answers = [
        json.dumps(created),
        (await admin.get(f"{PROVIDERS}/{created['sid']}")).text,
        (await admin.get(PROVIDERS, params={"PageSize": 1000})).text,
    ]
    assert not any(secret in text for text in answers)
    sealed, row = await _stored(db, created["sid"])
    assert secret not in sealed  # sealed at rest under the account's data key
    assert secret in row.credentials_dict().values()  # and opened for the adapter

    rotated_secret = "r0tated-" + secrets.token_hex(8)
    rotated = await admin.post(
        f"{PROVIDERS}/{created['sid']}", data={"Credentials": json.dumps(_credentials(kind, rotated_secret))}
    )
    assert rotated.status_code == 200 and rotated_secret not in rotated.text and secret not in rotated.text
    sealed, row = await _stored(db, created["sid"])
    assert rotated_secret not in sealed and rotated_secret in row.credentials_dict().values()


async def test_credentials_keep_only_what_the_adapter_takes(admin: httpx.AsyncClient, db: Database) -> None:
    given = {**_credentials("twilio"), "unrelated": "not-kept"}
    created = await ok(await admin.post(PROVIDERS, data={"Kind": "twilio", "Credentials": json.dumps(given)}), 201)
    assert created["credentials"] == ["account_sid", "auth_token"]
    _, row = await _stored(db, created["sid"])
    assert "unrelated" not in row.credentials_dict()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"Kind": "pigeon", "Credentials": "{}"}, "pigeon"),
        ({"Credentials": json.dumps(_credentials("twilio"))}, "Kind"),
        ({"Kind": "twilio"}, "Credentials"),
        ({"Kind": "twilio", "Credentials": "not json"}, "Credentials"),
        ({"Kind": "twilio", "Credentials": "[1, 2]"}, "Credentials"),
        ({"Kind": "twilio", "Credentials": json.dumps({"account_sid": "AC1"})}, "Credentials"),
        ({"Kind": "twilio", "Credentials": json.dumps(_credentials("messenger"))}, "Credentials"),
        ({"Kind": "messenger", "Credentials": json.dumps(_credentials("twilio"))}, "Credentials"),
        ({"Kind": "twilio", "Credentials": json.dumps(_credentials("twilio")), "ApiBaseUrl": "ftp://x"}, "ApiBaseUrl"),
        ({"Kind": "twilio", "Credentials": json.dumps(_credentials("twilio")), "ApiBaseUrl": "nowhere"}, "ApiBaseUrl"),
        (
            {"Kind": "twilio", "Credentials": json.dumps(_credentials("twilio")), "FriendlyName": "x" * 257},
            "FriendlyName",
        ),
    ],
)
async def test_bad_provider_input_is_a_400_and_writes_nothing(
    admin: httpx.AsyncClient, db: Database, account: Any, data: dict[str, str], fragment: str
) -> None:
    before = await _count(db, account.account_sid, "channel_providers")
    answer = await admin.post(PROVIDERS, data=data)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 20001 and fragment in answer.json()["message"]
    assert await _count(db, account.account_sid, "channel_providers") == before


@pytest.mark.parametrize(
    "data",
    [
        {"Credentials": json.dumps({"account_sid": "AC1"})},
        {"Credentials": "{"},
        {"Credentials": json.dumps(_credentials("whatsapp_cloud"))},
        {"ApiBaseUrl": "javascript:alert(1)"},
        {"FriendlyName": "x" * 257},
    ],
)
async def test_a_bad_update_is_a_400_and_changes_nothing(
    admin: httpx.AsyncClient, db: Database, data: dict[str, str]
) -> None:
    provider = await _provider(admin, FriendlyName="Before")
    sealed_before, _ = await _stored(db, provider["sid"])
    answer = await admin.post(f"{PROVIDERS}/{provider['sid']}", data={"FriendlyName": "After", **data})
    assert answer.status_code == 400, answer.text
    assert await ok(await admin.get(f"{PROVIDERS}/{provider['sid']}")) == provider
    sealed_after, _ = await _stored(db, provider["sid"])
    assert sealed_after == sealed_before


async def test_another_accounts_provider_and_senders_are_not_found(
    admin: httpx.AsyncClient, db: Database, parley: Any
) -> None:
    provider = await _provider(admin)
    sender = await _sender(admin, provider, _number())
    async with db.unit() as uow:
        stranger = await create_account(uow, friendly_name="Someone else")
    async with httpx.AsyncClient(base_url=parley.base_url, auth=(stranger.account_sid, stranger.auth_token)) as other:
        base = f"{PROVIDERS}/{provider['sid']}"
        for answer in (
            await other.get(base),
            await other.post(base, data={"FriendlyName": "Mine now"}),
            await other.delete(base),
            await other.get(f"{base}/Senders"),
            await other.post(f"{base}/Senders", data={"Address": _number()}),
            await other.get(f"{base}/Senders/{sender['sid']}"),
            await other.delete(f"{base}/Senders/{sender['sid']}"),
        ):
            assert answer.status_code == 404, answer.text
        assert provider["sid"] not in (await other.get(PROVIDERS)).text
        # Addresses are unique per account: another account may carry the same number through its own provider.
        theirs = await _provider(other)
        await _sender(other, theirs, sender["address"])
    assert await ok(await admin.get(f"{PROVIDERS}/{provider['sid']}")) == provider
    assert await ok(await admin.get(f"{PROVIDERS}/{provider['sid']}/Senders/{sender['sid']}")) == sender
    assert await _count(db, stranger.account_sid, "channel_senders") == 1


async def test_senders_round_trip(admin: httpx.AsyncClient, account: Any) -> None:
    twilio = await _provider(admin)
    messenger = await _provider(admin, "messenger")
    number = _number()
    sms = await _sender(admin, twilio, number, FriendlyName="Main line", CountryCode="US")
    assert sms["sid"].startswith("PN") and sms["channel"] == "sms" and sms["address"] == number
    assert sms["provider_sid"] == twilio["sid"] and sms["account_sid"] == account.account_sid
    assert sms["friendly_name"] == "Main line" and sms["country_code"] == "US"
    assert sms["url"] == f"{twilio['url']}/Senders/{sms['sid']}"
    whatsapp = await _sender(admin, twilio, "whatsapp:" + _number())
    assert whatsapp["sid"].startswith("XE") and whatsapp["channel"] == "whatsapp"
    page = await _sender(admin, messenger, "messenger:" + str(secrets.randbelow(10**12)))
    assert page["sid"].startswith("XE") and page["channel"] == "messenger"

    listed = await ok(await admin.get(f"{PROVIDERS}/{twilio['sid']}/Senders"))
    assert [s["sid"] for s in listed["senders"]] == [sms["sid"], whatsapp["sid"]]
    assert listed["meta"]["key"] == "senders"
    assert await ok(await admin.get(f"{PROVIDERS}/{twilio['sid']}/Senders/{sms['sid']}")) == sms
    # A sender is found only under its own provider.
    assert (await admin.get(f"{PROVIDERS}/{messenger['sid']}/Senders/{sms['sid']}")).status_code == 404
    assert (await admin.delete(f"{PROVIDERS}/{messenger['sid']}/Senders/{sms['sid']}")).status_code == 404

    assert (await admin.delete(f"{PROVIDERS}/{twilio['sid']}/Senders/{sms['sid']}")).status_code == 204
    assert (await admin.get(f"{PROVIDERS}/{twilio['sid']}/Senders/{sms['sid']}")).status_code == 404
    listed = await ok(await admin.get(f"{PROVIDERS}/{twilio['sid']}/Senders"))
    assert [s["sid"] for s in listed["senders"]] == [whatsapp["sid"]]
    # The address is free again.
    await _sender(admin, twilio, number)


@pytest.mark.parametrize(
    ("kind", "address", "status"),
    [
        ("twilio", "{number}", 201),
        ("twilio", "whatsapp:{number}", 201),
        ("twilio", "5551234", 400),  # not E.164
        ("twilio", "+1555abc1234", 400),
        ("twilio", "+1", 400),
        ("twilio", "+1234567890123456", 400),  # over 15 digits
        ("twilio", "whatsapp:15551234567", 400),
        ("twilio", "whatsapp:", 400),
        ("twilio", "messenger:12345", 400),  # Twilio's adapter does not carry Messenger
        ("whatsapp_cloud", "whatsapp:{number}", 201),
        ("whatsapp_cloud", "{number}", 400),  # WhatsApp Cloud carries WhatsApp only
        ("messenger", "messenger:{page}", 201),
        ("messenger", "{number}", 400),  # Messenger carries pages only
        ("messenger", "whatsapp:{number}", 400),
        ("messenger", "messenger:my-page", 400),  # a page id is digits
        ("messenger", "messenger:", 400),
    ],
)
async def test_sender_rules(admin: httpx.AsyncClient, kind: str, address: str, status: int) -> None:
    provider = await _provider(admin, kind)
    address = address.format(number=_number(), page=secrets.randbelow(10**12))
    answer = await admin.post(f"{PROVIDERS}/{provider['sid']}/Senders", data={"Address": address})
    assert answer.status_code == status, answer.text
    listed = (await ok(await admin.get(f"{PROVIDERS}/{provider['sid']}/Senders")))["senders"]
    assert [s["address"] for s in listed] == ([address] if status == 201 else [])


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"Address": ""},
        {"Address": _number(), "CountryCode": "USA"},
        {"Address": _number(), "FriendlyName": "x" * 257},
    ],
)
async def test_bad_sender_input_is_a_400(admin: httpx.AsyncClient, data: dict[str, str]) -> None:
    provider = await _provider(admin)
    answer = await admin.post(f"{PROVIDERS}/{provider['sid']}/Senders", data=data)
    assert answer.status_code == 400, answer.text
    assert (await ok(await admin.get(f"{PROVIDERS}/{provider['sid']}/Senders")))["senders"] == []


async def test_an_address_is_carried_once_per_account(admin: httpx.AsyncClient) -> None:
    first = await _provider(admin)
    second = await _provider(admin)
    number = _number()
    await _sender(admin, first, number)
    for provider, address in ((first, number), (second, number)):
        again = await admin.post(f"{PROVIDERS}/{provider['sid']}/Senders", data={"Address": address})
        assert again.status_code == 409, again.text
        assert number in again.json()["message"]
    assert (await ok(await admin.get(f"{PROVIDERS}/{second['sid']}/Senders")))["senders"] == []
    # The WhatsApp address of the same number is another address.
    await _sender(admin, second, "whatsapp:" + number)


@pytest.mark.parametrize("address", ["WhatsApp:+15557654321", "sms:+15557654321", "tel:+15557654321"])
async def test_an_address_with_an_unknown_prefix_is_not_taken_as_sms(admin: httpx.AsyncClient, address: str) -> None:
    provider = await _provider(admin)
    answer = await admin.post(f"{PROVIDERS}/{provider['sid']}/Senders", data={"Address": address})
    if answer.status_code == 201:
        await admin.delete(f"{PROVIDERS}/{provider['sid']}/Senders/{answer.json()['sid']}")
    assert answer.status_code == 400 or answer.json()["address"] == "whatsapp:+15557654321", answer.text


async def test_deleting_a_provider_takes_its_senders_out_of_their_services(admin: httpx.AsyncClient) -> None:
    provider = await _provider(admin)
    sms = await _sender(admin, provider, _number())
    whatsapp = await _sender(admin, provider, "whatsapp:" + _number())
    service = await ok(await admin.post("/messaging/v1/Services", data={"FriendlyName": "Pool"}), 201)
    pool = f"/messaging/v1/Services/{service['sid']}"
    await ok(await admin.post(f"{pool}/PhoneNumbers", data={"PhoneNumberSid": sms["sid"]}), 201)
    await ok(await admin.post(f"{pool}/ChannelSenders", data={"Sid": whatsapp["sid"]}), 201)

    assert (await admin.delete(f"{PROVIDERS}/{provider['sid']}")).status_code == 204
    assert (await admin.get(f"{PROVIDERS}/{provider['sid']}/Senders/{sms['sid']}")).status_code == 404
    assert (await ok(await admin.get(f"{pool}/PhoneNumbers")))["phone_numbers"] == []
    assert (await ok(await admin.get(f"{pool}/ChannelSenders")))["senders"] == []
    assert (await ok(await admin.get(pool)))["sid"] == service["sid"]  # the service itself stays
