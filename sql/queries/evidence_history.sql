-- This build's site exposure into site_history (%(build_id)s), keyed by a site key that
-- survives re-imports (camdensity_site_key: the source's name and the source's own id).
-- Copies the published figures only (site_exposure, site_facing), so history reveals nothing
-- the current build does not.
INSERT INTO site_history (build_id, site_key, site_id, category, name, cameras_50m,
                          cameras_100m, cameras_200m, cameras_500m, effective_cameras, facing_200m)
SELECT %(build_id)s, camdensity_site_key(src.name, s.source_ref, s.line, s.id),
       s.id, s.category, s.name, e.cameras_50m, e.cameras_100m, e.cameras_200m, e.cameras_500m,
       e.effective_cameras, f.facing
FROM site s
JOIN source src ON src.id = s.source_id
JOIN site_exposure e ON e.site_id = s.id
LEFT JOIN site_facing f ON f.site_id = s.id AND f.radius_m = 200
ON CONFLICT (build_id, site_key) DO NOTHING
