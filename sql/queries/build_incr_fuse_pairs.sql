-- Candidate matches for one source of an incremental fusion (as build_fuse_pairs.sql): its
-- reports x the cameras so far within the fusion distance whose family is compatible; cameras
-- the fusion has touched are in _fuse_cam, the others stand in `camera` as the newest build
-- left them (the family of a camera's most specific type is its reports' family).
-- Parameters: source_id, distance (metres).
INSERT INTO _fuse_pair (report_id, cam, dist)
SELECT r.id, c.cam, ST_Distance(r.geom::geography, c.geog)
FROM camera_report r
LEFT JOIN _fuse_type t ON t.camera_type = r.camera_type
JOIN _fuse_cam c ON ST_DWithin(c.geog, r.geom::geography, %(distance)s)
WHERE r.source_id = %(source_id)s
  AND (t.family IS NULL OR c.family IS NULL OR t.family = c.family)
UNION ALL
SELECT r.id, c.id, ST_Distance(r.geom::geography, c.geom::geography)
FROM camera_report r
LEFT JOIN _fuse_type t ON t.camera_type = r.camera_type
JOIN camera c ON ST_DWithin(c.geom::geography, r.geom::geography, %(distance)s)
LEFT JOIN _fuse_type ct ON ct.camera_type = c.camera_type
WHERE r.source_id = %(source_id)s
  AND NOT EXISTS (SELECT 1 FROM _incr_dirty d WHERE d.cam = c.id)
  AND NOT EXISTS (SELECT 1 FROM _fuse_cam f WHERE f.cam = c.id)
  AND (t.family IS NULL OR ct.family IS NULL OR t.family = ct.family)
