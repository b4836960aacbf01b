-- Percentile rank of cameras_200m among the sites of the same category (0..100; ties count
-- half, so a lone site or a category of equals is at 50).
UPDATE site_exposure e
SET percentile_category = p.pct
FROM (
    SELECT e.site_id,
           100.0 * ((rank() OVER (PARTITION BY s.category ORDER BY e.cameras_200m) - 1)
                    + 0.5 * count(*) OVER (PARTITION BY s.category, e.cameras_200m))
                 / count(*) OVER (PARTITION BY s.category) AS pct
    FROM site_exposure e JOIN site s ON s.id = e.site_id
) p
WHERE p.site_id = e.site_id
