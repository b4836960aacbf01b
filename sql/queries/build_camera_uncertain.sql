-- The published list of non-private cameras with a location uncertainty (migration 0022), from
-- the fused cameras of this build. DELETE, not TRUNCATE: readers keep the old rows until commit.
-- No parameters.
DELETE FROM camera_uncertain;
INSERT INTO camera_uncertain (camera_id, uncertainty_m, count, geom)
SELECT id, uncertainty_m, count, geom
FROM camera
WHERE uncertainty_m IS NOT NULL AND operator_type <> 'private';
