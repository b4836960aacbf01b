-- The owner takes over the database, schema public and the project's objects, run by
-- camdensity.roles.bootstrap as a superuser at every start. {owner} is a string literal
-- (settings.owner_role, checked against its pattern in camdensity.settings) composed by
-- camdensity.roles; no parameters.
-- Versions before the owner role ran migrations as the superuser in DATABASE_URL, so their
-- tables, sequences, views, functions and types belong to it: whatever in schema public a
-- superuser owns moves to the owner, so an existing store upgrades in place. Objects that belong
-- to an extension (PostGIS's spatial_ref_sys and functions, the standardiser's tables) stay the
-- extension's (the owner may read and pass on reading them); a sequence owned by a column
-- follows its table. Only what differs is altered, so a second run writes nothing.
DO $body$
DECLARE
    owner_name constant text := {owner};
    owner_oid constant oid := to_regrole(owner_name);
    r record;
BEGIN
    IF (SELECT datdba FROM pg_database WHERE datname = current_database()) <> owner_oid THEN
        EXECUTE format('ALTER DATABASE %I OWNER TO %I', current_database(), owner_name);
    END IF;
    IF (SELECT nspowner FROM pg_namespace WHERE nspname = 'public') <> owner_oid THEN
        EXECUTE format('ALTER SCHEMA public OWNER TO %I', owner_name);
    END IF;
    FOR r IN
        SELECT format('ALTER %s %s OWNER TO %I',
                      CASE o.kind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                  WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
                                  WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE'
                                  WHEN 'fn' THEN 'FUNCTION' WHEN 'd' THEN 'DOMAIN'
                                  WHEN 'type' THEN 'TYPE' ELSE 'TABLE' END,
                      o.name, owner_name) AS statement
        FROM (
            SELECT 'pg_class'::regclass AS catalog, c.oid, c.oid::regclass::text AS name,
                   c.relkind::text AS kind, c.relowner AS owner
            FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
              AND NOT (c.relkind = 'S' AND EXISTS (
                  SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
            UNION ALL
            SELECT 'pg_proc'::regclass, p.oid, p.oid::regprocedure::text,
                   CASE p.prokind WHEN 'p' THEN 'p' WHEN 'a' THEN 'a' ELSE 'fn' END, p.proowner
            FROM pg_proc p
            WHERE p.pronamespace = 'public'::regnamespace
            UNION ALL
            SELECT 'pg_type'::regclass, t.oid, t.oid::regtype::text,
                   CASE t.typtype WHEN 'd' THEN 'd' ELSE 'type' END, t.typowner
            FROM pg_type t
            WHERE t.typnamespace = 'public'::regnamespace
              -- standalone composite, enum, range and domain types; a table's row type and an
              -- array type follow their table or element
              AND (t.typtype IN ('d', 'e', 'r')
                   OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
        ) o
        JOIN pg_roles owner ON owner.oid = o.owner AND owner.rolsuper
        WHERE NOT EXISTS (SELECT 1 FROM pg_depend d
                          WHERE d.classid = o.catalog AND d.objid = o.oid AND d.deptype = 'e')
        ORDER BY o.catalog::oid, o.oid
    LOOP
        EXECUTE r.statement;
    END LOOP;
    -- Extensions' tables in public (the standardiser's lexicon us_lex, us_gaz, us_rules;
    -- spatial_ref_sys) stay the extension's, readable by the owner, who passes that on to the
    -- API role (api_role_grant.sql grants SELECT on all tables).
    FOR r IN
        SELECT c.oid::regclass AS name
        FROM pg_class c
        JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
          AND NOT has_table_privilege(owner_oid, c.oid, 'SELECT WITH GRANT OPTION')
    LOOP
        EXECUTE format('GRANT SELECT ON %s TO %I WITH GRANT OPTION', r.name, owner_name);
    END LOOP;
END
$body$;
