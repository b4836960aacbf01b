-- Every source with what it holds now (reports, sites or addresses) and its rejected rows.
SELECT s.name, s.entity, s.kind, s.licence, s.imported_at,
       CASE s.entity
           WHEN 'cameras' THEN (SELECT count(*) FROM camera_report r WHERE r.source_id = s.id)
           WHEN 'sites' THEN (SELECT count(*) FROM site t WHERE t.source_id = s.id)
           ELSE (SELECT count(*) FROM address a WHERE a.source_id = s.id)
       END::integer AS reports,
       (SELECT count(*) FROM rejected_row j WHERE j.source_id = s.id)::integer AS rejected
FROM source s
ORDER BY s.id
