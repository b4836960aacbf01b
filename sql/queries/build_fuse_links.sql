-- Point every report at its camera (only the rows whose camera changed are written).
UPDATE camera_report r SET camera_id = a.cam
FROM _fuse_assign a
WHERE a.report_id = r.id AND r.camera_id IS DISTINCT FROM a.cam;
