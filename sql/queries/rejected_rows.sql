-- Rows imports could not use, with where and why, oldest source first, in file order.
-- `line` is a line (CSV), an element (JSON) or a feature (GeoJSON) number, after the format.
-- %(source)s: a source name or NULL for all; %(entity)s: cameras/sites/addresses or NULL.
SELECT s.name, s.entity, r.file_name, s.format, r.line, r.reason, r.raw
FROM rejected_row r
JOIN source s ON s.id = r.source_id
WHERE (%(source)s::text IS NULL OR s.name = %(source)s)
  AND (%(entity)s::text IS NULL OR s.entity = %(entity)s)
ORDER BY s.id, r.line NULLS LAST, r.id
