"""taskrouter event references: the Events list filters `TaskSid` and `WorkerSid` read event_data keys
(every event about a task or a worker carries them), indexed per workspace

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "ix_taskrouter_events_task_sid": "task_sid",
    "ix_taskrouter_events_worker_sid": "worker_sid",
}


def upgrade() -> None:
    for name, key in _INDEXES.items():
        op.create_index(
            name,
            "taskrouter_events",
            ["workspace_sid", sa.text(f"(event_data->>'{key}')"), "event_date"],
        )


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="taskrouter_events")
