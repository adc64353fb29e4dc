"""Flex Interactions request objects, typed: the `Channel` and `Routing` JSON of `POST /Interactions`, an invite's
`Routing`, and a transfer's JSON body. Parsed once at the edge, so the use cases never read raw dicts, and every
rule Twilio documents (a customer-initiated channel names its conversation, an agent-initiated one names the
agent and its queue, …) is checked in one place with a sentence saying what is wrong."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.limits import MAX_PRIORITY, MAX_TASK_TTL
from domain.states import TransferType

SID = r"^{prefix}[0-9a-fA-F]{{32}}$"


def sid_of(prefix: str) -> Any:
    return Field(pattern=SID.format(prefix=prefix))


class InteractionChannelType(StrEnum):
    """`interaction_channel_enum_type`, less what Parley cannot carry (voice, gbm)."""

    WEB = "web"
    CHAT = "chat"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"
    EMAIL = "email"


class InitiatedBy(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    API = "api"


class ChannelProperties(BaseModel):
    model_config = ConfigDict(extra="allow")

    media_channel_sid: str | None = Field(default=None, pattern=SID.format(prefix="CH"))
    # Email: the team address the agent writes from, and its display name.
    from_: str | None = Field(default=None, alias="from")
    from_name: str | None = None


class ChannelParticipant(BaseModel):
    """One participant of `Channel.participants`: a chat identity, or a messaging address with its proxy."""

    model_config = ConfigDict(extra="allow")

    identity: str | None = Field(default=None, min_length=1, max_length=256)
    address: str | None = Field(default=None, min_length=1, max_length=256)
    proxy_address: str | None = Field(default=None, min_length=1, max_length=256)
    name: str | None = Field(default=None, max_length=256)
    level: str | None = None

    @model_validator(mode="after")
    def _named(self) -> ChannelParticipant:
        if self.identity is None and self.address is None:
            raise ValueError("each participant needs an identity (chat) or an address (sms, whatsapp, email)")
        return self


class ChannelSpec(BaseModel):
    """The `Channel` object of `POST /Interactions`."""

    model_config = ConfigDict(extra="allow")

    type: InteractionChannelType
    initiated_by: InitiatedBy
    sid: str | None = Field(default=None, pattern=SID.format(prefix="UO"))
    properties: ChannelProperties = Field(default_factory=ChannelProperties)
    participants: list[ChannelParticipant] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rules(self) -> ChannelSpec:
        if self.initiated_by is InitiatedBy.CUSTOMER and self.properties.media_channel_sid is None:
            raise ValueError("initiated_by=customer needs properties.media_channel_sid, the customer's conversation")
        if self.initiated_by is InitiatedBy.AGENT and not self.participants:
            raise ValueError("initiated_by=agent needs participants: whom the agent contacts")
        return self


class RoutingProperties(BaseModel):
    """`Routing.properties`: where the channel's tasks go. Unknown keys are kept (Flex passes some through)."""

    model_config = ConfigDict(extra="allow")

    workspace_sid: str = Field(pattern=SID.format(prefix="WS"))
    workflow_sid: str | None = Field(default=None, pattern=SID.format(prefix="WW"))
    queue_sid: str | None = Field(default=None, pattern=SID.format(prefix="WQ"))
    worker_sid: str | None = Field(default=None, pattern=SID.format(prefix="WK"))
    task_channel_sid: str | None = Field(default=None, pattern=SID.format(prefix="TC"))
    task_channel_unique_name: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    priority: int = Field(default=0, ge=0, le=MAX_PRIORITY)
    timeout: int | None = Field(default=None, ge=1, le=MAX_TASK_TTL)
    # Parley: seconds an agent may stay in wrap-up before the task completes by itself (None: no limit).
    wrapup_timeout: int | None = Field(default=None, ge=1, le=MAX_TASK_TTL)

    @property
    def routing_target(self) -> str | None:
        """Routed straight to the named worker (in its queue) or queue, bypassing the workflow's filters."""
        return self.worker_sid or self.queue_sid

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class RoutingSpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    properties: RoutingProperties


class TransferRequest(BaseModel):
    """Parley's body for `POST …/Transfers` (Twilio does not publish one): who hands the customer to whom.

    `to` is a worker (WK…) or a queue (WQ…); `queue_sid` picks the queue a worker is reached through (default:
    the sender's task queue, else one the worker belongs to)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: TransferType = TransferType.COLD
    from_: str = Field(alias="from", pattern=SID.format(prefix="UT"))
    to: str = Field(pattern=r"^(WK|WQ)[0-9a-fA-F]{32}$")
    queue_sid: str | None = Field(default=None, pattern=SID.format(prefix="WQ"))
    note: str | None = Field(default=None, max_length=4096)
    timeout: int | None = Field(default=None, ge=1, le=MAX_TASK_TTL)

    @model_validator(mode="after")
    def _supported(self) -> TransferRequest:
        if self.type is TransferType.EXTERNAL:
            raise ValueError("type=external (to a phone number) is not supported for messaging; use cold or warm")
        return self


class TransferChange(StrEnum):
    """What `POST …/Transfers/{UX}` accepts as `status`: the sender takes a waiting transfer back."""

    FAILED = "failed"


class TransferUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: TransferChange
