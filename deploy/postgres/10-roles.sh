#!/bin/sh
# Run once by the postgres image on an empty data directory (/docker-entrypoint-initdb.d), as
# the superuser: the two roles of the README's "Row-level security" section and their database.
#   smsb_owner  DATABASE_ADMIN_URL: owns the schema and the tables, migrates, runs cross-shop
#               work; BYPASSRLS, not a superuser.
#   smsb_app    DATABASE_URL: what the app serves with. Not a superuser, no BYPASSRLS, owns
#               nothing, so every table's forced policy binds it. `flask db upgrade` grants it
#               SELECT/INSERT/UPDATE/DELETE on the tables and sequences (never TRUNCATE).
# Passwords come from the environment (docker-compose.yml), never from this file.
set -eu
: "${SMSB_OWNER_PASSWORD:?}" "${SMSB_APP_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner_password="$SMSB_OWNER_PASSWORD" -v app_password="$SMSB_APP_PASSWORD" <<'SQL'
CREATE ROLE smsb_owner LOGIN NOSUPERUSER NOCREATEROLE BYPASSRLS PASSWORD :'owner_password';
CREATE ROLE smsb_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'app_password';
CREATE DATABASE sms OWNER smsb_owner;
\connect sms
ALTER SCHEMA public OWNER TO smsb_owner;
-- The app role connects and stages bulk inserts in temporary tables (COPY cannot write into a
-- table with row-level security); it creates nothing in the schema.
REVOKE ALL ON DATABASE sms FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE sms TO smsb_app;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO smsb_app;
SQL
