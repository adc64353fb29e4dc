"""A participant as the Conversations API describes one, and Twilio's rules for what may be combined."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.errors import InvalidParameter


@dataclass(frozen=True, slots=True)
class NewParticipant:
    """A participant as the API describes one: chat (`identity`) or non-chat (`address` + `proxy_address`)."""

    identity: str | None = None
    address: str | None = None
    proxy_address: str | None = None
    projected_address: str | None = None
    attributes: str = "{}"
    role_sid: str | None = None
    # An import of history may keep the original times.
    date_created: datetime | None = None
    date_updated: datetime | None = None

    def binding(self) -> dict[str, Any] | None:
        """Twilio's rules: identity or binding address, not both (50402); a binding needs its proxy."""
        if self.identity is None and self.address is None:
            raise InvalidParameter("Either Identity or MessagingBinding.Address must be given", code=50402)
        if self.identity is not None and self.address is not None:
            raise InvalidParameter("Identity and MessagingBinding.Address are mutually exclusive", code=50402)
        if self.address is not None and self.proxy_address is None:
            raise InvalidParameter("MessagingBinding.ProxyAddress is required with MessagingBinding.Address")
        if self.address is not None and self.projected_address is not None:
            raise InvalidParameter("MessagingBinding.ProjectedAddress is for chat participants", code=50402)
        if self.address is not None:
            kind = next((k for k in ("whatsapp", "messenger") if self.address.startswith(f"{k}:")), "sms")
            return {"type": kind, "address": self.address, "proxy_address": self.proxy_address}
        if self.projected_address is not None:
            return {"projected_address": self.projected_address}
        return None
