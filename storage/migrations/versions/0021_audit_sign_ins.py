"""audit log of single sign-on: each event names its `action` (`request` for the API requests recorded so far, or
a single sign-on event such as `sso.sign_in`), the identity provider's `subject` of a sign-in and the `reason`
a sign-in was refused; a refused sign-in may have no credential or role

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "audit_events",
        sa.Column(
            "action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False, server_default=sa.text("'request'")
        ),
    )
    op.add_column("audit_events", sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True))
    op.add_column("audit_events", sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True))
    op.alter_column("audit_events", "credential_sid", nullable=True)
    op.alter_column("audit_events", "role", nullable=True)


def downgrade() -> None:
    # Single sign-on events have no place in the older table (a refused sign-in has no credential).
    op.execute("DELETE FROM audit_events WHERE action <> 'request'")
    op.alter_column("audit_events", "role", nullable=False)
    op.alter_column("audit_events", "credential_sid", nullable=False)
    op.drop_column("audit_events", "reason")
    op.drop_column("audit_events", "subject")
    op.drop_column("audit_events", "action")
