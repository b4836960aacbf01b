-- The sites each coarsest-level node (_cand_node) passes down as candidates, per category: the
-- geodesic distance to the KNN-nearest site (site_geog_idx) bounds the nearest distance of the
-- node's centre, so a cell within `below` metres of it has its nearest site within that
-- distance + 2 x below of the centre, and only sites within limit_m + below can be within the
-- limit of such a cell (1 m more for rounding). Parameters: categories, limit_m.
SELECT n.h3, s.id
FROM _cand_node n
CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(n.lon, n.lat), 4326)::geography AS g) p
CROSS JOIN (SELECT DISTINCT category FROM site WHERE category = ANY(%(categories)s::text[])) cat
CROSS JOIN LATERAL (
    SELECT ST_Distance(s.geom::geography, p.g) AS dist
    FROM site s
    WHERE s.category = cat.category
    ORDER BY s.geom::geography <-> p.g
    LIMIT 1
) k
CROSS JOIN LATERAL (
    SELECT s.id
    FROM site s
    WHERE s.category = cat.category
      AND ST_DWithin(s.geom::geography, p.g,
                     least(k.dist + 2 * n.below, %(limit_m)s + n.below) + 1)
) s
