-- Issue 10 (build speed): `camera` keeps no GiST index on geom_3857. No query searches fused
-- cameras by their web-mercator point: the API role cannot read `camera` at all, tiles and
-- exports read camera_published and camera_fov, and the build only copies the value across
-- (build_published.sql, evidence_camera_fov.sql). A planar GiST is cheap to maintain (measured:
-- within noise of the write of 200,000 cameras; the geography one is about half of it), so this
-- saves little time, but an index no query reads is written for every changed camera for
-- nothing. The 4326 and geography ones stay (incremental builds and site facing search by them).
DROP INDEX IF EXISTS camera_geom_3857_idx;
