-- Non-private devices within a geodesic radius of a point that face it (the bearing from the
-- camera to the point lies in one of its view sectors, camera_view), look elsewhere, or whose
-- direction is unknown. Private/residential cameras are in none of the three.
-- %(lon)s, %(lat)s, %(radius)s metres.
-- Reads camera_published (the build's published layer, ingest/privacy.py), as the API role may.
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g),
judged AS (
    SELECT c.count,
           CASE WHEN v.sectors IS NULL THEN NULL
                WHEN ST_Equals(c.geom, p.g) THEN true
                ELSE camdensity_in_sectors(degrees(ST_Azimuth(c.geom::geography, p.g::geography)),
                                           v.sectors) END AS facing
    FROM camera_published c
    CROSS JOIN p
    LEFT JOIN camera_view v ON v.camera_id = c.camera_id
    WHERE c.operator_type <> 'private'
      AND ST_DWithin(c.geom::geography, p.g::geography, %(radius)s)
)
SELECT coalesce(sum(count) FILTER (WHERE facing), 0)::integer,
       coalesce(sum(count) FILTER (WHERE NOT facing), 0)::integer,
       coalesce(sum(count) FILTER (WHERE facing IS NULL), 0)::integer
FROM judged
