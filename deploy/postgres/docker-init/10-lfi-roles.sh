#!/bin/sh
# Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d), after
# it has created the database named by POSTGRES_DB (lfi): the service roles and schemas of
# ../roles.sql, with the passwords from the container's environment (deploy/compose/.env).
set -eu

psql --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v ON_ERROR_STOP=1 \
    -v referrals_password="$LFI_REFERRALS_DB_PASSWORD" \
    -v placements_password="$LFI_PLACEMENTS_DB_PASSWORD" \
    -v funding_password="$LFI_FUNDING_DB_PASSWORD" \
    -v events_password="$LFI_EVENTS_DB_PASSWORD" \
    -f /opt/lfi/postgres/roles.sql
