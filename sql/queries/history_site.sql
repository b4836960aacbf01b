-- A site's exposure in every retained build, oldest first, with each build's sources (for their
-- data dates). %(site_id)s is the site's current id; its key (camdensity_site_key: source name
-- and the source's own id) finds it in builds made before a re-import renumbered it. A build
-- in which the site did not exist has NULL figures.
WITH k AS (
    SELECT camdensity_site_key(src.name, s.source_ref, s.line, s.id) AS site_key
    FROM site s JOIN source src ON src.id = s.source_id
    WHERE s.id = %(site_id)s
)
SELECT b.snapshot, b.finished_at, b.sources, h.site_id IS NOT NULL AS present,
       h.cameras_50m, h.cameras_100m, h.cameras_200m, h.cameras_500m, h.effective_cameras,
       h.facing_200m
FROM k
CROSS JOIN build b
LEFT JOIN site_history h ON h.build_id = b.id AND h.site_key = k.site_key
WHERE b.finished_at IS NOT NULL AND b.pruned_at IS NULL
ORDER BY b.id
