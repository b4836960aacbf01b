-- The read-only API role, created by camdensity.roles as a superuser (the bootstrap) or by an
-- owner allowed to create roles (a managed database whose DATABASE_URL user is the owner).
-- {role} is an identifier (settings.api_role, checked against its pattern in
-- camdensity.settings) composed by camdensity.roles; no parameters. Its grants are
-- api_role_grant.sql, run as the owner.
-- It can log in and read; it owns nothing, creates nothing, and is not a member of any role, so
-- neither SET ROLE nor RESET ROLE gives it more. Roles are cluster-wide: a concurrent creation in
-- another database is not an error.
DO $body$
BEGIN
    CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
    ALTER ROLE {role} SET default_transaction_read_only = on;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$body$;
