-- Devices per cell by type x operator, from the published cameras (ingest/privacy.py: private
-- ones only as aggregates at their cell's centre). The hexagon counts are summed from these
-- rows, so the two tables always agree.
INSERT INTO hexagon_breakdown (resolution, h3, camera_type, operator_type, cameras)
SELECT s.resolution, s.h3, c.camera_type, c.operator_type, sum(c.count)
FROM _cam_cell s
JOIN camera_published c ON c.id = s.camera_id
GROUP BY s.resolution, s.h3, c.camera_type, c.operator_type
