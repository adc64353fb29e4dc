"""sealed unique names and media lists: a conversation's unique name is held sealed and is unique (and found) by
its blind index `unique_name_index`; a message's media list and an upload's file name are sealed text

Existing values stay in clear until the re-encrypt job (`python -m storage.reencrypt`) seals them and computes
the unique names' blind indexes (the index is an HMAC under the account's key: SQL cannot compute it). The job
must run before the api serves: a unique name without its index is not found by it. `make dev` and the
compose `migrate` service run the job right after the migrations.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE conversations DROP CONSTRAINT conversations_chat_service_sid_unique_name_key;
        -- Sealed values are longer than the 256 characters their plaintext may have.
        ALTER TABLE conversations ALTER COLUMN friendly_name TYPE TEXT, ALTER COLUMN unique_name TYPE TEXT,
            ADD COLUMN unique_name_index VARCHAR(64);
        ALTER TABLE conversations ADD CONSTRAINT conversations_chat_service_sid_unique_name_index_key
            UNIQUE (chat_service_sid, unique_name_index);
        ALTER TABLE messages ALTER COLUMN media TYPE TEXT
            USING CASE WHEN jsonb_typeof(media) = 'null' THEN NULL ELSE media::text END;
        ALTER TABLE media ALTER COLUMN filename TYPE TEXT;
        """
    )


def downgrade() -> None:
    # Only values still in clear convert back (as for 0014): the re-encrypt job cannot unseal.
    op.execute(
        """
        ALTER TABLE media ALTER COLUMN filename TYPE VARCHAR(256);
        ALTER TABLE messages ALTER COLUMN media TYPE JSONB USING media::jsonb;
        ALTER TABLE conversations DROP CONSTRAINT conversations_chat_service_sid_unique_name_index_key;
        ALTER TABLE conversations DROP COLUMN unique_name_index,
            ALTER COLUMN unique_name TYPE VARCHAR(256), ALTER COLUMN friendly_name TYPE VARCHAR(256);
        ALTER TABLE conversations ADD CONSTRAINT conversations_chat_service_sid_unique_name_key
            UNIQUE (chat_service_sid, unique_name);
        """
    )
