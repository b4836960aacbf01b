-- Rows of one file that repeat an earlier row (TEMP camera_stage): the same id (source_ref),
-- or, for rows without an id, the same exact point and type (as given). The later row is
-- rejected as a duplicate of the first and taken out of staging, so each report counts once;
-- rows with distinct ids on one point are distinct devices (stacked, reported separately).
-- %(source_id)s, %(file_name)s: where the rejects belong; %(unit)s: line, element or feature.
-- Returns the rejects' (line, reason), for the command's output.
WITH by_id AS (
    SELECT ctid AS at, line, attrs::text AS raw,
           format('duplicate of %%s %%s (same id %%L)', %(unit)s::text,
                  min(line) OVER (PARTITION BY source_ref), source_ref) AS reason,
           row_number() OVER (PARTITION BY source_ref ORDER BY line, ctid) AS n
    FROM camera_stage
    WHERE source_ref IS NOT NULL
), by_point AS (
    SELECT ctid AS at, line, attrs::text AS raw,
           format('duplicate of %%s %%s (same point and type)', %(unit)s::text,
                  min(line) OVER (PARTITION BY lon, lat, coalesce(type_given, ''))) AS reason,
           row_number() OVER (PARTITION BY lon, lat, coalesce(type_given, '')
                              ORDER BY line, ctid) AS n
    FROM camera_stage
    WHERE source_ref IS NULL AND wkb IS NULL AND count >= 1
), dup AS (
    SELECT at, line, raw, reason FROM by_id WHERE n > 1
    UNION ALL
    SELECT at, line, raw, reason FROM by_point WHERE n > 1
), gone AS (
    DELETE FROM camera_stage st USING dup d WHERE st.ctid = d.at
    RETURNING d.line, d.reason, d.raw
)
INSERT INTO rejected_row (source_id, file_name, line, reason, raw)
SELECT %(source_id)s, %(file_name)s, line, reason, raw FROM gone
RETURNING line, reason
