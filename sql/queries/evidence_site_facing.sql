-- Per site and radius (%(radii)s int[]): the non-private devices within the radius of the site's
-- geometry that face it (the geodesic bearing from the camera to the nearest point of the site
-- lies in one of its sectors; a camera standing on the site faces it), that look elsewhere, and
-- whose direction is unknown. Private/residential cameras are left out of all three.
INSERT INTO site_facing (site_id, radius_m, facing, not_facing, direction_unknown)
WITH pairs AS (
    SELECT s.id AS site_id, c.count, v.sectors,
           ST_Distance(s.geom::geography, c.geom::geography) AS dist,
           degrees(ST_Azimuth(c.geom::geography,
                              ST_ClosestPoint(s.geom, c.geom)::geography)) AS bearing
    FROM site s
    JOIN camera c ON c.operator_type <> 'private'
         AND ST_DWithin(c.geom::geography, s.geom::geography, %(max_radius)s::float8)
    LEFT JOIN camera_view v ON v.camera_id = c.id
),
judged AS (
    SELECT site_id, count, dist,
           CASE WHEN sectors IS NULL THEN NULL
                ELSE bearing IS NULL OR camdensity_in_sectors(bearing, sectors) END AS facing
    FROM pairs
)
SELECT s.id, r.radius,
       coalesce(sum(j.count) FILTER (WHERE j.facing), 0),
       coalesce(sum(j.count) FILTER (WHERE NOT j.facing), 0),
       coalesce(sum(j.count) FILTER (WHERE j.count IS NOT NULL AND j.facing IS NULL), 0)
FROM site s
CROSS JOIN unnest(%(radii)s::integer[]) AS r(radius)
LEFT JOIN judged j ON j.site_id = s.id AND j.dist <= r.radius
GROUP BY s.id, r.radius
