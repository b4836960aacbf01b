-- Per camera source: its reports, and how many of them fused with another source's report
-- (from this fusion run's working tables, whether or not it replaced `camera`).
SELECT s.name, count(r.id)::integer AS reports,
       (count(r.id) FILTER (WHERE f.n_sources > 1))::integer AS fused
FROM source s
LEFT JOIN camera_report r ON r.source_id = s.id
LEFT JOIN _fuse_assign a ON a.report_id = r.id
LEFT JOIN _fuse_camera f ON f.id = a.cam
WHERE s.entity = 'cameras'
GROUP BY s.id, s.name
ORDER BY s.id
