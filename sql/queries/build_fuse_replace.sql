-- Replace the cameras that changed, keep the others: rewriting every row (and its three spatial
-- index entries) would make each small import cost as much as the whole store. DELETE, not
-- TRUNCATE: readers keep seeing the old rows until commit.
DELETE FROM camera c
WHERE NOT EXISTS (
    SELECT 1 FROM _fuse_camera f
    WHERE f.id = c.id
      AND (f.camera_type, f.operator_type, f.count, f.n_reports, f.n_sources, f.confidence)
          = (c.camera_type, c.operator_type, c.count, c.n_reports, c.n_sources, c.confidence)
      AND f.geom = c.geom
      AND f.uncertainty_m IS NOT DISTINCT FROM c.uncertainty_m
);
INSERT INTO camera
SELECT f.* FROM _fuse_camera f
WHERE NOT EXISTS (SELECT 1 FROM camera c WHERE c.id = f.id);
