-- Fields of view (issue 13). A direction tag as OSM writes it ("75", "NE", "90-180", "45;135",
-- "315-45") becomes sectors [from, to] in degrees clockwise from north; a single bearing b is
-- the cone [b - fov/2, b + fov/2]; a range "a-b" is its own sector, a to b clockwise (so
-- "315-45" passes through north); parts are separated by ';' or ','. NULL when no part parses.

-- One bearing word or number in degrees 0..360: "75", "-45", "NE", "north"; NULL otherwise.
CREATE OR REPLACE FUNCTION camdensity_bearing(word text) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
SELECT CASE
    WHEN w ~ '^-?[0-9]+(\.[0-9]+)?$' THEN ((w::numeric % 360 + 360) % 360)::double precision
    ELSE (SELECT a.deg FROM (VALUES
            ('n', 0), ('nne', 22.5), ('ne', 45), ('ene', 67.5), ('e', 90), ('ese', 112.5),
            ('se', 135), ('sse', 157.5), ('s', 180), ('ssw', 202.5), ('sw', 225), ('wsw', 247.5),
            ('w', 270), ('wnw', 292.5), ('nw', 315), ('nnw', 337.5),
            ('north', 0), ('northeast', 45), ('east', 90), ('southeast', 135), ('south', 180),
            ('southwest', 225), ('west', 270), ('northwest', 315)) AS a(word, deg)
          WHERE a.word = replace(w, ' ', ''))::double precision
END
FROM (SELECT lower(btrim(word)) AS w) s
$$;

CREATE OR REPLACE FUNCTION camdensity_view_sectors(direction text, fov_deg double precision)
RETURNS real[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
SELECT array_agg(bound ORDER BY k, side)::real[]
FROM (
    SELECT k, side, bound
    FROM (
        SELECT p.k,
               CASE WHEN m IS NOT NULL THEN camdensity_bearing(m[1])
                    WHEN fov_deg >= 360 THEN 0
                    ELSE (((b - fov_deg / 2)::numeric % 360 + 360) % 360)::double precision
               END AS f,
               CASE WHEN m IS NOT NULL THEN camdensity_bearing(m[2])
                    WHEN fov_deg >= 360 THEN 360
                    ELSE (((b + fov_deg / 2)::numeric % 360 + 360) % 360)::double precision
               END AS t
        FROM regexp_split_to_table(direction, '[;,]') WITH ORDINALITY AS p(part, k)
        CROSS JOIN LATERAL (SELECT regexp_match(btrim(p.part),
            '^(-?[0-9]+(?:\.[0-9]+)?|[A-Za-z ]+?)\s*-\s*([0-9]+(?:\.[0-9]+)?|[A-Za-z ]+)$') AS m) r
        CROSS JOIN LATERAL (SELECT camdensity_bearing(p.part) AS b) single
        WHERE (r.m IS NOT NULL AND camdensity_bearing(r.m[1]) IS NOT NULL
               AND camdensity_bearing(r.m[2]) IS NOT NULL)
           OR (r.m IS NULL AND single.b IS NOT NULL)
    ) sector
    CROSS JOIN LATERAL (VALUES (1, sector.f), (2, sector.t)) AS v(side, bound)
) bounds
$$;

-- Whether a bearing (degrees from north) lies in any sector; a sector with to < from wraps
-- through north.
CREATE OR REPLACE FUNCTION camdensity_in_sectors(bearing double precision, sectors real[])
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
SELECT coalesce(bool_or(CASE WHEN sectors[2 * i - 1] <= sectors[2 * i]
                             THEN bearing BETWEEN sectors[2 * i - 1] AND sectors[2 * i]
                             ELSE bearing >= sectors[2 * i - 1] OR bearing <= sectors[2 * i] END),
                false)
FROM generate_series(1, coalesce(array_length(sectors, 1), 0) / 2) AS i
$$;
