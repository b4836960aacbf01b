-- Devices per cell by type x operator, without the withheld private cameras. The hexagon counts
-- are summed from these rows, so the two tables always agree.
INSERT INTO hexagon_breakdown (resolution, h3, camera_type, operator_type, cameras)
SELECT s.resolution, s.h3, c.camera_type, c.operator_type, sum(c.count)
FROM _cam_cell s
JOIN camera c ON c.id = s.camera_id
WHERE c.operator_type <> 'private'
   OR NOT EXISTS (SELECT 1 FROM _withheld w WHERE w.resolution = s.resolution AND w.h3 = s.h3)
GROUP BY s.resolution, s.h3, c.camera_type, c.operator_type
