-- An approved report becomes a camera report of the `web-reports` source (report_source.sql),
-- normalised by the same vocabulary functions as every import (migration 0002), so it fuses
-- like any other source's at the next `camdensity build` and the privacy rule
-- (ingest/privacy.py) treats a reported private camera as any other. It leaves the queue, and
-- the source's hash changes, so the next build is not "up to date". One statement: the three
-- steps happen together or not at all. :id: the queue row. Returns the camera report's id.
WITH moved AS (
    DELETE FROM report_queue q
    WHERE q.id = :id AND q.status = 'pending'
    RETURNING q.id, q.camera_type, q.operator_type, q.operator, q.direction, q.mount, q.geom,
              jsonb_strip_nulls(jsonb_build_object(
                  'man_made', 'surveillance', 'camera_type', q.camera_type,
                  'operator_type', q.operator_type, 'operator', q.operator,
                  'camera:direction', q.direction,
                  'camera:mount', q.mount, 'note', q.note)) AS attrs
), added AS (
    INSERT INTO camera_report (source_id, source_ref, camera_type, operator_type, operator,
                               manufacturer, mount, direction, direction_deg, count, attrs, geom)
    SELECT s.id, 'web-report/' || m.id,
           camdensity_camera_type(m.camera_type, m.attrs, 'unknown'),
           camdensity_operator_type(m.operator_type, m.attrs), m.operator,
           CASE WHEN camdensity_alpr_vendor(m.operator) THEN m.operator END, m.mount, m.direction, camdensity_direction_deg(m.direction), 1, m.attrs, m.geom
    FROM moved m
    JOIN source s ON s.entity = 'cameras' AND s.name = 'web-reports'
    RETURNING id, source_id, source_ref
)
UPDATE source s
SET file_sha256 = encode(sha256(convert_to(s.file_sha256 || a.source_ref, 'UTF8')), 'hex'),
    accepted = s.accepted + 1, data_date = current_date, imported_at = now()
FROM added a
WHERE s.id = a.source_id
RETURNING a.id
