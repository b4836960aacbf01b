-- Published devices (ingest/privacy.py) within a geodesic radius of a point, by type and
-- operator (camera_published_geog_idx).
-- %(lon)s, %(lat)s, %(radius)s metres.
SELECT camera_type, operator_type, sum(count)::bigint AS cameras
FROM camera_published
WHERE ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography,
                 %(radius)s)
GROUP BY camera_type, operator_type
