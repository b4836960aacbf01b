-- Family and mean position of every camera the source touched (as build_fuse_refresh.sql), over
-- its reports of this fusion (_fuse_assign) and of the unchanged prefix (linked already).
-- Parameters: source_id, first.
INSERT INTO _fuse_cam (cam, family, geog)
SELECT x.cam, max(t.family),
       ST_SetSRID(ST_MakePoint(avg(ST_X(r.geom) ORDER BY r.id), avg(ST_Y(r.geom) ORDER BY r.id)), 4326)::geography
FROM (SELECT report_id, cam FROM _fuse_assign
      WHERE cam IN (SELECT cam FROM _fuse_assign WHERE source_id = %(source_id)s)
      UNION ALL
      SELECT id, camera_id FROM camera_report
      WHERE source_id < %(first)s
        AND camera_id IN (SELECT cam FROM _fuse_assign WHERE source_id = %(source_id)s)) x
JOIN camera_report r ON r.id = x.report_id
LEFT JOIN _fuse_type t ON t.camera_type = r.camera_type
GROUP BY x.cam
ON CONFLICT (cam) DO UPDATE SET family = EXCLUDED.family, geog = EXCLUDED.geog
