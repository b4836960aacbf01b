-- The read-only API role and its grants. No parameters: {role} (settings.api_role, checked
-- against its pattern in camdensity.settings) and {database} (current_database()) are
-- identifiers composed by camdensity.roles. Run by camdensity.db.migrate after every migration, and by the service
-- at start-up, so tables that later migrations add are covered (ALTER DEFAULT PRIVILEGES covers
-- tables the owner creates in between).
-- The role is created once per server (roles are cluster-wide): a concurrent creation in another
-- database is not an error. It can log in and read; it owns nothing, creates nothing, and is
-- not a member of any role, so neither SET ROLE nor RESET ROLE gives it more.
DO $body$
BEGIN
    CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
    ALTER ROLE {role} SET default_transaction_read_only = on;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$body$;
-- Temporary tables are writes too; the owner keeps its own rights.
REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT ON DATABASE {database} TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role};
-- Not published: raw reports and fused cameras (exact positions of private cameras; the API
-- reads camera_published, ingest/privacy.py), rejected raw rows, import history and the
-- migration ledger; the report queue and its keys (issue 11: the reporter role writes the
-- queue, the moderator role reads it). A new private table belongs in this list.
REVOKE ALL ON camera, camera_report, camera_report_removed, rejected_row, source_version,
    schema_migration, report_queue, report_admin_key, report_pow_key FROM {role};
