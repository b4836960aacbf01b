-- /metrics: each source's newest import: entity, name, when (Unix time), how long it took
-- (NULL for imports made before migration 0010 recorded it), rows accepted and rejected.
-- No parameters; one row per source, so the label set stays as small as the source list.
SELECT s.entity, s.name,
       extract(epoch FROM s.imported_at)::float8,
       v.seconds,
       s.accepted, s.rejected
FROM source AS s
LEFT JOIN LATERAL (
    SELECT seconds FROM source_version WHERE source_id = s.id ORDER BY id DESC LIMIT 1
) AS v ON true
ORDER BY s.entity, s.name
