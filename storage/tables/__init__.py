"""All SQLModel tables; importing this package registers them on SQLModel.metadata (Alembic's target)."""

from storage.tables.accounts import Account, ApiKey
from storage.tables.conversations import (
    AddressConfiguration,
    Conversation,
    ConversationService,
    Message,
    Participant,
)
from storage.tables.interactions import Interaction, InteractionChannel, InteractionParticipant
from storage.tables.plumbing import OutboxEntry, RealtimeEvent
from storage.tables.taskrouter import (
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
    "Conversation",
    "ConversationService",
    "Interaction",
    "InteractionChannel",
    "InteractionParticipant",
    "Message",
    "OutboxEntry",
    "Participant",
    "QueueMember",
    "RealtimeEvent",
    "Reservation",
    "Task",
    "TaskChannel",
    "TaskQueue",
    "TaskRouterEvent",
    "Worker",
    "WorkerChannel",
    "Workflow",
    "Workspace",
]
