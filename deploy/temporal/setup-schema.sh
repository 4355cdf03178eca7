#!/bin/sh
# Creates or upgrades Temporal's two PostgreSQL databases (the default store and SQL visibility) with
# temporal-sql-tool. One script for both ways of running Herald's Temporal: scripts/temporal-server/
# runs it here with the tool it built, and docker-compose.yml runs it in the temporalio/admin-tools
# image. POSIX sh: the image is Alpine (busybox sh, no bash).
#
# Every step is idempotent, so it runs before every server start: `create-database` ignores an existing
# database, `setup-schema -v 0.0` leaves an already versioned schema alone, and `update-schema` applies
# only the versions newer than the database's (which is how a server upgrade migrates).
#
# Environment (temporal-sql-tool reads the SQL_* ones itself):
#   SQL_HOST, SQL_PORT (5432), SQL_USER, SQL_PASSWORD   where PostgreSQL is
#   DBNAME (temporal), VISIBILITY_DBNAME (temporal_visibility)
#   TEMPORAL_SQL_TOOL (temporal-sql-tool)   the tool, if not on PATH
#   TEMPORAL_SCHEMA_DIR (/etc/temporal/schema)   the schema/ directory of the server's module or image
set -eu

: "${SQL_HOST:?SQL_HOST (the PostgreSQL host) is required}"
: "${SQL_USER:?SQL_USER is required}"
export SQL_HOST SQL_USER
export SQL_PORT="${SQL_PORT:-5432}"
export SQL_PLUGIN=postgres12
tool="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"
schema="${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema}/postgresql/v12"

setup() {
  # $1: database, $2: schema folder (temporal or visibility)
  [ -d "$schema/$2/versioned" ] || { echo "no schema in $schema/$2/versioned" >&2; exit 1; }
  SQL_DATABASE="$1" "$tool" create-database
  SQL_DATABASE="$1" "$tool" setup-schema -v 0.0
  SQL_DATABASE="$1" "$tool" update-schema -d "$schema/$2/versioned"
}

setup "${DBNAME:-temporal}" temporal
setup "${VISIBILITY_DBNAME:-temporal_visibility}" visibility
echo "schemas of ${DBNAME:-temporal} and ${VISIBILITY_DBNAME:-temporal_visibility} are up to date"
