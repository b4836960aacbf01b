-- Staged camera reports (TEMP camera_stage) into `camera_report`, normalised set-based by the
-- vocabulary functions of migration 0002. Rows of count 0 are survey evidence, not reports
-- (ingest_survey_points.sql keeps them). A report's point is the staged lon/lat, or a point
-- on the staged geometry (OSM ways: on the line or inside the polygon).
-- %(source_id)s; %(default_type)s: the type of reports that say none; %(minlon)s..%(maxlat)s:
-- keep only reports inside this box (NULL: all).
-- Why it is shaped so: the functions are regular expressions, costly per row, while a file
-- holds few distinct (type, operator, tags they read) combinations. Each staged row gets that
-- combination as a key (`vocab_key`: the given type and operator and the tags the functions
-- read, as text, with whether `enforcement` is present); the functions run once per distinct
-- key, on the same values rebuilt as a small jsonb, and the result is joined back by key.
-- Direction degrees likewise, once per distinct direction text.
WITH staged AS MATERIALIZED (
    SELECT st.*,
           ST_SetSRID(coalesce(ST_PointOnSurface(st.wkb::geometry), ST_MakePoint(st.lon, st.lat)),
                      4326) AS g,
           coalesce(st.attrs->>'camera:direction', st.attrs->>'direction') AS direction,
           ARRAY[st.type_given, st.operator_given,
                 st.attrs->>'surveillance:type', st.attrs->>'manufacturer', st.attrs->>'brand',
                 st.attrs->>'operator', st.attrs->>'camera:manufacturer', st.attrs->>'camera:type',
                 st.attrs->>'camera:mount', st.attrs->>'revolving', st.attrs->>'highway',
                 st.attrs->>'surveillance:zone', st.attrs->>'surveillance',
                 st.attrs->>'operator:type', st.attrs->>'operator_type',
                 CASE WHEN st.attrs ? 'enforcement' THEN 'yes' END] AS vocab_key
    FROM camera_stage st
    WHERE st.count >= 1
),
keys AS (
    SELECT k, jsonb_strip_nulls(jsonb_build_object(
               'surveillance:type', k[3], 'manufacturer', k[4], 'brand', k[5], 'operator', k[6],
               'camera:manufacturer', k[7], 'camera:type', k[8], 'camera:mount', k[9],
               'revolving', k[10], 'highway', k[11], 'surveillance:zone', k[12],
               'surveillance', k[13], 'operator:type', k[14], 'operator_type', k[15]))
           || CASE WHEN k[16] IS NOT NULL THEN '{"enforcement": true}'::jsonb
                   ELSE '{}'::jsonb END AS tags
    FROM (SELECT DISTINCT vocab_key AS k FROM staged) d
),
vocab AS MATERIALIZED (  -- not inlined: the functions would run per row again
    SELECT k, camdensity_camera_type(k[1], tags, %(default_type)s::text) AS camera_type,
           camdensity_operator_type(k[2], tags) AS operator_type
    FROM keys
),
directions AS MATERIALIZED (
    SELECT direction, camdensity_direction_deg(direction) AS deg
    FROM (SELECT DISTINCT direction FROM staged WHERE direction IS NOT NULL) d
)
INSERT INTO camera_report (source_id, source_ref, line, camera_type, operator_type, operator,
                           manufacturer, mount, zone, direction, direction_deg, count, attrs, geom)
SELECT %(source_id)s, s.source_ref, s.line,
       v.camera_type, v.operator_type,
       coalesce(s.operator_given, s.attrs->>'operator'),
       coalesce(s.attrs->>'manufacturer', s.attrs->>'brand', s.attrs->>'camera:manufacturer'),
       s.attrs->>'camera:mount',
       s.attrs->>'surveillance:zone',
       s.direction,
       dir.deg,
       s.count, s.attrs, s.g
FROM staged s
JOIN vocab v ON v.k = s.vocab_key  -- arrays compare NULL elements as equal
LEFT JOIN directions dir ON dir.direction = s.direction
WHERE %(minlon)s::float8 IS NULL
   OR ST_Intersects(s.g, ST_MakeEnvelope(%(minlon)s::float8, %(minlat)s::float8,
                                          %(maxlon)s::float8, %(maxlat)s::float8, 4326))
