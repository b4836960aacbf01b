-- After build_fuse_cameras.sql over the changed cameras: _incr_old keeps the rows of `camera`
-- that go (changed or gone), _incr_new the rows that come; `camera` is updated by them (as
-- build_fuse_replace.sql, over the changed cameras only). No parameters.
CREATE TEMP TABLE _incr_old ON COMMIT DROP AS
SELECT c.* FROM camera c
WHERE c.id IN (SELECT cam FROM _incr_cam)
  AND NOT EXISTS (
    SELECT 1 FROM _fuse_camera f
    WHERE f.id = c.id
      AND (f.camera_type, f.operator_type, f.count, f.n_reports, f.n_sources, f.confidence)
          = (c.camera_type, c.operator_type, c.count, c.n_reports, c.n_sources, c.confidence)
      AND f.geom = c.geom
      AND f.uncertainty_m IS NOT DISTINCT FROM c.uncertainty_m);
DELETE FROM camera c WHERE c.id IN (SELECT id FROM _incr_old);
CREATE TEMP TABLE _incr_new ON COMMIT DROP AS
SELECT f.* FROM _fuse_camera f WHERE NOT EXISTS (SELECT 1 FROM camera c WHERE c.id = f.id);
INSERT INTO camera SELECT * FROM _incr_new;
