"""Accounts use cases: create an account (with its auth token, first API key and default Conversation
Service), and the lookups authentication and token minting need."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass

from domain.errors import NotFound
from domain.sids import SidPrefix, is_sid, new_sid
from storage import crypto
from storage.accounts.tables import ApiKeyRow
from storage.conversations import roles
from storage.db import UnitOfWork


@dataclass(frozen=True)
class Credentials:
    account_sid: str
    auth_token: str
    api_key_sid: str
    api_key_secret: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


async def create_account(uow: UnitOfWork, *, friendly_name: str = "Parley") -> Credentials:
    credentials = Credentials(
        account_sid=new_sid(SidPrefix.ACCOUNT),
        auth_token=secrets.token_hex(16),
        api_key_sid=new_sid(SidPrefix.API_KEY),
        api_key_secret=secrets.token_urlsafe(24),
    )
    service_sid = new_sid(SidPrefix.CONVERSATION_SERVICE)
    # Credentials are needed in clear (to sign webhooks and verify tokens), so they are sealed, not hashed.
    key = await crypto.sealer(uow, credentials.account_sid)
    await uow.execute(
        "INSERT INTO accounts (sid, friendly_name, auth_token) VALUES (%s, %s, %s)",
        (credentials.account_sid, friendly_name, key.seal(credentials.auth_token)),
    )
    await uow.execute(
        "INSERT INTO api_keys (sid, account_sid, friendly_name, secret) VALUES (%s, %s, 'bootstrap', %s)",
        (credentials.api_key_sid, credentials.account_sid, key.seal(credentials.api_key_secret)),
    )
    await uow.execute(
        "INSERT INTO conversation_services (sid, account_sid, friendly_name) VALUES (%s, %s, 'Default')",
        (service_sid, credentials.account_sid),
    )
    await uow.execute(
        "UPDATE accounts SET default_chat_service_sid = %s WHERE sid = %s", (service_sid, credentials.account_sid)
    )
    await roles.ensure_default_roles(uow, account_sid=credentials.account_sid, chat_service_sid=service_sid)
    return credentials


@dataclass(frozen=True, slots=True)
class Secret:
    account_sid: str
    secret: str


async def secret_for(uow: UnitOfWork, sid: str) -> Secret | None:
    """The account and secret behind an account SID (its auth token) or an API key SID (the key's secret)."""
    if is_sid(sid, SidPrefix.ACCOUNT):
        row = await uow.fetchone(
            "SELECT sid AS account_sid, auth_token AS secret FROM accounts WHERE sid = %s AND status = 'active'",
            (sid,),
        )
    elif is_sid(sid, SidPrefix.API_KEY):
        row = await uow.fetchone("SELECT account_sid, secret FROM api_keys WHERE sid = %s", (sid,))
    else:
        row = None
    return Secret(account_sid=row["account_sid"], secret=crypto.opened(row["secret"])) if row else None


async def signing_key(uow: UnitOfWork, account_sid: str) -> ApiKeyRow:
    """The API key Parley signs the account's access tokens with (its first one)."""
    key = await uow.one(
        ApiKeyRow, "SELECT * FROM api_keys WHERE account_sid = %s ORDER BY date_created LIMIT 1", (account_sid,)
    )
    if key is None:
        raise NotFound("The account has no API key to sign access tokens with")
    return key


async def auth_token(uow: UnitOfWork, account_sid: str) -> str:
    """The account's auth token: the key its outgoing webhooks are signed with (X-Twilio-Signature)."""
    row = await uow.fetchone("SELECT auth_token FROM accounts WHERE sid = %s", (account_sid,))
    if row is None:
        raise NotFound.resource(f"/Accounts/{account_sid}")
    return str(crypto.opened(row["auth_token"]))
