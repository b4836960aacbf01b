-- What a coverage answer says about its own data: non-private devices within the disc whose
-- location is uncertain by more than %(low_m)s metres (coarse sources, --precision; the
-- published camera_uncertain, as the API role reads no `camera`), and
-- whether any survey location (a count-0 row) lies in it ("looked here").
-- %(lon)s, %(lat)s: the point; %(radius)s: metres (geodesic).
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8), 4326)::geography AS g)
SELECT (SELECT coalesce(sum(c.count), 0)::bigint FROM camera_uncertain c
        WHERE c.uncertainty_m > %(low_m)s::float8
          AND ST_DWithin(c.geom::geography, p.g, %(radius)s::float8)) AS low_precision,
       EXISTS (SELECT 1 FROM survey_point s
               WHERE ST_DWithin(s.geom::geography, p.g, %(radius)s::float8)) AS surveyed
FROM p
