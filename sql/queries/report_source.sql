-- The `web-reports` source that approved reports become (issue 11), made when missing.
-- :licence: the licence reports are given under (CAMDENSITY_REPORTS_LICENCE).
INSERT INTO source (name, entity, kind, licence, origin, file_name, file_sha256, format, data_date)
VALUES ('web-reports', 'cameras', 'crowdsourced', :licence,
        'reports sent from the map (POST /reports), moderated', 'web-reports', '', 'web',
        current_date)
ON CONFLICT (entity, name) DO NOTHING
