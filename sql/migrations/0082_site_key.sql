-- History (issue 13).
-- The key a site keeps across re-imports (which renumber site ids): its source's name and the
-- source's own id, else its line in the file, else its id.
CREATE OR REPLACE FUNCTION camdensity_site_key(source_name text, source_ref text, line integer,
                                               site_id bigint)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT source_name || '/' || coalesce(source_ref, 'line:' || line, 'id:' || site_id) $$;
