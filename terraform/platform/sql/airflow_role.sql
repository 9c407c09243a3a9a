-- The database role Airflow and PgBouncer log in as, instead of the RDS master user (whose password RDS
-- rotates every 7 days, which PgBouncer's users.txt cannot follow). A psql script, run by the master user
-- in Airflow's database: by terraform/platform's airkube-db-role job before the chart's migration job, and
-- by tests/terraform/test_db_role.py against a local PostgreSQL. Safe to run again: it makes what is
-- missing, and sets the password, so running it after a deliberate rotation is how the role follows.
--
-- Input, from the environment: AIRKUBE_DB_ROLE (the role, also the name of its schema) and
-- AIRKUBE_DB_ROLE_PASSWORD; libpq's PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD for the connection.
--
-- The role may log in, use and create objects in its own schema only (it owns the schema, so Airflow's
-- migrations can create, alter and drop its tables), and nothing else: not superuser, no CREATEDB, no
-- CREATEROLE, no replication, no row-level security bypass, no CREATE in the public schema (PostgreSQL 15
-- and later give PUBLIC none). Written for what the RDS master user may do on PostgreSQL 15 and 16: it is
-- no superuser, but has CREATEROLE and CREATEDB and owns the database.

\set ON_ERROR_STOP on
\getenv role AIRKUBE_DB_ROLE
\getenv password AIRKUBE_DB_ROLE_PASSWORD
\if :{?role}
\else
  \set role ''
\endif
\if :{?password}
\else
  \set password ''
\endif
SELECT current_database() AS dbname, :'role' = '' OR :'password' = '' AS missing \gset
\if :missing
  DO $$ BEGIN RAISE EXCEPTION 'set AIRKUBE_DB_ROLE and AIRKUBE_DB_ROLE_PASSWORD'; END $$;
\endif

BEGIN;

-- The role, if it is not there yet. CREATE ROLE takes no psql variables in a DO block, hence \gexec.
SELECT format(
  'CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT',
  :'role'
)
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec

-- Its password, and the attributes it may have had changed by hand since (the master user may not touch
-- SUPERUSER, REPLICATION or BYPASSRLS, which it cannot grant either).
ALTER ROLE :"role" WITH LOGIN NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD :'password';

-- Its own schema, first on its search path: Airflow's tables live there, owned by the role. Making the role
-- own the schema needs membership in it, held only for this transaction.
GRANT :"role" TO CURRENT_USER;
CREATE SCHEMA IF NOT EXISTS :"role" AUTHORIZATION :"role";
ALTER SCHEMA :"role" OWNER TO :"role";
REVOKE ALL ON SCHEMA :"role" FROM PUBLIC;
REVOKE :"role" FROM CURRENT_USER;
ALTER ROLE :"role" IN DATABASE :"dbname" SET search_path = :"role";

-- Connecting to this database (PUBLIC's CONNECT and TEMPORARY may be revoked later; the role keeps them).
GRANT CONNECT, TEMPORARY ON DATABASE :"dbname" TO :"role";

COMMIT;
