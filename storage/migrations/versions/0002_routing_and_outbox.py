"""routing engine and typed outbox: assignment count, waiting reason, outbox backoff and dead letters

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('tasks', sa.Column('waiting_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column('tasks', sa.Column('assignment_count', sa.Integer(), server_default=sa.text('0'), nullable=False))
    # The waiting reason used to live inside the routing step document.
    op.execute(
        "UPDATE tasks SET waiting_reason = routing_step->>'waiting_reason', routing_step = routing_step - 'waiting_reason' "
        "WHERE routing_step ? 'waiting_reason'"
    )
    op.execute(
        "UPDATE tasks t SET assignment_count = (SELECT count(*) FROM reservations r WHERE r.task_sid = t.sid)"
    )
    op.add_column(
        'outbox',
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    )
    op.add_column('outbox', sa.Column('dead_at', sa.DateTime(timezone=True), nullable=True))
    op.drop_index('ix_outbox_pending', table_name='outbox', postgresql_where=sa.text('dispatched_at IS NULL'))
    op.create_index(
        'ix_outbox_due', 'outbox', ['next_attempt_at'], unique=False,
        postgresql_where=sa.text('dispatched_at IS NULL AND dead_at IS NULL'),
    )
    op.create_index(
        'ix_outbox_dead', 'outbox', ['account_sid', 'dead_at'], unique=False,
        postgresql_where=sa.text('dead_at IS NOT NULL'),
    )


def downgrade() -> None:
    op.drop_index('ix_outbox_dead', table_name='outbox', postgresql_where=sa.text('dead_at IS NOT NULL'))
    op.drop_index('ix_outbox_due', table_name='outbox', postgresql_where=sa.text('dispatched_at IS NULL AND dead_at IS NULL'))
    op.create_index('ix_outbox_pending', 'outbox', ['created_at'], unique=False, postgresql_where=sa.text('dispatched_at IS NULL'))
    op.drop_column('outbox', 'dead_at')
    op.drop_column('outbox', 'next_attempt_at')
    op.drop_column('tasks', 'assignment_count')
    op.drop_column('tasks', 'waiting_reason')
