-- Issue 10 (build speed): `camera` keeps no GiST index on geom_3857. No query searches fused
-- cameras by their web-mercator point: the API role cannot read `camera` at all, tiles and
-- exports read camera_published and camera_fov, and the build only copies the value across
-- (build_published.sql, evidence_camera_fov.sql). Each of the three GiST indexes was about a
-- third of the time a build spends writing the cameras that changed (every camera, on a first
-- build); the 4326 and geography ones stay (incremental builds and site facing search by them).
DROP INDEX IF EXISTS camera_geom_3857_idx;
