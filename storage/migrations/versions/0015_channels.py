"""channels: provider connections and their senders, the inbound de-duplication log, Messaging Services with
their sender pools and sticky senders, a conversation's count of bound participants, and receipts found by the
provider's message id

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 19:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE channel_providers (
            sid VARCHAR(34) PRIMARY KEY,
            account_sid VARCHAR(34) NOT NULL REFERENCES accounts(sid),
            kind VARCHAR(64) NOT NULL,
            friendly_name VARCHAR(256),
            api_base_url VARCHAR(2048) NOT NULL,
            credentials TEXT NOT NULL DEFAULT '{}',
            date_created TIMESTAMPTZ NOT NULL DEFAULT now(),
            date_updated TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_channel_providers_account_sid ON channel_providers (account_sid);

        CREATE TABLE channel_senders (
            sid VARCHAR(34) PRIMARY KEY,
            account_sid VARCHAR(34) NOT NULL REFERENCES accounts(sid),
            provider_sid VARCHAR(34) NOT NULL REFERENCES channel_providers(sid) ON DELETE CASCADE,
            channel VARCHAR(16) NOT NULL,
            address VARCHAR(256) NOT NULL,
            friendly_name VARCHAR(256),
            country_code VARCHAR(2),
            date_created TIMESTAMPTZ NOT NULL DEFAULT now(),
            date_updated TIMESTAMPTZ NOT NULL DEFAULT now(),
            UNIQUE (account_sid, address)
        );
        CREATE INDEX ix_channel_senders_account_sid ON channel_senders (account_sid);
        CREATE INDEX ix_channel_senders_provider_sid ON channel_senders (provider_sid);

        CREATE TABLE channel_inbound (
            provider_sid VARCHAR(34) NOT NULL,
            provider_message_id VARCHAR(128) NOT NULL,
            account_sid VARCHAR(34) NOT NULL REFERENCES accounts(sid),
            conversation_sid VARCHAR(34),
            message_sid VARCHAR(34),
            date_created TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (provider_sid, provider_message_id)
        );
        CREATE INDEX ix_channel_inbound_account_sid ON channel_inbound (account_sid);

        CREATE TABLE messaging_services (
            sid VARCHAR(34) PRIMARY KEY,
            account_sid VARCHAR(34) NOT NULL REFERENCES accounts(sid),
            friendly_name VARCHAR(64) NOT NULL,
            inbound_request_url VARCHAR(2048),
            inbound_method VARCHAR(8) NOT NULL DEFAULT 'POST',
            fallback_url VARCHAR(2048),
            fallback_method VARCHAR(8) NOT NULL DEFAULT 'POST',
            status_callback VARCHAR(2048),
            sticky_sender BOOLEAN NOT NULL DEFAULT true,
            mms_converter BOOLEAN NOT NULL DEFAULT true,
            smart_encoding BOOLEAN NOT NULL DEFAULT true,
            scan_message_content VARCHAR(16) NOT NULL DEFAULT 'inherit',
            fallback_to_long_code BOOLEAN NOT NULL DEFAULT true,
            area_code_geomatch BOOLEAN NOT NULL DEFAULT true,
            synchronous_validation BOOLEAN NOT NULL DEFAULT false,
            validity_period INTEGER NOT NULL DEFAULT 14400,
            usecase VARCHAR(64) NOT NULL DEFAULT 'undeclared',
            use_inbound_webhook_on_number BOOLEAN NOT NULL DEFAULT false,
            date_created TIMESTAMPTZ NOT NULL DEFAULT now(),
            date_updated TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_messaging_services_account_sid ON messaging_services (account_sid);

        CREATE TABLE messaging_service_senders (
            sender_sid VARCHAR(34) PRIMARY KEY REFERENCES channel_senders(sid) ON DELETE CASCADE,
            service_sid VARCHAR(34) NOT NULL REFERENCES messaging_services(sid) ON DELETE CASCADE,
            account_sid VARCHAR(34) NOT NULL REFERENCES accounts(sid),
            date_created TIMESTAMPTZ NOT NULL DEFAULT now(),
            date_updated TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_messaging_service_senders_service_sid ON messaging_service_senders (service_sid);
        CREATE INDEX ix_messaging_service_senders_account_sid ON messaging_service_senders (account_sid);

        CREATE TABLE messaging_sticky_senders (
            service_sid VARCHAR(34) NOT NULL REFERENCES messaging_services(sid) ON DELETE CASCADE,
            customer_hash VARCHAR(64) NOT NULL,
            sender_sid VARCHAR(34) NOT NULL REFERENCES channel_senders(sid) ON DELETE CASCADE,
            date_updated TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (service_sid, customer_hash)
        );

        ALTER TABLE conversations ADD COLUMN bound_participants INTEGER NOT NULL DEFAULT 0;
        UPDATE conversations c SET bound_participants = (
            SELECT count(*) FROM participants p WHERE p.conversation_sid = c.sid AND p.binding_address_hash IS NOT NULL
        );
        CREATE INDEX ix_message_receipts_channel_message_sid ON message_receipts (channel_message_sid);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX ix_message_receipts_channel_message_sid;
        ALTER TABLE conversations DROP COLUMN bound_participants;
        DROP TABLE messaging_sticky_senders;
        DROP TABLE messaging_service_senders;
        DROP TABLE messaging_services;
        DROP TABLE channel_inbound;
        DROP TABLE channel_senders;
        DROP TABLE channel_providers;
        """
    )
