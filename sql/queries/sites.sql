-- Sensitive sites with their exposure; every filter is optional (NULL: not applied).
-- %(categories)s text[], %(minlon)s..%(maxlat)s bbox on the centroid, %(id)s,
-- %(lon)s/%(lat)s/%(radius)s: within a geodesic radius (distance_m is then to the site's
-- geometry, 0 inside a polygon), %(limit)s, %(offset)s. {order} comes from a whitelist, {near}
-- too: NEAR_OPTIONAL (the radius applies when a point is given) or NEAR_REQUIRED (/coverage:
-- always a point, a condition the site index serves even in a generic plan).
-- `facing`: per radius, non-private cameras facing the site, looking elsewhere, direction unknown.
-- ranked_200m: cameras_200m without the devices located more coarsely than
-- %(max_uncertainty_m)s metres (NULL: all count), what the exposure orders rank by;
-- low_precision_200m: the devices within 200 m coarser than %(low_m)s metres.
WITH p AS (
    SELECT ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8), 4326)::geography AS g
), env AS (
    SELECT ST_MakeEnvelope(%(minlon)s::float8, %(minlat)s::float8, %(maxlon)s::float8,
                           %(maxlat)s::float8, 4326) AS box
)
SELECT s.id, s.category, s.name, s.address, ST_Y(s.centroid) AS lat, ST_X(s.centroid) AS lon,
       src.name AS source, s.source_ref,
       e.cameras_50m, e.cameras_100m, e.cameras_200m, e.cameras_500m, e.by_type, e.by_operator,
       e.effective_cameras, e.percentile_category, e.percentile_city,
       e.cameras_200m - coalesce((SELECT sum(u.value::bigint)
                                  FROM jsonb_each_text(e.uncertain_200m) u
                                  WHERE u.key::float8 > %(max_uncertainty_m)s::float8), 0)::bigint
           AS ranked_200m,
       (SELECT coalesce(sum(u.value::bigint), 0)::bigint FROM jsonb_each_text(e.uncertain_200m) u
        WHERE u.key::float8 > %(low_m)s::float8) AS low_precision_200m,
       (SELECT jsonb_object_agg(f.radius_m::text, jsonb_build_object(
                   'facing', f.facing, 'not_facing', f.not_facing,
                   'direction_unknown', f.direction_unknown))
        FROM site_facing f WHERE f.site_id = s.id) AS facing,
       ST_Distance(s.geom::geography, p.g) AS distance_m,
       count(*) OVER () AS total
FROM site s
JOIN source src ON src.id = s.source_id
LEFT JOIN site_exposure e ON e.site_id = s.id
CROSS JOIN p
CROSS JOIN env
WHERE (%(categories)s::text[] IS NULL OR s.category = ANY (%(categories)s::text[]))
  AND (%(id)s::bigint IS NULL OR s.id = %(id)s::bigint)
  AND (env.box IS NULL OR (s.geom && env.box AND s.centroid && env.box))
  AND {near}
ORDER BY {order}
LIMIT %(limit)s OFFSET %(offset)s
