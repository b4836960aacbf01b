-- The reporter and moderator roles of crowdsourced reports (issue 11) and their grants. No
-- parameters: {reporter}, {moderator} (settings, checked against their pattern) and {database}
-- are identifiers composed by camdensity.roles. Run with the API role's grants (after every
-- migration and at service start-up).
-- Neither role owns anything, creates anything or belongs to any role. Unlike the API role they
-- are not read-only by default: the reporter must INSERT, and a SECURITY DEFINER function could
-- not lift the API role's read-only transaction (transaction_read_only cannot be switched off
-- once a statement ran), so each writer is a login role of its own with the narrowest grants.
DO $body$
BEGIN
    CREATE ROLE {reporter} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$body$;
DO $body$
BEGIN
    CREATE ROLE {moderator} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$body$;
GRANT CONNECT ON DATABASE {database} TO {reporter}, {moderator};
GRANT USAGE ON SCHEMA public TO {reporter}, {moderator};
-- Whatever a default privilege or an earlier grant gave them, they start from nothing here.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {reporter}, {moderator};
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {reporter}, {moderator};
-- Reporter: insert a report; count its area's reports this hour (the per-area limit); delete a
-- pending one by its receipt's hash. It reads no position, type or note of any report.
GRANT INSERT (receipt_sha256, challenge_sha256, camera_type, operator_type, operator, direction,
              mount, note, geom, area_h3) ON report_queue TO {reporter};
GRANT SELECT (receipt_sha256, status, area_h3, received_hour) ON report_queue TO {reporter};
GRANT DELETE ON report_queue TO {reporter};
GRANT USAGE ON SEQUENCE report_queue_id_seq TO {reporter};
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
