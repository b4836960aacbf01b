-- /metrics: each source's newest import: entity, name, when (Unix time), how long it took
-- (NULL for imports made before migration 0010 recorded it), rows accepted and rejected.
-- No parameters; one row per source, so the label set stays as small as the source list.
-- Reads `source` only: the API role is not granted the import history (source_version).
SELECT entity, name, extract(epoch FROM imported_at)::float8, import_seconds, accepted, rejected
FROM source
ORDER BY entity, name
