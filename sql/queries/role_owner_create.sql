-- The owner role, created by camdensity.roles.bootstrap as a superuser. {role} is an identifier
-- (settings.owner_role, checked against its pattern in camdensity.settings) composed by
-- camdensity.roles; no parameters. Roles are cluster-wide: a concurrent creation from another
-- database is not an error.
-- It logs in and will own the database, its schema and the project's objects: migrations,
-- imports, builds, publishing and the API role's grants run as it. It is no superuser and
-- cannot create roles (in PostgreSQL 15 CREATEROLE could grant itself
-- pg_execute_server_program), databases, replicate or bypass row security; camdensity.roles
-- refuses an existing role of that name that can (OWNER_POWERS, OWNER_FORBIDDEN_MEMBERSHIPS).
DO $body$
BEGIN
    CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$body$;
