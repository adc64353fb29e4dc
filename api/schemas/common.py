"""Shared pieces of the wire format: Twilio's date format, building a resource from its row, and the list
envelope's `meta`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict


def iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def _twilio_date(value: object) -> object:
    return iso(value) if isinstance(value, datetime) else value


# A date as Twilio writes it (`2026-12-01T20:35:29Z`); a datetime given to the field is formatted.
TwilioDate = Annotated[str | None, BeforeValidator(_twilio_date)]


class Public(BaseModel):
    # Defaulted fields are always written, so the OpenAPI lists them as required in responses.
    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    @classmethod
    def from_row(cls, row: object, **computed: Any) -> Self:
        """The resource for `row`: each field the row has by the same name is copied, `computed` gives the rest
        (urls, links, renamed or derived fields); a field neither gives keeps its default or fails validation."""
        fields = {name: getattr(row, name) for name in cls.model_fields if name not in computed and hasattr(row, name)}
        return cls(**fields, **computed)


class PageMeta(Public):
    page: int
    page_size: int
    first_page_url: str
    previous_page_url: str | None
    url: str
    next_page_url: str | None
    key: str
