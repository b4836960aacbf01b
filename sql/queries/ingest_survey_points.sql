-- Staged rows of count 0 (TEMP camera_stage) into `survey_point`: a volunteer looked at this
-- point and saw no camera. Kept with the source, never as reports or rejects.
-- %(source_id)s; %(minlon)s..%(maxlat)s: keep only points inside this box (NULL: all).
INSERT INTO survey_point (source_id, source_ref, line, attrs, geom)
SELECT %(source_id)s, source_ref, line, attrs, g
FROM (
    SELECT st.*, ST_SetSRID(ST_MakePoint(st.lon, st.lat), 4326) AS g
    FROM camera_stage st
    WHERE st.count = 0 AND st.wkb IS NULL
) staged
WHERE %(minlon)s::float8 IS NULL
   OR ST_Intersects(g, ST_MakeEnvelope(%(minlon)s::float8, %(minlat)s::float8,
                                       %(maxlon)s::float8, %(maxlat)s::float8, 4326))
