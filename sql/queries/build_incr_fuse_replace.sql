-- The end of an incremental fusion: every camera it may have changed (_incr_cam: the dirty ones
-- and those holding a report of the re-fused sources) gets its prefix reports into
-- _fuse_assign, so build_fuse_cameras.sql computes them whole. Parameter: first.
CREATE TEMP TABLE _incr_cam ON COMMIT DROP AS
SELECT cam FROM _incr_dirty UNION SELECT cam FROM _fuse_assign;
ALTER TABLE _incr_cam ADD PRIMARY KEY (cam);
INSERT INTO _fuse_assign (report_id, cam, source_id)
SELECT r.id, r.camera_id, r.source_id
FROM camera_report r
WHERE r.source_id < %(first)s AND r.camera_id IN (SELECT cam FROM _incr_cam);
