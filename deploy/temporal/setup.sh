#!/bin/sh
# Create/upgrade Temporal's PostgreSQL schemas: the `temporal-admin-tools` one-shot job in docker-compose.yml
# (image temporalio/admin-tools, run with `sh`, since the image may not ship bash).
#
# Idempotent: the databases normally exist already (deploy/postgres-init/01-databases.sql); `setup-schema -v 0.0`
# only creates the schema-version tables and leaves a newer recorded version alone; `update-schema` applies just
# the versioned migrations above the recorded version. So this runs safely on every `docker compose up`, and after
# bumping the Temporal image tag it upgrades the schema before the new server starts.
set -eu

# temporal-sql-tool reads its connection settings from these variables (same as --plugin/--ep/-p/-u/--pw).
: "${SQL_PLUGIN:=postgres12}"
: "${SQL_HOST:=postgres}"
: "${SQL_PORT:=5432}"
: "${SQL_USER:?SQL_USER must be set}"
: "${SQL_PASSWORD:?SQL_PASSWORD must be set}"
export SQL_PLUGIN SQL_HOST SQL_PORT SQL_USER SQL_PASSWORD

: "${TEMPORAL_DBNAME:=temporal}"
: "${TEMPORAL_VISIBILITY_DBNAME:=temporal_visibility}"
: "${TEMPORAL_SCHEMA_DIR:=/etc/temporal/schema/postgresql/v12}"

echo "Waiting for PostgreSQL at ${SQL_HOST}:${SQL_PORT}..."
attempt=0
until nc -z -w 2 "${SQL_HOST}" "${SQL_PORT}" >/dev/null 2>&1; do
    attempt=$((attempt + 1))
    if [ "${attempt}" -ge 60 ]; then
        echo "PostgreSQL at ${SQL_HOST}:${SQL_PORT} is not reachable; giving up." >&2
        exit 1
    fi
    sleep 2
done

setup_database() {
    db="$1"
    schema_dir="$2"
    echo "Temporal schema for database '${db}' (${schema_dir})"
    # Normally a no-op failure ("already exists"): the postgres init script created the database. Kept so the
    # job also works against an external PostgreSQL where the databases were not pre-created. A genuine
    # problem (bad credentials, database really missing) makes setup-schema below fail loudly.
    temporal-sql-tool --db "${db}" create-database >/dev/null 2>&1 \
        || echo "  database '${db}' already exists (or cannot be created); continuing"
    temporal-sql-tool --db "${db}" setup-schema -v 0.0
    temporal-sql-tool --db "${db}" update-schema -d "${schema_dir}"
}

setup_database "${TEMPORAL_DBNAME}" "${TEMPORAL_SCHEMA_DIR}/temporal/versioned"
setup_database "${TEMPORAL_VISIBILITY_DBNAME}" "${TEMPORAL_SCHEMA_DIR}/visibility/versioned"

echo "Temporal PostgreSQL schemas are up to date."
