-- One matching round: accept every pair that is the nearest for both its report and its camera
-- (ties broken by id, so the globally closest remaining pair always qualifies and each round
-- makes progress). Repeated until no pair is left, this is greedy one-to-one matching by distance.
-- Parameter: source_id.
INSERT INTO _fuse_round (report_id, cam, source_id)
SELECT rb.report_id, rb.cam, %(source_id)s::integer
FROM (SELECT DISTINCT ON (report_id) report_id, cam
      FROM _fuse_pair ORDER BY report_id, dist, cam) rb
JOIN (SELECT DISTINCT ON (cam) cam, report_id
      FROM _fuse_pair ORDER BY cam, dist, report_id) cb
  USING (report_id, cam)
