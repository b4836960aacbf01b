-- Staged addresses (TEMP address_stage) into `address`: a point (the centroid of a building's
-- polygon), the geocoder's search text and the standardised fields (address_standardizer via
-- camdensity_street_parts, inlined so it loads its lexicon once for the whole statement),
-- computed here, set-based.
-- %(source_id)s; %(minlon)s..%(maxlat)s: keep only addresses inside this box (NULL: all).
INSERT INTO address (source_id, source_ref, street, housenumber, postcode, city, label, search,
                     geom, street_std, street_name, street_dir, street_type, hn, postcode_std,
                     city_std)
SELECT %(source_id)s, source_ref, street, housenumber, postcode, city, label,
       camdensity_normalize(label), g, p.std, p.name, p.dir, p.type,
       camdensity_housenumber(housenumber), camdensity_postcode(postcode), camdensity_city(city)
FROM (
    SELECT st.*,
           ST_SetSRID(ST_Centroid(coalesce(st.wkb::geometry, ST_MakePoint(st.lon, st.lat))), 4326) AS g
    FROM address_stage st
) staged
CROSS JOIN LATERAL camdensity_street_parts(staged.street) p
WHERE %(minlon)s::float8 IS NULL
   OR ST_Intersects(g, ST_MakeEnvelope(%(minlon)s::float8, %(minlat)s::float8,
                                       %(maxlon)s::float8, %(maxlat)s::float8, 4326))
