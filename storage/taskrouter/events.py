"""TaskRouter event log (the `/Events` resource): one row per state change, written in its transaction."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from domain.events import ActorType, EventType, ResourceType
from domain.sids import SidPrefix, new_sid
from storage.db import UnitOfWork


async def record_event(
    uow: UnitOfWork,
    *,
    account_sid: str,
    workspace_sid: str,
    event_type: EventType,
    resource_type: ResourceType,
    resource_sid: str,
    description: str,
    data: dict[str, Any],
    actor_type: ActorType = ActorType.WORKSPACE,
    actor_sid: str | None = None,
) -> None:
    await uow.execute(
        """
        INSERT INTO taskrouter_events (sid, account_sid, workspace_sid, event_type, resource_type, resource_sid,
                                       actor_type, actor_sid, description, event_data)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """,
        (
            new_sid(SidPrefix.EVENT),
            account_sid,
            workspace_sid,
            event_type.value,
            resource_type.value,
            resource_sid,
            actor_type.value,
            actor_sid or workspace_sid,
            description,
            Jsonb(data),
        ),
    )
