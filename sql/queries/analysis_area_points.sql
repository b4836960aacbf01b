-- The places both null models start from (evidence/analysis.py): imported addresses, and with
-- %(with_cameras)s non-private cameras, within %(area_m)s metres of a site of the category (and
-- in the box, when given), as lon/lat, with the size of that pool.
-- "addresses" draws up to %(n)s of the addresses at random: an ORDER BY on a hash of %(seed)s and
-- the address's label and position, so the same seed over the same imported data draws the same
-- ones, in draw order; their cameras are then counted by analysis_point_counts.sql, as the sites
-- are (analysis_sites.sql). "cells" (%(n)s NULL: every point) keeps only the H3 cells holding
-- them, so sea, forest and fields never count as places; points are drawn inside those cells.
-- %(category)s, %(minlon)s..%(maxlat)s (NULL: everywhere), %(area_m)s, %(with_cameras)s,
-- %(seed)s, %(n)s. None of the addresses leaves the store but those drawn.
-- Reads camera_published (the build's published layer, ingest/privacy.py), as the API role may.
WITH env AS (
    SELECT ST_MakeEnvelope(%(minlon)s::float8, %(minlat)s::float8, %(maxlon)s::float8,
                           %(maxlat)s::float8, 4326) AS box
),
sites AS (
    SELECT s.geom FROM site s CROSS JOIN env
    WHERE s.category = %(category)s AND (env.box IS NULL OR s.centroid && env.box)
),
points AS (
    SELECT a.id, a.geom, md5(%(seed)s::text || '|' || a.label || '|' || ST_AsText(a.geom)) AS draw
    FROM address a
    UNION ALL
    SELECT NULL, c.geom, NULL FROM camera_published c
    WHERE %(with_cameras)s AND c.operator_type <> 'private'
)
SELECT ST_X(p.geom), ST_Y(p.geom), count(*) OVER () AS pool_size
FROM points p CROSS JOIN env
WHERE (env.box IS NULL OR p.geom && env.box)
  AND EXISTS (SELECT 1 FROM sites s
              WHERE ST_DWithin(p.geom::geography, s.geom::geography, %(area_m)s::float8))
ORDER BY p.draw, p.id
LIMIT %(n)s
