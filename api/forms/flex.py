"""Flex Interactions v1 request bodies: forms whose JSON parameters (`Channel`, `Routing`, `MediaProperties`) are
parsed into the typed request objects of domain/interactions.py, so a bad one is a 400 naming what is wrong."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from api.forms.fields import FormModel, one_of
from domain.interactions import ChannelSpec, RoutingSpec
from domain.states import InteractionParticipantType


def _json_object(value: Any) -> Any:
    """A JSON parameter sent as text, parsed before its model validates it."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON: {exc.msg} at position {exc.pos}") from None
    return value


ChannelJson = Annotated[ChannelSpec, BeforeValidator(_json_object)]
RoutingJson = Annotated[RoutingSpec, BeforeValidator(_json_object)]
ObjectJson = Annotated[dict[str, Any], BeforeValidator(_json_object)]
ParticipantType = Annotated[InteractionParticipantType, BeforeValidator(one_of(InteractionParticipantType))]


class CreateInteraction(FormModel):
    channel: ChannelJson = Field(
        alias="Channel",
        description="`{type, initiated_by, properties: {media_channel_sid}, participants: [...]}`",
    )
    routing: RoutingJson | None = Field(
        None, alias="Routing", description="`{properties: {workspace_sid, workflow_sid, queue_sid, worker_sid, …}}`"
    )
    interaction_context_sid: Annotated[str, Field(pattern=r"^HQ[0-9a-fA-F]{32}$")] | None = Field(
        None, alias="InteractionContextSid"
    )
    webhook_ttid: Annotated[str, Field(max_length=128)] | None = Field(None, alias="WebhookTtid")


class UpdateInteraction(FormModel):
    webhook_ttid: Annotated[str, Field(max_length=128)] | None = Field(None, alias="WebhookTtid")


class CreateInteractionParticipant(FormModel):
    type: ParticipantType = Field(alias="Type", description="supervisor, customer, external, agent or unknown")
    media_properties: ObjectJson = Field(
        alias="MediaProperties", description="`{identity}` (chat) or `{address, proxy_address}` (sms, whatsapp)"
    )
    routing_properties: ObjectJson | None = Field(
        None, alias="RoutingProperties", description="`{worker_sid}` for an agent"
    )


class CreateInvite(FormModel):
    routing: RoutingJson = Field(
        alias="Routing",
        description="`{properties: {workspace_sid, queue_sid and/or worker_sid, workflow_sid, attributes}}`",
    )
