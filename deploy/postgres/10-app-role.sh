#!/bin/sh
# Runs once, when the postgres container creates its cluster. The application connects as an ordinary role
# that owns its tables, not as the superuser: PostgreSQL lets superusers through row-level security, the
# second wall between tenants (prm/rls.py).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v app_password="$PRM_DB_PASSWORD" <<'SQL'
CREATE ROLE prm LOGIN PASSWORD :'app_password';
CREATE DATABASE prm OWNER prm;
SQL
