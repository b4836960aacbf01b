-- A role of crowdsourced reports (issue 11: the reporter, the moderator), created by
-- camdensity.roles as a superuser (the bootstrap) or by an owner allowed to create roles. {role}
-- is an identifier (settings.reporter_role / moderator_role, checked against their pattern)
-- composed by camdensity.roles; no parameters. Its grants are report_role_grant.sql, run as the
-- owner. It logs in; it owns nothing, creates nothing and belongs to no role. Unlike the API role
-- it is not read-only by default: the reporter must INSERT, and a SECURITY DEFINER function could
-- not have lifted the API role's read-only transaction (transaction_read_only cannot be switched
-- off once a statement ran), so each writer is a login of its own with the narrowest grants.
DO $body$
BEGIN
    CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$body$;
