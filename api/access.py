"""Who may see or change what, at the edge: every resource a request names must belong to the caller's account
and, for agents, supervisors and chat customers, to the caller's scope. Each check loads the resource through
its service and raises 404 (not the caller's) or 403 (the caller's, but out of its scope)."""

from __future__ import annotations

from api.auth import Principal, Role
from domain.errors import PermissionDenied
from storage.conversations import service as conversations
from storage.conversations.tables import ConversationRow, ParticipantRow
from storage.db import UnitOfWork
from storage.interactions import service as interactions
from storage.interactions.tables import InteractionRow
from storage.taskrouter import queries as taskrouter_queries
from storage.taskrouter import service as taskrouter
from storage.taskrouter.models import TaskView, WorkspaceView


async def conversation_access(
    q: UnitOfWork,
    principal: Principal,
    sid_or_unique_name: str,
    *,
    write: bool = False,
    service_sid: str | None = None,
) -> tuple[ConversationRow, ParticipantRow | None]:
    """The conversation (of `service_sid`, or of the account's default service) and, for token holders, the
    caller's own participant in it. A token whose chat grant names a service reaches only that service."""
    if principal.chat_service_sid and service_sid and principal.chat_service_sid != service_sid:
        raise PermissionDenied("The token's chat grant is for another Conversation Service")
    conversation = await conversations.get_conversation(
        q,
        account_sid=principal.account_sid,
        sid_or_unique_name=sid_or_unique_name,
        chat_service_sid=service_sid,
    )
    if principal.chat_service_sid and principal.chat_service_sid != conversation.chat_service_sid:
        # Reached through the account-level path, the conversation's service must still be the grant's.
        raise PermissionDenied("The token's chat grant is for another Conversation Service")
    if principal.is_admin:
        return conversation, None
    # An agent is recognised by its token identity or by its worker SID recorded when it joined.
    participant = await conversations.find_participant(
        q, conversation_sid=conversation.sid, identity=principal.identity, worker_sid=principal.worker_sid
    )
    if participant is not None:
        return conversation, participant
    if principal.role is Role.SUPERVISOR and not write:
        # A supervisor reads the conversations routed in its own workspace, not every one of the account.
        if principal.workspace_sid and await interactions.conversation_routed_in(
            q, conversation_sid=conversation.sid, workspace_sid=principal.workspace_sid
        ):
            return conversation, None
        raise PermissionDenied("The conversation was not routed in the supervisor's workspace")
    raise PermissionDenied("The token's identity is not a participant of this conversation")


async def workspace_access(q: UnitOfWork, principal: Principal, workspace_sid: str) -> WorkspaceView:
    """Admins see every workspace of their account; supervisors and agents only their own; customers none."""
    workspace = await taskrouter.get_workspace(q, account_sid=principal.account_sid, workspace_sid=workspace_sid)
    principal.require_workspace(workspace_sid)
    return workspace


def workspaces_visible(principal: Principal) -> str | None:
    """For listing workspaces: None (all of the account) for an admin, else the one the token is scoped to."""
    if principal.is_admin:
        return None
    if principal.role is Role.CUSTOMER or principal.workspace_sid is None:
        raise PermissionDenied("A chat token grants no access to TaskRouter")
    return principal.workspace_sid


async def task_access(q: UnitOfWork, principal: Principal, workspace_sid: str, task_sid: str) -> TaskView:
    task = await taskrouter_queries.get_task(q, workspace_sid=workspace_sid, task_sid=task_sid)
    if principal.role is Role.AGENT and not await taskrouter_queries.worker_was_offered(
        q, task_sid=task_sid, worker_sid=principal.worker_sid
    ):
        raise PermissionDenied("An agent may only see tasks reserved to it")
    return task


async def interaction_access(q: UnitOfWork, principal: Principal, interaction_sid: str) -> InteractionRow:
    """An interaction of the caller's account that, for a token holder, is in its scope: an agent that was
    offered one of its tasks, a supervisor of the workspace it was routed in, or its own customer."""
    interaction = await interactions.get_interaction(q, account_sid=principal.account_sid, sid=interaction_sid)
    if principal.is_admin:
        return interaction
    allowed = await interactions.can_read_interaction(
        q,
        interaction_sid=interaction_sid,
        worker_sid=principal.worker_sid if principal.role is Role.AGENT else None,
        workspace_sid=principal.workspace_sid if principal.role is Role.SUPERVISOR else None,
        identity=principal.identity if principal.role is Role.CUSTOMER else None,
    )
    if not allowed:
        raise PermissionDenied(f"The token does not grant access to interaction {interaction_sid}")
    return interaction


async def worker_stream_access(q: UnitOfWork, principal: Principal, worker_sid: str) -> None:
    if principal.role is Role.AGENT:
        if principal.worker_sid == worker_sid:
            return
    elif principal.is_admin or principal.role is Role.SUPERVISOR:
        workspace_sid = await taskrouter_queries.worker_workspace(
            q, account_sid=principal.account_sid, worker_sid=worker_sid
        )
        if workspace_sid is not None and (principal.is_admin or workspace_sid == principal.workspace_sid):
            return
    raise PermissionDenied(f"Not allowed to follow worker {worker_sid}")
