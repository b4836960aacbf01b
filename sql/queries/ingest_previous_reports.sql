-- The reports a camera source holds before a new version replaces them (compared afterwards).
CREATE TEMP TABLE previous_report ON COMMIT DROP AS
SELECT source_ref, camera_type, geom
FROM camera_report
WHERE source_id = %(source_id)s
