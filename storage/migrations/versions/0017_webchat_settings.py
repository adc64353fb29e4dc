"""webchat_settings: a chat address's business hours, pre-chat form, offline behaviour and the secret its site
signs identity tokens with (sealed)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 14:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE webchat_settings (
            address_sid VARCHAR(34) PRIMARY KEY REFERENCES address_configurations(sid) ON DELETE CASCADE,
            account_sid VARCHAR(34) NOT NULL REFERENCES accounts(sid),
            settings JSONB NOT NULL DEFAULT '{}'::jsonb,
            identity_secret TEXT,
            date_created TIMESTAMPTZ NOT NULL DEFAULT now(),
            date_updated TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_webchat_settings_account_sid ON webchat_settings (account_sid);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE webchat_settings")
