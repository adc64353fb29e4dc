"""audit log: one row per administrative or supervisor action (who, what, which resource, answer, when, from
where), read newest first per account

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SID = sqlmodel.sql.sqltypes.AutoString(length=34)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("sid", _SID, nullable=False),
        sa.Column("account_sid", _SID, nullable=False),
        sa.Column("credential_sid", _SID, nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("identity", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
        sa.Column("worker_sid", _SID, nullable=True),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("path_template", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("resource_sid", _SID, nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("client_ip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
        sa.Column("date_created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["account_sid"], ["accounts.sid"]),
        sa.PrimaryKeyConstraint("sid"),
    )
    op.create_index("ix_audit_events_account_date", "audit_events", ["account_sid", "date_created"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_account_date", table_name="audit_events")
    op.drop_table("audit_events")
