"""An api process signed in to through single sign-on: the session's api settings (the `parley` fixture's
environment, so the same database, Temporal and worker) plus the PARLEY_SSO_* ones pointing at a test provider,
on a port of its own. Single sign-on is configured at start, so it cannot be the session's api."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from api.sso import CALLBACK_PATH, DESKTOP_PATH
from tests.support.oidc_provider import OidcProvider, ProviderClient
from tests.support.services import Process, another_api_env, free_port, wait_healthy

CLIENT_ID = "parley-desktop"


@dataclass
class SsoApi:
    base_url: str
    process: Process


@contextmanager
def sso_api(
    parley: Any,
    provider: OidcProvider,
    *,
    workspace_sid: str,
    client_secret: str | None = None,
    client_id: str = CLIENT_ID,
    **settings: str,
) -> Iterator[SsoApi]:
    """Starts the api with single sign-on at `provider` (registering it there as a client) and yields it.
    `settings` are further PARLEY_SSO_* settings by their suffix, e.g. create_workers="true"."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    provider.register_client(
        ProviderClient(
            client_id=client_id,
            redirect_uris=[f"{base_url}{CALLBACK_PATH}"],
            client_secret=client_secret,
            post_logout_redirect_uris=[f"{base_url}{DESKTOP_PATH}"],
        )
    )
    env = another_api_env(
        parley.env,
        port,
        PARLEY_SSO_ISSUER=provider.issuer,
        PARLEY_SSO_CLIENT_ID=client_id,
        PARLEY_SSO_WORKSPACE_SID=workspace_sid,
        **({"PARLEY_SSO_CLIENT_SECRET": client_secret} if client_secret else {}),
        **{f"PARLEY_SSO_{name.upper()}": value for name, value in settings.items()},
    )
    api = Process("api-sso", "api", env)
    api.start()
    try:
        wait_healthy(base_url, api)
        yield SsoApi(base_url=base_url, process=api)
    finally:
        api.stop()
