-- How a point compares with "the city": baseline cells of one radius within city reach, and how
-- many of them hold fewer / as many cameras as the point holds within that same radius (both
-- counted over the published cameras, ingest/privacy.py).
-- %(lon)s, %(lat)s, %(radius)s (a baseline radius), %(city)s metres.
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography AS g),
here AS (
    SELECT coalesce(sum(c.count), 0)::bigint AS n
    FROM camera_published c, p
    WHERE ST_DWithin(c.geom::geography, p.g, %(radius)s)
)
SELECT here.n,
       count(b.h3)::integer AS cells,
       count(b.h3) FILTER (WHERE b.cameras < here.n)::integer AS fewer,
       count(b.h3) FILTER (WHERE b.cameras = here.n)::integer AS same
FROM here
CROSS JOIN p
LEFT JOIN baseline b
       ON b.radius_m = %(radius)s AND ST_DWithin(b.geom::geography, p.g, %(city)s)
GROUP BY here.n
