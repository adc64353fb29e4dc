"""Access tokens for tests, built with the official twilio library as a Flex deployment builds them."""

from __future__ import annotations

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant, TaskRouterGrant

from storage.bootstrap import Credentials


def access_token(
    account: Credentials,
    workspace_sid: str,
    worker_sid: str | None,
    *,
    identity: str | None = None,
    role: str = "worker",
    ttl: int = 3600,
) -> str:
    """An access token of `account` with a TaskRouter grant (and a chat grant), signed with its API key."""
    token = AccessToken(
        account.account_sid,
        account.api_key_sid,
        account.api_key_secret,
        identity=identity or worker_sid or "supervisor",
        ttl=ttl,
    )
    token.add_grant(TaskRouterGrant(workspace_sid=workspace_sid, worker_sid=worker_sid, role=role))
    token.add_grant(ChatGrant())
    return str(token.to_jwt())
