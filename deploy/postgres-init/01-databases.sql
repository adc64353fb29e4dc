-- Parley's databases on the single PostgreSQL instance of the production compose topology.
--
-- Run once by the postgres image's entrypoint (mounted at /docker-entrypoint-initdb.d), only when the data
-- volume is empty, as the POSTGRES_USER superuser. Each CREATE is guarded so the script is safe whatever
-- POSTGRES_DB is set to (the entrypoint has already created that one):
--   parley               Parley's system of record (schema: `python -m storage.migrate`, the `migrate` service)
--   temporal             Temporal persistence      (schema: deploy/temporal/setup.sh, `temporal-admin-tools`)
--   temporal_visibility  Temporal SQL visibility   (schema: deploy/temporal/setup.sh, `temporal-admin-tools`)

SELECT 'CREATE DATABASE parley'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'parley')\gexec

SELECT 'CREATE DATABASE temporal'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'temporal')\gexec

SELECT 'CREATE DATABASE temporal_visibility'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'temporal_visibility')\gexec
