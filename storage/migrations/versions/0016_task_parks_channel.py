"""tasks.parks_channel: a task canceled through the API with a Reason parks its interaction channel instead of
re-queuing the customer; kept on the task so a task workflow that starts after the cancel knows it too

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 09:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE tasks ADD COLUMN parks_channel BOOLEAN NOT NULL DEFAULT false")


def downgrade() -> None:
    op.execute("ALTER TABLE tasks DROP COLUMN parks_channel")
