-- Family and mean position of every camera the source touched, for the next source's matching.
-- Reports of one camera are compatible, so their non-unknown families are all the same.
-- Parameter: source_id.
INSERT INTO _fuse_cam (cam, family, geog)
SELECT a.cam, max(t.family),
       ST_SetSRID(ST_MakePoint(avg(ST_X(r.geom) ORDER BY r.id), avg(ST_Y(r.geom) ORDER BY r.id)), 4326)::geography
FROM _fuse_assign a
JOIN camera_report r ON r.id = a.report_id
LEFT JOIN _fuse_type t ON t.camera_type = r.camera_type
WHERE a.cam IN (SELECT cam FROM _fuse_assign WHERE source_id = %(source_id)s)
GROUP BY a.cam
ON CONFLICT (cam) DO UPDATE SET family = EXCLUDED.family, geog = EXCLUDED.geog
