-- Each site's devices within 200 m per location uncertainty of their camera (metres, as text
-- keys: {"5000": 12}), after build_site_exposure. /sites subtracts those coarser than
-- max_uncertainty_m from cameras_200m to rank without them, and states the low-precision
-- share. Cameras of exact sources (uncertainty NULL) and private aggregates are in no key.
-- _near pairs sites with published cameras (ingest/privacy.py). No parameters.
UPDATE site_exposure e SET uncertain_200m = u.by_uncertainty
FROM (
    SELECT site_id, jsonb_object_agg(uncertainty, devices) AS by_uncertainty
    FROM (SELECT n.site_id, c.uncertainty_m::text AS uncertainty, sum(p.count) AS devices
          FROM _near n
          JOIN camera_published p ON p.id = n.camera_id
          JOIN camera c ON c.id = p.camera_id  -- private aggregates (camera_id NULL): none
          WHERE n.dist <= 200 AND c.uncertainty_m IS NOT NULL
          GROUP BY n.site_id, c.uncertainty_m) k
    GROUP BY site_id
) u
WHERE e.site_id = u.site_id
