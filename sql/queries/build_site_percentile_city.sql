-- Percentile of a site's cameras_200m against the baseline cells within city_m of it (cameras
-- within 200 m of their centres; ties count half). NULL when no baseline cell is in reach.
-- Parameter: city_m.
UPDATE site_exposure e
SET percentile_city = p.pct
FROM (
    SELECT e.site_id,
           100.0 * (count(b.h3) FILTER (WHERE b.cameras < e.cameras_200m)
                    + 0.5 * count(b.h3) FILTER (WHERE b.cameras = e.cameras_200m))
                 / nullif(count(b.h3), 0) AS pct
    FROM site_exposure e
    JOIN site s ON s.id = e.site_id
    LEFT JOIN baseline b
           ON b.radius_m = 200 AND ST_DWithin(b.geom::geography, s.centroid::geography, %(city_m)s)
    GROUP BY e.site_id, e.cameras_200m
) p
WHERE p.site_id = e.site_id
