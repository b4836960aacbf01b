-- The grants of the reporter and moderator roles of crowdsourced reports (issue 11), run as the
-- owner with the API role's (after every migration and at service start-up); the roles
-- themselves are made by role_report_create.sql. No parameters: {reporter}, {moderator}
-- (settings, checked against their pattern) and {database} are identifiers, {reporter_name} the
-- reporter's name as a literal, composed by camdensity.roles.
GRANT CONNECT ON DATABASE {database} TO {reporter}, {moderator};
GRANT USAGE ON SCHEMA public TO {reporter}, {moderator};
-- Whatever an earlier grant gave them, they start from nothing here (on every table and sequence
-- the owner may grant on: not ... ON ALL TABLES, which fails on one someone else keeps in public).
DO $body$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS name FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
          AND pg_has_role(c.relowner, 'USAGE')
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM {reporter}, {moderator}', r.name);
    END LOOP;
END
$body$;
-- Reporter: insert a report; count its area's reports this hour and delete the one report a
-- receipt names, only through the functions of migration 0091. It reads no report at all.
GRANT INSERT (receipt_sha256, challenge_sha256, camera_type, operator_type, operator, direction,
              mount, note, geom, area_h3) ON report_queue TO {reporter};
GRANT USAGE ON SEQUENCE report_queue_id_seq TO {reporter};
-- (Granted only where missing: the bootstrap and this step run at every start and leave the
-- functions' catalog rows alone when nothing differs.)
DO $body$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['camdensity_area_reports(bigint)', 'camdensity_withdraw_report(bytea)']
    LOOP
        IF NOT has_function_privilege({reporter_name}, f, 'EXECUTE') THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f, {reporter_name});
        END IF;
    END LOOP;
END
$body$;
GRANT SELECT ON report_pow_key TO {reporter};
-- Moderator: the queue, the admin key's hash, the published cameras (likely duplicates: the
-- public layer, so private cameras appear only as the public sees them), and the `web-reports`
-- source its approved reports become.
GRANT SELECT, UPDATE, DELETE ON report_queue TO {moderator};
GRANT SELECT ON report_admin_key, camera_published TO {moderator};
GRANT SELECT, INSERT, UPDATE ON source TO {moderator};
GRANT USAGE ON SEQUENCE source_id_seq TO {moderator};
GRANT INSERT ON camera_report TO {moderator};
GRANT SELECT (id, source_id, source_ref) ON camera_report TO {moderator};
GRANT USAGE ON SEQUENCE camera_report_id_seq TO {moderator};
