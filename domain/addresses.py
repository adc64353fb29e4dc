"""Address configurations' `AutoCreation`: what happens when a new contact writes to an address. Stored as
this model (JSONB), answered in Twilio's shape (`auto_creation` object of the resource)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.errors import InvalidParameter
from domain.webhooks import CONVERSATION_SCOPED_EVENTS, WebhookMethod, check_filters


class AutoCreationType(StrEnum):
    DEFAULT = "default"  # just the conversation (the account's and service's webhooks apply)
    WEBHOOK = "webhook"  # plus a conversation-scoped webhook to WebhookUrl
    STUDIO = "studio"  # a Studio flow: Parley has no Studio, refused


class AutoCreation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    enabled: bool = False
    type: AutoCreationType = AutoCreationType.DEFAULT
    conversation_service_sid: str | None = None
    webhook_url: str | None = None
    webhook_method: WebhookMethod | None = None
    webhook_filters: list[str] | None = None
    studio_flow_sid: str | None = None
    studio_retry_count: int | None = None
    # Parley's extension: the Interactions `Routing` object an auto-created conversation is routed with.
    routing: dict[str, Any] | None = None

    def checked(self) -> AutoCreation:
        """Twilio's rules for a type, checked before anything is written."""
        if self.type is AutoCreationType.STUDIO:
            raise InvalidParameter(
                "AutoCreation.Type=studio is not supported: Parley has no Studio; use webhook or default",
                code=50364,
            )
        if self.type is AutoCreationType.WEBHOOK and not self.webhook_url:
            raise InvalidParameter("AutoCreation.WebhookUrl is required with AutoCreation.Type=webhook")
        if self.routing is not None and not isinstance(self.routing.get("properties"), dict):
            raise InvalidParameter("AutoCreation.Routing must be a JSON object with a 'properties' object")
        filters = check_filters(self.webhook_filters, CONVERSATION_SCOPED_EVENTS) if self.webhook_filters else None
        return self.model_copy(update={"webhook_filters": filters})

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)
