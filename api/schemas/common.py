"""Shared pieces of the wire format: Twilio's date format and the list envelope's `meta`."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


def iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


class Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class PageMeta(Public):
    page: int
    page_size: int
    first_page_url: str
    previous_page_url: str | None
    url: str
    next_page_url: str | None
    key: str
