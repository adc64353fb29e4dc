"""Parley's runtime configuration: one pydantic-settings class, read on demand, never at import time."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.limits import (
    AGENT_PRESENCE_GRACE,
    AUTH_FAILURE_WINDOW,
    AUTH_FAILURES_PER_IP,
    AUTH_FAILURES_PER_USERNAME,
    CREDENTIAL_REQUEST_BURST,
    CREDENTIAL_REQUESTS_PER_SECOND,
    DB_ACQUIRE_TIMEOUT,
    MAX_IN_FLIGHT_REQUESTS,
    WEBCHAT_START_BURST,
    WEBCHAT_STARTS_PER_MINUTE,
)

DEVELOPMENT_SECRET = "parley-development-secret-change-me"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = 8000
    # Absolute base URL clients use to reach the api; `url`/`links`/paging URLs are built from it.
    public_url: str | None = None
    database_url: str = Field(default="postgresql://postgres@127.0.0.1:5432/parley", validation_alias="DATABASE_URL")
    temporal_address: str = Field(default="127.0.0.1:7233", validation_alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", validation_alias="TEMPORAL_NAMESPACE")
    # The Temporal UI's origin (scheme://host:port): the one origin CORS lets call the codec endpoint, the one
    # trusted without credentials on a loopback, non-production api (api/routes/codec.py).
    temporal_ui_origin: str = "http://127.0.0.1:8233"
    task_queue: str = "parley"
    secret_key: str = DEVELOPMENT_SECRET
    # Key-encryption keys (core/keys.py): "id:base64-of-32-bytes" pairs, comma-separated; the first is the
    # active one, the others still decrypt what they sealed (rotation). Unset in development and tests: one
    # key derived from `secret_key` (refused in production).
    encryption_keys: str | None = None
    db_pool_size: int = 16
    # Back-pressure (docs/operations.md; defaults in domain/limits.py): seconds an api request waits for a
    # database connection before it is answered 503 + Retry-After, and the HTTP requests one api process
    # handles at once (more are answered 503 + Retry-After at once).
    db_acquire_timeout: float = Field(default=DB_ACQUIRE_TIMEOUT, gt=0)
    max_in_flight_requests: int = Field(default=MAX_IN_FLIGHT_REQUESTS, ge=1)
    # Seconds a pending outbox row may wait before the sweeper re-drives it.
    outbox_redrive_after: float = 10.0
    # How often the sweeper Schedule runs.
    outbox_sweep_interval: float = 15.0
    # Seconds an agent's desktop may be gone (no socket in any api process) before the agent is set offline
    # and its conversations re-queued; a reload well within it loses nothing.
    presence_grace: float = AGENT_PRESENCE_GRACE
    # Continue-as-new after this many history events even if the server does not suggest it yet.
    channel_history_limit: int = 2000
    # Where uploaded message media is kept (core/media.py: the local filesystem store).
    media_dir: Path = Path(".data/media")
    # Prometheus (docs/observability.md). The api's port answers GET /metrics to loopback callers only; this
    # second port of the api (on `host`) serves /metrics to anyone who reaches it, and nothing else: keep it
    # on a private network. The worker serves its metrics (Parley's and the Temporal SDK's) on its own port.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.env is Environment.PRODUCTION and self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError("PARLEY_SECRET_KEY must be set to a real secret when PARLEY_ENV=production")
        if self.env is Environment.PRODUCTION and not self.encryption_keys:
            raise ValueError("PARLEY_ENCRYPTION_KEYS must be set when PARLEY_ENV=production (docs/security.md)")
        return self

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    # Abuse limits (docs/security/abuse-limits.md): enforced per api process; defaults in domain/limits.py.
    credential_requests_per_second: float = Field(default=CREDENTIAL_REQUESTS_PER_SECOND, gt=0)
    credential_request_burst: int = Field(default=CREDENTIAL_REQUEST_BURST, ge=1)
    webchat_starts_per_minute: float = Field(default=WEBCHAT_STARTS_PER_MINUTE, gt=0)
    webchat_start_burst: int = Field(default=WEBCHAT_START_BURST, ge=1)
    auth_failures_per_username: int = Field(default=AUTH_FAILURES_PER_USERNAME, ge=1)
    auth_failures_per_ip: int = Field(default=AUTH_FAILURES_PER_IP, ge=1)
    auth_failure_window: float = Field(default=AUTH_FAILURE_WINDOW, gt=0)

    # Single sign-on (OpenID Connect)
    # Agents and supervisors sign in to the desktop at an identity provider (authorization code + PKCE), see
    # docs/security/sso.md. Off while no issuer is set.
    sso_issuer: str | None = None
    sso_client_id: str | None = None
    # Unset: a public client, PKCE alone; set: Parley authenticates at the token endpoint with it.
    sso_client_secret: str | None = None
    # Where the provider sends the browser back (register it there); default {base_url}/parley/v1/Sso/Callback.
    sso_redirect_url: str | None = None
    sso_scopes: str = "openid email profile"
    # The workspace the desktop signs into; its account's API key signs the access tokens.
    sso_workspace_sid: str | None = None
    # The ID token claim with the user's roles (a string or a list, as Flex's `roles`), and the values, comma-
    # separated, that make a supervisor or an agent. Empty agent roles: anyone who maps to a worker is an agent.
    sso_role_claim: str = "roles"
    sso_supervisor_roles: str = "supervisor"
    sso_agent_roles: str = "agent"
    # The worker a user is: the one whose attribute `sso_worker_attribute` equals, ignoring case, the ID token's
    # `sso_email_claim` (as Flex keys its SSO workers by `email`).
    sso_email_claim: str = "email"
    sso_worker_attribute: str = "email"
    # A user with a role and no worker gets one (Flex does so); off, such an agent is refused with a clear page.
    sso_create_workers: bool = False
    # Seconds the access token a sign-in mints is valid. The desktop renews it before it expires
    # (POST /parley/v1/Sso/Refresh), for as long as the sign-in lasts:
    sso_token_ttl: int = Field(default=3600, ge=60, le=86_400)
    # Seconds from signing in at the identity provider until the person must do so again (a long shift):
    # renewals never reach past it.
    sso_session_lifetime: int = Field(default=12 * 3600, ge=300, le=7 * 86_400)
    # Where the identity provider sends the browser after its logout (register it there too); default
    # {base_url}/agent/.
    sso_post_logout_redirect_url: str | None = None

    @model_validator(mode="after")
    def _sso_complete(self) -> Settings:
        if not self.sso_issuer:
            return self
        if not self.sso_client_id or not self.sso_workspace_sid:
            raise ValueError("PARLEY_SSO_ISSUER needs PARLEY_SSO_CLIENT_ID and PARLEY_SSO_WORKSPACE_SID")
        if self.env is Environment.PRODUCTION and not self.sso_issuer.startswith("https://"):
            raise ValueError("PARLEY_SSO_ISSUER must be an https:// URL when PARLEY_ENV=production")
        return self

    @property
    def sso_enabled(self) -> bool:
        return bool(self.sso_issuer)


@lru_cache
def get_settings() -> Settings:
    return Settings()
