-- The places the "cells" null model starts from: imported addresses and non-private cameras
-- within %(area_m)s metres of a site of the category (and in the box, when given), as lon/lat.
-- The caller keeps only the H3 cells holding them, so sea, forest and fields never count as
-- places; points are then drawn at random inside those cells.
-- %(category)s, %(minlon)s..%(maxlat)s (NULL: everywhere), %(area_m)s.
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
    SELECT a.geom FROM address a
    UNION ALL
    SELECT c.geom FROM camera_published c WHERE c.operator_type <> 'private'
)
SELECT ST_X(p.geom), ST_Y(p.geom)
FROM points p CROSS JOIN env
WHERE (env.box IS NULL OR p.geom && env.box)
  AND EXISTS (SELECT 1 FROM sites s
              WHERE ST_DWithin(p.geom::geography, s.geom::geography, %(area_m)s::float8))
