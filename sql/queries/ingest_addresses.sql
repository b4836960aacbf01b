-- Staged addresses (TEMP address_stage) into `address`: a point (the centroid of a building's
-- polygon) and the geocoder's search text, computed here, set-based.
-- %(source_id)s; %(minlon)s..%(maxlat)s: keep only addresses inside this box (NULL: all).
INSERT INTO address (source_id, source_ref, street, housenumber, postcode, city, label, search,
                     geom)
SELECT %(source_id)s, source_ref, street, housenumber, postcode, city, label,
       camdensity_normalize(label), g
FROM (
    SELECT st.*,
           ST_SetSRID(ST_Centroid(coalesce(st.wkb::geometry, ST_MakePoint(st.lon, st.lat))), 4326) AS g
    FROM address_stage st
) staged
WHERE %(minlon)s::float8 IS NULL
   OR ST_Intersects(g, ST_MakeEnvelope(%(minlon)s::float8, %(minlat)s::float8,
                                       %(maxlon)s::float8, %(maxlat)s::float8, 4326))
