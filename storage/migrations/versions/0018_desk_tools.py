"""private_notes (agents-only notes on a conversation, sealed) and canned_responses (a workspace's saved
replies with optional shortcuts)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 14:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE private_notes (
            sid VARCHAR(34) PRIMARY KEY,
            account_sid VARCHAR(34) NOT NULL REFERENCES accounts(sid),
            conversation_sid VARCHAR(34) NOT NULL REFERENCES conversations(sid) ON DELETE CASCADE,
            author VARCHAR(256) NOT NULL,
            worker_sid VARCHAR(34),
            body TEXT NOT NULL,
            date_created TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_private_notes_account_sid ON private_notes (account_sid);
        CREATE INDEX ix_private_notes_conversation_sid ON private_notes (conversation_sid, date_created);

        CREATE TABLE canned_responses (
            sid VARCHAR(34) PRIMARY KEY,
            account_sid VARCHAR(34) NOT NULL REFERENCES accounts(sid),
            workspace_sid VARCHAR(34) NOT NULL REFERENCES workspaces(sid) ON DELETE CASCADE,
            title VARCHAR(100) NOT NULL,
            shortcut VARCHAR(32),
            body VARCHAR(1600) NOT NULL,
            date_created TIMESTAMPTZ NOT NULL DEFAULT now(),
            date_updated TIMESTAMPTZ NOT NULL DEFAULT now(),
            UNIQUE (workspace_sid, shortcut)
        );
        CREATE INDEX ix_canned_responses_account_sid ON canned_responses (account_sid);
        CREATE INDEX ix_canned_responses_workspace_sid ON canned_responses (workspace_sid);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE canned_responses; DROP TABLE private_notes")
