-- The fused cameras, computed into _fuse_camera first.
-- camera_type: the most specific of its reports' types (ties: the earliest source's);
-- operator_type: a known operator beats 'unknown'; conflicting ones resolve to private first,
-- so the privacy rule errs towards hiding; count: the largest count any report gives;
-- geom: the mean of the report points (summed in report id order: the same bits whatever the
-- plan, which an incremental build, ingest/incremental.py, relies on); n_sources: independent sources, i.e. distinct files (the
-- same file imported under two names is one witness, not two); confidence: 1 - 0.5^n_sources;
-- uncertainty_m: the finest --precision among its reports' sources (NULL when any is exact).
INSERT INTO _fuse_camera (id, camera_type, operator_type, count, n_reports, n_sources, confidence,
                    geom, geom_3857, uncertainty_m)
SELECT g.cam, g.camera_type, g.operator_type, g.count, g.n_reports, g.n_sources,
       1 - power(0.5, g.n_sources), g.geom, ST_Transform(g.geom, 3857), g.uncertainty_m
FROM (
    SELECT a.cam,
           (array_agg(r.camera_type
                      ORDER BY coalesce(t.specificity, 0) DESC, r.source_id, r.id))[1] AS camera_type,
           (array_agg(r.operator_type
                      ORDER BY array_position(ARRAY['private', 'business', 'public', 'unknown'],
                                              r.operator_type) NULLS LAST,
                               r.source_id, r.id))[1] AS operator_type,
           max(r.count) AS count,
           count(*) AS n_reports,
           count(DISTINCT s.file_sha256) AS n_sources,
           ST_SetSRID(ST_MakePoint(avg(ST_X(r.geom) ORDER BY r.id), avg(ST_Y(r.geom) ORDER BY r.id)), 4326) AS geom,
           CASE WHEN bool_and(s.precision_m IS NOT NULL) THEN min(s.precision_m) END
               AS uncertainty_m
    FROM _fuse_assign a
    JOIN camera_report r ON r.id = a.report_id
    JOIN source s ON s.id = r.source_id
    LEFT JOIN _fuse_type t ON t.camera_type = r.camera_type
    GROUP BY a.cam
) g;
