"""Attributes are stored as the JSON text the client sent (Twilio echoes it byte for byte); routing reads them
as documents."""

from __future__ import annotations

import json
from typing import Any

from storage import crypto


def attributes_of(text: str | None) -> dict[str, Any]:
    """The attributes as a JSON object; anything unreadable counts as `{}` (it was validated on the way in).
    Sealed attributes (storage/crypto.py) are opened first."""
    try:
        value = json.loads(crypto.opened(text) or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
