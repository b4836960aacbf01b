-- The sites of one category (whose centroid lies in a box, when given) with the devices within a
-- radius of each site's geometry (its polygon where known), geodesic. Private/residential
-- cameras are left out: the comparison must not become a way to count them near a place.
-- %(category)s, %(minlon)s..%(maxlat)s (NULL: everywhere), %(radius)s metres.
-- Reads camera_published (the build's published layer, ingest/privacy.py), as the API role may.
WITH env AS (
    SELECT ST_MakeEnvelope(%(minlon)s::float8, %(minlat)s::float8, %(maxlon)s::float8,
                           %(maxlat)s::float8, 4326) AS box
)
SELECT s.id, s.name, coalesce(sum(c.count), 0)::integer AS cameras
FROM site s
CROSS JOIN env
LEFT JOIN camera_published c ON c.operator_type <> 'private'
     AND ST_DWithin(c.geom::geography, s.geom::geography, %(radius)s::float8)
WHERE s.category = %(category)s
  AND (env.box IS NULL OR s.centroid && env.box)
GROUP BY s.id, s.name
ORDER BY s.id
