-- The tiles of zoom $1 that may hold a feature, each with a key of everything drawn in it, for
-- `camdensity publish`. $1 z (int), $2 H3 resolution drawn at z (int), $3..$4 the tile columns
-- and $5..$6 the tile rows to keep (int; the --bbox, else the whole grid), $7 site categories
-- (text[]; NULL = all), $8 filtered (bool): the key then covers each cell's type x operator
-- breakdown, which filtered counts come from.
-- A feature meets tile x when its 3857 box meets the tile's envelope grown by the 64/4096 margin
-- tile_mvt.sql selects with (plus a hair, so float rounding never drops a tile; a tile found
-- here that draws nothing is left out of the archive). One set-based pass over the features,
-- not a probe per tile of the grid: z14 over a US state is 10^6 tiles, nearly all empty.
-- The key (md5 of the rows drawn, in order) equals the previous publish's when the tile cannot
-- have changed: an incremental publish copies those tiles instead of rendering them again.
WITH grid AS (
    SELECT 40075016.68557849 / (1::bigint << $1::int)::float8 AS size,
           64.0 / 4096 + 1e-9 AS m,
           20037508.342789244 AS half
),
features AS (
    SELECT h.geom_3857 AS geom,
           'h' || (h.*)::text || CASE WHEN $8::boolean THEN coalesce((
               SELECT string_agg((bd.camera_type, bd.operator_type, bd.cameras)::text, ','
                                 ORDER BY bd.camera_type, bd.operator_type)
               FROM hexagon_breakdown bd
               WHERE bd.resolution = h.resolution AND bd.h3 = h.h3), '') ELSE '' END AS body
    FROM hexagon h
    WHERE h.resolution = $2
    UNION ALL
    SELECT s.geom_3857,
           's' || (s.id, s.category, s.name, ST_AsEWKB(ST_PointOnSurface(s.geom_3857)),
                   e.cameras_200m, e.effective_cameras, e.percentile_category)::text
    FROM site s
    LEFT JOIN site_exposure e ON e.site_id = s.id
    WHERE $7::text[] IS NULL OR s.category = ANY($7::text[])
)
SELECT x, y, md5(string_agg(f.body, '|' ORDER BY f.body)) AS key
FROM features f
CROSS JOIN grid g
CROSS JOIN LATERAL generate_series(
    greatest($3::int, ceil((ST_XMin(f.geom) + g.half) / g.size - 1 - g.m)::int),
    least($4::int, floor((ST_XMax(f.geom) + g.half) / g.size + g.m)::int)) AS x
CROSS JOIN LATERAL generate_series(
    greatest($5::int, ceil((g.half - ST_YMax(f.geom)) / g.size - 1 - g.m)::int),
    least($6::int, floor((g.half - ST_YMin(f.geom)) / g.size + g.m)::int)) AS y
GROUP BY x, y;
