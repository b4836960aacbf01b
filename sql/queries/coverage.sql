-- `/coverage` in one statement (one round trip): everything its answer says about a point.
-- %(lon)s, %(lat)s: the point (EPSG:4326); %(radius)s: metres, geodesic;
-- %(base_radius)s: the baseline radius compared against (a measured one); %(city)s: metres of
-- "the city"; %(low_m)s: devices located more coarsely than this are "low precision".
-- The sites placeholder: sites.sql ordered by distance, the radius required (constant text
-- composed by the route, with its own parameters: %(categories)s ... %(offset)s, the same
-- %(lon)s/%(lat)s/%(radius)s).
-- Planned once per connection (a generic plan, service/database.py): nothing here is shaped by
-- the parameters' values, and planning it (PostGIS estimating every spatial condition) cost
-- more than running it. The devices near the point are read once for both radii, and the
-- sector test is written out (a SQL function with a FROM is planned again at every call).
-- Every count reads the build's published layer (camera_published, camera_uncertain;
-- ingest/privacy.py), as the API role may; the point never leaves this statement.
-- One row: types, operators, counts (arrays: published devices within the radius by type and
-- operator); facing, not_facing, direction_unknown (non-private devices within the radius
-- whose view sectors, camera_view, hold the point / do not / are unknown); disc (the geodesic
-- disc as GeoJSON, for the H3 cells it touches); here, cells, fewer, same (devices within
-- base_radius, baseline cells of that radius within city reach, how many hold fewer / as
-- many); low_precision, surveyed (coarse devices in the disc; a survey looked here); sites (a
-- json array of sites.sql rows); snapshot (the newest finished build).
WITH p AS (
    SELECT ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8), 4326) AS g,
           ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8), 4326)::geography AS gg
),
-- Every published device within either radius, read in one index scan; whether it is within
-- each radius is decided by the same ST_DWithin a scan of that radius would make (monotone in
-- the distance, so the wider scan holds every row either narrower one would).
near AS MATERIALIZED (
    SELECT c.camera_id, c.camera_type, c.operator_type, c.count, c.geom,
           ST_DWithin(c.geom::geography, p.gg, %(radius)s::float8) AS in_radius,
           ST_DWithin(c.geom::geography, p.gg, %(base_radius)s::float8) AS in_base
    FROM camera_published c, p
    WHERE ST_DWithin(c.geom::geography, p.gg,
                     greatest(%(radius)s::float8, %(base_radius)s::float8))
),
cameras AS (
    SELECT array_agg(camera_type ORDER BY camera_type, operator_type) AS types,
           array_agg(operator_type ORDER BY camera_type, operator_type) AS operators,
           array_agg(n ORDER BY camera_type, operator_type) AS counts
    FROM (
        SELECT camera_type, operator_type, sum(count)::bigint AS n
        FROM near
        WHERE in_radius
        GROUP BY camera_type, operator_type
    ) grouped
),
judged AS MATERIALIZED (
    SELECT n.count,
           CASE WHEN v.sectors IS NULL THEN NULL
                WHEN ST_Equals(n.geom, p.g) THEN true
                -- camdensity_in_sectors (migration 0081) written out: bearing in any sector,
                -- one with to < from wrapping through north.
                ELSE EXISTS (
                    SELECT 1
                    FROM (SELECT degrees(ST_Azimuth(n.geom::geography, p.gg)) AS bearing) a,
                         generate_series(1, coalesce(array_length(v.sectors, 1), 0) / 2) AS i
                    WHERE CASE WHEN v.sectors[2 * i - 1] <= v.sectors[2 * i]
                               THEN a.bearing BETWEEN v.sectors[2 * i - 1] AND v.sectors[2 * i]
                               ELSE a.bearing >= v.sectors[2 * i - 1]
                                    OR a.bearing <= v.sectors[2 * i] END) END AS facing
    FROM near n
    CROSS JOIN p
    LEFT JOIN camera_view v ON v.camera_id = n.camera_id
    WHERE n.in_radius AND n.operator_type <> 'private'
),
facing AS (
    SELECT coalesce(sum(count) FILTER (WHERE facing), 0)::integer AS facing,
           coalesce(sum(count) FILTER (WHERE NOT facing), 0)::integer AS not_facing,
           coalesce(sum(count) FILTER (WHERE facing IS NULL), 0)::integer AS direction_unknown
    FROM judged
),
here AS (
    SELECT coalesce(sum(count) FILTER (WHERE in_base), 0)::bigint AS n
    FROM near
),
percentile AS (
    SELECT here.n AS here,
           count(b.h3)::integer AS cells,
           count(b.h3) FILTER (WHERE b.cameras < here.n)::integer AS fewer,
           count(b.h3) FILTER (WHERE b.cameras = here.n)::integer AS same
    FROM here
    CROSS JOIN p
    LEFT JOIN baseline b
           ON b.radius_m = %(base_radius)s::integer
          AND ST_DWithin(b.geom::geography, p.gg, %(city)s::float8)
    GROUP BY here.n
),
quality AS (
    SELECT (SELECT coalesce(sum(c.count), 0)::bigint FROM camera_uncertain c
            WHERE c.uncertainty_m > %(low_m)s::float8
              AND ST_DWithin(c.geom::geography, p.gg, %(radius)s::float8)) AS low_precision,
           EXISTS (SELECT 1 FROM survey_point s
                   WHERE ST_DWithin(s.geom::geography, p.gg, %(radius)s::float8)) AS surveyed
    FROM p
)
SELECT cameras.types, cameras.operators, cameras.counts,
       facing.facing, facing.not_facing, facing.direction_unknown,
       ST_AsGeoJSON(ST_Buffer(p.gg, %(radius)s::float8, 'quad_segs=16')::geometry, 7) AS disc,
       percentile.here, percentile.cells, percentile.fewer, percentile.same,
       quality.low_precision, quality.surveyed,
       (SELECT json_agg(s ORDER BY s.distance_m, s.id) FROM ({sites}) s) AS sites,
       (SELECT snapshot FROM build WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1)
           AS snapshot
FROM p, cameras, facing, percentile, quality
