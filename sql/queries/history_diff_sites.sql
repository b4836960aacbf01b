-- Sites whose cameras within 200 m changed most between builds %(a)s and %(b)s (ids), matched by
-- site key; a site present in one build only is "added" or "removed". Top %(top)s.
SELECT coalesce(b.site_key, a.site_key) AS site_key, coalesce(b.name, a.name) AS name,
       coalesce(b.category, a.category) AS category,
       a.cameras_200m AS before, b.cameras_200m AS after,
       coalesce(b.cameras_200m, 0) - coalesce(a.cameras_200m, 0) AS change,
       CASE WHEN a.site_key IS NULL THEN 'added' WHEN b.site_key IS NULL THEN 'removed'
            ELSE 'changed' END AS status
FROM (SELECT * FROM site_history WHERE build_id = %(a)s) a
FULL JOIN (SELECT * FROM site_history WHERE build_id = %(b)s) b ON a.site_key = b.site_key
WHERE a.site_key IS NULL OR b.site_key IS NULL OR a.cameras_200m <> b.cameras_200m
   OR a.effective_cameras <> b.effective_cameras
ORDER BY abs(coalesce(b.cameras_200m, 0) - coalesce(a.cameras_200m, 0)) DESC, 1
LIMIT %(top)s
