-- Record the round's matches and drop every pair that used one of their reports or cameras.
INSERT INTO _fuse_assign (report_id, cam, source_id)
SELECT report_id, cam, source_id FROM _fuse_round;
DELETE FROM _fuse_pair p
WHERE p.report_id IN (SELECT report_id FROM _fuse_round)
   OR p.cam IN (SELECT cam FROM _fuse_round);
TRUNCATE _fuse_round;
