-- Non-private devices within %(radius)s metres (geodesic) of each of the points
-- %(lons)s / %(lats)s (float8[]), in the order given; counted as analysis_sites.sql counts sites.
-- Reads camera_published (the build's published layer, ingest/privacy.py), as the API role may.
SELECT coalesce(sum(c.count), 0)::integer AS cameras
FROM unnest(%(lons)s::float8[], %(lats)s::float8[]) WITH ORDINALITY AS p(lon, lat, i)
CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)::geography AS g) pt
LEFT JOIN camera_published c ON c.operator_type <> 'private'
     AND ST_DWithin(c.geom::geography, pt.g, %(radius)s::float8)
GROUP BY p.i
ORDER BY p.i
