-- Reports of the previous version that the new one no longer has: matched by source_ref, or,
-- for rows without an id, by the same point and type. Two branches so each is a hash anti-join.
INSERT INTO camera_report_removed (source_id, version_id, source_ref, camera_type, geom)
SELECT %(source_id)s, %(version_id)s, p.source_ref, p.camera_type, p.geom
FROM previous_report p
WHERE p.source_ref IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM camera_report r
      WHERE r.source_id = %(source_id)s AND r.source_ref = p.source_ref)
UNION ALL
SELECT %(source_id)s, %(version_id)s, p.source_ref, p.camera_type, p.geom
FROM previous_report p
WHERE p.source_ref IS NULL
  AND NOT EXISTS (
      SELECT 1 FROM camera_report r
      WHERE r.source_id = %(source_id)s AND r.source_ref IS NULL
        AND r.geom ~= p.geom AND r.camera_type = p.camera_type)
