-- Candidate matches for one source: each of its reports x every camera built so far within
-- the fusion distance (geodesic) whose family is compatible. 'unknown' (NULL family) fits all.
-- Parameters: source_id, distance (metres).
INSERT INTO _fuse_pair (report_id, cam, dist)
SELECT r.id, c.cam, ST_Distance(r.geom::geography, c.geog)
FROM camera_report r
LEFT JOIN _fuse_type t ON t.camera_type = r.camera_type
JOIN _fuse_cam c ON ST_DWithin(c.geog, r.geom::geography, %(distance)s)
WHERE r.source_id = %(source_id)s
  AND (t.family IS NULL OR c.family IS NULL OR t.family = c.family)
