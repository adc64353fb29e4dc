"""conversation timers and the account's Conversations configuration: each conversation's computed timer
deadlines, and the account's default messaging service and default timers

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('conversations', sa.Column('timers_date_inactive', sa.DateTime(timezone=True), nullable=True))
    op.add_column('conversations', sa.Column('timers_date_closed', sa.DateTime(timezone=True), nullable=True))
    op.add_column('accounts', sa.Column('default_messaging_service_sid', sqlmodel.sql.sqltypes.AutoString(length=34), nullable=True))
    op.add_column('accounts', sa.Column('default_inactive_timer', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    op.add_column('accounts', sa.Column('default_closed_timer', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))


def downgrade() -> None:
    for column in ('default_closed_timer', 'default_inactive_timer', 'default_messaging_service_sid'):
        op.drop_column('accounts', column)
    op.drop_column('conversations', 'timers_date_closed')
    op.drop_column('conversations', 'timers_date_inactive')
