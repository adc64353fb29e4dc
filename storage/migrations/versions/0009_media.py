"""media: uploaded message media (the Media Content Service's records; the bytes are in the media store)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SID = sqlmodel.sql.sqltypes.AutoString(length=34)


def upgrade() -> None:
    op.create_table(
        'media',
        sa.Column('sid', _SID, nullable=False),
        sa.Column('account_sid', _SID, nullable=False),
        sa.Column('chat_service_sid', _SID, nullable=False),
        sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('author', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column('message_sid', _SID, nullable=True),
        sa.Column('conversation_sid', _SID, nullable=True),
        sa.Column('date_created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('date_updated', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['account_sid'], ['accounts.sid']),
        sa.PrimaryKeyConstraint('sid'),
    )
    op.create_index(op.f('ix_media_account_sid'), 'media', ['account_sid'], unique=False)
    op.create_index(op.f('ix_media_message_sid'), 'media', ['message_sid'], unique=False)


def downgrade() -> None:
    op.drop_table('media')
