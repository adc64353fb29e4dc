"""message receipts: each message's delivery to each non-chat participant

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SID = sqlmodel.sql.sqltypes.AutoString(length=34)


def upgrade() -> None:
    op.create_table(
        'message_receipts',
        sa.Column('sid', _SID, nullable=False),
        sa.Column('account_sid', _SID, nullable=False),
        sa.Column('chat_service_sid', _SID, nullable=False),
        sa.Column('conversation_sid', _SID, nullable=False),
        sa.Column('message_sid', _SID, nullable=False),
        sa.Column('participant_sid', _SID, nullable=False),
        sa.Column('channel_message_sid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), server_default=sa.text("'sent'"), nullable=False),
        sa.Column('error_code', sa.Integer(), nullable=True),
        sa.Column('date_created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('date_updated', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['account_sid'], ['accounts.sid']),
        sa.ForeignKeyConstraint(['message_sid'], ['messages.sid'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('sid'),
        sa.UniqueConstraint('message_sid', 'participant_sid'),
    )
    op.create_index(op.f('ix_message_receipts_account_sid'), 'message_receipts', ['account_sid'], unique=False)
    op.create_index(op.f('ix_message_receipts_message_sid'), 'message_receipts', ['message_sid'], unique=False)


def downgrade() -> None:
    op.drop_table('message_receipts')
