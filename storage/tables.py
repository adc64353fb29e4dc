"""Every table, registered on SQLModel.metadata by importing this module (Alembic's target)."""

from storage.accounts.tables import Account, ApiKey
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
from storage.interactions.tables import Interaction, InteractionChannel, InteractionParticipant
from storage.outbox.tables import OutboxEntry
from storage.realtime.tables import RealtimeEvent
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

__all__ = [
    "Account",
    "Activity",
    "AddressConfiguration",
    "ApiKey",
    "Binding",
    "Conversation",
    "ConversationService",
    "ConversationWebhook",
    "Interaction",
    "InteractionChannel",
    "InteractionParticipant",
    "Media",
    "Message",
    "OutboxEntry",
    "Participant",
    "QueueMember",
    "RealtimeEvent",
    "Receipt",
    "Reservation",
    "Task",
    "TaskChannel",
    "TaskQueue",
    "TaskRouterEvent",
    "WebhookConfiguration",
    "Worker",
    "WorkerChannel",
    "Workflow",
    "Workspace",
]
