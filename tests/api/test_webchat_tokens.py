"""The web chat's token refresh (POST /flex-api/v2/WebChats/Tokens/Refresh): a chat lasts as long as its
conversation, not as long as its first token; only a web chat's own token, for a chat that is still open, is
renewed; a token expired less than a day ago still is (the customer back the next morning), an older one not."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from api.auth import issue_access_token
from domain.limits import WEBCHAT_REFRESH_GRACE, WEBCHAT_TOKEN_TTL
from storage.accounts import service as accounts
from storage.db import Database
from tests.support.contact_center import ok

REFRESH = "/flex-api/v2/WebChats/Tokens/Refresh"


@pytest.fixture
async def chat_address(admin: httpx.AsyncClient) -> str:
    address = await ok(
        await admin.post(
            "/conversations/v1/Configuration/Addresses",
            data={"Type": "chat", "Address": f"site-{secrets.token_hex(4)}", "AutoCreation.Enabled": "true"},
        ),
        201,
    )
    return str(address["sid"])


async def _start(parley: Any, address_sid: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=parley.base_url) as anonymous:
        return await ok(
            await anonymous.post(
                "/flex-api/v2/WebChats", data={"AddressSid": address_sid, "CustomerFriendlyName": "Eve"}
            ),
            201,
        )


async def _refresh(parley: Any, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=parley.base_url) as anonymous:
        return await anonymous.post(REFRESH, data={"Token": token})


async def _minted(db: Database, account_sid: str, identity: str, grants: dict[str, Any], ttl: int) -> str:
    async with db.read() as q:
        key = await accounts.signing_key(q, account_sid)
    return issue_access_token(
        account_sid=account_sid,
        api_key_sid=key.sid,
        api_key_secret=key.secret,
        identity=identity,
        grants=grants,
        ttl=ttl,
    )


async def test_a_web_chat_token_is_renewed_for_the_same_customer_and_conversation(
    parley: Any, admin: httpx.AsyncClient, chat_address: str
) -> None:
    chat = await _start(parley, chat_address)
    answer = await _refresh(parley, chat["token"])
    assert answer.status_code == 200, answer.text
    renewed = answer.json()
    assert (renewed["conversation_sid"], renewed["identity"]) == (chat["conversation_sid"], chat["identity"])
    assert renewed["expires_in"] == WEBCHAT_TOKEN_TTL
    # The new token is the customer's: it reads its conversation, and only that.
    path = f"/conversations/v1/Conversations/{chat['conversation_sid']}/Messages"
    async with httpx.AsyncClient(base_url=parley.base_url, headers={"X-Twilio-Token": renewed["token"]}) as customer:
        assert (await customer.get(path)).status_code == 200
        other = await _start(parley, chat_address)
        assert (
            await customer.get(f"/conversations/v1/Conversations/{other['conversation_sid']}/Messages")
        ).status_code == 403


async def test_an_expired_token_is_renewed_within_a_day_and_not_after(
    parley: Any, admin: httpx.AsyncClient, chat_address: str, db: Database, account: Any
) -> None:
    chat = await _start(parley, chat_address)
    async with db.read() as q:
        conversation = await q.fetchone(
            "SELECT chat_service_sid FROM conversations WHERE sid = %s", (chat["conversation_sid"],)
        )
    grants = {"chat": {"service_sid": conversation["chat_service_sid"]}}
    overnight = await _minted(db, account.account_sid, chat["identity"], grants, ttl=-8 * 3600)
    answer = await _refresh(parley, overnight)
    assert answer.status_code == 200, answer.text
    assert answer.json()["conversation_sid"] == chat["conversation_sid"]
    too_old = await _minted(db, account.account_sid, chat["identity"], grants, ttl=-(WEBCHAT_REFRESH_GRACE + 3600))
    refused = await _refresh(parley, too_old)
    assert refused.status_code == 401 and refused.json()["code"] == 20003


async def test_only_an_open_web_chat_s_own_token_is_renewed(
    parley: Any, admin: httpx.AsyncClient, chat_address: str, db: Database, account: Any
) -> None:
    chat = await _start(parley, chat_address)
    async with db.read() as q:
        conversation = await q.fetchone(
            "SELECT chat_service_sid FROM conversations WHERE sid = %s", (chat["conversation_sid"],)
        )
    service = conversation["chat_service_sid"]
    # A chat token for another identity (an SDK user), and an agent's token: not a web chat's.
    for identity, grants in (
        ("alice", {"chat": {"service_sid": service}}),
        ("webchat-agent", {"task_router": {"workspace_sid": "WS" + "0" * 32, "role": "supervisor"}}),
    ):
        answer = await _refresh(parley, await _minted(db, account.account_sid, identity, grants, ttl=600))
        assert answer.status_code == 403, (identity, answer.text)
    for garbage in ("not-a-token", chat["token"][:-3] + "abc"):
        assert (await _refresh(parley, garbage)).status_code == 401
    async with httpx.AsyncClient(base_url=parley.base_url) as anonymous:
        missing = await anonymous.post(REFRESH, data={})
    assert missing.status_code == 400

    await ok(await admin.post(f"/conversations/v1/Conversations/{chat['conversation_sid']}", data={"State": "closed"}))
    ended = await _refresh(parley, chat["token"])
    assert ended.status_code == 403 and "ended" in ended.json()["message"]


async def test_a_web_chat_customer_may_leave_but_not_remove_anyone_else(
    parley: Any, admin: httpx.AsyncClient, chat_address: str
) -> None:
    chat = await _start(parley, chat_address)
    other = await _start(parley, chat_address)
    conversation = f"/conversations/v1/Conversations/{chat['conversation_sid']}"
    agent = await ok(await admin.post(f"{conversation}/Participants", data={"Identity": "alice"}), 201)
    async with httpx.AsyncClient(base_url=parley.base_url, headers={"X-Twilio-Token": chat["token"]}) as customer:
        removing = await customer.delete(f"{conversation}/Participants/{agent['sid']}")
        assert removing.status_code == 403 and removing.json()["code"] == 50107
        elsewhere = await customer.delete(
            f"/conversations/v1/Conversations/{other['conversation_sid']}/Participants/{other['identity']}"
        )
        assert elsewhere.status_code == 403
        assert (await customer.delete(f"{conversation}/Participants/{chat['identity']}")).status_code == 204
    left = await ok(await admin.get(f"{conversation}/Participants"))
    assert [p["identity"] for p in left["participants"]] == ["alice"]
