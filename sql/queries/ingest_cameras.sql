-- Staged camera reports (TEMP camera_stage) into `camera_report`, normalised set-based by the
-- vocabulary functions of migration 0002. Rows of count 0 are survey evidence, not reports
-- (ingest_survey_points.sql keeps them). A report's point is the staged lon/lat, or a point
-- on the staged geometry (OSM ways: on the line or inside the polygon).
-- %(source_id)s; %(default_type)s: the type of reports that say none; %(minlon)s..%(maxlat)s:
-- keep only reports inside this box (NULL: all).
INSERT INTO camera_report (source_id, source_ref, line, camera_type, operator_type, operator,
                           manufacturer, mount, zone, direction, direction_deg, count, attrs, geom)
SELECT %(source_id)s, source_ref, line,
       camdensity_camera_type(type_given, attrs, %(default_type)s::text),
       camdensity_operator_type(operator_given, attrs),
       coalesce(operator_given, attrs->>'operator'),
       coalesce(attrs->>'manufacturer', attrs->>'brand', attrs->>'camera:manufacturer'),
       attrs->>'camera:mount',
       attrs->>'surveillance:zone',
       coalesce(attrs->>'camera:direction', attrs->>'direction'),
       camdensity_direction_deg(coalesce(attrs->>'camera:direction', attrs->>'direction')),
       count, attrs, g
FROM (
    SELECT st.*,
           ST_SetSRID(coalesce(ST_PointOnSurface(st.wkb::geometry), ST_MakePoint(st.lon, st.lat)),
                      4326) AS g
    FROM camera_stage st
    WHERE st.count >= 1
) staged
WHERE %(minlon)s::float8 IS NULL
   OR ST_Intersects(g, ST_MakeEnvelope(%(minlon)s::float8, %(minlat)s::float8,
                                       %(maxlon)s::float8, %(maxlat)s::float8, 4326))
