-- Withheld devices per resolution (a total only; zero rows say nothing was withheld).
-- Parameter: resolutions.
INSERT INTO hexagon_withheld (resolution, cameras)
SELECT r.resolution, coalesce(sum(c.count), 0)
FROM unnest(%(resolutions)s::smallint[]) AS r(resolution)
LEFT JOIN _withheld w ON w.resolution = r.resolution
LEFT JOIN _cam_cell s ON s.resolution = w.resolution AND s.h3 = w.h3
LEFT JOIN camera c ON c.id = s.camera_id AND c.operator_type = 'private'
GROUP BY r.resolution
