"""POST /flex-api/v2/WebChats: how the embeddable web chat starts. Public (like Flex's): it creates a new
conversation from a `chat` address configuration, adds an anonymous customer participant, and returns an
access token whose identity exists only in that conversation — so the token is scoped to it."""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import APIRouter

from api.auth import issue_access_token
from api.deps import DbDep, FormDep, SettingsDep
from domain.errors import InvalidParameter, NotFound
from domain.sids import SidPrefix
from storage import conversations

router = APIRouter(prefix="/flex-api/v2", tags=["Web chat"])
CUSTOMER_TOKEN_TTL = 4 * 3600


@router.post("/WebChats", status_code=201)
async def create_webchat(db: DbDep, form: FormDep, settings: SettingsDep) -> Any:
    address_sid = form.sid("AddressSid", SidPrefix.ADDRESS_CONFIGURATION, required=True)
    customer_name = form.str("CustomerFriendlyName", max_length=256) or "Customer"
    pre_engagement = form.json_value("PreEngagementData")
    if pre_engagement is not None and not isinstance(pre_engagement, dict):
        raise InvalidParameter("PreEngagementData must be a JSON object")
    identity = f"webchat-{secrets.token_hex(12)}"
    async with db.unit() as uow:
        address = await uow.fetchone(
            "SELECT a.*, acc.default_chat_service_sid FROM address_configurations a "
            "JOIN accounts acc ON acc.sid = a.account_sid WHERE a.sid = %s AND a.type = 'chat'",
            (address_sid,),
        )
        if address is None or not (address["auto_creation"] or {}).get("enabled"):
            raise NotFound(f"Web chat address {address_sid} does not exist or is not enabled")
        key = await uow.fetchone(
            "SELECT sid, secret FROM api_keys WHERE account_sid = %s ORDER BY date_created LIMIT 1",
            (address["account_sid"],),
        )
        if key is None:
            raise NotFound("The account has no API key to sign web chat tokens with")
        conversation = await conversations.create_conversation(
            uow,
            account_sid=address["account_sid"],
            chat_service_sid=address["default_chat_service_sid"],
            friendly_name=form.str("ChatFriendlyName", max_length=256) or f"Chat with {customer_name}",
            attributes=json.dumps({"pre_engagement_data": pre_engagement or {}, "customer_name": customer_name}),
            address_sid=address_sid,
        )
        await conversations.add_participant(
            uow,
            conversation_sid=conversation["sid"],
            identity=identity,
            attributes=json.dumps({"role": "customer", "friendly_name": customer_name}),
        )
    token = issue_access_token(
        account_sid=address["account_sid"],
        api_key_sid=key["sid"],
        api_key_secret=key["secret"],
        identity=identity,
        grants={"chat": {"service_sid": address["default_chat_service_sid"]}},
        ttl=CUSTOMER_TOKEN_TTL,
    )
    return {
        "conversation_sid": conversation["sid"],
        "identity": identity,
        "token": token,
        "expires_in": CUSTOMER_TOKEN_TTL,
    }
