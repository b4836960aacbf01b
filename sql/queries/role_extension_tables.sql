-- Extensions' tables in schema public that the current user (an owner that is no superuser,
-- with no bootstrap to grant it: camdensity.roles.require_extensions) can neither read and
-- pass on reading nor reads through PUBLIC. The standardiser's us_lex, us_gaz and us_rules are
-- read by imports and the geocoder, so the owner needs them, and the API role through it. No
-- parameters.
SELECT c.oid::regclass::text
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
  AND EXISTS (SELECT 1 FROM pg_depend d
              WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  AND NOT has_table_privilege(c.oid, 'SELECT WITH GRANT OPTION')
  AND NOT has_table_privilege('public', c.oid, 'SELECT')
ORDER BY 1
