"""Conversations v1, Flex Interactions v1 and Parley's own request bodies (form-encoded, Twilio's names)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from api.forms.fields import (
    AddressSid,
    Bool,
    CallbackUrl,
    ConversationAttributes,
    ConversationsName,
    DateTime,
    FormModel,
    JsonValue,
    MessageAttributes,
    ParticipantAttributes,
    WorkerSid,
    WorkspaceSid,
    one_of,
)
from domain.addresses import AutoCreation, AutoCreationType
from domain.errors import InvalidParameter
from domain.limits import CONVERSATIONS_NAME_LIMIT, MAX_TOKEN_TTL, MIN_TOKEN_TTL, WEBCHAT_FIRST_MESSAGE_MAX_LENGTH
from domain.participants import NewParticipant
from domain.states import ChannelUpdateStatus, ConversationState, InteractionChannelStatus
from domain.webhooks import WebhookMethod, WebhookTarget


class AddressType(StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"
    GBM = "gbm"
    EMAIL = "email"
    RCS = "rcs"
    APPLE = "apple"
    CHAT = "chat"


class ParticipantUpdateStatus(StrEnum):
    """What `POST …/Channels/{UO}/Participants/{UT}` accepts as `Status`."""

    CLOSED = "closed"
    WRAPUP = "wrapup"


class TokenRole(StrEnum):
    WORKER = "worker"
    SUPERVISOR = "supervisor"


State = Annotated[ConversationState, BeforeValidator(one_of(ConversationState))]
Address = Annotated[AddressType, BeforeValidator(one_of(AddressType))]
ChannelStatus = Annotated[ChannelUpdateStatus, BeforeValidator(one_of(ChannelUpdateStatus))]
ParticipantStatus = Annotated[ParticipantUpdateStatus, BeforeValidator(one_of(ParticipantUpdateStatus))]
Role = Annotated[TokenRole, BeforeValidator(one_of(TokenRole))]
TimerText = Annotated[str, Field(max_length=32)]
AutoType = Annotated[AutoCreationType, BeforeValidator(one_of(AutoCreationType))]
Method = Annotated[WebhookMethod, BeforeValidator(one_of(WebhookMethod))]
Target = Annotated[WebhookTarget, BeforeValidator(one_of(WebhookTarget))]


class CreateConversation(FormModel):
    # `FriendlyName=` names the conversation "" (FastAPI alone would drop it as absent).
    clearable = ("friendly_name",)

    friendly_name: ConversationsName | None = Field(None, alias="FriendlyName", description="Up to 256 characters.")
    unique_name: ConversationsName | None = Field(
        None, alias="UniqueName", description="Unique in the service; usable in place of the SID."
    )
    attributes: ConversationAttributes | None = Field(
        None, alias="Attributes", description="A JSON object, up to 16 KB."
    )
    state: State | None = Field(
        None, alias="State", description="`active` (default) or `inactive`; needed with timers (50382)."
    )
    messaging_service_sid: str | None = Field(None, alias="MessagingServiceSid")
    timers_inactive: TimerText | None = Field(
        None, alias="Timers.Inactive", description="ISO 8601 duration of inactivity before `inactive` (≥ PT1M)."
    )
    timers_closed: TimerText | None = Field(
        None, alias="Timers.Closed", description="ISO 8601 duration of inactivity before `closed` (≥ PT10M)."
    )
    date_created: DateTime | None = Field(None, alias="DateCreated")
    date_updated: DateTime | None = Field(None, alias="DateUpdated")


class UpdateConversation(FormModel):
    # `UniqueName=` removes the conversation's unique name (the name is free again in the service).
    clearable = ("friendly_name", "unique_name")

    friendly_name: ConversationsName | None = Field(None, alias="FriendlyName")
    unique_name: ConversationsName | None = Field(
        None, alias="UniqueName", description="Unique in the service; empty to remove it."
    )
    attributes: ConversationAttributes | None = Field(None, alias="Attributes")
    state: State | None = Field(None, alias="State", description="`active`, `inactive` or `closed` (final).")
    messaging_service_sid: str | None = Field(None, alias="MessagingServiceSid")
    timers_inactive: TimerText | None = Field(None, alias="Timers.Inactive")
    timers_closed: TimerText | None = Field(None, alias="Timers.Closed")
    date_created: DateTime | None = Field(None, alias="DateCreated")
    date_updated: DateTime | None = Field(None, alias="DateUpdated")


class CreateParticipant(FormModel):
    identity: ConversationsName | None = Field(
        None, alias="Identity", description="A chat participant's identity (exclusive with MessagingBinding)."
    )
    messaging_binding_address: ConversationsName | None = Field(
        None, alias="MessagingBinding.Address", description="An SMS or WhatsApp participant's address."
    )
    messaging_binding_proxy_address: ConversationsName | None = Field(
        None, alias="MessagingBinding.ProxyAddress", description="The address Parley writes to them from."
    )
    messaging_binding_projected_address: ConversationsName | None = Field(
        None, alias="MessagingBinding.ProjectedAddress", description="A chat participant's number in group MMS."
    )
    attributes: ParticipantAttributes | None = Field(None, alias="Attributes", description="A JSON object, up to 4 KB.")
    role_sid: str | None = Field(None, alias="RoleSid")
    date_created: DateTime | None = Field(None, alias="DateCreated")
    date_updated: DateTime | None = Field(None, alias="DateUpdated")

    def new(self) -> NewParticipant:
        return NewParticipant(
            identity=self.identity,
            address=self.messaging_binding_address,
            proxy_address=self.messaging_binding_proxy_address,
            projected_address=self.messaging_binding_projected_address,
            attributes=self.attributes or "{}",
            role_sid=self.role_sid,
            date_created=self.date_created,
            date_updated=self.date_updated,
        )


class CreateConversationWithParticipants(CreateConversation):
    participant: list[str] = Field(
        default_factory=list,
        alias="Participant",
        description='Up to 10, each a JSON object: `{"identity": "…"}` or '
        '`{"messaging_binding": {"address": "…", "proxy_address": "…"}}`, with `attributes` and `role_sid`.',
    )

    def participants(self) -> list[NewParticipant]:
        return [_participant_of(text, n) for n, text in enumerate(self.participant)]


def _participant_of(text: str, n: int) -> NewParticipant:
    """One `Participant` value: Twilio's participant fields in snake case, the binding nested or dotted."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidParameter(f"Participant {n} is not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise InvalidParameter(f"Participant {n} must be a JSON object")
    binding = value.get("messaging_binding") or {}
    if not isinstance(binding, dict):
        raise InvalidParameter(f"Participant {n}: messaging_binding must be an object")

    def text_of(key: str) -> str | None:
        found = binding.get(key, value.get(f"messaging_binding.{key}"))
        if found is not None and (not isinstance(found, str) or len(found) > CONVERSATIONS_NAME_LIMIT):
            raise InvalidParameter(f"Participant {n}: messaging_binding.{key} must be a string")
        return found

    identity = value.get("identity")
    if identity is not None and (not isinstance(identity, str) or len(identity) > CONVERSATIONS_NAME_LIMIT):
        raise InvalidParameter(f"Participant {n}: identity must be a string of at most {CONVERSATIONS_NAME_LIMIT}")
    attributes = value.get("attributes", "{}")
    if isinstance(attributes, dict):
        attributes = json.dumps(attributes)
    if not isinstance(attributes, str) or not isinstance(_json_or_none(attributes), dict):
        raise InvalidParameter(f"Participant {n}: attributes must be a JSON object")
    role_sid = value.get("role_sid")
    return NewParticipant(
        identity=identity,
        address=text_of("address"),
        proxy_address=text_of("proxy_address"),
        projected_address=text_of("projected_address"),
        attributes=attributes,
        role_sid=role_sid if isinstance(role_sid, str) else None,
    )


def _json_or_none(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


class CreateMessage(FormModel):
    body: str | None = Field(None, alias="Body", description="The message text, up to 32 KB.")
    media_sid: list[str] = Field(
        default_factory=list, alias="MediaSid", description="Media uploaded to /mcs/v1/Services/{IS}/Media."
    )
    attributes: MessageAttributes | None = Field(None, alias="Attributes", description="A JSON object, up to 4 KB.")
    author: ConversationsName | None = Field(
        None, alias="Author", description="Who wrote it (admins only; a token writes as its own identity)."
    )
    date_created: DateTime | None = Field(None, alias="DateCreated", description="Admins only: an import's time.")
    date_updated: DateTime | None = Field(None, alias="DateUpdated", description="Admins only.")


class _AutoCreationFields(FormModel):
    auto_creation_enabled: Bool | None = Field(
        None, alias="AutoCreation.Enabled", description="Create a conversation for a new contact."
    )
    auto_creation_type: AutoType | None = Field(
        None, alias="AutoCreation.Type", description="`default`, or `webhook` (`studio` is not supported)."
    )
    auto_creation_conversation_service_sid: str | None = Field(None, alias="AutoCreation.ConversationServiceSid")
    auto_creation_webhook_url: CallbackUrl | None = Field(None, alias="AutoCreation.WebhookUrl")
    auto_creation_webhook_method: Method | None = Field(None, alias="AutoCreation.WebhookMethod")
    auto_creation_webhook_filters: list[str] | None = Field(None, alias="AutoCreation.WebhookFilters")
    auto_creation_studio_flow_sid: str | None = Field(None, alias="AutoCreation.StudioFlowSid")
    auto_creation_studio_retry_count: Annotated[int, Field(ge=0, le=3)] | None = Field(
        None, alias="AutoCreation.StudioRetryCount"
    )
    auto_creation_routing: JsonValue = Field(
        None,
        alias="AutoCreation.Routing",
        description="Parley extension: the Interactions `Routing` object for auto-created conversations, "
        '`{"properties": {"workspace_sid", "workflow_sid", "task_channel_unique_name"}}`.',
    )

    def auto_creation(self, current: AutoCreation | None = None) -> AutoCreation:
        """The AutoCreation settings: `current` with what this request sent."""
        sent = {
            name.removeprefix("auto_creation_"): getattr(self, name)
            for name in self.model_fields_set
            if name.startswith("auto_creation_")
        }
        routing = sent.get("routing")
        if routing is not None and not isinstance(routing, dict):
            raise InvalidParameter("AutoCreation.Routing must be a JSON object with a 'properties' object")
        return (current or AutoCreation()).model_copy(update=sent)


class CreateAddress(_AutoCreationFields):
    type: Address = Field(alias="Type", description="The channel: `chat`, `sms`, `whatsapp`, `messenger`…")
    address: ConversationsName = Field(alias="Address", description="The address itself (a name for `chat`).")
    friendly_name: ConversationsName | None = Field(None, alias="FriendlyName")
    address_country: Annotated[str, Field(max_length=2)] | None = Field(None, alias="AddressCountry")


class UpdateAddress(_AutoCreationFields):
    friendly_name: ConversationsName | None = Field(None, alias="FriendlyName")


class UpdateInteractionChannel(FormModel):
    status: ChannelStatus = Field(alias="Status", description="`closed`, or `inactive` (with Routing)")
    routing: JsonValue = Field(
        None, alias="Routing", description='`{"status": "closed"}` also completes the channel\'s task.'
    )

    @property
    def closes_tasks(self) -> bool:
        """`Routing={"status": "closed"}`: the channel's task is completed too (Twilio's task-closing form)."""
        return isinstance(self.routing, dict) and self.routing.get("status") == InteractionChannelStatus.CLOSED


class UpdateInteractionParticipant(FormModel):
    status: ParticipantStatus = Field(alias="Status", description="`wrapup` or `closed`.")


class CreateWebChat(FormModel):
    address_sid: AddressSid = Field(alias="AddressSid", description="An enabled `chat` address configuration.")
    customer_friendly_name: ConversationsName | None = Field(None, alias="CustomerFriendlyName")
    chat_friendly_name: ConversationsName | None = Field(None, alias="ChatFriendlyName")
    pre_engagement_data: JsonValue = Field(
        None,
        alias="PreEngagementData",
        description="A JSON object the pre-chat form collected (checked against the address's PreChatForm when "
        "it has one).",
    )
    message: Annotated[str, Field(max_length=WEBCHAT_FIRST_MESSAGE_MAX_LENGTH)] | None = Field(
        None,
        alias="Message",
        description="Parley: the customer's first message. Sent while the address cannot answer (closed, or no "
        "agent available) it makes the chat a message left for later: an email is then required.",
    )
    identity_token: Annotated[str, Field(max_length=8192)] | None = Field(
        None,
        alias="IdentityToken",
        description="Parley: an HS256 JWT the site's backend signed with the address's IdentitySecret "
        "(`sub` the customer's id, `exp`, optional `name`, `email`, `aud`): the customer is then identified.",
    )


class UpdateWebChatSettings(FormModel):
    """POST /parley/v1/WebChatSettings/{IG}: what is sent changes, the rest stays."""

    clearable = ("identity_secret",)

    business_hours: JsonValue = Field(
        None,
        alias="BusinessHours",
        description='`{"time_zone": "Europe/Berlin", "hours": [{"days": ["mon", "tue"], "open": "09:00", '
        '"close": "17:00"}], "closed_dates": ["2026-12-25"]}`; `null` for always open.',
    )
    pre_chat_form: JsonValue = Field(
        None,
        alias="PreChatForm",
        description='`[{"name": "email", "label": "Email", "type": "email", "required": true}]` (types text, '
        "email, tel, textarea, select with options); `null` for the default (a name).",
    )
    offline_form: Bool | None = Field(
        None, alias="OfflineForm", description="Take a message and an email when nobody can answer (default true)."
    )
    identity_required: Bool | None = Field(
        None, alias="IdentityRequired", description="Refuse web chats without an IdentityToken (default false)."
    )
    identity_secret: Annotated[str, Field(max_length=512)] | None = Field(
        None,
        alias="IdentitySecret",
        description="The HMAC secret identity tokens are signed with (at least 32 characters; empty removes it). "
        "Never answered.",
    )

    def changes(self) -> dict[str, object]:
        """The settings fields this request sets (JSON null clears a JSON one)."""
        names = {"business_hours", "pre_chat_form", "offline_form", "identity_required"}
        return {name: getattr(self, name) for name in names & self.model_fields_set}


class RefreshWebChatToken(FormModel):
    token: str = Field(
        alias="Token",
        min_length=1,
        max_length=8192,
        description="The web chat's current access token (or one expired less than 24 hours ago).",
    )


class CreateToken(FormModel):
    workspace_sid: WorkspaceSid = Field(alias="WorkspaceSid")
    worker_sid: WorkerSid | None = Field(None, alias="WorkerSid", description="Required for a worker token.")
    role: Role | None = Field(None, alias="Role", description="`worker` (with WorkerSid) or `supervisor`.")
    ttl: Annotated[int, Field(ge=MIN_TOKEN_TTL, le=MAX_TOKEN_TTL)] | None = Field(
        None, alias="Ttl", description="Seconds the token is valid (default 3600)."
    )
    identity: str | None = Field(None, alias="Identity", description="Default: the worker's chat identity.")


class UpdateServiceWebhookConfiguration(FormModel):
    """`POST /Services/{IS}/Configuration/Webhooks`: an empty URL clears it."""

    clearable = ("pre_webhook_url", "post_webhook_url")

    method: Method | None = Field(None, alias="Method", description="`GET` or `POST` (default).")
    filters: list[str] | None = Field(None, alias="Filters", description="The events to send; repeat the parameter.")
    pre_webhook_url: CallbackUrl | None = Field(None, alias="PreWebhookUrl", description="Pre-event URL.")
    post_webhook_url: CallbackUrl | None = Field(None, alias="PostWebhookUrl", description="Post-event URL.")


class UpdateWebhookConfiguration(UpdateServiceWebhookConfiguration):
    """`POST /Configuration/Webhooks`, the account's: also `Target`."""

    target: Target | None = Field(None, alias="Target", description="`webhook` (default) or `flex`.")


class CreateScopedWebhook(FormModel):
    # Read as text: an unknown target is Twilio's 50364, answered by the use case.
    target: ConversationsName = Field(alias="Target", description="`webhook` or `trigger` (`studio` is not supported).")
    url: CallbackUrl | None = Field(None, alias="Configuration.Url")
    method: Method | None = Field(None, alias="Configuration.Method", description="`get` or `post` (default).")
    filters: list[str] | None = Field(None, alias="Configuration.Filters")
    triggers: list[str] | None = Field(None, alias="Configuration.Triggers", description="Keywords (`trigger`).")
    flow_sid: str | None = Field(None, alias="Configuration.FlowSid")
    replay_after: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = Field(
        None, alias="Configuration.ReplayAfter", description="Also send the messages from this index on."
    )


class UpdateScopedWebhook(FormModel):
    url: CallbackUrl | None = Field(None, alias="Configuration.Url")
    method: Method | None = Field(None, alias="Configuration.Method")
    filters: list[str] | None = Field(None, alias="Configuration.Filters")
    triggers: list[str] | None = Field(None, alias="Configuration.Triggers")
    flow_sid: str | None = Field(None, alias="Configuration.FlowSid")


class UpdateParticipant(FormModel):
    attributes: ParticipantAttributes | None = Field(None, alias="Attributes")
    role_sid: str | None = Field(None, alias="RoleSid")
    identity: ConversationsName | None = Field(None, alias="Identity")
    proxy_address: ConversationsName | None = Field(None, alias="MessagingBinding.ProxyAddress")
    projected_address: ConversationsName | None = Field(None, alias="MessagingBinding.ProjectedAddress")
    last_read_message_index: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = Field(
        None, alias="LastReadMessageIndex"
    )
    last_read_timestamp: DateTime | None = Field(None, alias="LastReadTimestamp")
    date_created: DateTime | None = Field(None, alias="DateCreated")
    date_updated: DateTime | None = Field(None, alias="DateUpdated")


class UpdateMessage(FormModel):
    body: str | None = Field(None, alias="Body")
    attributes: MessageAttributes | None = Field(None, alias="Attributes")
    author: ConversationsName | None = Field(None, alias="Author")
    date_created: DateTime | None = Field(None, alias="DateCreated")
    date_updated: DateTime | None = Field(None, alias="DateUpdated")


class UpdateConfiguration(FormModel):
    """`POST /conversations/v1/Configuration`: the account's defaults."""

    default_chat_service_sid: str | None = Field(None, alias="DefaultChatServiceSid")
    default_messaging_service_sid: str | None = Field(None, alias="DefaultMessagingServiceSid")
    default_inactive_timer: TimerText | None = Field(None, alias="DefaultInactiveTimer")
    default_closed_timer: TimerText | None = Field(None, alias="DefaultClosedTimer")


class CreateService(FormModel):
    friendly_name: ConversationsName = Field(alias="FriendlyName", description="The service's name.")


class UpdateServiceConfiguration(FormModel):
    default_conversation_creator_role_sid: str | None = Field(None, alias="DefaultConversationCreatorRoleSid")
    default_conversation_role_sid: str | None = Field(None, alias="DefaultConversationRoleSid")
    default_chat_service_role_sid: str | None = Field(None, alias="DefaultChatServiceRoleSid")
    reachability_enabled: Bool | None = Field(None, alias="ReachabilityEnabled")


class UpdateServiceNotifications(FormModel):
    """Push notification settings (stored and returned as Twilio does; Parley sends no push notifications)."""

    log_enabled: Bool | None = Field(None, alias="LogEnabled")
    new_message_enabled: Bool | None = Field(None, alias="NewMessage.Enabled")
    new_message_template: ConversationsName | None = Field(None, alias="NewMessage.Template")
    new_message_sound: ConversationsName | None = Field(None, alias="NewMessage.Sound")
    new_message_badge_count_enabled: Bool | None = Field(None, alias="NewMessage.BadgeCountEnabled")
    new_message_with_media_enabled: Bool | None = Field(None, alias="NewMessage.WithMedia.Enabled")
    new_message_with_media_template: ConversationsName | None = Field(None, alias="NewMessage.WithMedia.Template")
    added_enabled: Bool | None = Field(None, alias="AddedToConversation.Enabled")
    added_template: ConversationsName | None = Field(None, alias="AddedToConversation.Template")
    added_sound: ConversationsName | None = Field(None, alias="AddedToConversation.Sound")
    removed_enabled: Bool | None = Field(None, alias="RemovedFromConversation.Enabled")
    removed_template: ConversationsName | None = Field(None, alias="RemovedFromConversation.Template")
    removed_sound: ConversationsName | None = Field(None, alias="RemovedFromConversation.Sound")

    def changes(self) -> dict[str, Any]:
        """The nested shape the settings are stored in, with only what was sent."""
        sent: dict[str, Any] = {}
        for name in self.model_fields_set:
            path = _NOTIFICATION_PATHS[name]
            node = sent
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = getattr(self, name)
        return sent


_NOTIFICATION_PATHS: dict[str, tuple[str, ...]] = {
    "log_enabled": ("log_enabled",),
    "new_message_enabled": ("new_message", "enabled"),
    "new_message_template": ("new_message", "template"),
    "new_message_sound": ("new_message", "sound"),
    "new_message_badge_count_enabled": ("new_message", "badge_count_enabled"),
    "new_message_with_media_enabled": ("new_message", "with_media", "enabled"),
    "new_message_with_media_template": ("new_message", "with_media", "template"),
    "added_enabled": ("added_to_conversation", "enabled"),
    "added_template": ("added_to_conversation", "template"),
    "added_sound": ("added_to_conversation", "sound"),
    "removed_enabled": ("removed_from_conversation", "enabled"),
    "removed_template": ("removed_from_conversation", "template"),
    "removed_sound": ("removed_from_conversation", "sound"),
}
