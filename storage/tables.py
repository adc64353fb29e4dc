"""Every table, registered on SQLModel.metadata by importing this module (Alembic's target)."""

from storage.accounts.tables import Account, ApiKey, DataKeyRecord
from storage.audit.tables import AuditEvent
from storage.channels.tables import ChannelProvider, ChannelSender, InboundReceipt
from storage.conversations.identity_tables import Credential, Role, User, UserConversationSetting
from storage.conversations.tables import (
    AddressConfiguration,
    Binding,
    Conversation,
    ConversationService,
    ConversationWebhook,
    Media,
    Message,
    Participant,
    Receipt,
    WebhookConfiguration,
)
from storage.desk.tables import CannedResponse, PrivateNote
from storage.interactions.tables import Interaction, InteractionChannel, InteractionParticipant
from storage.messaging.tables import MessagingService, ServiceSender, StickySender
from storage.outbox.tables import OutboxEntry
from storage.realtime.tables import RealtimeEvent
from storage.search.tables import MessageTerm
from storage.taskrouter.tables import (
    Activity,
    QueueMember,
    Reservation,
    Task,
    TaskChannel,
    TaskQueue,
    TaskRouterEvent,
    Worker,
    WorkerChannel,
    Workflow,
    Workspace,
)
from storage.webchat.tables import WebChatSettingsTable

__all__ = [
    "Account",
    "Activity",
    "AddressConfiguration",
    "ApiKey",
    "AuditEvent",
    "Binding",
    "CannedResponse",
    "ChannelProvider",
    "ChannelSender",
    "Conversation",
    "ConversationService",
    "ConversationWebhook",
    "Credential",
    "DataKeyRecord",
    "InboundReceipt",
    "Interaction",
    "InteractionChannel",
    "InteractionParticipant",
    "Media",
    "Message",
    "MessageTerm",
    "MessagingService",
    "OutboxEntry",
    "Participant",
    "PrivateNote",
    "QueueMember",
    "RealtimeEvent",
    "Receipt",
    "Reservation",
    "Role",
    "ServiceSender",
    "StickySender",
    "Task",
    "TaskChannel",
    "TaskQueue",
    "TaskRouterEvent",
    "User",
    "UserConversationSetting",
    "WebChatSettingsTable",
    "WebhookConfiguration",
    "Worker",
    "WorkerChannel",
    "Workflow",
    "Workspace",
]
