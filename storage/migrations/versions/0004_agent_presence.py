"""agent presence: when an agent's desktop was last connected, so a session that vanished is noticed

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SID = sqlmodel.sql.sqltypes.AutoString(length=34)


def upgrade() -> None:
    op.create_table(
        'agent_presence',
        sa.Column('worker_sid', _SID, nullable=False),
        sa.Column('workspace_sid', _SID, nullable=False),
        sa.Column('last_seen', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['worker_sid'], ['workers.sid'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('worker_sid'),
    )


def downgrade() -> None:
    op.drop_table('agent_presence')
