-- Reports of the source that matched no camera start their own (camera id = the seed report's id,
-- so a camera keeps its id across builds while its first report stays). Parameter: source_id.
INSERT INTO _fuse_assign (report_id, cam, source_id)
SELECT r.id, r.id, r.source_id
FROM camera_report r
WHERE r.source_id = %(source_id)s
  AND NOT EXISTS (SELECT 1 FROM _fuse_assign a WHERE a.report_id = r.id)
