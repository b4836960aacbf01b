-- Camera reports that came and went between two builds' finish times (%(after)s, %(until)s]:
-- per source, reports added by the versions imported in between (a new version's accepted
-- rows less those the previous version had and that stayed) and reports removed (recorded in
-- camera_report_removed, by type). Counts only: no position of any report leaves the store.
WITH versions AS (
    SELECT v.source_id, v.accepted, v.removed,
           lag(v.accepted) OVER (PARTITION BY v.source_id ORDER BY v.id) AS previous,
           v.imported_at
    FROM source_version v
),
added AS (
    SELECT source_id,
           sum(accepted - greatest(0, coalesce(previous, 0) - removed))::integer AS added
    FROM versions
    WHERE imported_at > %(after)s AND imported_at <= %(until)s
    GROUP BY source_id
),
removed AS (
    SELECT source_id, jsonb_object_agg(camera_type, n) AS by_type, sum(n)::integer AS removed
    FROM (SELECT source_id, coalesce(camera_type, 'unknown') AS camera_type, count(*) AS n
          FROM camera_report_removed
          WHERE removed_at > %(after)s AND removed_at <= %(until)s
          GROUP BY 1, 2) r
    GROUP BY source_id
)
SELECT s.name, coalesce(a.added, 0) AS added, coalesce(r.removed, 0) AS removed,
       coalesce(r.by_type, '{}'::jsonb) AS removed_by_type
FROM source s
LEFT JOIN added a ON a.source_id = s.id
LEFT JOIN removed r ON r.source_id = s.id
WHERE s.entity = 'cameras' AND (a.added IS NOT NULL OR r.removed IS NOT NULL)
ORDER BY s.name
