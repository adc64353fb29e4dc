"""A provider's inbound webhook as Twilio sends it, signed by the official `twilio` library's own
RequestValidator (an oracle independent of Parley's adapter): the message lands in a conversation once, however
often the provider retries, and a request Twilio did not sign writes nothing."""

from __future__ import annotations

import json
import secrets

import httpx
from twilio.request_validator import RequestValidator

from tests.support.contact_center import ok


async def _connection(admin: httpx.AsyncClient) -> tuple[dict, str, str]:
    token = secrets.token_hex(16)
    provider = await ok(
        await admin.post(
            "/parley/v1/ChannelProviders",
            data={
                "Kind": "twilio",
                "ApiBaseUrl": "http://127.0.0.1:9",
                "Credentials": json.dumps({"account_sid": "AC" + secrets.token_hex(16), "auth_token": token}),
            },
        ),
        201,
    )
    number = "+1555" + str(secrets.randbelow(10**7)).zfill(7)
    await ok(await admin.post(f"/parley/v1/ChannelProviders/{provider['sid']}/Senders", data={"Address": number}), 201)
    await ok(
        await admin.post(
            "/conversations/v1/Configuration/Addresses",
            data={"Type": "sms", "Address": number, "AutoCreation.Enabled": "true"},
        ),
        201,
    )
    return provider, number, token


def _inbound(customer: str, number: str, body: str) -> dict[str, str]:
    sid = "SM" + secrets.token_hex(16)
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": customer,
        "To": number,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }


async def _post(url: str, params: dict[str, str], signature: str | None) -> httpx.Response:
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    async with httpx.AsyncClient() as twilio_itself:
        return await twilio_itself.post(url, data=params, headers=headers)


async def test_a_signed_inbound_sms_opens_one_conversation_however_often_it_is_retried(admin) -> None:
    provider, number, token = await _connection(admin)
    customer = "+1555" + str(secrets.randbelow(10**7)).zfill(7)
    params = _inbound(customer, number, "Is my order shipped?")
    url = provider["webhook_url"]
    signature = RequestValidator(token).compute_signature(url, params)
    first = await _post(url, params, signature)
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/xml")
    assert "<Response" in first.text
    for _ in range(2):  # the provider retries after a timeout
        assert (await _post(url, params, signature)).status_code == 200
    found = await ok(await admin.get("/conversations/v1/ParticipantConversations", params={"Address": customer}))
    [conversation] = found["conversations"]
    assert conversation["conversation_friendly_name"] == f"SMS with {customer}"
    messages = await ok(await admin.get(f"/conversations/v1/Conversations/{conversation['conversation_sid']}/Messages"))
    assert [(m["author"], m["body"]) for m in messages["messages"]] == [(customer, "Is my order shipped?")]
    participants = await ok(
        await admin.get(f"/conversations/v1/Conversations/{conversation['conversation_sid']}/Participants")
    )
    [customer_participant] = participants["participants"]
    assert customer_participant["messaging_binding"] == {"type": "sms", "address": customer, "proxy_address": number}


async def test_an_unsigned_or_forged_webhook_is_403_and_writes_nothing(admin) -> None:
    provider, number, token = await _connection(admin)
    customer = "+1555" + str(secrets.randbelow(10**7)).zfill(7)
    params = _inbound(customer, number, "let me in")
    url = provider["webhook_url"]
    assert (await _post(url, params, None)).status_code == 403
    assert (await _post(url, params, RequestValidator("wrong").compute_signature(url, params))).status_code == 403
    signed = RequestValidator(token).compute_signature(url, params)
    tampered = {**params, "Body": "something else"}
    assert (await _post(url, tampered, signed)).status_code == 403
    found = await ok(await admin.get("/conversations/v1/ParticipantConversations", params={"Address": customer}))
    assert found["conversations"] == []


async def test_a_webhook_for_an_unknown_connection_or_number_is_refused(admin, parley) -> None:
    provider, number, token = await _connection(admin)
    unknown = f"{parley.base_url}/parley/v1/ChannelProviders/XP{'0' * 32}/Webhook"
    params = _inbound("+15550000000", number, "hi")
    assert (await _post(unknown, params, RequestValidator(token).compute_signature(unknown, params))).status_code == 404
    url = provider["webhook_url"]
    stray = _inbound("+15550000000", "+15559999999", "hi")
    answer = await _post(url, stray, RequestValidator(token).compute_signature(url, stray))
    assert answer.status_code == 404
