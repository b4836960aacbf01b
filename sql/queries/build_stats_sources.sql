-- Every source with what it holds now (reports, sites or addresses), its rejected rows, its
-- surveyed-empty points (count-0 rows) and its location precision (metres, NULL: exact).
SELECT s.name, s.entity, s.kind, s.licence, s.imported_at,
       CASE s.entity
           WHEN 'cameras' THEN (SELECT count(*) FROM camera_report r WHERE r.source_id = s.id)
           WHEN 'sites' THEN (SELECT count(*) FROM site t WHERE t.source_id = s.id)
           ELSE (SELECT count(*) FROM address a WHERE a.source_id = s.id)
       END::integer AS reports,
       (SELECT count(*) FROM rejected_row j WHERE j.source_id = s.id)::integer AS rejected,
       (SELECT count(*) FROM survey_point p WHERE p.source_id = s.id)::integer AS surveyed_empty,
       s.precision_m
FROM source s
ORDER BY s.id
