-- Metres (geodesic) from each shown cell's centre to the nearest site of each category, found by
-- KNN on site_geog_idx; no row when none is within the search limit. Only categories that have
-- sites are searched.
-- Parameters: categories, limit_m.
INSERT INTO _cell_dist (resolution, h3, category, dist)
SELECT cl.resolution, cl.h3, cat.category, d.dist
FROM _cell cl
CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(cl.lon, cl.lat), 4326)::geography AS g) p
CROSS JOIN (SELECT DISTINCT category FROM site WHERE category = ANY(%(categories)s::text[])) cat
CROSS JOIN LATERAL (
    SELECT ST_Distance(s.geom::geography, p.g) AS dist
    FROM site s
    WHERE s.category = cat.category AND ST_DWithin(s.geom::geography, p.g, %(limit_m)s)
    ORDER BY s.geom::geography <-> p.g
    LIMIT 1
) d
WHERE EXISTS (SELECT 1 FROM hexagon_breakdown b WHERE b.resolution = cl.resolution AND b.h3 = cl.h3)
