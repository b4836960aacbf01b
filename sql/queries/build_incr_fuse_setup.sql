-- An incremental fusion (ingest/incremental.py), after build_fuse_setup: the camera sources
-- before %(first)s are unchanged since the newest build, so their reports' links
-- (camera_report.camera_id) are what a full fusion would assign them again.
-- _incr_dirty: cameras of the newest build that held a report of a source from %(first)s on
-- (their prefix-only state differs from `camera`); _fuse_cam starts with those of them that
-- keep a report of the prefix, at the mean of those reports (as the full fusion would hold
-- them when it reaches source %(first)s). Every other camera stands in `camera` as it is.
CREATE TEMP TABLE _incr_dirty ON COMMIT DROP AS
SELECT c.id AS cam
FROM camera c
LEFT JOIN (SELECT camera_id, count(*) AS n FROM camera_report
           WHERE source_id < %(first)s GROUP BY camera_id) p ON p.camera_id = c.id
WHERE p.n IS DISTINCT FROM c.n_reports;
ALTER TABLE _incr_dirty ADD PRIMARY KEY (cam);
INSERT INTO _fuse_cam (cam, family, geog)
SELECT r.camera_id, max(t.family),
       ST_SetSRID(ST_MakePoint(avg(ST_X(r.geom) ORDER BY r.id), avg(ST_Y(r.geom) ORDER BY r.id)), 4326)::geography
FROM camera_report r
LEFT JOIN _fuse_type t ON t.camera_type = r.camera_type
WHERE r.source_id < %(first)s AND r.camera_id IN (SELECT cam FROM _incr_dirty)
GROUP BY r.camera_id;
ANALYZE _incr_dirty;
ANALYZE _fuse_cam;
