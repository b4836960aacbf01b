-- "The city": published devices (ingest/privacy.py) within each radius of every baseline cell's centre (geodesic, as the
-- coverage query counts them). Cameras are looked up once per cell, within the largest radius.
-- Parameters: radii, max_radius.
INSERT INTO baseline (h3, radius_m, cameras, geom)
SELECT b.h3, r.radius,
       coalesce((SELECT sum(n.count) FROM unnest(near.counts, near.dists) AS n(count, dist)
                 WHERE n.dist <= r.radius), 0),
       b.geom
FROM (SELECT h3, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom FROM _base) b
CROSS JOIN LATERAL (
    SELECT array_agg(c.count) AS counts,
           array_agg(ST_Distance(c.geom::geography, b.geom::geography)) AS dists
    FROM camera_published c
    WHERE ST_DWithin(c.geom::geography, b.geom::geography, %(max_radius)s)
) near
CROSS JOIN unnest(%(radii)s::integer[]) AS r(radius)
