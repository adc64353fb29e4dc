"""conversation webhooks: the account's and services' pre/post targets, and conversation-scoped webhooks

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SID = sqlmodel.sql.sqltypes.AutoString(length=34)
_URL = sqlmodel.sql.sqltypes.AutoString(length=2048)


def upgrade() -> None:
    op.create_table(
        'conversation_webhook_configurations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_sid', _SID, nullable=False),
        sa.Column('chat_service_sid', _SID, nullable=True),
        sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=8), server_default=sa.text("'POST'"), nullable=False),
        sa.Column('filters', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column('pre_webhook_url', _URL, nullable=True),
        sa.Column('post_webhook_url', _URL, nullable=True),
        sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=16), server_default=sa.text("'webhook'"), nullable=False),
        sa.Column('date_created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('date_updated', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['account_sid'], ['accounts.sid']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_conversation_webhook_configurations_account_sid'), 'conversation_webhook_configurations', ['account_sid'], unique=False)
    op.create_index('uq_conversation_webhook_configurations_scope', 'conversation_webhook_configurations', ['account_sid', sa.text("COALESCE(chat_service_sid, '')")], unique=True)
    op.create_table(
        'conversation_webhooks',
        sa.Column('sid', _SID, nullable=False),
        sa.Column('account_sid', _SID, nullable=False),
        sa.Column('chat_service_sid', _SID, nullable=False),
        sa.Column('conversation_sid', _SID, nullable=False),
        sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=16), server_default=sa.text("'webhook'"), nullable=False),
        sa.Column('url', _URL, nullable=True),
        sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=8), server_default=sa.text("'POST'"), nullable=False),
        sa.Column('filters', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column('triggers', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column('flow_sid', _SID, nullable=True),
        sa.Column('replay_after', sa.Integer(), nullable=True),
        sa.Column('date_created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('date_updated', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['account_sid'], ['accounts.sid']),
        sa.ForeignKeyConstraint(['conversation_sid'], ['conversations.sid'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('sid'),
    )
    op.create_index(op.f('ix_conversation_webhooks_account_sid'), 'conversation_webhooks', ['account_sid'], unique=False)
    op.create_index(op.f('ix_conversation_webhooks_conversation_sid'), 'conversation_webhooks', ['conversation_sid'], unique=False)


def downgrade() -> None:
    op.drop_table('conversation_webhooks')
    op.drop_table('conversation_webhook_configurations')
