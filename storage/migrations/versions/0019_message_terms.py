"""message_terms: the blind-indexed words of each message, for history search (messages written before this
migration are not indexed)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE message_terms (
            account_sid VARCHAR(34) NOT NULL REFERENCES accounts(sid),
            term VARCHAR(64) NOT NULL,
            message_sid VARCHAR(34) NOT NULL REFERENCES messages(sid) ON DELETE CASCADE,
            conversation_sid VARCHAR(34) NOT NULL,
            PRIMARY KEY (account_sid, term, message_sid)
        );
        CREATE INDEX ix_message_terms_message_sid ON message_terms (message_sid);
        CREATE INDEX ix_message_terms_conversation_sid ON message_terms (conversation_sid);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE message_terms")
