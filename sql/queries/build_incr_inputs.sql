-- What an incremental build compares with the newest build's (ingest/incremental.py):
-- per camera source, its report count and a fingerprint of its reports (ids included: a fused
-- camera's id is its seed report's, and ties in the fusion break by id) and of its source row;
-- `rest`: the other map inputs (sites, survey points, the other non-address sources).
-- Row hashes are summed, so the order rows are read in does not matter. No parameters.
SELECT jsonb_build_object(
    'sources', coalesce((
        SELECT jsonb_object_agg(o.id::text, jsonb_build_array(
                   coalesce(r.n, 0), md5(o::text) || ':' || coalesce(r.h, 0)))
        FROM source o
        LEFT JOIN (SELECT source_id, count(*) AS n,
                          sum(hashtextextended(ROW(
                              id, source_ref, line, camera_type, operator_type, operator,
                              manufacturer, mount, zone, direction, direction_deg, count, attrs,
                              geom)::text, 0)::numeric) AS h
                   FROM camera_report GROUP BY source_id) r ON r.source_id = o.id
        WHERE o.entity = 'cameras'), '{}'::jsonb),
    'rest', md5(concat_ws('|',
        (SELECT count(*) || ':' || coalesce(sum(hashtextextended(s::text, 0)::numeric), 0)
         FROM site s),
        (SELECT count(*) || ':' || coalesce(sum(hashtextextended(p::text, 0)::numeric), 0)
         FROM survey_point p),
        (SELECT count(*) || ':' || coalesce(sum(hashtextextended(o::text, 0)::numeric), 0)
         FROM source o WHERE o.entity NOT IN ('addresses', 'cameras')))))
