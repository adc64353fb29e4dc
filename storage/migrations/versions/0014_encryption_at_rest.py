"""encryption at rest: each account's data keys (wrapped by a key-encryption key), credentials and customer
addresses held as sealed text, and the blind indexes that keep a participant's address findable

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_keys",
        sa.Column("kid", sa.String(length=34), primary_key=True),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("purpose", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="active", nullable=False),
        sa.Column("kek_id", sa.String(length=32), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("date_created", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_data_keys_account_sid", "data_keys", ["account_sid"])
    # One active key per account and purpose: two first writers racing agree on one.
    op.create_index(
        "uq_data_keys_active",
        "data_keys",
        ["account_sid", "purpose"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    # Sealed values are longer than the plaintext they replace.
    op.alter_column("accounts", "auth_token", type_=sa.Text(), existing_nullable=False)
    op.alter_column("api_keys", "secret", type_=sa.Text(), existing_nullable=False)
    op.alter_column(
        "participants",
        "messaging_binding",
        type_=sa.Text(),
        existing_type=postgresql.JSONB(),
        postgresql_using="messaging_binding::text",
    )
    op.add_column("participants", sa.Column("binding_address_hash", sa.String(length=64), nullable=True))
    op.add_column("participants", sa.Column("binding_proxy_hash", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_participants_binding_hash", "participants", ["account_sid", "binding_address_hash", "binding_proxy_hash"]
    )


def downgrade() -> None:
    op.drop_index("ix_participants_binding_hash", table_name="participants")
    op.drop_column("participants", "binding_proxy_hash")
    op.drop_column("participants", "binding_address_hash")
    op.alter_column(
        "participants",
        "messaging_binding",
        type_=postgresql.JSONB(),
        existing_type=sa.Text(),
        postgresql_using="messaging_binding::jsonb",
    )
    op.alter_column("api_keys", "secret", type_=sa.String(length=64), existing_nullable=False)
    op.alter_column("accounts", "auth_token", type_=sa.String(length=64), existing_nullable=False)
    op.drop_index("uq_data_keys_active", table_name="data_keys")
    op.drop_index("ix_data_keys_account_sid", table_name="data_keys")
    op.drop_table("data_keys")
