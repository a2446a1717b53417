-- The database role casewatch logs in as: it can read the views in the `casewatch` schema and
-- nothing else, and every transaction it opens is read-only (casewatch also opens its own
-- transactions READ ONLY; this makes the database say so too). Run as the schema's owner:
--
--   psql -d reporting -v password="$(cat new-password)" -f readonly-role.sql
--
-- then put `user=casewatch` and the password (or a passfile) in casewatch's dsn_file.
\set ON_ERROR_STOP on

CREATE ROLE casewatch LOGIN PASSWORD :'password'
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 4;
ALTER ROLE casewatch SET default_transaction_read_only = on;
-- A runaway query must not hold the reporting database; casewatch's feed `timeout` is shorter.
ALTER ROLE casewatch SET statement_timeout = '10min';
ALTER ROLE casewatch SET idle_in_transaction_session_timeout = '1min';

-- Only the views made for it: no access to the case-management system's own tables.
CREATE SCHEMA IF NOT EXISTS casewatch;
GRANT CONNECT ON DATABASE :"DBNAME" TO casewatch;
GRANT USAGE ON SCHEMA casewatch TO casewatch;
GRANT SELECT ON ALL TABLES IN SCHEMA casewatch TO casewatch;
ALTER DEFAULT PRIVILEGES IN SCHEMA casewatch GRANT SELECT ON TABLES TO casewatch;
REVOKE ALL ON SCHEMA public FROM casewatch;
