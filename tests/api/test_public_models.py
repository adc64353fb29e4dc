"""Public.from_row: how every resource is built from its row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from api.schemas.common import Public, TwilioDate


@dataclass
class _Row:
    sid: str
    friendly_name: str
    date_created: datetime | None
    secret: str = "not on the wire"


class _Resource(Public):
    sid: str
    friendly_name: str
    date_created: TwilioDate
    url: str
    source: str = "parley"


def test_fields_are_copied_from_the_row_and_dates_written_as_twilio_does() -> None:
    row = _Row(sid="XX1", friendly_name="one", date_created=datetime(2026, 12, 1, 20, 35, 29, 123, tzinfo=UTC))
    resource = _Resource.from_row(row, url="http://x/XX1")
    assert resource.model_dump() == {
        "sid": "XX1",
        "friendly_name": "one",
        "date_created": "2026-12-01T20:35:29Z",
        "url": "http://x/XX1",
        "source": "parley",
    }


def test_computed_values_win_over_the_row() -> None:
    row = _Row(sid="XX1", friendly_name="one", date_created=None)
    resource = _Resource.from_row(row, friendly_name="renamed", url="u")
    assert (resource.friendly_name, resource.date_created) == ("renamed", None)


def test_a_required_field_neither_row_nor_caller_gives_is_an_error() -> None:
    with pytest.raises(ValidationError, match="url"):
        _Resource.from_row(_Row(sid="XX1", friendly_name="one", date_created=None))
