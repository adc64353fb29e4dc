"""interactions: invites, transfers and a task's routing target

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SID = sqlmodel.sql.sqltypes.AutoString(length=34)


def upgrade() -> None:
    # A task routed straight to one worker (WK…) or queue (WQ…) rather than through its workflow's filters.
    op.add_column('tasks', sa.Column('routing_target', _SID, nullable=True))
    op.create_table(
        'interaction_invites',
        sa.Column('sid', _SID, nullable=False),
        sa.Column('account_sid', _SID, nullable=False),
        sa.Column('interaction_sid', _SID, nullable=False),
        sa.Column('channel_sid', _SID, nullable=False),
        sa.Column('routing', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column('task_sid', _SID, nullable=True),
        sa.Column('date_created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('date_updated', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['account_sid'], ['accounts.sid']),
        sa.ForeignKeyConstraint(['channel_sid'], ['interaction_channels.sid']),
        sa.ForeignKeyConstraint(['interaction_sid'], ['interactions.sid']),
        sa.PrimaryKeyConstraint('sid'),
    )
    op.create_index(op.f('ix_interaction_invites_account_sid'), 'interaction_invites', ['account_sid'])
    op.create_index(op.f('ix_interaction_invites_channel_sid'), 'interaction_invites', ['channel_sid'])
    op.create_table(
        'interaction_transfers',
        sa.Column('sid', _SID, nullable=False),
        sa.Column('account_sid', _SID, nullable=False),
        sa.Column('interaction_sid', _SID, nullable=False),
        sa.Column('channel_sid', _SID, nullable=False),
        sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), server_default=sa.text("'active'"), nullable=False),
        sa.Column('from_participant_sid', _SID, nullable=False),
        sa.Column('to', _SID, nullable=False),
        sa.Column('from_task_sid', _SID, nullable=True),
        sa.Column('invite_sid', _SID, nullable=True),
        sa.Column('task_sid', _SID, nullable=True),
        sa.Column('note_sid', _SID, nullable=True),
        sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('date_created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('date_updated', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['account_sid'], ['accounts.sid']),
        sa.ForeignKeyConstraint(['channel_sid'], ['interaction_channels.sid']),
        sa.ForeignKeyConstraint(['interaction_sid'], ['interactions.sid']),
        sa.PrimaryKeyConstraint('sid'),
    )
    op.create_index(op.f('ix_interaction_transfers_account_sid'), 'interaction_transfers', ['account_sid'])
    op.create_index(op.f('ix_interaction_transfers_channel_sid'), 'interaction_transfers', ['channel_sid'])
    op.create_index(
        'uq_interaction_transfers_active_channel', 'interaction_transfers', ['channel_sid'], unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_table('interaction_transfers')
    op.drop_table('interaction_invites')
    op.drop_column('tasks', 'routing_target')
