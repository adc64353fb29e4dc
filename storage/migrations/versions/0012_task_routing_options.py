"""task routing options: `ignore_capacity` (a task routed straight to a worker whatever its load, Twilio's
IgnoreCapacity), and the index the queue statistics and queue-scoped matching read tasks by

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 07:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("ignore_capacity", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index("ix_tasks_queue_status", "tasks", ["task_queue_sid", "assignment_status"])


def downgrade() -> None:
    op.drop_index("ix_tasks_queue_status", table_name="tasks")
    op.drop_column("tasks", "ignore_capacity")
