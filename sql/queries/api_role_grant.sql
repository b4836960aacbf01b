-- The read-only API role's grants, run as the owner (it owns the tables, so it may grant). No
-- parameters: {role} (settings.api_role, checked against its pattern in camdensity.settings) and
-- {database} (current_database()) are identifiers composed by camdensity.roles. Run by
-- camdensity.db.migrate after every migration, and by the service at start-up, so tables that
-- later migrations add are covered (ALTER DEFAULT PRIVILEGES covers tables the owner creates in
-- between). The role itself is created by role_api_create.sql.
-- Temporary tables are writes too; the owner keeps its own rights.
REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT ON DATABASE {database} TO {role};
GRANT USAGE ON SCHEMA public TO {role};
-- Every table the owner may grant reading of (its own, and extensions' tables the bootstrap let
-- it pass on); not GRANT ... ON ALL TABLES, which fails on a table someone else keeps in public.
DO $body$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS name FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND has_table_privilege(c.oid, 'SELECT WITH GRANT OPTION')
    LOOP
        EXECUTE format('GRANT SELECT ON %s TO {role}', r.name);
    END LOOP;
END
$body$;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role};
-- Not published: raw reports and fused cameras (exact positions of private cameras; the API
-- reads camera_published, ingest/privacy.py), rejected raw rows, import history and the
-- migration ledger; the report queue and its keys (issue 11: the reporter role writes the
-- queue, the moderator role reads it). A new private table belongs in this list.
REVOKE ALL ON camera, camera_report, camera_report_removed, rejected_row, source_version,
    schema_migration, report_queue, report_admin_key, report_pow_key FROM {role};
