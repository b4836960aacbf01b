-- (site, published camera) pairs within reach of the site's geometry (its polygon where known), geodesic.
-- Parameter: reach_m.
INSERT INTO _near (site_id, camera_id, dist)
SELECT s.id, c.id, ST_Distance(s.geom::geography, c.geom::geography)
FROM site s
JOIN camera_published c ON ST_DWithin(c.geom::geography, s.geom::geography, %(reach_m)s)
