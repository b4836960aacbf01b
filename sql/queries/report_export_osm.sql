-- Approved crowdsourced reports (the `web-reports` source) for an OSM XML file to review in
-- JOSM (camdensity/report_export.py). Private/residential cameras are left out: OpenStreetMap
-- is public and would locate them one by one, which the privacy rule never does. No parameters.
SELECT r.id, ST_Y(r.geom) AS lat, ST_X(r.geom) AS lon, r.camera_type, r.operator_type,
       r.operator, r.manufacturer, r.direction, r.direction_deg, r.mount
FROM camera_report r
JOIN source s ON s.id = r.source_id
WHERE s.entity = 'cameras' AND s.name = 'web-reports' AND r.operator_type <> 'private'
ORDER BY r.id
