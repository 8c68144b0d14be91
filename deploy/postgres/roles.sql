-- Roles and schemas of the Local First Inclusion services.
--
-- One login role per service, owner of one schema and granted nothing else: a service cannot
-- read, write or even see another service's tables. Nobody may create objects in `public`.
-- The same steps `lfi_shared.provisioning` takes for `make run` and `make test`.
--
-- Run it as an administrator (a superuser, or the admin role of a managed server such as Azure
-- Database for PostgreSQL), connected to the platform's database (`lfi`), with each service's
-- password as a psql variable, never written in this file:
--
--   psql "host=$PGHOST dbname=lfi user=$PGADMIN sslmode=require" \
--     -v ON_ERROR_STOP=1 \
--     -v referrals_password="$LFI_REFERRALS_DB_PASSWORD" \
--     -v placements_password="$LFI_PLACEMENTS_DB_PASSWORD" \
--     -v funding_password="$LFI_FUNDING_DB_PASSWORD" \
--     -v events_password="$LFI_EVENTS_DB_PASSWORD" \
--     -f deploy/postgres/roles.sql
--
-- It is idempotent: run it again to rotate passwords (each role gets the password given now).
-- While it runs, `log_statement` must not be `ddl` or `all`, or the server log would record the
-- passwords of the ALTER ROLE statements.

\set ON_ERROR_STOP on

-- Refuse to run without every password (an unset variable would otherwise be sent literally).
\if :{?referrals_password}
\else
  \warn 'roles.sql: -v referrals_password=... is required'
  SELECT missing_psql_variable_referrals_password;
\endif
\if :{?placements_password}
\else
  \warn 'roles.sql: -v placements_password=... is required'
  SELECT missing_psql_variable_placements_password;
\endif
\if :{?funding_password}
\else
  \warn 'roles.sql: -v funding_password=... is required'
  SELECT missing_psql_variable_funding_password;
\endif
\if :{?events_password}
\else
  \warn 'roles.sql: -v events_password=... is required'
  SELECT missing_psql_variable_events_password;
\endif

BEGIN;

CREATE TEMPORARY TABLE lfi_service_role (
    schema_name text PRIMARY KEY,
    role_name text NOT NULL UNIQUE,
    password text NOT NULL CHECK (length(password) >= 12)
) ON COMMIT DROP;

INSERT INTO lfi_service_role (schema_name, role_name, password) VALUES
    ('referrals', 'lfi_referrals', :'referrals_password'),
    ('placements', 'lfi_placements', :'placements_password'),
    ('funding', 'lfi_funding', :'funding_password'),
    ('events', 'lfi_events', :'events_password');

-- The roles: login, and no other attribute. (ALTER ROLE names only what an administrator that
-- is not a superuser may change; the check below covers the rest.)
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
              role_name)
  FROM lfi_service_role
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name)
\gexec

SELECT format('ALTER ROLE %I WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD %L', role_name, password)
  FROM lfi_service_role
\gexec

DO $$
BEGIN
    IF EXISTS (SELECT 1
                 FROM pg_roles JOIN lfi_service_role ON rolname = role_name
                WHERE rolsuper OR rolreplication OR rolbypassrls) THEN
        RAISE EXCEPTION 'a service role is a superuser or has REPLICATION or BYPASSRLS: fix it by hand';
    END IF;
END
$$;

-- An administrator that is not a superuser (a managed server's admin) must be able to act as a
-- role to hand it a schema (PostgreSQL 16 asks for the SET option on the role).
SELECT format('GRANT %I TO CURRENT_USER', role_name)
  FROM lfi_service_role
 WHERE NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
   AND NOT pg_has_role(current_user, role_name, 'USAGE')
\gexec

-- Each role owns its schema; nobody else gets any right on it.
SELECT format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', schema_name, role_name)
  FROM lfi_service_role
\gexec

SELECT format('ALTER SCHEMA %I OWNER TO %I', schema_name, role_name)
  FROM lfi_service_role
\gexec

SELECT format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', schema_name)
  FROM lfi_service_role
\gexec

-- Unqualified names resolve in the service's own schema.
SELECT format('ALTER ROLE %I SET search_path = %I', role_name, schema_name)
  FROM lfi_service_role
\gexec

-- Nothing is created in `public` (the default before PostgreSQL 15 allowed it to everyone).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

SELECT format('REVOKE CREATE ON SCHEMA public FROM %I', role_name)
  FROM lfi_service_role
\gexec

COMMIT;
