"""Parley's runtime configuration: one pydantic-settings class, read on demand, never at import time."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.limits import AGENT_PRESENCE_GRACE

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
    task_queue: str = "parley"
    secret_key: str = DEVELOPMENT_SECRET
    db_pool_size: int = 16
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

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.env is Environment.PRODUCTION and self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError("PARLEY_SECRET_KEY must be set to a real secret when PARLEY_ENV=production")
        return self

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


@lru_cache
def get_settings() -> Settings:
    return Settings()
