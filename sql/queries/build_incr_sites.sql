-- An incremental build's sites (ingest/incremental.py): those within %(reach_m)s of a published
-- row that went or came (their exposure) or of a changed camera, before or after (who faces
-- them). Their exposure rows go; build_site_exposure.sql writes them again. The published
-- list of uncertain cameras follows the changed cameras (as build_camera_uncertain.sql).
CREATE TEMP TABLE _incr_site ON COMMIT DROP AS
SELECT s.id FROM site s
JOIN _incr_pub p ON ST_DWithin(p.geom::geography, s.geom::geography, %(reach_m)s)
UNION
SELECT s.id FROM site s
JOIN (SELECT geom FROM _incr_old WHERE operator_type <> 'private'
      UNION ALL
      SELECT geom FROM camera WHERE id IN (SELECT cam FROM _incr_cam)
                                AND operator_type <> 'private') c
  ON ST_DWithin(c.geom::geography, s.geom::geography, %(reach_m)s);
DELETE FROM site_exposure WHERE site_id IN (SELECT id FROM _incr_site);
DELETE FROM camera_uncertain
WHERE camera_id IN (SELECT id FROM _incr_old) OR camera_id IN (SELECT id FROM _incr_new);
INSERT INTO camera_uncertain (camera_id, uncertainty_m, count, geom)
SELECT id, uncertainty_m, count, geom
FROM _incr_new
WHERE uncertainty_m IS NOT NULL AND operator_type <> 'private';
