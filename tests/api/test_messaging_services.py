"""Messaging Services (Twilio's Messaging v1) through the official `twilio` client, their sender pools built from
the account's provider connections (/parley/v1/ChannelProviders, tests/api/test_channel_providers.py), and the
sticky-sender rule Parley's delivery uses to pick the number a customer hears from."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client as TwilioClient

from channels.base import ChannelKind
from storage.bootstrap import create_account
from storage.db import Database
from storage.messaging import pools
from tests.support.contact_center import ok

SERVICES = "/messaging/v1/Services"
SURFACE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "twilio-surface.json"


def _spec_fields(method: str, path: str) -> set[str]:
    """The response fields Twilio's published spec gives an operation (docs/reference/twilio-surface.json)."""
    surface = json.loads(SURFACE.read_text())
    for operation in surface["Messaging v1 (Services)"]:
        if operation["method"] == method and operation["path"] == path:
            return set(operation["response"])
    raise AssertionError(f"{method} {path} is not in Twilio's spec")


async def _provider(admin: httpx.AsyncClient, kind: str = "twilio") -> dict[str, Any]:
    credentials = (
        {"account_sid": "AC" + secrets.token_hex(16), "auth_token": secrets.token_hex(16)}
        if kind == "twilio"
        else {
            "page_id": "1234567",
            "page_access_token": secrets.token_hex(8),
            "app_secret": secrets.token_hex(8),
            "verify_token": "v",
        }
    )
    return await ok(
        await admin.post(
            "/parley/v1/ChannelProviders",
            data={"Kind": kind, "ApiBaseUrl": "http://127.0.0.1:9", "Credentials": json.dumps(credentials)},
        ),
        201,
    )


async def _sender(admin: httpx.AsyncClient, provider: dict[str, Any], address: str, **data: str) -> dict[str, Any]:
    return await ok(
        await admin.post(f"/parley/v1/ChannelProviders/{provider['sid']}/Senders", data={"Address": address, **data}),
        201,
    )


async def _service(admin: httpx.AsyncClient, **data: str) -> dict[str, Any]:
    return await ok(await admin.post(SERVICES, data={"FriendlyName": "Pool", **data}), 201)


async def _pooled(admin: httpx.AsyncClient, service: dict[str, Any], *senders: dict[str, Any]) -> None:
    for sender in senders:
        if sender["sid"].startswith("PN"):
            path, data = "PhoneNumbers", {"PhoneNumberSid": sender["sid"]}
        else:
            path, data = "ChannelSenders", {"Sid": sender["sid"]}
        await ok(await admin.post(f"{SERVICES}/{service['sid']}/{path}", data=data), 201)


def _number() -> str:
    return "+1555" + str(secrets.randbelow(10**7)).zfill(7)


def _page() -> str:
    return "messenger:" + str(10**11 + secrets.randbelow(10**11))


async def test_a_service_and_its_pool_through_the_official_client(
    twilio: TwilioClient, admin: httpx.AsyncClient
) -> None:
    provider = await _provider(admin)
    sms = await _sender(admin, provider, _number(), CountryCode="US")
    whatsapp = await _sender(admin, provider, "whatsapp:" + _number())
    assert sms["sid"].startswith("PN") and whatsapp["sid"].startswith("XE")

    service = twilio.messaging.v1.services.create(friendly_name="Support line", sticky_sender=True)
    assert service.sid.startswith("MG") and service.friendly_name == "Support line"
    assert service.sticky_sender is True and service.validity_period == 14400
    assert service.links["phone_numbers"].endswith(f"/messaging/v1/Services/{service.sid}/PhoneNumbers")

    number = twilio.messaging.v1.services(service.sid).phone_numbers.create(phone_number_sid=sms["sid"])
    assert number.sid == sms["sid"] and number.phone_number == sms["address"] and number.service_sid == service.sid
    assert number.country_code == "US" and "SMS" in number.capabilities
    sender = twilio.messaging.v1.services(service.sid).channel_senders.create(sid=whatsapp["sid"])
    assert sender.sender == whatsapp["address"] and sender.sender_type == "WhatsApp"
    assert sender.messaging_service_sid == service.sid
    assert [n.sid for n in twilio.messaging.v1.services(service.sid).phone_numbers.list()] == [sms["sid"]]
    assert [s.sid for s in twilio.messaging.v1.services(service.sid).channel_senders.list()] == [whatsapp["sid"]]
    fetched = twilio.messaging.v1.services(service.sid).phone_numbers(sms["sid"]).fetch()
    assert fetched.phone_number == sms["address"]
    fetched_sender = twilio.messaging.v1.services(service.sid).channel_senders(whatsapp["sid"]).fetch()
    assert fetched_sender.sender == whatsapp["address"]

    # A number is in one service at most (Twilio's 21710).
    other = twilio.messaging.v1.services.create(friendly_name="Sales")
    with pytest.raises(TwilioRestException) as taken:
        twilio.messaging.v1.services(other.sid).phone_numbers.create(phone_number_sid=sms["sid"])
    assert taken.value.status == 409 and taken.value.code == 21710
    with pytest.raises(TwilioRestException) as again:
        twilio.messaging.v1.services(service.sid).channel_senders.create(sid=whatsapp["sid"])
    assert again.value.status == 409 and again.value.code == 21710

    updated = twilio.messaging.v1.services(service.sid).update(friendly_name="Support", sticky_sender=False)
    assert updated.friendly_name == "Support" and updated.sticky_sender is False
    assert twilio.messaging.v1.services(service.sid).fetch().friendly_name == "Support"
    assert service.sid in [s.sid for s in twilio.messaging.v1.services.list()]

    twilio.messaging.v1.services(service.sid).phone_numbers(sms["sid"]).delete()
    assert twilio.messaging.v1.services(service.sid).phone_numbers.list() == []
    twilio.messaging.v1.services(service.sid).channel_senders(whatsapp["sid"]).delete()
    assert twilio.messaging.v1.services(service.sid).channel_senders.list() == []
    # Released: the number can join another pool now, and the sender stays the provider's.
    twilio.messaging.v1.services(other.sid).phone_numbers.create(phone_number_sid=sms["sid"])
    await ok(await admin.get(f"/parley/v1/ChannelProviders/{provider['sid']}/Senders/{whatsapp['sid']}"))
    twilio.messaging.v1.services(service.sid).delete()
    with pytest.raises(TwilioRestException) as gone:
        twilio.messaging.v1.services(service.sid).fetch()
    assert gone.value.status == 404 and gone.value.code == 20404


async def test_every_setting_through_the_official_client(twilio: TwilioClient) -> None:
    service = twilio.messaging.v1.services.create(
        friendly_name="Everything",
        inbound_request_url="https://example.com/inbound",
        inbound_method="GET",
        fallback_url="https://example.com/fallback",
        fallback_method="GET",
        status_callback="https://example.com/status",
        sticky_sender=False,
        mms_converter=False,
        smart_encoding=False,
        scan_message_content="disable",
        fallback_to_long_code=False,
        area_code_geomatch=False,
        validity_period=600,
        synchronous_validation=True,
        usecase="marketing",
        use_inbound_webhook_on_number=True,
    )
    expected = {
        "friendly_name": "Everything",
        "inbound_request_url": "https://example.com/inbound",
        "inbound_method": "GET",
        "fallback_url": "https://example.com/fallback",
        "fallback_method": "GET",
        "status_callback": "https://example.com/status",
        "sticky_sender": False,
        "mms_converter": False,
        "smart_encoding": False,
        "scan_message_content": "disable",
        "fallback_to_long_code": False,
        "area_code_geomatch": False,
        "validity_period": 600,
        "synchronous_validation": True,
        "usecase": "marketing",
        "use_inbound_webhook_on_number": True,
        "us_app_to_person_registered": False,
    }
    for fetched in (service, twilio.messaging.v1.services(service.sid).fetch()):
        assert {name: getattr(fetched, name) for name in expected} == expected
    # An update changes what it names and keeps the rest.
    updated = twilio.messaging.v1.services(service.sid).update(validity_period=36000, inbound_method="POST")
    assert updated.validity_period == 36000 and updated.inbound_method == "POST"
    assert updated.fallback_method == "GET" and updated.usecase == "marketing" and updated.sticky_sender is False


async def test_responses_carry_the_fields_of_twilios_spec(admin: httpx.AsyncClient) -> None:
    service = await _service(admin)
    assert set(service) == _spec_fields("POST", "/messaging/v1/Services")
    sid = service["sid"]
    assert service["url"].endswith(f"{SERVICES}/{sid}")
    assert service["links"] == {
        name: f"{service['url']}/{path}"
        for name, path in {
            "phone_numbers": "PhoneNumbers",
            "short_codes": "ShortCodes",
            "alpha_senders": "AlphaSenders",
            "messages": "Messages",
            "us_app_to_person": "Compliance/Usa2p",
            "us_app_to_person_usecases": "Compliance/Usa2p/Usecases",
            "channel_senders": "ChannelSenders",
            "destination_alpha_senders": "DestinationAlphaSenders",
        }.items()
    }
    # Twilio's defaults.
    assert service["inbound_method"] == "POST" and service["fallback_method"] == "POST"
    assert service["inbound_request_url"] is None and service["status_callback"] is None
    assert service["sticky_sender"] is True and service["scan_message_content"] == "inherit"
    assert service["usecase"] == "undeclared" and service["use_inbound_webhook_on_number"] is False

    provider = await _provider(admin)
    messenger = await _provider(admin, "messenger")
    sms = await _sender(admin, provider, _number())
    page = await _sender(admin, messenger, _page())
    await _pooled(admin, service, sms, page)
    number = await ok(await admin.get(f"{SERVICES}/{sid}/PhoneNumbers/{sms['sid']}"))
    assert set(number) == _spec_fields("GET", "/messaging/v1/Services/{ServiceSid}/PhoneNumbers/{Sid}")
    assert number["capabilities"] == ["SMS", "MMS"]
    assert number["url"] == f"{service['url']}/PhoneNumbers/{sms['sid']}"
    sender = await ok(await admin.get(f"{SERVICES}/{sid}/ChannelSenders/{page['sid']}"))
    assert set(sender) == _spec_fields("GET", "/messaging/v1/Services/{MessagingServiceSid}/ChannelSenders/{Sid}")
    assert sender["sender"] == page["address"] and sender["sender_type"] == "Messenger"
    assert sender["url"] == f"{service['url']}/ChannelSenders/{page['sid']}"

    listed = await ok(await admin.get(f"{SERVICES}/{sid}/PhoneNumbers"))
    assert listed["meta"]["key"] == "phone_numbers" and [n["sid"] for n in listed["phone_numbers"]] == [sms["sid"]]
    listed = await ok(await admin.get(f"{SERVICES}/{sid}/ChannelSenders"))
    assert listed["meta"]["key"] == "senders" and [s["sid"] for s in listed["senders"]] == [page["sid"]]


async def test_services_list_in_pages(twilio: TwilioClient, admin: httpx.AsyncClient) -> None:
    made = {(await _service(admin, FriendlyName=f"Paged {i}"))["sid"] for i in range(3)}
    first = await ok(await admin.get(SERVICES, params={"PageSize": 2}))
    assert first["meta"]["key"] == "services" and first["meta"]["page_size"] == 2 and len(first["services"]) == 2
    assert first["meta"]["next_page_url"]
    # The official client follows next_page_url across pages.
    assert made <= {s.sid for s in twilio.messaging.v1.services.list(page_size=2)}
    assert len(twilio.messaging.v1.services.list(limit=1)) == 1


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({}, "FriendlyName"),
        ({"FriendlyName": ""}, "FriendlyName"),
        ({"FriendlyName": "x" * 65}, "FriendlyName"),
        ({"FriendlyName": "ok", "ValidityPeriod": "0"}, "ValidityPeriod"),
        ({"FriendlyName": "ok", "ValidityPeriod": "36001"}, "ValidityPeriod"),
        ({"FriendlyName": "ok", "ValidityPeriod": "soon"}, "ValidityPeriod"),
        ({"FriendlyName": "ok", "InboundMethod": "PUT"}, "InboundMethod"),
        ({"FriendlyName": "ok", "FallbackMethod": "DELETE"}, "FallbackMethod"),
        ({"FriendlyName": "ok", "InboundRequestUrl": "file:///etc/passwd"}, "InboundRequestUrl"),
        ({"FriendlyName": "ok", "FallbackUrl": "ftp://example.com"}, "FallbackUrl"),
        ({"FriendlyName": "ok", "StatusCallback": "not a url"}, "StatusCallback"),
        ({"FriendlyName": "ok", "ScanMessageContent": "maybe"}, "ScanMessageContent"),
        ({"FriendlyName": "ok", "StickySender": "perhaps"}, "StickySender"),
    ],
)
async def test_bad_service_input_is_a_400_and_writes_nothing(
    admin: httpx.AsyncClient, db: Database, account: Any, data: dict[str, str], fragment: str
) -> None:
    async def count() -> int:
        async with db.read() as q:
            row = await q.fetchone(
                "SELECT count(*) AS n FROM messaging_services WHERE account_sid = %s", (account.account_sid,)
            )
        assert row is not None
        return int(row["n"])

    before = await count()
    answer = await admin.post(SERVICES, data=data)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 20001 and fragment in answer.json()["message"]
    assert await count() == before


@pytest.mark.parametrize(
    "data",
    [
        {"ValidityPeriod": "0"},
        {"ValidityPeriod": "36001"},
        {"FriendlyName": "x" * 65},
        {"InboundMethod": "PATCH"},
        {"StatusCallback": "javascript:alert(1)"},
        {"ScanMessageContent": "always"},
    ],
)
async def test_a_bad_update_is_a_400_and_changes_nothing(admin: httpx.AsyncClient, data: dict[str, str]) -> None:
    service = await _service(admin, FriendlyName="Unchanged")
    answer = await admin.post(f"{SERVICES}/{service['sid']}", data={"UseInboundWebhookOnNumber": "true", **data})
    assert answer.status_code == 400, answer.text
    assert await ok(await admin.get(f"{SERVICES}/{service['sid']}")) == service


async def test_pools_take_only_the_accounts_own_senders_of_the_right_kind(
    admin: httpx.AsyncClient, db: Database, parley: Any
) -> None:
    service = await _service(admin)
    provider = await _provider(admin)
    sms = await _sender(admin, provider, _number())
    whatsapp = await _sender(admin, provider, "whatsapp:" + _number())
    pool = f"{SERVICES}/{service['sid']}"
    # A WhatsApp sender is not a phone number, nor an SMS number a channel sender (the sid says which).
    wrong = await admin.post(f"{pool}/PhoneNumbers", data={"PhoneNumberSid": whatsapp["sid"]})
    assert wrong.status_code == 400 and "PhoneNumberSid" in wrong.json()["message"]
    wrong = await admin.post(f"{pool}/ChannelSenders", data={"Sid": sms["sid"]})
    assert wrong.status_code == 400 and "Sid" in wrong.json()["message"]
    for path, data in (("PhoneNumbers", {}), ("ChannelSenders", {}), ("PhoneNumbers", {"PhoneNumberSid": "PN1"})):
        assert (await admin.post(f"{pool}/{path}", data=data)).status_code == 400
    # A well-formed sid that names no sender of the account.
    unknown = await admin.post(f"{pool}/PhoneNumbers", data={"PhoneNumberSid": "PN" + "0" * 32})
    assert unknown.status_code == 404 and unknown.json()["code"] == 20404
    unknown = await admin.post(f"{pool}/ChannelSenders", data={"Sid": "XE" + "0" * 32})
    assert unknown.status_code == 404
    # A sender of the account that is not in this pool.
    assert (await admin.get(f"{pool}/PhoneNumbers/{sms['sid']}")).status_code == 404
    assert (await admin.delete(f"{pool}/ChannelSenders/{whatsapp['sid']}")).status_code == 404
    # An unknown service.
    missing = f"{SERVICES}/MG{'0' * 32}"
    assert (await admin.post(f"{missing}/PhoneNumbers", data={"PhoneNumberSid": sms["sid"]})).status_code == 404
    assert (await admin.get(f"{missing}/ChannelSenders")).status_code == 404

    async with db.unit() as uow:
        stranger = await create_account(uow, friendly_name="Someone else")
    async with httpx.AsyncClient(base_url=parley.base_url, auth=(stranger.account_sid, stranger.auth_token)) as other:
        theirs = await _provider(other)
        their_number = await _sender(other, theirs, _number())
        their_service = await _service(other)
        # Our service is not theirs: not to read, change, delete or fill.
        for answer in (
            await other.get(pool),
            await other.post(pool, data={"FriendlyName": "Mine"}),
            await other.delete(pool),
            await other.get(f"{pool}/PhoneNumbers"),
            await other.post(f"{pool}/PhoneNumbers", data={"PhoneNumberSid": their_number["sid"]}),
            await other.get(f"{pool}/ChannelSenders"),
        ):
            assert answer.status_code == 404, answer.text
        assert service["sid"] not in (await other.get(SERVICES)).text
        # Nor may their service take our number.
        stolen = await other.post(
            f"{SERVICES}/{their_service['sid']}/PhoneNumbers", data={"PhoneNumberSid": sms["sid"]}
        )
        assert stolen.status_code == 404
    # And our service cannot take their number.
    taken = await admin.post(f"{pool}/PhoneNumbers", data={"PhoneNumberSid": their_number["sid"]})
    assert taken.status_code == 404
    assert (await ok(await admin.get(pool)))["friendly_name"] == "Pool"
    assert (await ok(await admin.get(f"{pool}/PhoneNumbers")))["phone_numbers"] == []


async def test_deleting_a_service_releases_its_senders_and_sticky_choices(
    admin: httpx.AsyncClient, db: Database
) -> None:
    service = await _service(admin)
    provider = await _provider(admin)
    sms = await _sender(admin, provider, _number())
    whatsapp = await _sender(admin, provider, "whatsapp:" + _number())
    await _pooled(admin, service, sms, whatsapp)
    customer = _number()
    async with db.unit() as uow:
        picked = await pools.pick_sender(
            uow, service_sid=service["sid"], customer_address=customer, channel=ChannelKind.SMS
        )
        assert picked is not None and picked.sid == sms["sid"]
        found = await pools.service_of_sender(uow, sender_sid=sms["sid"])
        assert found is not None and found.sid == service["sid"]

    async def remembered() -> int:
        async with db.read() as q:
            row = await q.fetchone(
                "SELECT count(*) AS n FROM messaging_sticky_senders WHERE service_sid = %s", (service["sid"],)
            )
        assert row is not None
        return int(row["n"])

    assert await remembered() == 1
    assert (await admin.delete(f"{SERVICES}/{service['sid']}")).status_code == 204
    assert (await admin.delete(f"{SERVICES}/{service['sid']}")).status_code == 404
    assert await remembered() == 0
    async with db.read() as q:
        assert await pools.service_of_sender(q, sender_sid=sms["sid"]) is None
    # The senders stay the provider's and may join another service.
    listed = await ok(await admin.get(f"/parley/v1/ChannelProviders/{provider['sid']}/Senders"))
    assert {s["sid"] for s in listed["senders"]} == {sms["sid"], whatsapp["sid"]}
    await _pooled(admin, await _service(admin, FriendlyName="Next"), sms, whatsapp)


async def test_sticky_sender_keeps_a_customer_on_one_number(admin: httpx.AsyncClient, db: Database) -> None:
    service = await _service(admin, FriendlyName="Sticky")
    provider = await _provider(admin)
    numbers = [await _sender(admin, provider, _number()) for _ in range(3)]
    await _pooled(admin, service, *numbers)
    customers = [_number() for _ in range(12)]
    async with db.unit() as uow:
        first = {
            c: await pools.pick_sender(uow, service_sid=service["sid"], customer_address=c, channel=ChannelKind.SMS)
            for c in customers
        }
    assert all(s is not None for s in first.values())
    assert len({s.sid for s in first.values() if s}) > 1  # customers are spread over the pool
    async with db.unit() as uow:
        again = {
            c: await pools.pick_sender(uow, service_sid=service["sid"], customer_address=c, channel=ChannelKind.SMS)
            for c in customers
        }
        assert {c: s.sid for c, s in again.items() if s} == {c: s.sid for c, s in first.items() if s}
        # The customer wrote to another number of the pool: they stick to that one now.
        moved = customers[0]
        other = next(n for n in numbers if n["sid"] != first[moved].sid)  # type: ignore[union-attr]
        await pools.remember_sender(uow, service_sid=service["sid"], customer_address=moved, sender_sid=other["sid"])
        picked = await pools.pick_sender(
            uow, service_sid=service["sid"], customer_address=moved, channel=ChannelKind.SMS
        )
        assert picked is not None and picked.sid == other["sid"]
        # No WhatsApp sender in the pool: nothing to send WhatsApp from.
        assert (
            await pools.pick_sender(
                uow, service_sid=service["sid"], customer_address=moved, channel=ChannelKind.WHATSAPP
            )
            is None
        )
    # The customer's sticky number leaves the pool: they get another of the pool, and keep that one.
    await ok(await admin.delete(f"{SERVICES}/{service['sid']}/PhoneNumbers/{other['sid']}"), 204)
    async with db.unit() as uow:
        replaced = await pools.pick_sender(
            uow, service_sid=service["sid"], customer_address=moved, channel=ChannelKind.SMS
        )
        assert replaced is not None and replaced.sid != other["sid"]
        assert replaced.sid in {n["sid"] for n in numbers}
        for _ in range(3):
            still = await pools.pick_sender(
                uow, service_sid=service["sid"], customer_address=moved, channel=ChannelKind.SMS
            )
            assert still is not None and still.sid == replaced.sid


async def test_without_sticky_sender_the_choice_is_stable_and_not_remembered(
    admin: httpx.AsyncClient, db: Database
) -> None:
    service = await _service(admin, StickySender="false")
    provider = await _provider(admin)
    numbers = [await _sender(admin, provider, _number()) for _ in range(3)]
    await _pooled(admin, service, *numbers)
    customer = _number()
    async with db.unit() as uow:
        picks = {
            (
                await pools.pick_sender(
                    uow, service_sid=service["sid"], customer_address=customer, channel=ChannelKind.SMS
                )
            ).sid  # type: ignore[union-attr]
            for _ in range(4)
        }
        assert len(picks) == 1 and picks <= {n["sid"] for n in numbers}
        row = await uow.fetchone(
            "SELECT count(*) AS n FROM messaging_sticky_senders WHERE service_sid = %s", (service["sid"],)
        )
        assert row is not None and row["n"] == 0


async def test_pick_sender_keeps_to_the_channel_asked_for(admin: httpx.AsyncClient, db: Database) -> None:
    service = await _service(admin)
    provider = await _provider(admin)
    messenger = await _provider(admin, "messenger")
    sms = await _sender(admin, provider, _number())
    whatsapp = await _sender(admin, provider, "whatsapp:" + _number())
    page = await _sender(admin, messenger, _page())
    await _pooled(admin, service, sms, whatsapp, page)
    customer = _number()
    async with db.unit() as uow:
        for channel, expected, address in (
            (ChannelKind.SMS, sms, customer),
            (ChannelKind.WHATSAPP, whatsapp, "whatsapp:" + customer),
            (ChannelKind.MESSENGER, page, "messenger:" + customer.lstrip("+")),
        ):
            picked = await pools.pick_sender(uow, service_sid=service["sid"], customer_address=address, channel=channel)
            assert picked is not None and picked.sid == expected["sid"]
        # A remembered sender of another channel is not used for this one.
        await pools.remember_sender(
            uow, service_sid=service["sid"], customer_address=customer, sender_sid=whatsapp["sid"]
        )
        picked = await pools.pick_sender(
            uow, service_sid=service["sid"], customer_address=customer, channel=ChannelKind.SMS
        )
        assert picked is not None and picked.sid == sms["sid"]
        # An unknown service has no sender.
        assert (
            await pools.pick_sender(
                uow, service_sid="MG" + "0" * 32, customer_address=customer, channel=ChannelKind.SMS
            )
            is None
        )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/messaging/v1/Services/{sid}/AlphaSenders"),
        ("POST", "/messaging/v1/Services/{sid}/AlphaSenders"),
        ("GET", "/messaging/v1/Services/{sid}/ShortCodes"),
        ("POST", "/messaging/v1/Services/{sid}/ShortCodes"),
        ("GET", "/messaging/v1/Services/{sid}/DestinationAlphaSenders"),
        ("GET", "/messaging/v1/Services/{sid}/Compliance/Usa2p"),
        ("POST", "/messaging/v1/Services/{sid}/Compliance/Usa2p"),
        ("GET", "/messaging/v1/Services/{sid}/Compliance/Usa2p/Usecases"),
        ("GET", "/messaging/v1/Services/Usecases"),
        ("POST", "/messaging/v1/Services/PreregisteredUsa2p"),
        ("GET", "/messaging/v1/Tollfree/Verifications"),
        ("POST", "/messaging/v1/LinkShortening/Domains/DN00000000000000000000000000000000/Certificate"),
        ("GET", "/messaging/v1/a2p/BrandRegistrations"),
    ],
)
async def test_what_parley_does_not_serve_answers_404(admin: httpx.AsyncClient, method: str, path: str) -> None:
    service = await _service(admin)
    answer = await admin.request(method, path.format(sid=service["sid"]), data={"FriendlyName": "x"})
    assert answer.status_code == 404, answer.text
    assert answer.json()["code"] == 20404


async def test_a_conversation_names_only_a_messaging_service_of_its_own_account(
    parley, admin: httpx.AsyncClient, db: Database
) -> None:
    mine = await _service(admin, FriendlyName="Mine")
    async with db.unit() as uow:
        stranger = await create_account(uow, friendly_name="Pool owner")
    async with httpx.AsyncClient(base_url=parley.base_url, auth=(stranger.account_sid, stranger.auth_token)) as other:
        theirs = await _service(other, FriendlyName="Theirs")
    conversations = "/conversations/v1/Conversations"

    async def count() -> int:
        async with db.read() as q:
            row = await q.fetchone(
                "SELECT count(*) AS n FROM conversations WHERE account_sid = %s", (mine["account_sid"],)
            )
        return int(row["n"]) if row else 0

    before = await count()

    refused = await admin.post(conversations, data={"FriendlyName": "x", "MessagingServiceSid": theirs["sid"]})
    assert refused.status_code == 400 and theirs["sid"] in refused.json()["message"]
    unknown = await admin.post(conversations, data={"MessagingServiceSid": "MG" + "0" * 32})
    assert unknown.status_code == 400
    assert await count() == before

    created = await ok(await admin.post(conversations, data={"MessagingServiceSid": mine["sid"]}), 201)
    assert created["messaging_service_sid"] == mine["sid"]
    moved = await admin.post(f"{conversations}/{created['sid']}", data={"MessagingServiceSid": theirs["sid"]})
    assert moved.status_code == 400
    fetched = await ok(await admin.get(f"{conversations}/{created['sid']}"))
    assert fetched["messaging_service_sid"] == mine["sid"]

    default = await admin.post("/conversations/v1/Configuration", data={"DefaultMessagingServiceSid": theirs["sid"]})
    assert default.status_code == 400
    configuration = await ok(await admin.get("/conversations/v1/Configuration"))
    assert configuration["default_messaging_service_sid"] != theirs["sid"]
