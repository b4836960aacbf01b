-- The camera vocabulary (BRIEF: types and operators), as SQL functions so an import normalises
-- all its staged reports in one INSERT ... SELECT. They are plain SQL, IMMUTABLE, and inline
-- into that statement. `tags` is everything the source said about a report (OSM tags, CSV
-- columns, JSON fields); `given` is a type or operator named by the source's own type column.

-- A type word as the sources spell it ("traffic_camera", "ANPR", "ShotSpotter") -> vocabulary.
CREATE OR REPLACE FUNCTION camdensity_type_word(word text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
SELECT CASE
    WHEN w IS NULL OR w = '' THEN NULL
    WHEN w IN ('cctv', 'dome', 'ptz', 'doorbell', 'alpr', 'traffic', 'speed', 'gunshot', 'unknown')
        THEN w
    WHEN w ~ '(^|[^a-z])(alpr|anpr|lpr|plate|flock)' OR w ~ 'licen[cs]e.?plate' THEN 'alpr'
    WHEN w ~ '(gunshot|shotspotter|shot.?spotter|acoustic)' THEN 'gunshot'
    WHEN w ~ '(speed|enforcement|red.?light|maxspeed)' THEN 'speed'
    WHEN w ~ '(traffic|road|highway)' THEN 'traffic'
    WHEN w ~ '(doorbell|^ring)' THEN 'doorbell'
    WHEN w ~ '(ptz|pan.?tilt|panning)' THEN 'ptz'
    WHEN w ~ 'dome' THEN 'dome'
    WHEN w ~ '(cctv|camera|video|fixed|webcam|surveillance)' THEN 'cctv'
    ELSE NULL
END
FROM (SELECT lower(btrim(word)) AS w) s
$$;

-- Vendors whose devices are plate readers: a report naming one of them is an ALPR.
CREATE OR REPLACE FUNCTION camdensity_alpr_vendor(name text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
SELECT coalesce(lower(name) ~ '(flock|vigilant|motorola|elsag|leonardo|genetec|autovu|rekor|neology|perceptics|openalpr|platesmart|drn data|digital recognition)', false)
$$;

-- The BRIEF's camera type of one report.
-- Order: the source's own type column; OSM's surveillance:type (ALPR, gunshot detector);
-- an ALPR vendor as manufacturer/brand/operator; camera:type (dome, panning = ptz);
-- camera:mount / type doorbell; revolving=yes (ptz); traffic and speed enforcement; then the import's default.
CREATE OR REPLACE FUNCTION camdensity_camera_type(given text, tags jsonb, fallback text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
SELECT coalesce(
    camdensity_type_word(given),
    CASE lower(tags->>'surveillance:type')
        WHEN 'alpr' THEN 'alpr' WHEN 'anpr' THEN 'alpr' WHEN 'lpr' THEN 'alpr'
        WHEN 'gunshot_detector' THEN 'gunshot' WHEN 'gunshot' THEN 'gunshot'
        WHEN 'acoustic' THEN 'gunshot'
    END,
    CASE WHEN camdensity_alpr_vendor(tags->>'manufacturer') OR camdensity_alpr_vendor(tags->>'brand')
              OR camdensity_alpr_vendor(tags->>'operator')
              OR camdensity_alpr_vendor(tags->>'camera:manufacturer')
         THEN 'alpr' END,
    CASE lower(tags->>'camera:type')
        WHEN 'dome' THEN 'dome' WHEN 'panning' THEN 'ptz' WHEN 'ptz' THEN 'ptz'
        WHEN 'doorbell' THEN 'doorbell'
    END,
    CASE WHEN lower(tags->>'camera:mount') = 'doorbell' THEN 'doorbell'
         WHEN lower(tags->>'revolving') = 'yes' THEN 'ptz' END,
    CASE WHEN lower(tags->>'highway') = 'speed_camera' OR tags ? 'enforcement'
              OR lower(tags->>'surveillance:zone') = 'speed' THEN 'speed'
         WHEN lower(tags->>'surveillance') = 'traffic'
              OR lower(tags->>'surveillance:zone') = 'traffic' THEN 'traffic' END,
    camdensity_type_word(tags->>'surveillance:type'),
    fallback,
    'unknown'
)
$$;

-- Who runs a camera: public (police, city, state, transport), business, private (residential)
-- or unknown. From a given operator type, OSM's operator:type, a doorbell mount, or words in
-- the operator's name.
CREATE OR REPLACE FUNCTION camdensity_operator_word(word text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
SELECT CASE
    WHEN w IS NULL OR w = '' THEN NULL
    WHEN w ~ '^(public|government|governmental|police|municipal|state|federal|military|public_transport|transit|council|city|county)$'
        THEN 'public'
    WHEN w ~ '^(business|commercial|corporate|company|retail|shop|store|industrial)$' THEN 'business'
    WHEN w ~ '^(private|residential|individual|household|home|resident|community|personal)$'
        THEN 'private'
    WHEN w = 'unknown' THEN 'unknown'
    ELSE NULL
END
FROM (SELECT lower(btrim(word)) AS w) s
$$;

CREATE OR REPLACE FUNCTION camdensity_operator_type(given text, tags jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
SELECT coalesce(
    camdensity_operator_word(given),
    camdensity_operator_word(coalesce(tags->>'operator:type', tags->>'operator_type')),
    CASE WHEN lower(tags->>'camera:mount') = 'doorbell' OR lower(tags->>'camera:type') = 'doorbell'
         THEN 'private' END,
    CASE
        WHEN lower(coalesce(given, tags->>'operator')) ~ '(police|poliisi|polis|sheriff|marshal|constab|gendarm|city of|county|municipal|kaupunki|(^|[^a-z])stad([^a-z]|$)|state of|department of|(^|[^a-z])(dot|pd|so|ice|cbp|dhs|fbi|dea|atf)([^a-z]|$)|highway patrol|transit|transport authority|government|ministry|council|public works|school district|border|customs|immigration|homeland)'
            THEN 'public'
        WHEN lower(coalesce(given, tags->>'operator')) ~ '(private|residen|homeowner|household|neighbou?rhood|(^|[^a-z])hoa([^a-z]|$))'
            THEN 'private'
        WHEN lower(coalesce(given, tags->>'operator')) ~ '((^|[^a-z])(inc|llc|ltd|oy|oyj|ab|gmbh|corp|co)([^a-z]|$)|bank|store|shop|mall|hotel|restaurant|market|group|propert|walmart|lowe|home depot|target|kesko|stockmann)'
            THEN 'business'
    END,
    'unknown'
)
$$;

-- The first bearing in a direction tag: "75", "75.5", "NE", "north", "90-180", "45;135".
CREATE OR REPLACE FUNCTION camdensity_direction_deg(direction text) RETURNS real
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
SELECT CASE
    WHEN d IS NULL OR d = '' THEN NULL
    WHEN d ~ '^-?[0-9]+(\.[0-9]+)?' THEN
        (((substring(d FROM '^-?[0-9]+(?:\.[0-9]+)?')::numeric % 360) + 360) % 360)::real
    ELSE (SELECT a.deg FROM (VALUES
            ('n', 0), ('nne', 22.5), ('ne', 45), ('ene', 67.5), ('e', 90), ('ese', 112.5),
            ('se', 135), ('sse', 157.5), ('s', 180), ('ssw', 202.5), ('sw', 225), ('wsw', 247.5),
            ('w', 270), ('wnw', 292.5), ('nw', 315), ('nnw', 337.5),
            ('north', 0), ('northeast', 45), ('east', 90), ('southeast', 135), ('south', 180),
            ('southwest', 225), ('west', 270), ('northwest', 315)) AS a(word, deg)
          WHERE a.word = replace(substring(d FROM '^[a-z ]+'), ' ', ''))::real
END
FROM (SELECT lower(btrim(split_part(split_part(direction, ';', 1), ',', 1))) AS d) s
$$;
