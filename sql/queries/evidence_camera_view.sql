-- Which way each fused camera looks: the direction of its first report (lowest id) whose tag
-- parses, as sectors for a %(fov)s degree cone (camdensity_view_sectors). Private/residential
-- cameras get no row: their direction is never used or drawn.
INSERT INTO camera_view (camera_id, direction, sectors)
SELECT DISTINCT ON (r.camera_id) r.camera_id, r.direction, v.sectors
FROM camera_report r
JOIN camera c ON c.id = r.camera_id AND c.operator_type <> 'private'
CROSS JOIN LATERAL (SELECT camdensity_view_sectors(r.direction, %(fov)s::float8) AS sectors) v
WHERE r.direction IS NOT NULL AND v.sectors IS NOT NULL
ORDER BY r.camera_id, r.id
