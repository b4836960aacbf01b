-- Staged sites (TEMP site_stage) into `site`: geometry from hex WKB or lon/lat, single-part
-- multipolygons stored as polygons, centroid and EPSG:3857 computed here, set-based.
-- %(source_id)s; %(minlon)s..%(maxlat)s: keep only sites intersecting this box (NULL: all).
INSERT INTO site (source_id, source_ref, line, category, name, address, attrs, geom, centroid,
                  geom_3857)
SELECT %(source_id)s, source_ref, line, category, name, address, attrs, g, ST_Centroid(g),
       ST_Transform(g, 3857)
FROM (
    SELECT s.*,
           ST_SetSRID(CASE WHEN ST_NumGeometries(raw) = 1 THEN ST_GeometryN(raw, 1) ELSE raw END,
                      4326) AS g
    FROM (
        SELECT st.*, coalesce(st.wkb::geometry, ST_MakePoint(st.lon, st.lat)) AS raw
        FROM site_stage st
    ) s
) staged
WHERE %(minlon)s::float8 IS NULL
   OR ST_Intersects(g, ST_MakeEnvelope(%(minlon)s::float8, %(minlat)s::float8,
                                       %(maxlon)s::float8, %(maxlat)s::float8, 4326))
