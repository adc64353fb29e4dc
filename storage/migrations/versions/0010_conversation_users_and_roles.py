"""conversation users and roles: a service's users and roles, users' per-conversation settings, and the
account's push credentials

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SID = sqlmodel.sql.sqltypes.AutoString(length=34)
_NAME = sqlmodel.sql.sqltypes.AutoString(length=256)
_SHORT_NAME = sqlmodel.sql.sqltypes.AutoString(length=64)
_ENUM = sqlmodel.sql.sqltypes.AutoString(length=16)


def _dates() -> list[sa.Column]:
    return [
        sa.Column('date_created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('date_updated', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        'conversation_users',
        sa.Column('sid', _SID, nullable=False),
        sa.Column('account_sid', _SID, nullable=False),
        sa.Column('chat_service_sid', _SID, nullable=False),
        sa.Column('identity', _NAME, nullable=False),
        sa.Column('friendly_name', _NAME, nullable=True),
        sa.Column('attributes', sqlmodel.sql.sqltypes.AutoString(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column('role_sid', _SID, nullable=True),
        *_dates(),
        sa.ForeignKeyConstraint(['account_sid'], ['accounts.sid']),
        sa.ForeignKeyConstraint(['chat_service_sid'], ['conversation_services.sid'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('sid'),
        sa.UniqueConstraint('chat_service_sid', 'identity'),
    )
    op.create_index(op.f('ix_conversation_users_account_sid'), 'conversation_users', ['account_sid'], unique=False)
    op.create_index(op.f('ix_conversation_users_chat_service_sid'), 'conversation_users', ['chat_service_sid'], unique=False)
    op.create_table(
        'conversation_roles',
        sa.Column('sid', _SID, nullable=False),
        sa.Column('account_sid', _SID, nullable=False),
        sa.Column('chat_service_sid', _SID, nullable=False),
        sa.Column('friendly_name', _SHORT_NAME, nullable=False),
        sa.Column('type', _ENUM, nullable=False),
        sa.Column('permissions', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
        *_dates(),
        sa.ForeignKeyConstraint(['account_sid'], ['accounts.sid']),
        sa.ForeignKeyConstraint(['chat_service_sid'], ['conversation_services.sid'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('sid'),
    )
    op.create_index(op.f('ix_conversation_roles_account_sid'), 'conversation_roles', ['account_sid'], unique=False)
    op.create_index(op.f('ix_conversation_roles_chat_service_sid'), 'conversation_roles', ['chat_service_sid'], unique=False)
    op.create_table(
        'conversation_user_settings',
        sa.Column('user_sid', _SID, nullable=False),
        sa.Column('conversation_sid', _SID, nullable=False),
        sa.Column('notification_level', _ENUM, server_default=sa.text("'default'"), nullable=False),
        sa.ForeignKeyConstraint(['user_sid'], ['conversation_users.sid'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['conversation_sid'], ['conversations.sid'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_sid', 'conversation_sid'),
    )
    op.create_index(op.f('ix_conversation_user_settings_conversation_sid'), 'conversation_user_settings', ['conversation_sid'], unique=False)
    op.create_table(
        'conversation_credentials',
        sa.Column('sid', _SID, nullable=False),
        sa.Column('account_sid', _SID, nullable=False),
        sa.Column('type', _ENUM, nullable=False),
        sa.Column('friendly_name', _SHORT_NAME, nullable=True),
        sa.Column('sandbox', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('certificate', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('private_key', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('api_key', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        *_dates(),
        sa.ForeignKeyConstraint(['account_sid'], ['accounts.sid']),
        sa.PrimaryKeyConstraint('sid'),
    )
    op.create_index(op.f('ix_conversation_credentials_account_sid'), 'conversation_credentials', ['account_sid'], unique=False)


def downgrade() -> None:
    op.drop_table('conversation_credentials')
    op.drop_table('conversation_user_settings')
    op.drop_table('conversation_roles')
    op.drop_table('conversation_users')
