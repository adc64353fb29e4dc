"""Attributes are stored as the JSON text the client sent (Twilio echoes it byte for byte); routing reads them
as documents."""

from __future__ import annotations

import json
from typing import Any


def attributes_of(text: str | None) -> dict[str, Any]:
    """The attributes as a JSON object; anything unreadable counts as `{}` (it was validated on the way in)."""
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
