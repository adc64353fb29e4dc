"""conversation services: each service's configuration (default roles, reachability), push notification
settings, and push bindings

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SID = sqlmodel.sql.sqltypes.AutoString(length=34)


def upgrade() -> None:
    for column in ('default_conversation_creator_role_sid', 'default_conversation_role_sid', 'default_chat_service_role_sid'):
        op.add_column('conversation_services', sa.Column(column, _SID, nullable=True))
    op.add_column('conversation_services', sa.Column('reachability_enabled', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.add_column('conversation_services', sa.Column('notifications', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False))
    op.create_table(
        'conversation_bindings',
        sa.Column('sid', _SID, nullable=False),
        sa.Column('account_sid', _SID, nullable=False),
        sa.Column('chat_service_sid', _SID, nullable=False),
        sa.Column('credential_sid', _SID, nullable=True),
        sa.Column('endpoint', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column('identity', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column('binding_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('message_types', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column('date_created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('date_updated', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['account_sid'], ['accounts.sid']),
        sa.ForeignKeyConstraint(['chat_service_sid'], ['conversation_services.sid'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('sid'),
    )
    op.create_index(op.f('ix_conversation_bindings_account_sid'), 'conversation_bindings', ['account_sid'], unique=False)
    op.create_index(op.f('ix_conversation_bindings_chat_service_sid'), 'conversation_bindings', ['chat_service_sid'], unique=False)


def downgrade() -> None:
    op.drop_table('conversation_bindings')
    for column in ('notifications', 'reachability_enabled', 'default_chat_service_role_sid', 'default_conversation_role_sid', 'default_conversation_creator_role_sid'):
        op.drop_column('conversation_services', column)
