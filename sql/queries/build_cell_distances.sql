-- Metres (geodesic) from each cell's centre to the nearest site of each category, no row when
-- none is within limit_m: the minimum over the (cell, site) pairs that can be the nearest
-- (_cand, chosen by ingest/cells.py cell_distances; the others provably cannot).
-- Parameters: limit_m.
INSERT INTO _cell_dist (resolution, h3, category, dist)
SELECT c.resolution, c.h3, s.category, min(ST_Distance(s.geom::geography, p.g))
FROM _cand c
JOIN site s ON s.id = c.site_id
CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(c.lon, c.lat), 4326)::geography AS g) p
WHERE ST_DWithin(s.geom::geography, p.g, %(limit_m)s)
GROUP BY c.resolution, c.h3, s.category
